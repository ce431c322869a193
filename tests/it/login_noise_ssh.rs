//! An apply on a host whose login shell prints something: root's
//! `~/.bashrc` echoes a greeting, which sshd's `bash -c` runs before every
//! command rectify sends (Debian's bash reads ~/.bashrc for commands over
//! ssh). Every reply the apply parses is framed with the run's nonce, so
//! the greeting is skipped: a failing verify is rolled back, not reported
//! as a failed rollback.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{apply_json, run_rectify, write, Fleet, HostSpec};

const DEMO: &str = "# demo service\nMaxThings 10\nColor blue\n";

#[test]
fn a_noisy_login_shell_neither_fakes_nor_breaks_a_reply() {
    // Prepended: Debian's stock .bashrc returns early when not interactive.
    let spec = HostSpec::new("web01").file("demo.conf", DEMO, 0o600).setup(
        "{ printf 'echo \"Welcome to $(hostname): restored\"\\n'; cat /root/.bashrc; } > /root/.bashrc.new \
         && mv /root/.bashrc.new /root/.bashrc",
    );
    let fleet = Fleet::start(vec![spec]);
    let noise = fleet.exec("web01", "bash -c 'source /root/.bashrc' </dev/null");
    assert!(
        String::from_utf8_lossy(&noise.stdout).contains("Welcome to web01"),
        "the greeting is in place: {noise:?}"
    );
    let inv = fleet.write_inventory();

    let failing = write(
        fleet.dir(),
        "fails.yaml",
        "name: fails\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n\
         verify:\n  - command: test -e /etc/never-there\n",
    );
    let out = apply_json(&inv, &failing, &[]);
    let report = json(&out);
    let h = host(&report, "web01");
    assert_eq!(h["status"], "rolled_back", "{h}");
    assert_eq!(out.status.code(), Some(1), "{report}");
    let error = h["error"].as_str().unwrap();
    assert!(error.contains("verify failed") && error.ends_with("; restored"), "{h}");
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());

    let good = write(
        fleet.dir(),
        "good.yaml",
        "name: good\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n\
         verify:\n  - command: grep -q '^Color red$' /etc/demo.conf\n",
    );
    let out = apply_json(&inv, &good, &[]);
    let report = json(&out);
    assert_eq!(host(&report, "web01")["status"], "changed", "{report}");
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(
        fleet.read_file("web01", "/etc/demo.conf"),
        DEMO.replace("blue", "red").as_bytes()
    );
}

/// A login shell that prints a prompt WITHOUT a newline (`printf "motd> "`
/// in root's `~/.bashrc`): it glues onto the first framed line of every
/// script rectify runs (`motd> RECTIFY:<nonce>:…`). Audit, apply, rollback
/// and a verify-failure rollback give the same outcomes as on a quiet host
/// beside it, checked against the file on each host; before the fix a
/// committed apply there became `rollback_failed`, exit 4.
#[test]
fn a_prompt_without_a_newline_glues_onto_no_reply() {
    let prompt = HostSpec::new("prompt").file("demo.conf", DEMO, 0o600).setup(
        "{ printf 'printf \"motd> \"\\n'; cat /root/.bashrc; } > /root/.bashrc.new \
         && mv /root/.bashrc.new /root/.bashrc",
    );
    let quiet = HostSpec::new("quiet").file("demo.conf", DEMO, 0o600);
    let fleet = Fleet::start(vec![prompt, quiet]);
    let noise = fleet.exec("prompt", "bash -c 'source /root/.bashrc' </dev/null");
    assert_eq!(
        String::from_utf8_lossy(&noise.stdout),
        "motd> ",
        "the prompt is in place: {noise:?}"
    );
    let inv = fleet.write_inventory();
    let inv = inv.to_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];

    // Audit: the host's file says Color blue and MaxThings 10.
    let baseline = write(
        fleet.dir(),
        "demo.yaml",
        "name: demo\nrules:\n\
         - {id: COLOR, file: /etc/demo.conf, setting: Color, expect: blue}\n\
         - {id: MAX, file: /etc/demo.conf, setting: MaxThings, expect: '20'}\n\
         - {id: CMD, command: 'echo hi', expect: hi}\n",
    );
    let out = run_rectify(
        &["audit", "-i", inv, "-b", baseline.to_str().unwrap(), "--format", "json"],
        &env,
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for name in ["prompt", "quiet"] {
        let h = host(&report, name);
        assert_eq!(rule(h, "COLOR")["status"], "pass", "{name}: {h}");
        assert_eq!(rule(h, "MAX")["status"], "fail", "{name}: {h}");
        assert_eq!(rule(h, "CMD")["status"], "pass", "{name}: {h}");
    }

    // A committed apply.
    let good = write(
        fleet.dir(),
        "good.yaml",
        "name: good\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n\
         verify:\n  - command: grep -q '^Color red$' /etc/demo.conf\n",
    );
    let out = run_rectify(
        &["apply", "-i", inv, "-p", good.to_str().unwrap(), "--format", "json"],
        &env,
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let run_id = report["run_id"].as_str().unwrap().to_string();
    for name in ["prompt", "quiet"] {
        assert_eq!(host(&report, name)["status"], "changed", "{name}: {report}");
        assert_eq!(
            fleet.read_file(name, "/etc/demo.conf"),
            DEMO.replace("blue", "red").as_bytes()
        );
    }

    // Its rollback.
    let out = run_rectify(&["rollback", &run_id, "-i", inv, "--format", "json"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for name in ["prompt", "quiet"] {
        assert_eq!(host(&report, name)["status"], "changed", "{name}: {report}");
        assert_eq!(fleet.read_file(name, "/etc/demo.conf"), DEMO.as_bytes());
    }

    // A failing verify: rolled back, not a failed rollback.
    let failing = write(
        fleet.dir(),
        "fails.yaml",
        "name: fails\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n\
         verify:\n  - command: test -e /etc/never-there\n",
    );
    let out = run_rectify(
        &["apply", "-i", inv, "-p", failing.to_str().unwrap(), "--format", "json"],
        &env,
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for name in ["prompt", "quiet"] {
        assert_eq!(host(&report, name)["status"], "rolled_back", "{name}: {report}");
        assert_eq!(fleet.read_file(name, "/etc/demo.conf"), DEMO.as_bytes());
    }
}
