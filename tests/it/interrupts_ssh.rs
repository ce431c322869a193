//! Interrupted applies on real sshd hosts: a controller killed before the
//! backup leaves no lock that blocks the next run and no candidate file; a
//! command still running when the dead-man timer fires is stopped before
//! the restore, so the host ends fully old; SIGTERM is handled like Ctrl-C.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::fleet::{apply_fleet, rectify_bin, sh, wait_until, write, Fleet, HostSpec};

const DEMO: &str = "# demo\nColor blue\n";

fn demo_host(name: &str) -> HostSpec {
    HostSpec::new(name).file("demo.conf", DEMO, 0o644)
}

/// `rectify apply --format json` in the background, with its own state
/// directory (`state` must outlive the run).
fn spawn_apply(fleet: &Fleet, playbook: &str, state: &Path) -> Child {
    let pb = write(fleet.dir(), "playbook.yaml", playbook);
    Command::new(rectify_bin())
        .args(["apply", "-i"])
        .arg(fleet.write_inventory())
        .arg("-p")
        .arg(pb)
        .args(["--no-progress", "--format", "json"])
        .env("RECTIFY_STATE_DIR", state)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success());
}

fn candidates(fleet: &Fleet, h: &str) -> String {
    sh(fleet, h, "ls -A /etc | grep rectify- || true").trim().to_string()
}

#[test]
fn a_controller_killed_during_validate_leaves_no_lock_and_runs_says_the_truth() {
    let fleet = Fleet::start(vec![demo_host("h")]);
    let playbook = "name: slow validate\nconfirm_timeout: 30\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    validate: sleep 3; test -s {path}\n";
    let state = tempfile::tempdir().unwrap();
    let mut child = spawn_apply(&fleet, playbook, state.path());
    // The candidate is written and being validated: kill -9 now, before
    // the backup and the timer.
    if !wait_until(Duration::from_secs(30), || !candidates(&fleet, "h").is_empty()) {
        signal(&child, "-KILL");
        let out = child.wait_with_output().unwrap();
        panic!("the candidate never appeared: {out:?}");
    }
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert!(!sh(&fleet, "h", "cat /run/rectify.lock/run 2>/dev/null")
        .trim()
        .is_empty());

    // The next apply takes the lock over once its holder is gone (the
    // remote script dies on its next write to the closed connection, after
    // the validate command).
    assert!(wait_until(Duration::from_secs(20), || {
        sh(
            &fleet,
            "h",
            "p=$(cut -d' ' -f1 /run/rectify.lock/pid); kill -0 \"$p\" 2>/dev/null && echo alive || echo gone",
        )
        .trim()
            == "gone"
    }));
    let (code, report) = apply_fleet(&fleet, playbook, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["hosts"][0]["status"], "changed", "{report}");
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), b"# demo\nColor red\n");
    assert_eq!(candidates(&fleet, "h"), "");
    assert_eq!(
        sh(&fleet, "h", "ls -A /run/rectify.lock 2>&1 || true").trim(),
        "ls: cannot access '/run/rectify.lock': No such file or directory"
    );

    // `runs` lists the killed run as unfinished without claiming a timer
    // settled it: none was armed.
    let out = Command::new(rectify_bin())
        .args(["runs"])
        .env("RECTIFY_STATE_DIR", state.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("UNFINISHED"), "{text}");
    assert!(!text.contains("restored by its dead-man timer"), "{text}");
    assert!(text.contains("no backup directory"), "{text}");
}

#[test]
fn a_command_outlasting_the_confirm_timeout_is_stopped_before_the_restore() {
    let fleet = Fleet::start(vec![demo_host("h")]);
    let playbook = "name: slow command\nconfirm_timeout: 5\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n  - command: sleep 7; echo new > /etc/demo.marker\n";
    let (code, report) = apply_fleet(&fleet, playbook, &[]);
    let h = &report["hosts"][0];
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(h["status"], "rolled_back", "{report}");
    // Well past the moment the command would have finished: the host is
    // fully old, as reported.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(
        sh(&fleet, "h", "cat /etc/demo.marker 2>/dev/null || echo absent").trim(),
        "absent"
    );
}

