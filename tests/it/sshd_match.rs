//! `setting` rules with `match:` judge one connection, and agree with the
//! host's own `sshd -T -C user=…,host=…,addr=…[,laddr=…,lport=…]` for each:
//! `Match` blocks on User lists, Address CIDR lists with negation and
//! wildcards, LocalPort, Host patterns and `Match All`, overlapping so that
//! the order of the blocks decides. Also: a keyword sshd refuses inside a
//! conditional block makes the rule an error naming the line, as `sshd -t`
//! refuses the file; a bad `match:` is a baseline error with its position.

use crate::fleet::report::{host, rule};
use crate::fleet::{audit_fleet, rectify_in, sh, Fleet, HostSpec};

/// Debian-like: the drop-ins first, then the main file's lines; the Match
/// blocks live in a drop-in (they end with it). Drop-ins this machine's
/// /etc may have are removed from the host's view.
fn matched() -> HostSpec {
    HostSpec::new("m")
        .sshd(
            "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nX11Forwarding no\n\
             MaxAuthTries 3\nPermitRootLogin without-password\nAllowTcpForwarding no\n",
        )
        .file(
            "ssh/sshd_config.d/80-match.conf",
            "# exceptions, most specific first\n\
             Match User alice,b* LocalPort 2222\n    MaxAuthTries 6\n\
             Match User alice,bob,!root\n    PasswordAuthentication yes\n    X11Forwarding yes\n\
             Match Address 10.0.0.0/8,!10.9.9.9\n    PasswordAuthentication no\n    MaxAuthTries 2\n    \
             AllowTcpForwarding yes\n\
             Match Address 192.0.2.*\n    PermitRootLogin no\n\
             Match LocalPort 2222\n    X11Forwarding no\n    MaxAuthTries 5\n\
             Match Host *.Example.org\n    MaxAuthTries 4\n    PermitRootLogin yes\n\
             Match All\n    MaxSessions 3\n",
            0o644,
        )
        .setup("for f in /etc/ssh/sshd_config.d/*; do case $f in */80-match.conf) ;; *) rm -f \"$f\" ;; esac; done")
}

/// The connections, as `sshd -C` spells them and as `match:` does.
const CONNECTIONS: &[(&str, &str)] = &[
    (
        "user=alice,host=ws.example.org,addr=10.1.1.1,laddr=10.0.0.1,lport=22",
        "{user: alice, host: ws.example.org, addr: 10.1.1.1, laddr: 10.0.0.1, lport: 22}",
    ),
    (
        "user=carol,host=ws.example.org,addr=10.9.9.9,laddr=10.0.0.1,lport=2222",
        "{user: carol, host: ws.example.org, addr: 10.9.9.9, laddr: 10.0.0.1, lport: 2222}",
    ),
    (
        "user=carol,host=other.net,addr=192.0.2.7,laddr=10.0.0.1,lport=22",
        "{user: carol, host: other.net, addr: 192.0.2.7, laddr: 10.0.0.1, lport: 22}",
    ),
    (
        "user=bob,host=other.net,addr=10.9.9.9,laddr=10.0.0.1,lport=2222",
        "{user: bob, host: other.net, addr: 10.9.9.9, laddr: 10.0.0.1, lport: 2222}",
    ),
    (
        "user=root,host=client,addr=10.2.3.4,lport=22",
        "{user: root, host: client, addr: 10.2.3.4, lport: 22}",
    ),
    (
        "user=root,host=other.net,addr=2001:db8::7,lport=2222",
        "{user: root, host: other.net, addr: \"2001:db8::7\", lport: 2222}",
    ),
];

/// (keyword as the rule spells it, `sshd -T` keyword, expected value).
const KEYS: &[(&str, &str, &str)] = &[
    ("PasswordAuthentication", "passwordauthentication", "no"),
    ("X11Forwarding", "x11forwarding", "no"),
    ("MaxAuthTries", "maxauthtries", "3"),
    ("AllowTcpForwarding", "allowtcpforwarding", "no"),
    // sshd reads both names as one setting and prints what was written.
    ("PermitRootLogin", "permitrootlogin", "prohibit-password"),
    ("MaxSessions", "maxsessions", "3"),
];

fn baseline() -> String {
    let mut text = String::from("name: sshd-match\nrules:\n");
    for (c, (_, yaml)) in CONNECTIONS.iter().enumerate() {
        for (k, (key, _, expect)) in KEYS.iter().enumerate() {
            text.push_str(&format!(
                "  - {{id: C{c}K{k}, file: /etc/ssh/sshd_config, setting: {key}, expect: \"{expect}\", match: {yaml}}}\n"
            ));
        }
    }
    text
}

/// sshd's value, as a user compares it: `without-password` is
/// `prohibit-password`.
fn same(a: &str, b: &str) -> bool {
    let norm = |v: &str| {
        let v = v.to_ascii_lowercase();
        if v == "without-password" {
            "prohibit-password".to_string()
        } else {
            v
        }
    };
    norm(a) == norm(b)
}

