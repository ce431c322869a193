//! sshd's `Include` on real OpenSSH servers: audit, apply and capture read
//! a setting where sshd reads it, and `sshd -T` on the host agrees.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{apply_json, audit_json, audit_text, capture, write, Fleet, HostSpec};

const CLOUD: &str = "/etc/ssh/sshd_config.d/50-cloud-init.conf";
const CLOUD_TEXT: &str = "# written by cloud-init\nPasswordAuthentication yes\nX11Forwarding yes\n";

/// Debian's first line, `Include /etc/ssh/sshd_config.d/*.conf`, after an
/// `X11Forwarding no` that precedes it (and so wins over any drop-in). The
/// harness puts its own `PasswordAuthentication no` after these lines.
/// Drop-ins this machine's /etc may have are removed from the host's view,
/// so the host has exactly the drop-ins the test gives it.
fn debian_like(name: &str) -> HostSpec {
    HostSpec::new(name)
        .sshd("X11Forwarding no\nInclude /etc/ssh/sshd_config.d/*.conf")
        .setup(
            "for f in /etc/ssh/sshd_config.d/*; do case $f in */50-cloud-init.conf) ;; *) rm -f \"$f\" ;; esac; done",
        )
}

fn cloud_host(name: &str) -> HostSpec {
    debian_like(name).file("ssh/sshd_config.d/50-cloud-init.conf", CLOUD_TEXT, 0o600)
}

/// What the host's own sshd makes of its configuration: `sshd -T`'s value
/// for a keyword (lower case).
fn sshd_t(fleet: &Fleet, name: &str, keyword: &str) -> String {
    let out = fleet.exec(name, "sshd -T -f /etc/ssh/sshd_config");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sshd -T on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("no {keyword} in sshd -T on {name}:\n{text}"))
        .to_string()
}

const BASELINE: &str = r#"
name: include-test
rules:
  - {id: SSH-PASSWORD, file: /etc/ssh/sshd_config, setting: PasswordAuthentication, expect: "no"}
  - {id: SSH-X11, file: /etc/ssh/sshd_config, setting: X11Forwarding, expect: "no"}
"#;