#[test]
fn sigterm_rolls_back_hosts_in_flight_and_exits_130() {
    let fleet = Fleet::start(vec![demo_host("web01"), demo_host("web02")]);
    let playbook = "name: slow\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [slow]\nhandlers:\n  slow: sleep 3\n";
    let state = tempfile::tempdir().unwrap();
    let child = spawn_apply(&fleet, playbook, state.path());
    let changed = wait_until(Duration::from_secs(30), || {
        ["web01", "web02"]
            .iter()
            .all(|h| String::from_utf8_lossy(&fleet.read_file(h, "/etc/demo.conf")).contains("Color red"))
    });
    assert!(changed, "the change never reached the hosts");
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    for h in report["hosts"].as_array().unwrap() {
        assert_eq!(h["status"], "rolled_back", "{report}");
    }
    assert_eq!(report["hosts"].as_array().unwrap().len(), 2, "{report}");
    for h in ["web01", "web02"] {
        assert_eq!(fleet.read_file(h, "/etc/demo.conf"), DEMO.as_bytes(), "{h}");
        assert_eq!(
            sh(&fleet, h, "ls -A /run/rectify.lock 2>/dev/null | wc -l").trim(),
            "0",
            "{h}"
        );
    }
}

/// The phases of an apply the sweep kills the controller in, each on a host
/// of its own; the state each host must end in once it has settled (`true`
/// fully new, `false` fully old); and what its backup directory says
/// settled it: `-` no backup directory (nothing was started), else
/// `decided/by` and the marker (`timer restored`: the dead-man timer;
/// `controller committed`: the verify-and-confirm script, which ran to its
/// end on the host without the controller). The README's outcome table is
/// this list, as the test observed it.
const PHASES: [(&str, bool, &str); 8] = [
    ("connect", false, "-"),
    ("gather", false, "-"),
    ("validate", false, "-"),
    ("backup", false, "timer restored"),
    ("commit", false, "timer restored"),
    ("handlers", false, "timer restored"),
    ("verify", true, "controller committed"),
    ("confirm", true, "controller committed"),
];

/// A host on which phase `phase` of an apply is slow (3 s, once), with a
/// marker `/run/k-PHASE` when it starts. Phases without a step command of
/// their own are slowed by a wrapper in front of the tool the phase uses
/// (`head` reading the file in gather, `cp -p` of the backup, the commit's
/// `mv -fT`, confirm's `mkdir …/decided`), in a tmpfs over
/// `/usr/local/bin` private to the host (first in the scripts' PATH).
fn sweep_host(phase: &str) -> HostSpec {
    let wrap = |tool: &str, real: &str, when: &str| {
        format!(
            "mount -t tmpfs tmpfs /usr/local/bin && printf '%s\\n' '#!/bin/sh' \
             'case \"$*\" in {when}) if mkdir /run/k-{phase} 2>/dev/null; then sleep 3; fi ;; esac' \
             'exec {real} \"$@\"' > /usr/local/bin/{tool} && chmod 0755 /usr/local/bin/{tool}"
        )
    };
    let setup = match phase {
        "gather" => wrap("head", "/usr/bin/head", "*"),
        "backup" => wrap("cp", "/bin/cp", "-p*"),
        "commit" => wrap("mv", "/bin/mv", "-fT*"),
        "confirm" => wrap("mkdir", "/bin/mkdir", "*/decided"),
        other => format!("touch /run/k-{other}-on"),
    };
    demo_host(&format!("k-{phase}")).setup(&setup)
}

/// A step command slow (3 s, once) on the host whose phase it is.
fn slow_once(phase: &str) -> String {
    format!("if [ -e /run/k-{phase}-on ] && mkdir /run/k-{phase} 2>/dev/null; then sleep 3; fi")
}

