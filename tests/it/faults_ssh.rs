//! Faults during apply, on real sshd hosts: every host ends either applied
//! and verified or restored to its exact pre-run state — never half-changed
//! — and the report says which.

use crate::fleet::{apply_fleet, sh, stat, write, Fleet, HostSpec};

const DEMO: &str = "# demo\nColor blue\n";

/// `rectify apply` of `playbook` to the fleet's one host `h`, with
/// `big.j2` (64 KiB) next to it: the exit code and that host's report.
fn apply(fleet: &Fleet, playbook: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    write(fleet.dir(), "big.j2", &"x".repeat(64 * 1024));
    let (code, report) = apply_fleet(fleet, playbook, extra);
    (code, report["hosts"][0].clone())
}

fn leftovers(fleet: &Fleet, dir: &str) -> String {
    sh(fleet, "h", &format!("ls -A {dir} | grep rectify- || true"))
        .trim()
        .to_string()
}

#[test]
fn a_hanging_handler_is_cut_off_and_the_host_restored() {
    let fleet = Fleet::start(vec![HostSpec::new("h").file("demo.conf", DEMO, 0o644)]);
    let before = stat(&fleet, "h", "/etc/demo.conf");
    let playbook = "name: hang\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [hang]\nhandlers:\n  hang: if grep -q 'Color red' /etc/demo.conf; then sleep 20; fi\n";
    let (code, h) = apply(&fleet, playbook, &["--command-timeout", "2"]);
    assert_eq!(code, Some(1), "{h}");
    assert_eq!(h["status"], "rolled_back", "{h}");
    assert!(h["error"].as_str().unwrap().contains("timed out"), "{h}");
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(stat(&fleet, "h", "/etc/demo.conf"), before);
}

#[test]
fn a_full_filesystem_changes_nothing() {
    let spec = HostSpec::new("h").setup(
        "mkdir -p /etc/full && mount -t tmpfs -o size=16k,mode=0755 tmpfs /etc/full && printf 'a 1\\n' > /etc/full/app.conf && (dd if=/dev/zero of=/etc/full/filler bs=1k count=64 2>/dev/null || true)",
    );
    let fleet = Fleet::start(vec![spec]);
    let playbook = "name: full\nsteps:\n  - template: big.j2\n    dest: /etc/full/app.conf\n";
    let (code, h) = apply(&fleet, playbook, &[]);
    assert_eq!(code, Some(1), "{h}");
    assert_eq!(h["status"], "rolled_back", "{h}");
    assert!(h["error"].as_str().unwrap().contains("nothing was changed"), "{h}");
    assert_eq!(fleet.read_file("h", "/etc/full/app.conf"), b"a 1\n");
    assert_eq!(leftovers(&fleet, "/etc/full"), "", "a candidate was left behind");
    assert_eq!(stat(&fleet, "h", "/run/rectify.lock"), "missing");
}

/// The second file cannot be replaced (it is a bind mount: rename gives
/// EBUSY) after the first already was: the first is restored.
#[test]
fn a_file_that_cannot_be_replaced_restores_the_ones_already_changed() {
    let spec = HostSpec::new("h")
        .file("demo.conf", DEMO, 0o644)
        .file("pinned.conf", "Color blue\n", 0o644)
        .setup("mount --bind /etc/pinned.conf /etc/pinned.conf");
    let fleet = Fleet::start(vec![spec]);
    let before = stat(&fleet, "h", "/etc/demo.conf");
    let playbook = "name: pinned\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n  - setting: {file: /etc/pinned.conf, key: Color, value: red}\n";
    let (code, h) = apply(&fleet, playbook, &[]);
    assert_eq!(code, Some(1), "{h}");
    assert_eq!(h["status"], "rolled_back", "{h}");
    assert!(h["error"].as_str().unwrap().contains("/etc/pinned.conf"), "{h}");
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(stat(&fleet, "h", "/etc/demo.conf"), before);
    assert_eq!(fleet.read_file("h", "/etc/pinned.conf"), b"Color blue\n");
    assert_eq!(leftovers(&fleet, "/etc"), "", "a candidate was left behind");
}

/// A handler kills the host's sshd: the files are restored over the
/// connection rectify still has, and the host is reported loudly
/// (rollback_failed, exit 4: the handler fails again on restore, and the
/// host is unreachable), never as fine.
#[test]
fn sshd_dying_before_verification_is_restored_and_reported_loudly() {
    let fleet = Fleet::start(vec![HostSpec::new("h").file("demo.conf", DEMO, 0o644)]);
    let playbook = "name: kill\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [kill sshd]\nhandlers:\n  kill sshd: kill -9 \"$(cat /run/sshd.pid)\"\n";
    let (code, h) = apply(&fleet, playbook, &[]);
    assert_eq!(code, Some(4), "{h}");
    assert_eq!(h["status"], "rollback_failed", "{h}");
    let error = h["error"].as_str().unwrap();
    assert!(
        error.contains("unreachable") || error.contains("ROLLBACK FAILED"),
        "{h}"
    );
    // The host's sshd (and with it a way in) is gone: read its /etc layer.
    assert_eq!(fleet.etc_upper("h", "demo.conf"), DEMO.as_bytes());
}

/// A symlink planted where a file is expected is never written through.
#[test]
fn a_planted_symlink_is_refused_and_its_target_untouched() {
    let spec = HostSpec::new("h")
        .file("victim.conf", "precious\n", 0o600)
        .setup("ln -s /etc/victim.conf /etc/app.conf");
    let fleet = Fleet::start(vec![spec]);
    let playbook = "name: link\nsteps:\n  - template: big.j2\n    dest: /etc/app.conf\n";
    let (code, h) = apply(&fleet, playbook, &[]);
    assert_eq!(code, Some(3), "{h}");
    assert_eq!(h["status"], "error", "{h}");
    assert!(h["error"].as_str().unwrap().contains("symbolic link"), "{h}");
    assert_eq!(fleet.read_file("h", "/etc/victim.conf"), b"precious\n");
    let link = sh(&fleet, "h", "readlink /etc/app.conf");
    assert_eq!(link.trim(), "/etc/victim.conf");
}

/// A target on a read-only filesystem: no candidate can be written next to
/// it, so nothing on the host changes — not even the other, writable file.
#[test]
fn a_target_on_a_read_only_filesystem_changes_nothing() {
    let spec = HostSpec::new("h").file("demo.conf", DEMO, 0o644).setup(
        "mkdir /run/ro && mount -t tmpfs -o mode=0755 tmpfs /run/ro && printf 'Color blue\\n' > /run/ro/app.conf \
         && mount -o remount,ro /run/ro",
    );
    let fleet = Fleet::start(vec![spec]);
    let before = stat(&fleet, "h", "/etc/demo.conf");
    let playbook = "name: ro\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n  - setting: {file: /run/ro/app.conf, key: Color, value: red}\n";
    let (code, h) = apply(&fleet, playbook, &[]);
    assert_eq!(code, Some(1), "{h}");
    assert_eq!(h["status"], "rolled_back", "{h}");
    let error = h["error"].as_str().unwrap();
    assert!(
        error.contains("/run/ro/app.conf") && error.contains("nothing was changed"),
        "{h}"
    );
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(stat(&fleet, "h", "/etc/demo.conf"), before);
    assert_eq!(fleet.read_file("h", "/run/ro/app.conf"), b"Color blue\n");
    assert_eq!(leftovers(&fleet, "/etc"), "", "a candidate was left behind");
    assert_eq!(
        fleet.exec("h", "test -e /run/rectify.lock").status.code(),
        Some(1),
        "lock left"
    );
}
