//! The SSH transport against real OpenSSH servers (see the `fleet` module): jump
//! chains, one shared connection per bastion, `@revoked` host keys.
//!

use std::path::{Path, PathBuf};

use crate::fleet::report::{host, json, rule};
use crate::fleet::{run_rectify, write, Fleet, HostSpec, Subnet};
use serde_json::Value;

fn rule_status(report: &Value, host_name: &str, id: &str) -> String {
    rule(host(report, host_name), id)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `rectify audit -b BASELINE --format json ARGS...`
fn audit(baseline: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, Value) {
    let mut all = vec!["audit", "-b", baseline.to_str().unwrap(), "--format", "json"];
    all.extend_from_slice(args);
    let out = run_rectify(&all, envs);
    (out.status.code(), json(&out))
}

/// A baseline with one rule: the host's name is `{{ host }}`, or `name`.
fn hostname_baseline(dir: &Path, expect: &str) -> PathBuf {
    write(
        dir,
        "b.yaml",
        &format!("name: t\nrules:\n  - {{id: NAME, command: hostname, expect: '{expect}'}}\n"),
    )
}

/// How many times `name`'s sshd let the client key in (sshd logs to
/// stderr, which the harness keeps in `<fleet dir>/<name>/sshd.err`).
fn accepted_logins(fleet: &Fleet, name: &str) -> usize {
    let log = std::fs::read_to_string(fleet.dir().join(name).join("sshd.err")).unwrap();
    log.matches("Accepted publickey for root").count()
}

#[test]
fn a_two_hop_chain_reaches_a_host_only_the_second_bastion_can_resolve() {
    // b2.internal resolves only on b1, t.internal only on b2: the target is
    // reachable through b1 then b2, and no other way.
    let subnet = Subnet::next();
    let hosts = |n, name| format!("127.0.0.1 localhost\n{} {name}\n", subnet.address(n));
    let (b1_hosts, b2_hosts) = (hosts(2, "b2.internal"), hosts(3, "t.internal"));
    let fleet = Fleet::start_in(
        subnet,
        vec![
            HostSpec::new("b1").file("hosts", b1_hosts, 0o644),
            HostSpec::new("b2").file("hosts", b2_hosts, 0o644),
            HostSpec::new("t"),
        ],
    );
    let dir = fleet.dir().to_path_buf();
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap()
        + &format!("b2.internal {}\n", fleet.host_key_line("b2"))
        + &format!("t.internal {}\n", fleet.host_key_line("t"));
    let known_path = write(&dir, "known_hosts_chain", &known);
    let baseline = hostname_baseline(&dir, "t");
    let inventory = |jump: &str| {
        format!(
            "defaults: {{user: root, identity_file: {}, known_hosts: {}}}\nhosts:\n  b1: {{address: {}}}\n  \
             b2: {{address: b2.internal, jump: nowhere.invalid}}\n  t: {{address: t.internal, jump: '{jump}'}}\n",
            fleet.client_key().display(),
            known_path.display(),
            fleet.address("b1"),
        )
    };

    // Inventory hosts as hops; b2's own (broken) jump is overridden by the
    // chain, as `ssh -J b1,b2` does.
    let inv = write(&dir, "inv.yaml", &inventory("b1,b2"));
    let (code, report) = audit(&baseline, &["-i", inv.to_str().unwrap(), "--limit", "t"], &[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(rule_status(&report, "t", "NAME"), "pass");

    // Only the chain gets there: b1 alone cannot resolve t.internal, and
    // the error names the hop that failed.
    let inv = write(&dir, "inv1.yaml", &inventory("b1"));
    let (code, report) = audit(
        &baseline,
        &["-i", inv.to_str().unwrap(), "--limit", "t", "--connect-timeout", "10"],
        &[],
    );
    assert_eq!(code, Some(3), "{report:#}");
    let error = host(&report, "t")["error"].as_str().unwrap().to_string();
    let b1 = format!("jump host b1 (root@{}:22)", fleet.address("b1"));
    assert!(error.contains(&b1), "{error}");

    // The same chain from ~/.ssh/config, hops named by Host aliases; b2's
    // own ProxyJump is overridden by the chain there too.
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/known_hosts"), &known).unwrap();
    std::fs::write(
        home.join(".ssh/config"),
        format!(
            "Host t\n  HostName t.internal\n  ProxyJump b1,b2\nHost b1\n  HostName {}\nHost b2\n  HostName b2.internal\n  \
             ProxyJump nowhere.invalid\nHost *\n  User root\n  IdentityFile {}\n",
            fleet.address("b1"),
            fleet.client_key().display()
        ),
    )
    .unwrap();
    let env = [("HOME", home.to_str().unwrap()), ("SSH_AUTH_SOCK", "")];
    let (code, report) = audit(&baseline, &["-t", "t"], &env);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(rule_status(&report, "t", "NAME"), "pass");

    // A hop that is down is named: b1 cannot open the tunnel to b2.
    fleet.stop_host("b2");
    let (code, report) = audit(&baseline, &["-t", "t", "--connect-timeout", "10"], &env);
    assert_eq!(code, Some(3), "{report:#}");
    let error = host(&report, "t")["error"].as_str().unwrap().to_string();
    let b1_alias = format!("jump host b1 (root@{}:22)", fleet.address("b1"));
    assert!(error.contains(&b1_alias), "{error}");
    assert!(error.contains("tunnel to root@b2.internal:22"), "{error}");
}

#[test]
fn targets_behind_one_bastion_share_one_connection_and_fail_together_when_it_is_down() {
    const TARGETS: usize = 8;
    let mut specs = vec![HostSpec::new("bastion").sshd("LogLevel VERBOSE")];
    specs.extend((1..=TARGETS).map(|i| HostSpec::new(&format!("t{i}"))));
    let fleet = Fleet::start(specs);
    let dir = fleet.dir().to_path_buf();
    let mut inventory = fleet.inventory_yaml();
    inventory.push_str("groups:\n  behind:\n    jump: bastion\n    hosts: [");
    inventory.push_str(&(1..=TARGETS).map(|i| format!("t{i}")).collect::<Vec<_>>().join(", "));
    inventory.push_str("]\n");
    let inv = write(&dir, "inv.yaml", &inventory);
    let baseline = hostname_baseline(&dir, "{{ host }}");
    let args = ["-i", inv.to_str().unwrap(), "--limit", "behind", "--forks", "8"];

    assert_eq!(accepted_logins(&fleet, "bastion"), 0);
    let (code, report) = audit(&baseline, &args, &[]);
    assert_eq!(code, Some(0), "{report:#}");
    for i in 1..=TARGETS {
        assert_eq!(rule_status(&report, &format!("t{i}"), "NAME"), "pass");
    }
    assert_eq!(
        accepted_logins(&fleet, "bastion"),
        1,
        "{TARGETS} concurrent targets must share one bastion connection"
    );

    // With the bastion down, every target behind it fails and says why.
    fleet.stop_host("bastion");
    let bastion = format!("jump host bastion (root@{}:22)", fleet.address("bastion"));
    let (code, report) = audit(&baseline, &args, &[]);
    assert_eq!(code, Some(3), "{report:#}");
    for i in 1..=TARGETS {
        let h = host(&report, &format!("t{i}"));
        assert_eq!(h["status"], "error", "{h}");
        let error = h["error"].as_str().unwrap();
        assert!(error.contains(&bastion), "{error}");
    }
}

#[test]
fn a_revoked_host_key_is_refused_under_both_policies() {
    let fleet = Fleet::start(vec![
        HostSpec::new("good"),
        HostSpec::new("revoked").sshd("LogLevel VERBOSE"),
    ]);
    let dir = fleet.dir().to_path_buf();
    // The plain line for the host stays: the revocation wins over it.
    let mut known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    known.push_str(
        "@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ\n",
    );
    known.push_str(&format!("@revoked * {}\n", fleet.host_key_line("revoked")));
    let line = known.lines().count();
    let known_path = fleet.known_hosts();
    std::fs::write(&known_path, &known).unwrap();
    let inv = fleet.write_inventory();
    let baseline = hostname_baseline(&dir, "{{ host }}");

    for policy in ["strict", "accept-new"] {
        let (code, report) = audit(
            &baseline,
            &["-i", inv.to_str().unwrap(), "--host-key-policy", policy],
            &[],
        );
        assert_eq!(code, Some(3), "{policy}: {report:#}");
        assert_eq!(rule_status(&report, "good", "NAME"), "pass", "{policy}");
        let h = host(&report, "revoked");
        assert_eq!(h["status"], "error", "{policy}: {h}");
        let error = h["error"].as_str().unwrap();
        assert!(error.contains("REVOKED"), "{policy}: {error}");
        assert!(
            error.contains(&format!("{}:{line}", known_path.display())),
            "{policy}: {error}"
        );
    }
    assert_eq!(std::fs::read_to_string(&known_path).unwrap(), known, "nothing learned");
    // Refused during the key exchange: the client key was never offered.
    let log = std::fs::read_to_string(dir.join("revoked/sshd.err")).unwrap();
    assert!(!log.contains("publickey"), "{log}");
}
