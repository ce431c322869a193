//! The ssh-hardening rules added for the content issue (algorithm lists,
//! GSSAPI/Kerberos, forwarding, MaxStartups, UsePAM, StrictModes,
//! PrintLastLog, access lists) on real sshd hosts, every verdict judged
//! against the host's own `sshd -T` (and `sshd -T -C` for the connection a
//! `Match` block gives another value):
//!
//! - `drift`: the drift a cloud image or a copied config brings, with the
//!   algorithm lists edited by `+` in an included drop-in;
//! - `loose`: compliant global lines, loosened for one user by a
//!   `Match User rsyncer` block;
//! - `good`: compliant and stricter than the rules in places (a shorter
//!   AEAD-only cipher list, MaxStartups 5:20:30).
//!
//! Every rule fails on `drift` and every Match-semantics rule on `loose`;
//! `fix` makes each automatic rule pass (SSH-ACCESS-LIMITED stays failing
//! and is named manual), `sshd -t` accepts the result and `sshd -T` shows
//! compliant values for every connection; `good` is left untouched,
//! mtimes and stricter values included.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{run_rectify, sh, stat, Fleet, HostSpec};

/// The rules under test (the other ssh-hardening rules have tests of their own).
const RULES: &[&str] = &[
    "SSH-CIPHERS-NO-WEAK",
    "SSH-MACS-NO-WEAK",
    "SSH-MACS-ETM-ONLY",
    "SSH-KEX-NO-WEAK",
    "SSH-HOSTKEY-ALGS-NO-SHA1",
    "SSH-PUBKEY-ALGS-NO-SHA1",
    "SSH-GSSAPI-AUTH",
    "SSH-KERBEROS-AUTH",
    "SSH-GATEWAY-PORTS",
    "SSH-STRICT-MODES",
    "SSH-PRINT-LAST-LOG",
    "SSH-MAX-STARTUPS",
    "SSH-USE-PAM",
    "SSH-AGENT-FORWARDING",
    "SSH-DISABLE-FORWARDING",
    "SSH-PERMIT-TUNNEL",
    "SSH-IGNORE-USER-KNOWN-HOSTS",
    "SSH-KBD-INTERACTIVE",
    "SSH-ACCESS-LIMITED",
];

/// The connections asked about: one that no `Match` block matches and the
/// one `Match User rsyncer` does.
const CONNECTIONS: &[&str] = &[
    "user=root,host=admin.example.org,addr=127.0.0.1",
    "user=rsyncer,host=nas.example.org,addr=10.0.0.7",
];

const WEAK_CIPHERS: &[&str] = &[
    "3des-cbc",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "rijndael-cbc@lysator.liu.se",
    "blowfish-cbc",
    "cast128-cbc",
    "arcfour",
    "arcfour128",
    "arcfour256",
];
const WEAK_MACS: &[&str] = &[
    "hmac-md5",
    "hmac-md5-96",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "hmac-ripemd160",
    "hmac-ripemd160@openssh.com",
    "hmac-ripemd160-etm@openssh.com",
    "hmac-sha1",
    "hmac-sha1-96",
    "hmac-sha1-etm@openssh.com",
    "hmac-sha1-96-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-64-etm@openssh.com",
];
const ETM: &[&str] = &[
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "umac-128-etm@openssh.com",
];
const WEAK_KEX: &[&str] = &[
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group-exchange-sha1",
];
const SHA1_SIGS: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

fn none_of(value: &str, bad: &[&str]) -> bool {
    value.split(',').all(|w| !bad.contains(&w))
}

fn subset_of(value: &str, good: &[&str]) -> bool {
    value.split(',').all(|w| good.contains(&w))
}

/// `MaxStartups start:rate:full` no looser than 10:30:60, as sshd -T prints it.
fn max_startups_ok(value: &str) -> bool {
    let n: Vec<u32> = value.split(':').map(|x| x.parse().unwrap()).collect();
    n.len() == 3 && n[0] <= 10 && n[1] <= 30 && n[2] <= 60
}

