//! `rectify fix` runs only the steps of the rules that fail on a host, so a
//! value already stricter than a rule is never loosened to the playbook's;
//! `rectify capture` writes "stays unset" for an sshd key as a rule that
//! reads the drop-ins sshd reads. Judged against the host's own `sshd -T`.

use std::path::Path;

use crate::fleet::report::{failing_rules, host, json};
use crate::fleet::{audit_json, capture, run_rectify, sh, write, Fleet, HostSpec};

/// `sshd -T`'s value of `keyword` (lower case) on that host.
fn sshd_t(fleet: &Fleet, name: &str, keyword: &str) -> String {
    let out = sh(fleet, name, "/usr/sbin/sshd -T -f /etc/ssh/sshd_config");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("sshd -T has no {keyword}: {out}"))
        .to_string()
}

/// Every shipped ssh-hardening rule passes except X11Forwarding; MaxAuthTries
/// and LoginGraceTime are stricter than the rules ask (the playbook's values
/// are 4 and 60). `fix` must change the X11Forwarding line and nothing else.
#[test]
fn fix_changes_only_what_fails_and_keeps_stricter_values() {
    let spec = HostSpec::new("strict")
        .sshd(
            "MaxAuthTries 2\nLoginGraceTime 20\nX11Forwarding yes\nPermitEmptyPasswords no\nClientAliveInterval 300\nClientAliveCountMax 2\n\
             AllowTcpForwarding no\nIgnoreRhosts yes\nHostbasedAuthentication no\nPermitUserEnvironment no\n\
             LogLevel VERBOSE\nMaxSessions 10\nBanner /etc/issue.net\nMACs -hmac-sha1*,umac-64*,hmac-md5*,hmac-ripemd160*,hmac-sha2-256,hmac-sha2-512,umac-128@openssh.com\nStrictModes yes\nUsePAM yes\nAllowAgentForwarding no\nDisableForwarding yes\nIgnoreUserKnownHosts yes\nAllowUsers root",
        )
        // MaxStartups: the harness's own line is the last, which sshd reads.
        .setup("chmod 0600 /etc/ssh/sshd_config && sed -i 's/^MaxStartups .*/MaxStartups 10:30:60/' /etc/ssh/sshd_config");
    let fleet = Fleet::start(vec![spec]);
    let inv = fleet.write_inventory().display().to_string();
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/ssh-hardening.yaml");
    let b = baseline.display().to_string();

    let before = fleet.read_file("strict", "/etc/ssh/sshd_config");
    let report = json(&audit_json(Path::new(&inv), &baseline, &[]));
    assert_eq!(
        failing_rules(host(&report, "strict")),
        vec!["SSH-X11-FORWARDING"],
        "{report}"
    );

    let out = run_rectify(&["fix", "-b", &b, "-i", &inv, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let after = String::from_utf8(fleet.read_file("strict", "/etc/ssh/sshd_config")).unwrap();
    let expected = String::from_utf8(before)
        .unwrap()
        .replace("X11Forwarding yes\n", "X11Forwarding no\n");
    assert_eq!(after, expected, "only the X11Forwarding line may change");
    // What the reloaded daemon reads.
    assert_eq!(sshd_t(&fleet, "strict", "x11forwarding"), "no");
    assert_eq!(sshd_t(&fleet, "strict", "maxauthtries"), "2");
    assert_eq!(sshd_t(&fleet, "strict", "logingracetime"), "20");
}

/// A golden host without `PermitRootLogin` anywhere: its captured baseline
/// says the key stays unset. Another host that sets it in a drop-in (as
/// cloud images do) gets `PermitRootLogin yes` from sshd and must fail.
#[test]
fn a_captured_unset_sshd_key_fails_where_a_drop_in_sets_it() {
    let unset = "sed -i '/^PermitRootLogin/d' /etc/ssh/sshd_config; mkdir -p /etc/ssh/sshd_config.d";
    let golden = HostSpec::new("golden")
        .sshd("Include /etc/ssh/sshd_config.d/*.conf")
        .setup(unset);
    let dropin = HostSpec::new("dropin")
        .sshd("Include /etc/ssh/sshd_config.d/*.conf")
        .setup(&format!(
            "{unset}; echo 'PermitRootLogin yes' > /etc/ssh/sshd_config.d/01-permitrootlogin.conf"
        ));
    let fleet = Fleet::start(vec![golden, dropin]);
    let dir = fleet.dir();
    let inv = fleet.write_inventory();
    let from = write(
        dir,
        "from.yaml",
        "name: root\nrules:\n  - id: ROOT\n    file: /etc/ssh/sshd_config\n    setting: PermitRootLogin\n    expect: \"no\"\n",
    );
    let captured = dir.join("captured.yaml");
    let out = capture(&inv, "golden", &from, &captured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(sshd_t(&fleet, "dropin", "permitrootlogin"), "yes");
    assert_ne!(sshd_t(&fleet, "golden", "permitrootlogin"), "yes");
    let report = json(&audit_json(&inv, &captured, &[]));
    assert_eq!(failing_rules(host(&report, "golden")), Vec::<&str>::new(), "{report}");
    assert_eq!(failing_rules(host(&report, "dropin")), vec!["ROOT"], "{report}");
    let actual = host(&report, "dropin")["results"][0]["actual"].to_string();
    assert!(actual.contains("01-permitrootlogin.conf"), "{actual}");
}
