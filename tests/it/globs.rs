//! Globbed file subjects (`file: /etc/ssh/ssh_host_*_key`): every match is
//! judged and the failing ones are named, checked against the host's own
//! `stat -L` of each file its shell expands the pattern to; the shipped
//! host-key rules and their remediation; no match; and a directory a local
//! user fills with hostile names, FIFOs and more files than are judged.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::fleet::report::{host, json, rule};
use crate::fleet::{audit_fleet, run_rectify, sh, write, Fleet, HostSpec};

/// The host's own answer: each file the pattern expands to in the host's
/// shell, with `stat -L`'s mode (octal) and owner, in expansion order.
fn stat_matches(fleet: &Fleet, name: &str, pattern: &str) -> Vec<(String, u32, String)> {
    // NUL-separated: a name may hold a newline.
    let out = sh(
        fleet,
        name,
        &format!(
            "LC_ALL=C; for f in {pattern}; do [ -e \"$f\" ] && printf '%s %s\\0' \"$(stat -L -c '%a %U' -- \"$f\")\" \"$f\"; done; true"
        ),
    );
    out.split('\0')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut p = l.splitn(3, ' ');
            let mode = u32::from_str_radix(p.next().unwrap(), 8).unwrap();
            let owner = p.next().unwrap().to_string();
            (p.next().unwrap().to_string(), mode, owner)
        })
        .collect()
}

/// The names the host says break "mode at most `max`, owner root".
fn failing_by_host(fleet: &Fleet, name: &str, pattern: &str, max: u32) -> Vec<String> {
    stat_matches(fleet, name, pattern)
        .into_iter()
        .filter(|(_, mode, owner)| mode & !max != 0 || owner != "root")
        .map(|(n, _, _)| n)
        .collect()
}

/// The names rectify's message says fail ("1 of 4 files matching P fail: a, b").
fn failing_by_rectify(result: &serde_json::Value) -> Vec<String> {
    let message = result["message"].as_str().unwrap_or_default();
    match message.split_once(" fail: ") {
        Some((_, names)) => names.split(", ").map(String::from).collect(),
        None => Vec::new(),
    }
}

/// Among several host keys (one with a blank in its name, one reached
/// through a symlink), exactly the bad ones fail, named; the shipped
/// remediation fixes them and the rules then pass, as `stat -L` agrees.
#[test]
fn one_bad_key_among_several_is_named_and_fix_makes_every_match_pass() {
    let spec = HostSpec::new("keys").setup(
        "cp /etc/ssh/ssh_host_ed25519_key '/etc/ssh/ssh_host_my key_key' && chmod 0600 '/etc/ssh/ssh_host_my key_key' && \
         mkdir -p /etc/keystore && cp /etc/ssh/ssh_host_rsa_key /etc/keystore/linked && chmod 0600 /etc/keystore/linked && \
         ln -s /etc/keystore/linked /etc/ssh/ssh_host_linked_key && \
         chmod 0640 /etc/ssh/ssh_host_ecdsa_key && chmod 0664 /etc/ssh/ssh_host_rsa_key.pub",
    );
    let tidy = HostSpec::new("tidy");
    let fleet = Fleet::start(vec![spec, tidy]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let baseline = root.join("baselines/file-permissions.yaml").display().to_string();
    let inv = fleet.write_inventory().display().to_string();
    let audit = || {
        let out = run_rectify(
            &[
                "audit",
                "-b",
                &baseline,
                "-i",
                &inv,
                "--rule",
                "PERM-SSH-HOST-*",
                "--format",
                "json",
            ],
            &[],
        );
        (out.status.code(), json(&out))
    };
    let keys = "/etc/ssh/ssh_host_*_key";
    let pubs = "/etc/ssh/ssh_host_*_key.pub";
    assert_eq!(
        stat_matches(&fleet, "keys", keys).len(),
        5,
        "the three keys ssh-keygen -A made, plus two"
    );

    let (code, report) = audit();
    assert_eq!(code, Some(1), "{report}");
    let (h, t) = (host(&report, "keys"), host(&report, "tidy"));
    let private = rule(h, "PERM-SSH-HOST-KEYS");
    assert_eq!(private["status"], "fail", "{private}");
    assert_eq!(
        failing_by_rectify(private),
        failing_by_host(&fleet, "keys", keys, 0o600)
    );
    assert_eq!(failing_by_rectify(private), ["/etc/ssh/ssh_host_ecdsa_key"]);
    assert_eq!(private["actual"], "/etc/ssh/ssh_host_ecdsa_key: mode 0640, owner root");
    assert_eq!(
        private["message"],
        "1 of 5 files matching /etc/ssh/ssh_host_*_key fail: /etc/ssh/ssh_host_ecdsa_key"
    );
    let public = rule(h, "PERM-SSH-HOST-PUBKEYS");
    assert_eq!(public["status"], "fail", "{public}");
    assert_eq!(failing_by_rectify(public), failing_by_host(&fleet, "keys", pubs, 0o644));
    assert_eq!(failing_by_rectify(public), ["/etc/ssh/ssh_host_rsa_key.pub"]);
    for id in ["PERM-SSH-HOST-KEYS", "PERM-SSH-HOST-PUBKEYS"] {
        assert_eq!(rule(t, id)["status"], "pass", "{t}");
    }
    assert_eq!(rule(t, "PERM-SSH-HOST-KEYS")["actual"], "3 of 3 pass");

    // The symlinked key turns bad through its target: judged by stat -L.
    sh(&fleet, "keys", "chmod 0644 /etc/keystore/linked");
    let (_, report) = audit();
    let private = rule(host(&report, "keys"), "PERM-SSH-HOST-KEYS");
    assert_eq!(
        failing_by_rectify(private),
        failing_by_host(&fleet, "keys", keys, 0o600)
    );
    assert_eq!(
        failing_by_rectify(private),
        ["/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_linked_key"]
    );

    let tidy_before = sh(&fleet, "tidy", "stat -c '%a %Y %n' /etc/ssh/ssh_host_*");
    let out = run_rectify(
        &[
            "fix",
            "-b",
            &baseline,
            "-i",
            &inv,
            "--rule",
            "PERM-SSH-HOST-*",
            "--format",
            "json",
        ],
        &[],
    );
    let fixed = json(&out);
    assert_eq!(out.status.code(), Some(0), "{fixed}");
    assert!(failing_by_host(&fleet, "keys", keys, 0o600).is_empty());
    assert!(failing_by_host(&fleet, "keys", pubs, 0o644).is_empty());
    assert_eq!(sh(&fleet, "keys", "stat -c %a /etc/keystore/linked"), "600\n");
    assert_eq!(
        sh(&fleet, "tidy", "stat -c '%a %Y %n' /etc/ssh/ssh_host_*"),
        tidy_before
    );
    let (code, report) = audit();
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        rule(host(&report, "keys"), "PERM-SSH-HOST-KEYS")["actual"],
        "5 of 5 pass"
    );
}