/// Each rule's `sshd -T` keyword and what a compliant value is, written
/// from the rule's meaning, not from rectify's reading.
fn judge(id: &str) -> (&'static str, fn(&str) -> bool) {
    match id {
        "SSH-CIPHERS-NO-WEAK" => ("ciphers", |v| none_of(v, WEAK_CIPHERS)),
        "SSH-MACS-NO-WEAK" => ("macs", |v| none_of(v, WEAK_MACS)),
        "SSH-MACS-ETM-ONLY" => ("macs", |v| subset_of(v, ETM)),
        "SSH-KEX-NO-WEAK" => ("kexalgorithms", |v| none_of(v, WEAK_KEX)),
        "SSH-HOSTKEY-ALGS-NO-SHA1" => ("hostkeyalgorithms", |v| none_of(v, SHA1_SIGS)),
        "SSH-PUBKEY-ALGS-NO-SHA1" => ("pubkeyacceptedalgorithms", |v| none_of(v, SHA1_SIGS)),
        "SSH-GSSAPI-AUTH" => ("gssapiauthentication", |v| v == "no"),
        "SSH-KERBEROS-AUTH" => ("kerberosauthentication", |v| v == "no"),
        "SSH-GATEWAY-PORTS" => ("gatewayports", |v| v == "no"),
        "SSH-STRICT-MODES" => ("strictmodes", |v| v == "yes"),
        "SSH-PRINT-LAST-LOG" => ("printlastlog", |v| v == "yes"),
        "SSH-MAX-STARTUPS" => ("maxstartups", max_startups_ok),
        "SSH-USE-PAM" => ("usepam", |v| v == "yes"),
        "SSH-AGENT-FORWARDING" => ("allowagentforwarding", |v| v == "no"),
        "SSH-DISABLE-FORWARDING" => ("disableforwarding", |v| v == "yes"),
        "SSH-PERMIT-TUNNEL" => ("permittunnel", |v| v == "no"),
        "SSH-IGNORE-USER-KNOWN-HOSTS" => ("ignoreuserknownhosts", |v| v == "yes"),
        "SSH-KBD-INTERACTIVE" => ("kbdinteractiveauthentication", |v| v == "no"),
        other => panic!("no judge for {other}"),
    }
}