#[test]
fn each_connection_gets_the_verdict_sshd_t_c_gives() {
    let fleet = Fleet::start(vec![matched()]);
    let (code, report) = audit_fleet(&fleet, &baseline(), &[]);
    assert_eq!(code, Some(1), "{report:#}");
    let h = host(&report, "m");
    let (mut passes, mut fails) = (0, 0);
    for (c, (spec, _)) in CONNECTIONS.iter().enumerate() {
        let dump = sh(&fleet, "m", &format!("sshd -T -f /etc/ssh/sshd_config -C {spec} 2>&1"));
        for (k, (_, keyword, expect)) in KEYS.iter().enumerate() {
            let daemon = dump
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
                .unwrap_or_else(|| panic!("no {keyword} in sshd -T -C {spec}:\n{dump}"));
            let verdict = rule(h, &format!("C{c}K{k}"));
            let want = if same(daemon, expect) { "pass" } else { "fail" };
            assert_eq!(
                verdict["status"], want,
                "{spec} {keyword}: sshd says {daemon:?}, rectify says {verdict:#}"
            );
            // The value rectify reports is the daemon's, wherever it is.
            let actual = verdict["actual"].as_str().unwrap_or_default();
            let actual = actual.split(" (from ").next().unwrap_or_default();
            assert_eq!(actual, daemon, "{spec} {keyword}: {verdict:#}");
            if want == "pass" {
                passes += 1;
            } else {
                fails += 1;
            }
        }
    }
    // Both outcomes occur: the comparison is not vacuous.
    assert!(passes >= 10 && fails >= 10, "{passes} pass, {fails} fail");
}

#[test]
fn a_keyword_sshd_refuses_in_a_match_block_is_an_error_naming_the_line() {
    let fleet = Fleet::start(vec![matched()]);
    // Written after sshd started: the running daemon keeps its configuration,
    // but would not start again with this file.
    sh(
        &fleet,
        "m",
        "printf 'Match User x\\n  PermitRootLogin no\\n  Port 2222\\n' > /etc/ssh/sshd_config.d/90-bad.conf",
    );
    let check = sh(&fleet, "m", "sshd -t -f /etc/ssh/sshd_config 2>&1; echo rc=$?");
    assert!(
        check.contains("not allowed within a Match block") && check.ends_with("rc=255\n"),
        "{check}"
    );
    let baseline = "name: b\nrules:\n  - {id: ROOT, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: \"no\"}\n  \
                    - {id: ROOTC, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: \"no\", match: {user: x, host: h, addr: 10.0.0.1}}\n";
    let (_, report) = audit_fleet(&fleet, baseline, &[]);
    for id in ["ROOT", "ROOTC"] {
        let r = rule(host(&report, "m"), id);
        assert_eq!(r["status"], "error", "{r:#}");
        let message = r["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("/etc/ssh/sshd_config.d/90-bad.conf:3") && message.contains("Port"),
            "{r:#}"
        );
    }
}

#[test]
fn a_bad_match_field_is_a_baseline_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name: b\nrules:\n  - id: A\n    file: /etc/ssh/sshd_config\n    setting: X11Forwarding\n    \
                match:\n      user: u\n      host: h\n      addr: 10.0.0.300\n  - id: B\n    file: /etc/ssh/ssh_config\n    \
                setting: X11Forwarding\n    match: {user: u, host: h, addr: 10.0.0.1}\n  - id: C\n    \
                file: /etc/ssh/sshd_config\n    setting: Banner\n    absent: true\n    match: {user: u, host: h, addr: 10.0.0.1}\n";
    std::fs::write(dir.path().join("b.yaml"), text).unwrap();
    let out = rectify_in(&["validate", "b.yaml"], dir.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("b.yaml:9:7: rule A: invalid `match` addr"), "{err}");
    assert!(
        err.contains("b.yaml:13:5: rule B: `match` applies to sshd configurations"),
        "{err}"
    );
}

#[test]
fn match_localport_without_lport_is_an_error_as_sshd_t_c_refuses() {
    let fleet = Fleet::start(vec![matched()]);
    let dump = sh(
        &fleet,
        "m",
        "sshd -T -f /etc/ssh/sshd_config -C user=root,host=h,addr=10.2.3.4 2>&1",
    );
    assert!(dump.contains("'lport' not in connection test specification"), "{dump}");
    let baseline = "name: b\nrules:\n  - {id: R, file: /etc/ssh/sshd_config, setting: MaxSessions, expect: \"3\", \
                    match: {user: root, host: h, addr: 10.2.3.4}}\n";
    let (_, report) = audit_fleet(&fleet, baseline, &[]);
    let r = rule(host(&report, "m"), "R");
    assert_eq!(r["status"], "error", "{r:#}");
    let message = r["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("80-match.conf:2: Match LocalPort needs `lport`"),
        "{r:#}"
    );
}