/// A pattern that matches nothing: `skipped` with the reason (nothing to
/// judge, not drift), except that `exists: true` fails and `exists: false`
/// passes; once a file matches, it is judged.
#[test]
fn no_match_is_skipped_except_for_existence() {
    let fleet = Fleet::start(vec![HostSpec::new("empty").setup("mkdir -p /etc/app.d")]);
    let baseline = "name: g\nrules:\n\
      - {id: MODE, file: /etc/app.d/*.conf, max_mode: \"0644\"}\n\
      - {id: LINE, file: /etc/app.d/*.conf, line: '^debug = off$'}\n\
      - {id: SOME, file: /etc/app.d/*.conf, exists: true}\n\
      - {id: NONE, file: /etc/app.d/*.conf, exists: false}\n\
      - {id: SET, file: /etc/app.d/*.conf, setting: debug, expect: \"off\"}\n\
      - {id: WHOLE, file: /etc/app.d/*.conf, content: \"debug = off\\n\"}\n";
    let (code, report) = audit_fleet(&fleet, baseline, &[]);
    let h = host(&report, "empty");
    assert_eq!(code, Some(1), "SOME fails: {report}");
    for id in ["MODE", "LINE", "SET", "WHOLE"] {
        assert_eq!(rule(h, id)["status"], "skipped", "{h}");
        assert_eq!(
            rule(h, id)["message"],
            "no file matches /etc/app.d/*.conf: nothing to judge"
        );
    }
    assert_eq!(rule(h, "SOME")["status"], "fail");
    assert_eq!(rule(h, "SOME")["actual"], "no file matches");
    assert_eq!(rule(h, "NONE")["status"], "pass");

    sh(
        &fleet,
        "empty",
        "printf 'debug = on\\n' > /etc/app.d/a.conf && printf 'debug = off\\n' > /etc/app.d/b.conf",
    );
    let (_, report) = audit_fleet(&fleet, baseline, &[]);
    let h = host(&report, "empty");
    assert_eq!(rule(h, "MODE")["status"], "pass");
    assert_eq!(rule(h, "LINE")["status"], "fail");
    assert_eq!(failing_by_rectify(rule(h, "LINE")), ["/etc/app.d/a.conf"]);
    assert_eq!(rule(h, "SOME")["status"], "pass");
    assert_eq!(rule(h, "NONE")["status"], "fail");
    assert_eq!(
        failing_by_rectify(rule(h, "NONE")),
        ["/etc/app.d/a.conf", "/etc/app.d/b.conf"]
    );
    assert_eq!(failing_by_rectify(rule(h, "SET")), ["/etc/app.d/a.conf"]);
    assert_eq!(rule(h, "SET")["actual"], "/etc/app.d/a.conf: on");
    let whole = rule(h, "WHOLE");
    assert_eq!(failing_by_rectify(whole), ["/etc/app.d/a.conf"]);
    let diff = whole["diff"].as_str().unwrap();
    assert!(
        diff.contains("actual /etc/app.d/a.conf") && diff.contains("+debug = on"),
        "{diff}"
    );
}

