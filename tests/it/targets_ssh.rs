//! `-t` targets with `--user`, `--identity` and `--known-hosts`, and
//! `UserKnownHostsFile` from `~/.ssh/config`: each is what rectify uses,
//! shown by a host that only lets the right user with the right key in,
//! and by host keys kept only where the option or the config says.

use std::path::Path;
use std::process::{Command, Output};

use crate::fleet::report::json;
use crate::fleet::{run_rectify, write, Fleet, HostSpec};

/// `rectify audit -t ADDRESS -b B EXTRA...` with `home` as HOME and no agent.
fn audit(home: &Path, address: &str, b: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["audit", "-t", address, "-b", b.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    run_rectify(&args, &[("HOME", home.to_str().unwrap()), ("SSH_AUTH_SOCK", "")])
}

fn error_of(out: &Output) -> String {
    json(out)["hosts"][0]["error"].as_str().unwrap_or_default().to_string()
}

#[test]
fn user_identity_and_known_hosts_options() {
    let fleet = Fleet::start(vec![HostSpec::new("t")
        .user("alice")
        .setup("useradd -M -s /bin/sh alice && usermod -p '*' alice")]);
    let address = fleet.address("t");
    let dir = fleet.dir();
    // An empty home: nothing from ~/.ssh helps.
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let b = write(
        dir,
        "b.yaml",
        "name: who\nrules:\n  - {id: WHO, command: id -un, expect: alice}\n",
    );
    let key = fleet.client_key().display().to_string();
    let kh = fleet.known_hosts().display().to_string();

    let out = audit(
        &home,
        &address,
        &b,
        &["--user", "alice", "--identity", &key, "--known-hosts", &kh],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(
        report["hosts"][0]["results"][0]["actual"], "alice",
        "the host says who logged in"
    );

    // USER@ in the target wins over --user.
    let out = audit(
        &home,
        &format!("root@{address}"),
        &b,
        &["--user", "alice", "--identity", &key, "--known-hosts", &kh],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["hosts"][0]["results"][0]["actual"], "root");

    // --known-hosts is where the host key is looked up: not in ~/.ssh's.
    std::fs::copy(fleet.known_hosts(), home.join(".ssh/known_hosts")).unwrap();
    let empty = write(dir, "empty_known_hosts", "");
    let out = audit(
        &home,
        &address,
        &b,
        &[
            "--user",
            "alice",
            "--identity",
            &key,
            "--known-hosts",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", json(&out));
    assert!(error_of(&out).contains("host key"), "{}", error_of(&out));

    // --identity is the key offered, even with a good one in ~/.ssh.
    std::fs::copy(fleet.client_key(), home.join(".ssh/id_ed25519")).unwrap();
    let other = dir.join("other_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(made.success());
    let out = audit(
        &home,
        &address,
        &b,
        &["--user", "alice", "--identity", other.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3), "{}", json(&out));
    // Without it, ~/.ssh/id_ed25519 and ~/.ssh/known_hosts get in.
    let out = audit(&home, &address, &b, &["--user", "alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", json(&out));

    // Options for -t need a -t; a missing key file is bad input.
    let out = run_rectify(&["audit", "-b", b.to_str().unwrap(), "--user", "alice"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = audit(&home, &address, &b, &["--identity", "/nonexistent/key"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `UserKnownHostsFile` in the user's ssh config is where host keys are
/// checked, as `ssh` does: the keys are only there.
#[test]
fn user_known_hosts_file_from_the_ssh_config() {
    let fleet = Fleet::start(vec![HostSpec::new("k")]);
    let address = fleet.address("k");
    let home = fleet.dir().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::copy(fleet.client_key(), home.join(".ssh/id_ed25519")).unwrap();
    std::fs::copy(fleet.known_hosts(), home.join(".ssh/fleet_hosts")).unwrap();
    let b = write(
        fleet.dir(),
        "b.yaml",
        "name: host\nrules:\n  - {id: HOST, command: hostname, expect: k}\n",
    );

    // Not found in ~/.ssh/known_hosts, as before the config says where.
    let out = audit(&home, &format!("root@{address}"), &b, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", json(&out));

    std::fs::write(
        home.join(".ssh/config"),
        format!("Host {address}\n  User root\n  UserKnownHostsFile ~/.ssh/fleet_hosts\n"),
    )
    .unwrap();
    let out = audit(&home, &address, &b, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["hosts"][0]["results"][0]["actual"], "k");
    // The command line still wins over the config.
    let empty = write(fleet.dir(), "empty", "");
    let out = audit(&home, &address, &b, &["--known-hosts", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
}