/// `sshd -T -C CONN` of the host, keyword → value; panics when sshd refuses.
fn daemon(fleet: &Fleet, name: &str, conn: &str) -> std::collections::BTreeMap<String, String> {
    let out = fleet.exec(name, &format!("/usr/sbin/sshd -T -f /etc/ssh/sshd_config -C '{conn}'"));
    assert!(
        out.status.success(),
        "{name}: sshd -T failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The host's own verdict for a rule: compliant for every connection.
/// SSH-ACCESS-LIMITED: some Allow/Deny list is in force.
fn truth(fleet: &Fleet, name: &str, id: &str) -> bool {
    CONNECTIONS.iter().all(|conn| {
        let d = daemon(fleet, name, conn);
        if id == "SSH-ACCESS-LIMITED" {
            return ["allowusers", "allowgroups", "denyusers", "denygroups"]
                .iter()
                .any(|k| d.contains_key(*k));
        }
        let (key, ok) = judge(id);
        ok(d.get(key).unwrap_or_else(|| panic!("{name}: sshd -T has no {key}")))
    })
}

fn drift() -> HostSpec {
    HostSpec::new("drift")
        .sshd(
            "Include /etc/ssh/sshd_config.d/*.conf\nChallengeResponseAuthentication yes\nGSSAPIAuthentication yes\nKerberosAuthentication yes\nGatewayPorts clientspecified\n\
             PrintLastLog no\nPermitTunnel point-to-point\nAllowAgentForwarding yes",
        )
        .file(
            "ssh/sshd_config.d/50-cloud-init.conf",
            "Ciphers +aes128-cbc,3des-cbc\nMACs +hmac-md5\nKexAlgorithms +diffie-hellman-group14-sha1,diffie-hellman-group1-sha1\n\
             HostKeyAlgorithms +ssh-rsa\nPubkeyAcceptedKeyTypes +ssh-rsa\n",
            0o644,
        )
        .setup("useradd -M rsyncer")
}

/// Compliant global lines; a Match block at the end gives one user the
/// loose values back.
fn loose() -> HostSpec {
    HostSpec::new("loose")
        .sshd(
            "GSSAPIAuthentication no\nKerberosAuthentication no\nGatewayPorts no\nPermitTunnel no\nAllowAgentForwarding no\nDisableForwarding yes",
        )
        .setup(
            "useradd -M rsyncer && printf 'Match User rsyncer\\n  GSSAPIAuthentication yes\\n  KerberosAuthentication yes\\n  GatewayPorts yes\\n  \
             PermitTunnel yes\\n  AllowAgentForwarding yes\\n  DisableForwarding no\\n' >> /etc/ssh/sshd_config",
        )
}

/// Every rule met, several more strictly than asked.
fn good() -> HostSpec {
    HostSpec::new("good")
        .sshd(
            "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\nMACs hmac-sha2-512-etm@openssh.com\nKexAlgorithms curve25519-sha256\n\
             HostKeyAlgorithms ssh-ed25519\nPubkeyAcceptedAlgorithms ssh-ed25519\nGSSAPIAuthentication no\nKerberosAuthentication no\n\
             GatewayPorts no\nStrictModes yes\nPrintLastLog yes\nUsePAM yes\nAllowAgentForwarding no\nDisableForwarding yes\nPermitTunnel no\nIgnoreUserKnownHosts yes\n\
             AllowUsers root rsyncer",
        )
        // MaxStartups is one of the keywords whose last line wins: the
        // harness's own line is replaced by a stricter one.
        .setup("useradd -M rsyncer && sed -i 's/^MaxStartups .*/MaxStartups 5:20:30/' /etc/ssh/sshd_config && chmod 0600 /etc/ssh/sshd_config")
}

fn rectify(cmd: &str, inv: &str, limit: &str) -> serde_json::Value {
    let baseline = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/ssh-hardening.yaml");
    let mut args = vec![
        cmd.to_string(),
        "-i".into(),
        inv.to_string(),
        "-b".into(),
        baseline.display().to_string(),
        "--format".into(),
        "json".into(),
        "--limit".into(),
        limit.to_string(),
    ];
    for id in RULES {
        args.extend(["--rule".to_string(), id.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    json(&run_rectify(&args, &[]))
}

/// Every rule's status on a host agrees with the host's own answer.
fn agrees(fleet: &Fleet, report: &serde_json::Value, name: &str) {
    for id in RULES {
        let r = rule(host(report, name), id);
        let want = if truth(fleet, name, id) { "pass" } else { "fail" };
        assert_eq!(r["status"], want, "{name} {id}: rectify disagrees with sshd -T: {r}");
    }
}

#[test]
fn drifted_and_match_loosened_hosts_fail_fix_repairs_with_sshd_agreeing_and_compliant_hosts_stay() {
    let fleet = Fleet::start(vec![drift(), loose(), good()]);
    let inv = fleet.write_inventory().display().to_string();

    // 1. The verdicts, each against sshd -T.
    let report = rectify("audit", &inv, "drift,loose,good");
    for name in ["drift", "loose", "good"] {
        agrees(&fleet, &report, name);
    }
    for id in RULES {
        assert_eq!(rule(host(&report, "drift"), id)["status"], "fail", "drift {id}");
        assert_eq!(rule(host(&report, "good"), id)["status"], "pass", "good {id}");
    }
    // The Match block alone makes these fail, naming it.
    for id in [
        "SSH-GSSAPI-AUTH",
        "SSH-KERBEROS-AUTH",
        "SSH-GATEWAY-PORTS",
        "SSH-PERMIT-TUNNEL",
        "SSH-AGENT-FORWARDING",
        "SSH-DISABLE-FORWARDING",
    ] {
        let r = rule(host(&report, "loose"), id);
        assert_eq!(r["status"], "fail", "loose {id}: {r}");
        assert!(r["actual"].as_str().unwrap().contains("Match User rsyncer"), "{r}");
    }
    // An algorithm list edited with + in the drop-in is judged as sshd
    // resolves it, and names the drop-in.
    let ciphers = rule(host(&report, "drift"), "SSH-CIPHERS-NO-WEAK");
    assert!(
        ciphers["message"]
            .as_str()
            .unwrap_or_default()
            .contains("50-cloud-init.conf")
            || ciphers["actual"].as_str().unwrap().contains("50-cloud-init.conf"),
        "{ciphers}"
    );

    // 2. fix: every automatic rule passes; SSH-ACCESS-LIMITED is manual.
    let good_before = (
        stat(&fleet, "good", "/etc/ssh/sshd_config"),
        sh(&fleet, "good", "cat /etc/ssh/sshd_config"),
    );
    let fixed = rectify("fix", &inv, "drift,loose,good");
    for name in ["drift", "loose"] {
        let h = host(&fixed, name);
        assert_ne!(h["status"], "rolled_back", "{h}");
        for id in RULES {
            let r = rule(h, id);
            if *id == "SSH-ACCESS-LIMITED" {
                assert_eq!(r["status"], "fail", "{name}: {r}");
                assert!(r["remediation"]["manual"].as_str().is_some(), "{r}");
            } else {
                assert_eq!(r["status"], "pass", "{name} {id} not fixed: {r}");
            }
        }
        assert!(h["warnings"].to_string().contains("SSH-ACCESS-LIMITED"), "{h}");
        // sshd accepts what was written and agrees with every verdict.
        let t = fleet.exec(name, "/usr/sbin/sshd -t -f /etc/ssh/sshd_config");
        assert!(t.status.success(), "{name}: {}", String::from_utf8_lossy(&t.stderr));
        for id in RULES.iter().filter(|id| **id != "SSH-ACCESS-LIMITED") {
            assert!(truth(&fleet, name, id), "{name} {id}: sshd -T disagrees after fix");
        }
    }
    // The drop-in's lines were rewritten where sshd reads them, and the
    // Match block's own lines were edited.
    let dropin = sh(&fleet, "drift", "cat /etc/ssh/sshd_config.d/50-cloud-init.conf");
    assert!(dropin.contains("Ciphers -*-cbc*,arcfour*\n"), "{dropin}");
    let block = sh(
        &fleet,
        "loose",
        "sed -n '/^Match User rsyncer/,$p' /etc/ssh/sshd_config",
    );
    assert!(
        block.contains("GSSAPIAuthentication no") && block.contains("DisableForwarding yes"),
        "{block}"
    );
    // The compliant host: nothing run, nothing rewritten, stricter values kept.
    assert_eq!(host(&fixed, "good")["changes"], serde_json::json!([]), "{fixed}");
    assert_eq!(
        (
            stat(&fleet, "good", "/etc/ssh/sshd_config"),
            sh(&fleet, "good", "cat /etc/ssh/sshd_config")
        ),
        good_before
    );
    let d = daemon(&fleet, "good", CONNECTIONS[0]);
    assert_eq!(d["ciphers"], "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com");
    assert_eq!(d["maxstartups"], "5:20:30");

    // 3. A second fix finds nothing more to change.
    let again = rectify("fix", &inv, "drift,loose");
    for name in ["drift", "loose"] {
        assert_eq!(host(&again, name)["changes"], serde_json::json!([]), "{name}: {again}");
    }
}