/// alice owns a directory an audit globs and fills it with names holding
/// `$(…)`, backticks, a blank, a newline and a non-UTF-8 byte, a FIFO, and
/// in another directory more files than a glob judges: the audit finishes
/// promptly, runs nothing, names the FIFO as the file that cannot be read
/// and calls the crowded directory an error; every judged name is one the
/// host's shell expands the pattern to.
#[test]
fn a_local_user_cannot_make_a_glob_hang_run_or_overflow() {
    let spec = HostSpec::new("shared").setup(
        r#"useradd -M alice && mkdir -p /etc/alice-conf /etc/alice-many && chown alice /etc/alice-conf /etc/alice-many &&
su -s /bin/sh alice -c 'cd /etc/alice-conf && for n in "\$(touch PWNED).conf" "\`touch PWNED2\`.conf" "sp ace.conf" "$(printf "new\nline.conf")" "$(printf "bad\377.conf")" ok.conf; do printf "x = 1\n" > "$n"; done && mkfifo zz-fifo.conf && cd /etc/alice-many && i=0; while [ $i -lt 1200 ]; do : > f$i; i=$((i+1)); done'"#,
    );
    let fleet = Fleet::start(vec![spec]);
    let truth = stat_matches(&fleet, "shared", "/etc/alice-conf/*.conf");
    assert_eq!(truth.len(), 7, "{truth:?}");
    let baseline = "name: g\nrules:\n\
      - {id: OWNED, file: /etc/alice-conf/*.conf, owner: alice, max_mode: \"0644\"}\n\
      - {id: TIGHT, file: /etc/alice-conf/*.conf, max_mode: \"0600\"}\n\
      - {id: LINE, file: /etc/alice-conf/*.conf, line: '^x = 1$'}\n\
      - {id: MANY, file: /etc/alice-many/*, owner: alice}\n";
    let started = Instant::now();
    let (code, report) = audit_fleet(&fleet, baseline, &["--command-timeout", "15"]);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(code, Some(1), "{report}");
    let h = host(&report, "shared");
    assert_eq!(rule(h, "OWNED")["status"], "pass", "{h}");
    assert_eq!(rule(h, "OWNED")["actual"], "7 of 7 pass");
    // Every file is 0644 (alice's umask): all 7 fail TIGHT, 10 are named.
    let tight = rule(h, "TIGHT");
    assert_eq!(tight["status"], "fail");
    let named = failing_by_rectify(tight);
    let shown: Vec<String> = truth
        .iter()
        .filter(|(_, mode, _)| mode & !0o600 != 0)
        .map(|(n, _, _)| n.replace('\n', "\\n"))
        .collect();
    assert_eq!(named, shown, "{tight}");
    assert!(
        named.contains(&"/etc/alice-conf/new\\nline.conf".to_string()),
        "{named:?}"
    );
    assert!(
        named.contains(&"/etc/alice-conf/$(touch PWNED).conf".to_string()),
        "{named:?}"
    );
    assert!(
        named.contains(&"/etc/alice-conf/bad\u{FFFD}.conf".to_string()),
        "{named:?}"
    );
    let line = rule(h, "LINE");
    assert_eq!(line["status"], "error", "{line}");
    let message = line["message"].as_str().unwrap();
    assert!(
        message.contains("/etc/alice-conf/zz-fifo.conf") && message.contains("not a regular file"),
        "{message}"
    );
    let many = rule(h, "MANY");
    assert_eq!(many["status"], "error");
    assert_eq!(
        many["message"],
        "more than 1000 files match /etc/alice-many/*: narrow the pattern"
    );
    // The names were judged, never run: no PWNED file where the script
    // runs (root's home), at / or on the controller.
    assert_eq!(
        sh(&fleet, "shared", "ls -A /root / /tmp | grep -c '^PWNED'; true"),
        "0\n"
    );
    assert!(!Path::new("PWNED").exists() && !fleet.dir().join("PWNED").exists());

    // Without the FIFO every match is read and judged.
    sh(&fleet, "shared", "rm /etc/alice-conf/zz-fifo.conf");
    let (_, report) = audit_fleet(&fleet, baseline, &[]);
    assert_eq!(rule(host(&report, "shared"), "LINE")["actual"], "6 of 6 pass");
}

/// A pattern that would put anything but `*`, `?` or a plain bracket
/// expression unquoted before the host's shell is bad input: exit 2 with
/// file:line:col, nothing contacted.
#[test]
fn an_unsafe_pattern_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = write(
        dir.path(),
        "b.yaml",
        "name: g\nrules:\n  - id: K\n    file: \"/etc/ssh/ssh_host_[$(id)]_key\"\n    max_mode: \"0600\"\n",
    );
    let b = baseline.display().to_string();
    let out = run_rectify(&["validate", &b], &[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("b.yaml:4:5"), "{err}");
    assert!(err.contains("invalid file pattern"), "{err}");
    let out = run_rectify(&["audit", "-b", &b, "-t", "192.0.2.1", "--connect-timeout", "1"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