#[test]
fn a_drop_in_included_first_decides_the_audit_and_is_named() {
    let fleet = Fleet::start(vec![cloud_host("cloud"), debian_like("plain")]);
    let inv = fleet.write_inventory();
    let baseline = write(fleet.dir(), "baseline.yaml", BASELINE);
    // What sshd itself uses on each host: the drop-in's value where there is
    // one, except for a key the main file sets before its Include line.
    assert_eq!(sshd_t(&fleet, "cloud", "passwordauthentication"), "yes");
    assert_eq!(sshd_t(&fleet, "cloud", "x11forwarding"), "no");
    assert_eq!(sshd_t(&fleet, "plain", "passwordauthentication"), "no");

    let out = audit_json(&inv, &baseline, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    let cloud = host(&report, "cloud");
    assert_eq!(cloud["status"], "drift", "{cloud:#}");
    let password = rule(cloud, "SSH-PASSWORD");
    assert_eq!(password["status"], "fail", "{password:#}");
    assert_eq!(password["actual"], format!("yes (from {CLOUD}:2)"), "{password:#}");
    // Set in the main file before the Include: the main file's value.
    let x11 = rule(cloud, "SSH-X11");
    assert_eq!(
        (&x11["status"], &x11["actual"]),
        (&"pass".into(), &"no".into()),
        "{x11:#}"
    );

    let plain = host(&report, "plain");
    assert_eq!(plain["status"], "compliant", "{plain:#}");
    assert_eq!(rule(plain, "SSH-PASSWORD")["actual"], "no");

    // The terminal report names the drop-in too.
    let out = audit_text(&inv, &baseline, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{CLOUD}:2")), "{text}");
}

const PLAYBOOK: &str = r#"
name: include-apply
steps:
  - name: no password logins
    setting: {file: /etc/ssh/sshd_config, key: PasswordAuthentication, value: "no"}
    validate: sshd -t -f {path}
    notify: [reload sshd]
  - name: no X11 forwarding
    setting: {file: /etc/ssh/sshd_config, key: X11Forwarding, value: "no"}
    validate: sshd -t -f {path}
    notify: [reload sshd]
handlers:
  reload sshd: kill -HUP "$(cat /run/sshd.pid)"
verify:
  - command: sshd -T -f /etc/ssh/sshd_config | grep -qx 'passwordauthentication no'
"#;

#[test]
fn apply_edits_the_drop_in_that_holds_the_effective_value() {
    // `linked`: the drop-in is a symbolic link, which rectify never writes
    // through: that host is refused before anything changes.
    let linked = debian_like("linked")
        .file("ssh/cloud-real.conf", "PasswordAuthentication yes\n", 0o600)
        .setup("ln -s /etc/ssh/cloud-real.conf /etc/ssh/sshd_config.d/50-cloud-init.conf");
    let fleet = Fleet::start(vec![cloud_host("cloud"), linked]);
    let inv = fleet.write_inventory();
    let pb = write(fleet.dir(), "playbook.yaml", PLAYBOOK);
    let main_before = fleet.read_file("cloud", "/etc/ssh/sshd_config");
    assert_eq!(sshd_t(&fleet, "linked", "passwordauthentication"), "yes");

    let out = apply_json(&inv, &pb, &[]);
    let report = json(&out);
    // One host refused (error): exit 3.
    assert_eq!(out.status.code(), Some(3), "{report:#}");

    let cloud = host(&report, "cloud");
    assert_eq!(cloud["status"], "changed", "{cloud:#}");
    let changes = cloud["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "X11Forwarding is already effective: {cloud:#}");
    assert_eq!(changes[0]["path"], CLOUD, "{cloud:#}");
    // The drop-in's line is rewritten in place; the main file is untouched;
    // sshd, reloaded, now refuses passwords (the verify said so too).
    assert_eq!(
        String::from_utf8(fleet.read_file("cloud", CLOUD)).unwrap(),
        "# written by cloud-init\nPasswordAuthentication no\nX11Forwarding yes\n"
    );
    assert_eq!(fleet.read_file("cloud", "/etc/ssh/sshd_config"), main_before);
    assert_eq!(sshd_t(&fleet, "cloud", "passwordauthentication"), "no");
    // The drop-in was backed up like any file of the transaction.
    let manifest =
        String::from_utf8_lossy(&fleet.exec("cloud", "cat /var/backups/rectify/*/manifest").stdout).into_owned();
    assert!(manifest.contains(CLOUD), "{manifest}");
    assert_eq!(
        String::from_utf8_lossy(&fleet.exec("cloud", "cat /var/backups/rectify/*/0").stdout),
        CLOUD_TEXT
    );

    let linked = host(&report, "linked");
    assert_eq!(linked["status"], "error", "{linked:#}");
    let error = linked["error"].as_str().unwrap();
    assert!(
        error.contains(CLOUD) && error.contains("symbolic link") && error.contains("nothing was changed"),
        "{error}"
    );
    assert_eq!(
        fleet.read_file("linked", "/etc/ssh/cloud-real.conf"),
        b"PasswordAuthentication yes\n"
    );

    // Idempotent: the second run finds the effective value in place.
    let out = apply_json(&inv, &pb, &["--limit", "cloud"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(host(&report, "cloud")["status"], "unchanged", "{report:#}");
}

/// Whether a captured rule's text expects `value` (however YAML quotes it).
fn expects(rule: &str, value: &str) -> bool {
    [
        format!("expect: {value}\n"),
        format!("expect: '{value}'"),
        format!("expect: \"{value}\""),
    ]
    .iter()
    .any(|e| rule.contains(e.as_str()))
}

#[test]
fn capture_records_the_effective_value() {
    let fleet = Fleet::start(vec![cloud_host("golden"), debian_like("plain")]);
    let inv = fleet.write_inventory();
    let from = write(fleet.dir(), "from.yaml", BASELINE);
    let captured = fleet.dir().join("golden.yaml");
    let out = capture(&inv, "golden", &from, &captured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&captured).unwrap();
    let password = text.split("- id: ").find(|r| r.starts_with("SSH-PASSWORD")).unwrap();
    assert!(expects(password, "yes"), "{text}");
    let x11 = text.split("- id: ").find(|r| r.starts_with("SSH-X11")).unwrap();
    assert!(expects(x11, "no"), "{text}");

    // The golden host passes its own capture; the host without the drop-in
    // differs exactly in PasswordAuthentication.
    let out = audit_json(&inv, &captured, &[]);
    let report = json(&out);
    assert_eq!(host(&report, "golden")["status"], "compliant", "{report:#}");
    let plain = host(&report, "plain");
    assert_eq!(rule(plain, "SSH-PASSWORD")["status"], "fail", "{plain:#}");
    assert_eq!(rule(plain, "SSH-X11")["status"], "pass", "{plain:#}");
}

/// `Match all` and a quoted pattern with a blank, against the host's own
/// `sshd -T`: after `Match all` a setting is global again (and the audit
/// agrees); a pattern with a blank is one pattern to sshd, which rectify
/// cannot expand on the host, so the audit and the apply say so, naming
/// the line, instead of reporting a value.
#[test]
fn match_all_is_global_and_a_quoted_pattern_with_a_blank_is_refused() {
    let matchall = debian_like("matchall").file(
        "ssh/sshd_config.d/50-cloud-init.conf",
        "Match User nobody\n  Banner /etc/nobody\nMatch all\nBanner /etc/issue.net\n",
        0o644,
    );
    let spaced = debian_like("spaced").sshd("Include \"/etc/ssh/sp dir/*.conf\"").file(
        "ssh/sp dir/a.conf",
        "MaxAuthTries 3\n",
        0o644,
    );
    let fleet = Fleet::start(vec![matchall, spaced]);
    let inv = fleet.write_inventory();
    let baseline = write(
        fleet.dir(),
        "baseline.yaml",
        r#"
name: include-edge
rules:
  - {id: SSH-BANNER, file: /etc/ssh/sshd_config, setting: Banner, expect: /etc/issue.net}
  - {id: SSH-TRIES, file: /etc/ssh/sshd_config, setting: MaxAuthTries, expect: "3"}
"#,
    );
    assert_eq!(sshd_t(&fleet, "matchall", "banner"), "/etc/issue.net");
    assert_eq!(sshd_t(&fleet, "spaced", "maxauthtries"), "3");

    // But user nobody's connections get the block's banner (the first
    // matching block wins), so the rule does not hold for every connection.
    let nobody = fleet.exec(
        "matchall",
        "sshd -T -f /etc/ssh/sshd_config -C user=nobody,host=x,addr=192.0.2.1",
    );
    let nobody = String::from_utf8_lossy(&nobody.stdout);
    assert!(nobody.lines().any(|l| l == "banner /etc/nobody"), "{nobody}");

    let report = json(&audit_json(&inv, &baseline, &[]));
    let banner = rule(host(&report, "matchall"), "SSH-BANNER");
    assert_eq!(banner["status"], "fail", "{banner:#}");
    assert_eq!(
        banner["actual"],
        format!("/etc/issue.net (from {CLOUD}:4); /etc/nobody (Match User nobody at {CLOUD}:1)"),
        "{banner:#}"
    );
    let tries = rule(host(&report, "spaced"), "SSH-TRIES");
    assert_eq!(tries["status"], "error", "{tries:#}");
    let message = tries["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("/etc/ssh/sshd_config:3") && message.contains("sp dir"),
        "{tries:#}"
    );

    // The apply refuses that host before changing anything.
    let pb = write(
        fleet.dir(),
        "playbook.yaml",
        r#"
name: include-edge-apply
steps:
  - name: fewer tries
    setting: {file: /etc/ssh/sshd_config, key: MaxAuthTries, value: "4"}
"#,
    );
    let main_before = fleet.read_file("spaced", "/etc/ssh/sshd_config");
    let out = apply_json(&inv, &pb, &["--limit", "spaced"]);
    let report = json(&out);
    let spaced = host(&report, "spaced");
    assert_eq!(spaced["status"], "error", "{spaced:#}");
    let error = spaced["error"].as_str().unwrap();
    assert!(
        error.contains("/etc/ssh/sshd_config:3") && error.contains("nothing was changed"),
        "{error}"
    );
    assert_eq!(fleet.read_file("spaced", "/etc/ssh/sshd_config"), main_before);
    assert_eq!(fleet.read_file("spaced", "/etc/ssh/sp dir/a.conf"), b"MaxAuthTries 3\n");
    assert_eq!(sshd_t(&fleet, "spaced", "maxauthtries"), "3");
}
