//! `setting` verdicts on messy sshd configurations agree with the daemon:
//! keyword aliases (`ChallengeResponseAuthentication`, `KeepAlive`),
//! keywords that add up (`Port`), and `Match` blocks (`Match all`, `Match
//! User root`, `Match Address`) in a Debian-style tree of drop-ins. Each
//! verdict is compared with what the host's own `sshd -T` (and `sshd -T -C
//! …` for connections the `Match` blocks apply to) says, and an apply's
//! `setting` step edits the line sshd reads whatever its spelling.

use crate::fleet::report::{host, rule};
use crate::fleet::{apply_fleet, audit_fleet, sh, Fleet, HostSpec};

const DROPINS: &str = "ssh/sshd_config.d";

/// A Debian stock-like main file: the drop-ins are included first, then
/// the distribution's own lines (before the harness's defaults). Drop-ins
/// this machine's /etc may have are removed from the host's view (the
/// setup runs after the test's files are in place, so those stay).
fn debian(name: &str, own_lines: &str) -> HostSpec {
    HostSpec::new(name)
        .sshd(&format!(
            "# Debian: drop-ins first\nInclude /etc/ssh/sshd_config.d/*.conf\n{own_lines}"
        ))
        .setup(
            "for f in /etc/ssh/sshd_config.d/*; do case $f in \
             */10-legacy.conf|*/50-cloud-init.conf|*/90-exceptions.conf) ;; *) rm -f \"$f\" ;; esac; done",
        )
}

/// `drift`: what real machines accumulate. A cloud-init drop-in, a legacy
/// drop-in with deprecated spellings and `key=value`, an extra `Port`, and
/// `Match` blocks re-enabling what the global lines disable.
fn drift() -> HostSpec {
    debian(
        "drift",
        "kbdinteractiveauthentication yes\nTCPKeepAlive yes\nX11Forwarding no\nPermitEmptyPasswords \"no\"\nMaxAuthTries 3\n",
    )
    .file(
        &format!("{DROPINS}/10-legacy.conf"),
        "# from an old image\nChallengeResponseAuthentication=no\nKeepAlive no\nport=2222\npermitrootlogin without-password\nX11Forwarding no\n",
        0o644,
    )
    .file(
        &format!("{DROPINS}/50-cloud-init.conf"),
        "PasswordAuthentication no\nPort 2200\n",
        0o644,
    )
    .file(
        &format!("{DROPINS}/90-exceptions.conf"),
        "Match User root\n    PermitRootLogin yes\n    MaxAuthTries 3\n\
         Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n    PermitRootLogin no\n\
         Match all\n    X11Forwarding yes\n",
        0o644,
    )
}

/// `tidy`: the same shapes, every connection getting the hardened value,
/// so nothing may fail for the wrong reason.
fn tidy() -> HostSpec {
    debian("tidy", "X11Forwarding yes\nMaxAuthTries 3\nPermitEmptyPasswords no\n")
        .file(
            &format!("{DROPINS}/10-legacy.conf"),
            "CHALLENGERESPONSEAUTHENTICATION no\nKeepAlive=no\nPort 2222\npermitrootlogin without-password\n",
            0o644,
        )
        .file(
            &format!("{DROPINS}/50-cloud-init.conf"),
            "PasswordAuthentication no\n",
            0o644,
        )
        .file(
            &format!("{DROPINS}/90-exceptions.conf"),
            "Match User root\n    PermitRootLogin \"without-password\"\n    MaxAuthTries 3\n\
             Match Address 10.0.0.0/8\n    PasswordAuthentication no # no exceptions\n\
             Match all\n    X11Forwarding no\n",
            0o644,
        )
}

/// (rule id, keyword as the rule spells it, `sshd -T` keyword, expected).
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "KBD",
        "KbdInteractiveAuthentication",
        "kbdinteractiveauthentication",
        "no",
    ),
    (
        "CHALLENGE",
        "ChallengeResponseAuthentication",
        "kbdinteractiveauthentication",
        "no",
    ),
    ("KEEPALIVE", "TCPKeepAlive", "tcpkeepalive", "no"),
    ("PORTS", "Port", "port", "2222 22"),
    // `without-password`: what `sshd -T` prints for prohibit-password; root
    // must keep its key logins, rectify uses them.
    ("ROOT", "PermitRootLogin", "permitrootlogin", "without-password"),
    ("PASSWORD", "PasswordAuthentication", "passwordauthentication", "no"),
    ("X11", "X11Forwarding", "x11forwarding", "no"),
    ("EMPTY", "permitemptypasswords", "permitemptypasswords", "no"),
    ("TRIES", "MaxAuthTries", "maxauthtries", "3"),
];

/// The connections `sshd -T -C` is asked about: each combination of a
/// user the `Match User` block names or not and an address the `Match
/// Address` block names or not.
const CONNECTIONS: &[&str] = &[
    "user=root,host=x,addr=10.1.2.3",
    "user=root,host=x,addr=192.0.2.7",
    "user=alice,host=x,addr=10.1.2.3",
    "user=alice,host=x,addr=192.0.2.7",
];

