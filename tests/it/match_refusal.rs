//! The `setting` step's refusal of a `Match` block it cannot make right.
//! A lab exception in a Debian-style drop-in gives `AllowUsers` on two
//! lines, which add up (`sshd -T -C addr=10.…` prints both users): editing
//! the block's first line would still leave the second user in, so the
//! step refuses the host, naming the block's criteria and file:line, and
//! nothing on the host changes (content and mtime of every file, `sshd -T`),
//! while another host in the same run, whose block is one line, is changed.

use crate::fleet::report::{host, json};
use crate::fleet::{apply_json, sh, stat, write, Fleet, HostSpec};

const DROPIN: &str = "/etc/ssh/sshd_config.d/20-lab.conf";

fn lab(name: &str, block: &str) -> HostSpec {
    HostSpec::new(name)
        .sshd("Include /etc/ssh/sshd_config.d/*.conf\nAllowUsers root")
        .file("ssh/sshd_config.d/20-lab.conf", block, 0o644)
}

/// `sshd -T -C` for a connection from the lab network: its `allowusers`.
fn lab_allowusers(fleet: &Fleet, name: &str) -> String {
    sh(
        fleet,
        name,
        "/usr/sbin/sshd -T -C user=root,host=lab.example.org,addr=10.1.2.3 -f /etc/ssh/sshd_config | grep '^allowusers '",
    )
}

#[test]
fn a_match_block_the_step_cannot_make_right_refuses_the_host_and_changes_nothing() {
    let fleet = Fleet::start(vec![
        lab(
            "adds-up",
            "# lab exception\nMatch Address 10.0.0.0/8\n    AllowUsers alice\n    AllowUsers bob\n",
        ),
        lab(
            "one-line",
            "# lab exception\nMatch Address 10.0.0.0/8\n    AllowUsers alice bob\n",
        ),
    ]);
    let inv = fleet.write_inventory();
    let pb = write(
        fleet.dir(),
        "playbook.yaml",
        "name: only-root\nsteps:\n  - name: only root logs in\n    setting: {file: /etc/ssh/sshd_config, key: AllowUsers, value: root}\n",
    );
    // The host's own view: the lab gets both users, on both hosts.
    for h in ["adds-up", "one-line"] {
        assert_eq!(lab_allowusers(&fleet, h), "allowusers alice\nallowusers bob\n", "{h}");
    }
    let files = ["/etc/ssh/sshd_config", DROPIN];
    let before: Vec<(Vec<u8>, String)> = files
        .iter()
        .map(|f| (fleet.read_file("adds-up", f), stat(&fleet, "adds-up", f)))
        .collect();
    // mtimes have a one-second grain: a write right after the start would
    // not show otherwise.
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let out = apply_json(&inv, &pb, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "a refused host is an error: {report:#}");
    let refused = host(&report, "adds-up");
    assert_eq!(refused["status"], "error", "{refused:#}");
    assert_eq!(refused["changes"].as_array().map_or(0, Vec::len), 0, "{refused:#}");
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("only root logs in")
            && error.contains("would not make it \"root\" for every connection")
            && error.contains(&format!("(Match Address 10.0.0.0/8 at {DROPIN}:2)"))
            && error.contains("root bob")
            && error.ends_with("(nothing was changed)"),
        "{error}"
    );
    for (f, (content, st)) in files.iter().zip(&before) {
        assert_eq!(&fleet.read_file("adds-up", f), content, "{f}");
        assert_eq!(&stat(&fleet, "adds-up", f), st, "{f}: mode, owner, mtime");
    }
    assert_eq!(lab_allowusers(&fleet, "adds-up"), "allowusers alice\nallowusers bob\n");
    assert_eq!(
        sh(&fleet, "adds-up", "ls /var/backups/rectify 2>/dev/null | wc -l"),
        "0\n"
    );

    // One line per block can be edited: the other host is changed and the
    // lab gets root only, as its sshd says.
    assert_eq!(host(&report, "one-line")["status"], "changed", "{report:#}");
    assert_eq!(lab_allowusers(&fleet, "one-line"), "allowusers root\n");
}
