//! A local non-root user racing an audited path between a regular file and
//! a FIFO (issue 13, item 11): the type check and the read are one
//! operation on one open descriptor, and the open is bounded, so no audit
//! outlasts its budget, the host's other rules keep their verdicts, and
//! nothing rectify started stays blocked on the host.

use std::time::{Duration, Instant};

use crate::fleet::report::{host, rule};
use crate::fleet::{audit_fleet, sh, Fleet, HostSpec};

/// alice's loop: for `secs` seconds, renames a FIFO then a regular file
/// (a hard link to the same `x = 1` file) over `/srv/alice/app.conf`, as
/// fast as she can. `rename(2)` is atomic: the path always exists, as one
/// or the other. Ends by itself.
fn flip_loop(secs: u32) -> String {
    format!(
        "su -s /bin/sh alice -c 'cd /srv/alice && end=$(($(date +%s) + {secs})); \
         while [ $(date +%s) -lt $end ]; do \
           mkfifo p.tmp && mv -f p.tmp app.conf; ln -f keep f.tmp && mv -f f.tmp app.conf; \
         done' >/dev/null 2>&1 &"
    )
}

/// Processes in the host's mount namespace other than its sshd, the
/// `unshare` that holds the namespace and this check itself: what an audit
/// could have left behind.
fn leftovers(fleet: &Fleet) -> String {
    sh(
        fleet,
        "race",
        "for p in $(pgrep --ns $$ --nslist mnt .); do [ $p = $$ ] && continue; \
           c=$(cat /proc/$p/comm 2>/dev/null) || continue; \
           case $c in sshd|unshare) ;; *) echo \"$p $c\" ;; esac; done",
    )
}

#[test]
fn a_path_flipped_between_file_and_fifo_never_blocks_an_audit() {
    let fleet = Fleet::start(vec![HostSpec::new("race")
        .file("color.conf", "color = blue\n", 0o644)
        .setup(
            "useradd -M -s /bin/sh alice && mkdir -m 0755 /srv/alice && \
             printf 'x = 1\\n' >/srv/alice/keep && cp /srv/alice/keep /srv/alice/app.conf && \
             chown -R alice: /srv/alice",
        )]);
    let baseline = "name: race\nrules:\n  \
        - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n  \
        - {id: COLOR, file: /etc/color.conf, line: '^color = (\\S+)', expect: blue}\n  \
        - {id: RACED, file: /srv/alice/app.conf, line: '^x = (\\S+)', expect: '1'}\n  \
        - {id: RACED-EXISTS, file: /srv/alice/app.conf, exists: true}\n";
    // Before the race: the file is read and passes.
    let (code, report) = audit_fleet(&fleet, baseline, &[]);
    assert_eq!(code, Some(0), "{report}");

    sh(&fleet, "race", &flip_loop(40));
    // A budget well under the loop's length: 10 audits, each must end
    // within it with the host reachable (a blocked read made the whole
    // host time out, every rule lost).
    let budget = 15;
    let mut raced_errors = 0;
    for round in 0..10 {
        let started = Instant::now();
        let (code, report) = audit_fleet(&fleet, baseline, &["--command-timeout", &budget.to_string()]);
        let took = started.elapsed();
        let race = host(&report, "race");
        assert!(race["error"].is_null(), "round {round}: the host itself failed: {race}");
        assert!(took < Duration::from_secs(budget), "round {round}: {took:?}");
        for id in ["OS", "COLOR", "RACED-EXISTS"] {
            assert_eq!(rule(race, id)["status"], "pass", "round {round}: {race}");
        }
        // The raced file was either read whole (a regular file when it was
        // opened) or refused as not a regular file: never anything else.
        let raced = rule(race, "RACED");
        match raced["status"].as_str() {
            Some("pass") => assert_eq!(code, Some(0), "{report}"),
            Some("error") => {
                raced_errors += 1;
                assert_eq!(code, Some(1), "{report}");
                assert!(
                    raced["message"].as_str().unwrap_or("").contains("not a regular file"),
                    "round {round}: {raced}"
                );
            }
            _ => panic!("round {round}: {raced}"),
        }
    }
    eprintln!("the raced rule was refused in {raced_errors} of 10 audits");

    // The loop ends by itself; then nothing rectify started is left.
    sh(
        &fleet,
        "race",
        "while pgrep -u alice --ns $$ --nslist mnt >/dev/null; do sleep 0.2; done",
    );
    assert_eq!(leftovers(&fleet).trim(), "", "processes left on the host");
}