#[test]
fn a_controller_killed_in_any_phase_leaves_each_host_fully_old_or_new_and_unlocked() {
    let started = std::time::Instant::now();
    let fleet = Fleet::start(PHASES.iter().map(|(p, _, _)| sweep_host(p)).collect());
    let playbook = format!(
        "name: sweep\nconfirm_timeout: 6\nsteps:\n  - setting: {{file: /etc/demo.conf, key: Color, value: red}}\n    \
         validate: '{}; test -s {{path}}'\n    notify: [h]\nhandlers:\n  h: '{}'\nverify:\n  - command: '{}'\n",
        slow_once("validate"),
        slow_once("handlers"),
        slow_once("verify")
    );
    let pb = write(fleet.dir(), "sweep.yaml", &playbook);
    let inventory = fleet.write_inventory();
    std::thread::scope(|s| {
        for (phase, _, _) in PHASES {
            let (fleet, pb, inventory) = (&fleet, &pb, &inventory);
            s.spawn(move || {
                let host = format!("k-{phase}");
                let state = fleet.dir().join(format!("state-{phase}"));
                let mut child = Command::new(rectify_bin())
                    .args(["apply", "-i"])
                    .arg(inventory)
                    .arg("-p")
                    .arg(pb)
                    .args(["--limit", &host, "--no-progress", "--format", "json"])
                    .env("RECTIFY_STATE_DIR", &state)
                    .env("NO_COLOR", "1")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                if phase == "connect" {
                    // Before any command reaches the host.
                    std::thread::sleep(Duration::from_millis(30));
                } else {
                    let reached = wait_until(Duration::from_secs(30), || {
                        sh(fleet, &host, &format!("test -d /run/k-{phase} && echo yes")).trim() == "yes"
                    });
                    assert!(reached, "{host}: the apply never reached {phase}");
                }
                signal(&child, "-KILL");
                child.wait().unwrap();
            });
        }
    });

    // Each host settles by itself: the janitor (before the timer is armed)
    // or the dead-man timer (6 s) frees its lock.
    let settled = |h: &str| {
        sh(&fleet, h, "test -e /run/rectify.lock && echo held")
            .trim()
            .is_empty()
    };
    for (phase, new, by) in PHASES {
        let h = format!("k-{phase}");
        assert!(wait_until(Duration::from_secs(20), || settled(&h)), "{h}: still locked");
        let want = if new { "# demo\nColor red\n" } else { DEMO };
        assert_eq!(
            String::from_utf8_lossy(&fleet.read_file(&h, "/etc/demo.conf")),
            want,
            "{h}"
        );
        assert_eq!(candidates(&fleet, &h), "", "{h}: leftovers in /etc");
        let settlement = sh(
            &fleet,
            &h,
            "cd /var/backups/rectify/*/ 2>/dev/null || { echo -; exit; }; \
             printf '%s ' \"$(cat decided/by)\"; ls committed restored restore-failed 2>/dev/null",
        );
        assert_eq!(settlement.trim(), by, "{h}");
        // What the killed run started ends by itself (a script still in a
        // slow step dies on its next write to the closed connection).
        let left = || {
            sh(
                &fleet,
                &h,
                "for p in $(pgrep --ns $$ --nslist mnt .); do [ $p = $$ ] && continue; \
                 c=$(cat /proc/$p/comm 2>/dev/null) || continue; \
                 case $c in sshd|unshare) ;; *) echo \"$p $c\" ;; esac; done",
            )
        };
        assert!(
            wait_until(Duration::from_secs(10), || left().trim().is_empty()),
            "{h}: {}",
            left()
        );
        // `runs` claims nothing it cannot know: the run is UNFINISHED, the
        // host's outcome unknown to the controller.
        let out = Command::new(rectify_bin())
            .arg("runs")
            .env("RECTIFY_STATE_DIR", fleet.dir().join(format!("state-{phase}")))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        if phase != "connect" {
            assert!(text.contains("UNFINISHED"), "{h}: {text}");
            assert!(text.contains("outcome unknown here"), "{h}: {text}");
        }
        assert!(
            !text.contains(" changed ") && !text.contains("rolled_back"),
            "{h}: {text}"
        );
        eprintln!("{phase}: {} ({by})", if new { "new" } else { "old" });
    }
    // A second apply to each host works: no lock blocks it.
    let (code, report) = apply_fleet(
        &fleet,
        &playbook.replace("confirm_timeout: 6", "confirm_timeout: 30"),
        &[],
    );
    assert!(code == Some(0), "{report}");
    eprintln!("sweep took {:?}", started.elapsed());
}
