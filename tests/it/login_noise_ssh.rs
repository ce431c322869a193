//! An apply on a host whose login shell prints something: root's
//! `~/.bashrc` echoes a greeting, which sshd's `bash -c` runs before every
//! command rectify sends (Debian's bash reads ~/.bashrc for commands over
//! ssh). Every reply the apply parses is framed with the run's nonce, so
//! the greeting is skipped: a failing verify is rolled back, not reported
//! as a failed rollback.

use crate::fleet::report::{host, json};
use crate::fleet::{apply_json, write, Fleet, HostSpec};

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