/// The value of `keyword` in an `sshd -T` output: its lines' values joined
/// by one space (`port 2222` and `port 22` → `2222 22`).
fn value(dump: &str, keyword: &str) -> String {
    dump.lines()
        .filter_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The daemon's values of `keyword`: globally (`sshd -T`) and for each of
/// [`CONNECTIONS`] (`sshd -T -C`), labelled.
fn daemon(fleet: &Fleet, name: &str, keyword: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for conn in std::iter::once("").chain(CONNECTIONS.iter().copied()) {
        let flag = if conn.is_empty() {
            String::new()
        } else {
            format!("-C {conn}")
        };
        let dump = sh(fleet, name, &format!("sshd -T -f /etc/ssh/sshd_config {flag} 2>&1"));
        let v = value(&dump, keyword);
        assert!(!v.is_empty(), "{name}: no {keyword} in sshd -T {flag}:\n{dump}");
        out.push((
            if conn.is_empty() {
                "global".into()
            } else {
                conn.to_string()
            },
            v,
        ));
    }
    out
}

fn baseline() -> String {
    let mut text = String::from("name: sshd-verdicts\nrules:\n");
    for (id, key, _, expect) in CASES {
        text.push_str(&format!(
            "  - {{id: {id}, file: /etc/ssh/sshd_config, setting: {key}, expect: \"{expect}\"}}\n"
        ));
    }
    text
}

#[test]
fn verdicts_pass_exactly_when_every_connection_gets_the_expected_value() {
    let fleet = Fleet::start(vec![drift(), tidy()]);
    let (code, report) = audit_fleet(&fleet, &baseline(), &[]);
    assert_eq!(code, Some(1), "{report:#}");
    let mut failing = Vec::new();
    for name in ["drift", "tidy"] {
        let h = host(&report, name);
        for (id, _, keyword, expect) in CASES {
            let answers = daemon(&fleet, name, keyword);
            let daemon_pass = answers.iter().all(|(_, v)| v.eq_ignore_ascii_case(expect));
            let verdict = rule(h, id);
            let want = if daemon_pass { "pass" } else { "fail" };
            assert_eq!(
                verdict["status"], want,
                "{name} {id}: sshd says {answers:?}, rectify says {verdict:#}"
            );
            if !daemon_pass {
                failing.push(format!("{name} {id}"));
            }
        }
    }
    // The drifted host fails each way the daemon does, and the tidy host
    // fails nothing: the comparison above is not vacuous.
    assert_eq!(
        failing,
        ["drift PORTS", "drift ROOT", "drift PASSWORD", "drift X11"],
        "{report:#}"
    );
    assert_eq!(host(&report, "tidy")["status"], "compliant", "{report:#}");

    // What a user reads: the whole list, and the Match block that gives a
    // connection another value, by file, line and criteria.
    let drift = host(&report, "drift");
    let exceptions = "/etc/ssh/sshd_config.d/90-exceptions.conf";
    assert_eq!(
        rule(drift, "PORTS")["actual"],
        "2222 2200 22 (from /etc/ssh/sshd_config.d/10-legacy.conf:4)"
    );
    assert_eq!(
        rule(drift, "ROOT")["actual"],
        format!(
            "without-password (from /etc/ssh/sshd_config.d/10-legacy.conf:5); \
             yes (Match User root at {exceptions}:1); no (Match Address 10.0.0.0/8 at {exceptions}:4)"
        )
    );
    let password = rule(drift, "PASSWORD");
    assert!(
        password["actual"]
            .as_str()
            .unwrap()
            .ends_with(&format!("; yes (Match Address 10.0.0.0/8 at {exceptions}:4)")),
        "{password:#}"
    );
    // `Match all` applies to every connection, so it is the global value,
    // as `sshd -T` prints it.
    assert_eq!(rule(drift, "X11")["actual"], format!("yes (from {exceptions}:8)"));
}

const PLAYBOOK: &str = r#"
name: sshd-aliases
steps:
  - name: no keyboard-interactive
    setting: {file: /etc/ssh/sshd_config, key: KbdInteractiveAuthentication, value: "no"}
    validate: sshd -t -f {path}
  - name: no X11 forwarding
    setting: {file: /etc/ssh/sshd_config, key: X11Forwarding, value: "no"}
    validate: sshd -t -f {path}
"#;

#[test]
fn apply_edits_the_line_sshd_reads_whatever_its_spelling() {
    // A drop-in spells the keyword as its deprecated alias, and a `Match
    // all` block decides X11Forwarding for every connection.
    let legacy = debian("legacy", "X11Forwarding no\n").file(
        &format!("{DROPINS}/10-legacy.conf"),
        "challengeResponseAuthentication  yes # old image\nMatch all\n  X11Forwarding yes\n",
        0o644,
    );
    let fleet = Fleet::start(vec![legacy]);
    let dump = sh(&fleet, "legacy", "sshd -T -f /etc/ssh/sshd_config");
    assert_eq!(value(&dump, "kbdinteractiveauthentication"), "yes");
    assert_eq!(value(&dump, "x11forwarding"), "yes");

    let (code, report) = apply_fleet(&fleet, PLAYBOOK, &[]);
    assert_eq!(code, Some(0), "{report:#}");
    // The alias's line is edited in place, spelling and comment kept; the
    // `Match all` block's line is the one changed for X11Forwarding.
    assert_eq!(
        sh(&fleet, "legacy", "cat /etc/ssh/sshd_config.d/10-legacy.conf"),
        "challengeResponseAuthentication  no # old image\nMatch all\n  X11Forwarding no\n"
    );
    let dump = sh(&fleet, "legacy", "sshd -T -f /etc/ssh/sshd_config");
    assert_eq!(value(&dump, "kbdinteractiveauthentication"), "no");
    assert_eq!(value(&dump, "x11forwarding"), "no");
    // A second apply changes nothing.
    let (code, report) = apply_fleet(&fleet, PLAYBOOK, &[]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(host(&report, "legacy")["status"], "unchanged", "{report:#}");
}
