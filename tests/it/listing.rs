//! `rectify list hosts` and `rectify list steps`: what a run would work on,
//! from the files alone, never connecting. Also `--limit` with Ansible's
//! host patterns through the command line, and stride ranges in an
//! Ansible inventory's host names.

use std::net::TcpListener;
use std::process::Output;

use crate::fleet::{rectify_in, write};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The NAME column of a `list hosts` table.
fn names(o: &Output) -> Vec<String> {
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    stdout(o)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// An inventory whose hosts all point at one listener: a connection
/// attempt by `list` would show up there.
fn inventory(port: u16) -> String {
    format!(
        "defaults: {{user: ops, port: {port}}}\n\
         groups:\n  web: {{hosts: [web01, web02]}}\n  db: {{hosts: [db01, db02]}}\n  prod: {{hosts: [web01, db01, kube1]}}\n  \
         kube-node: {{hosts: [kube1, db02], user: kube}}\n\
         hosts:\n  bastion: {{address: 127.0.0.1}}\n  web01: {{address: 127.0.0.1, jump: bastion}}\n  web02: {{address: 127.0.0.1}}\n  \
         db01: {{address: 127.0.0.1}}\n  db02: {{address: 127.0.0.1}}\n  kube1: {{address: 127.0.0.1}}\n"
    )
}

#[test]
fn list_hosts_applies_ansible_patterns_and_never_connects() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    write(dir.path(), "inv.yaml", &inventory(port));
    let list = |limit: &str| rectify_in(&["list", "hosts", "-i", "inv.yaml", "--limit", limit], dir.path(), &[]);

    // `all` was no host at all before; Ansible's `all,!kube-node` is a common limit.
    assert_eq!(
        names(&list("all")),
        ["bastion", "web01", "web02", "db01", "db02", "kube1"]
    );
    assert_eq!(names(&list("all,!kube-node")), ["bastion", "web01", "web02", "db01"]);
    assert_eq!(names(&list("web:db")), ["web01", "web02", "db01", "db02"]);
    assert_eq!(names(&list("web:&prod")), ["web01"]);
    assert_eq!(names(&list("db:!kube-node")), ["db01"]);
    assert_eq!(names(&list("~(web|db)02")), ["web02", "db02"]);
    assert_eq!(names(&list("!kube-node:&prod:web:db")), ["web01", "db01"]);

    // What a person reads: address, user, port, groups, the jump host.
    let out = list("web01,kube1");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "ADDRESS", "USER", "PORT", "GROUPS", "VIA"]
    );
    let p = port.to_string();
    let bastion = format!("ops@127.0.0.1:{port}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["web01", "127.0.0.1", "ops", &p, "web,prod", bastion.as_str()]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["kube1", "127.0.0.1", "kube", &p, "prod,kube-node", "-"]
    );

    let out = rectify_in(
        &["list", "hosts", "-i", "inv.yaml", "--limit", "db02", "--format", "json"],
        dir.path(),
        &[],
    );
    let hosts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hosts[0]["name"], "db02");
    assert_eq!(hosts[0]["user"], "kube");
    assert_eq!(hosts[0]["groups"], serde_json::json!(["db", "kube-node"]));

    // A pattern that selects nothing is bad input, as for audit.
    let out = list("nosuch:&web");
    assert_eq!(out.status.code(), Some(2));

    assert!(listener.accept().is_err(), "list connected to a host");
}

/// `-t` targets are listed with the user and port they will use.
#[test]
fn list_hosts_shows_targets() {
    let dir = tempfile::tempdir().unwrap();
    let out = rectify_in(
        &["list", "hosts", "-t", "admin@192.0.2.7:2222", "-t", "192.0.2.8"],
        dir.path(),
        &[("USER", "me")],
    );
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0][..4], ["192.0.2.7", "192.0.2.7", "admin", "2222"]);
    assert_eq!(rows[1][..4], ["192.0.2.8", "192.0.2.8", "me", "22"]);
}

/// Ansible's `[start:end:stride]` in an INI inventory's host names.
#[test]
fn stride_ranges_in_ansible_inventories() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "hosts",
        "[web]\nweb[01:09:3] ansible_host=192.0.2.1\n[db]\ndb-[a:e:2] ansible_host=192.0.2.2\n",
    );
    let out = rectify_in(&["list", "hosts", "-i", "hosts"], dir.path(), &[]);
    assert_eq!(names(&out), ["web01", "web04", "web07", "db-a", "db-c", "db-e"]);
    write(dir.path(), "bad", "[web]\nweb[01:09:0]\n");
    let out = rectify_in(&["list", "hosts", "-i", "bad"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn list_steps_shows_names_kinds_targets_and_handlers() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "p.yaml",
        "name: demo\nsteps:\n  - name: no X11\n    setting: {file: /etc/ssh/sshd_config, key: X11Forwarding, value: \"no\"}\n    notify: [reload sshd]\n  \
         - copy: {src: issue, dest: /etc/issue.net}\n  - sysctl: {key: net.ipv4.ip_forward, value: \"0\"}\n  \
         - command: update-ca-certificates\n    notify: [reload sshd, log]\n\
         handlers:\n  reload sshd: systemctl reload ssh\n  log: logger rectify\nverify:\n  - command: sshd -t\n",
    );
    write(dir.path(), "issue", "Authorized use only\n");
    let out = rectify_in(&["list", "steps", "-p", "p.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "demo: 4 steps (p.yaml)");
    let cols = |l: &str| {
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(cols(lines[1]), ["#", "NAME", "KIND", "TARGET", "NOTIFIES"]);
    assert_eq!(
        cols(lines[2]),
        [
            "1",
            "no X11",
            "setting",
            "/etc/ssh/sshd_config (X11Forwarding)",
            "reload sshd"
        ]
    );
    assert_eq!(
        cols(lines[3]),
        ["2", "copy /etc/issue.net", "copy", "/etc/issue.net", "-"]
    );
    assert_eq!(
        cols(lines[4]),
        ["3", "sysctl net.ipv4.ip_forward", "sysctl", "net.ipv4.ip_forward", "-"]
    );
    assert_eq!(
        cols(lines[5]),
        [
            "4",
            "command update-ca-certificates",
            "command",
            "update-ca-certificates",
            "reload sshd, log"
        ]
    );
    assert_eq!(
        lines[6..],
        [
            "handlers:",
            "  reload sshd: systemctl reload ssh",
            "  log: logger rectify",
            "verify:",
            "  command: sshd -t"
        ]
    );

    // The shipped playbook: every step of it, as JSON for scripts.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/playbooks/ssh-hardening.yaml");
    let out = rectify_in(&["list", "steps", "-p", shipped, "--format", "json"], dir.path(), &[]);
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = listing["steps"].as_array().unwrap();
    assert!(steps.len() > 10);
    assert_eq!(steps[0]["name"], "root logs in with keys only");
    assert_eq!(steps[0]["kind"], "setting");
    assert_eq!(steps[0]["notify"], serde_json::json!(["reload sshd"]));

    let out = rectify_in(&["list", "steps", "-p", "missing.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
}
