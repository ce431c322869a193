//! `become: sudo` on a real sshd host, as a non-root user: sudo's own
//! message reaches the user when sudo wants a password (issue 13, item
//! 15c), and a new file is owned by the user the apply runs as — root
//! under sudo — as docs/playbook.md says (item 15b).

use crate::fleet::report::{host, json};
use crate::fleet::{apply_json, audit_json, stat, write, Fleet, HostSpec};

/// `deploy` may sudo without a password; `pwuser` only with one.
const SETUP: &str = "useradd -M -s /bin/sh deploy && usermod -p '*' deploy \
    && useradd -M -s /bin/sh pwuser && echo 'pwuser:s3cret-Pw' | chpasswd \
    && echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy \
    && echo 'pwuser ALL=(ALL) ALL' > /etc/sudoers.d/pwuser && chmod 0440 /etc/sudoers.d/*";

fn inventory(fleet: &Fleet, user: &str) -> std::path::PathBuf {
    let text = format!(
        "defaults: {{user: {user}, become: sudo, identity_file: {}, known_hosts: {}}}\nhosts:\n  app: {{address: {}}}\n",
        fleet.client_key().display(),
        fleet.known_hosts().display(),
        fleet.address("app")
    );
    write(fleet.dir(), &format!("{user}.yaml"), &text)
}

#[test]
fn sudo_wanting_a_password_is_named_and_new_files_belong_to_root() {
    let fleet = Fleet::start(vec![HostSpec::new("app").user("deploy").user("pwuser").setup(SETUP)]);
    let dir = fleet.dir().to_path_buf();
    let baseline = write(
        &dir,
        "b.yaml",
        "name: t\nrules:\n  - {id: WHOAMI, command: id -un, expect: root}\n",
    );
    let playbook = write(
        &dir,
        "p.yaml",
        "name: new file\nsteps:\n  - copy: {src: new.conf, dest: /etc/rectify-new.conf}\n",
    );
    write(&dir, "new.conf", "fresh = 1\n");

    // sudo -n asks for a password: its own words reach the report.
    let pw = inventory(&fleet, "pwuser");
    for (what, out) in [
        ("audit", audit_json(&pw, &baseline, &[])),
        ("apply", apply_json(&pw, &playbook, &[])),
    ] {
        let report = json(&out);
        assert_eq!(out.status.code(), Some(3), "{what}: {report:#}");
        let app = host(&report, "app");
        assert_eq!(app["status"], "error", "{what}: {app}");
        let error = app["error"].as_str().unwrap_or("");
        assert!(error.contains("a password is required"), "{what}: {error}");
    }
    assert_eq!(stat(&fleet, "app", "/etc/rectify-new.conf"), "missing");

    // As deploy with sudo: the new file is root's, 0644.
    let deploy = inventory(&fleet, "deploy");
    let out = apply_json(&deploy, &playbook, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(host(&report, "app")["status"], "changed", "{report:#}");
    let st = stat(&fleet, "app", "/etc/rectify-new.conf");
    assert!(st.starts_with("644 0 0 "), "{st}");
    assert_eq!(fleet.read_file("app", "/etc/rectify-new.conf"), b"fresh = 1\n");
}
