//! What people read in the terminal report: `-q` (nothing when all is
//! well, only what failed otherwise), `-v`/`-vv`/`-vvv`, the per-rule
//! summary of a fleet with the `fix` command it suggests (run here as
//! printed), readable expectations and counts. Verdicts are sshd's own.

use std::process::Output;

use crate::fleet::{audit_text, run_rectify, sh, write, Fleet, HostSpec};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sshd_t(fleet: &Fleet, name: &str, keyword: &str) -> String {
    let out = sh(fleet, name, "/usr/sbin/sshd -T -f /etc/ssh/sshd_config");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("sshd -T has no {keyword}: {out}"))
        .to_string()
}

const PLAYBOOK: &str = "name: x11\nsteps:\n  - name: no X11\n    setting: {file: /etc/ssh/sshd_config, key: X11Forwarding, value: \"no\"}\n    validate: sshd -t -f {path}\n";

const BASELINE: &str = r#"name: levels
rules:
  - id: X11
    title: No X11 forwarding
    severity: high
    rationale: A forwarded X display lets the server read the client's keystrokes.
    remediation: x11.yaml
    file: /etc/ssh/sshd_config
    setting: X11Forwarding
    expect: "no"
  - id: BANNER-PATH
    title: The banner is a file
    severity: low
    file: /etc/ssh/sshd_config
    setting: Banner
    expect: {regex: "^/"}
  - id: ROOT
    title: Root logs in with keys only
    file: /etc/ssh/sshd_config
    setting: PermitRootLogin
    expect: [prohibit-password, without-password, "no"]
"#;

/// Five hosts: X11 forwarding on four of them, a banner on all but `e`.
fn fleet() -> Fleet {
    let host = |name: &str, x11: &str, banner: bool| {
        let banner = if banner { "Banner /etc/issue.net\n" } else { "" };
        HostSpec::new(name).sshd(&format!("X11Forwarding {x11}\n{banner}"))
    };
    Fleet::start(vec![
        host("a", "yes", true),
        host("b", "yes", true),
        host("c", "yes", true),
        host("d", "yes", true),
        host("e", "no", false),
    ])
}

#[test]
fn summary_quiet_and_verbose_levels_on_a_fleet() {
    let fleet = fleet();
    let inv = fleet.write_inventory();
    write(fleet.dir(), "x11.yaml", PLAYBOOK);
    let b = write(fleet.dir(), "levels.yaml", BASELINE);
    // What sshd itself says, and so what the report must say.
    for h in ["a", "b", "c", "d"] {
        assert_eq!(sshd_t(&fleet, h, "x11forwarding"), "yes");
        assert_eq!(sshd_t(&fleet, h, "banner"), "/etc/issue.net");
    }
    assert_eq!(sshd_t(&fleet, "e", "x11forwarding"), "no");
    assert_eq!(sshd_t(&fleet, "e", "banner"), "none");

    let out = audit_text(&inv, &b, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // The per-rule summary comes first, most severe rule first.
    assert_eq!(lines[0], "failing rules", "{text}");
    assert_eq!(lines[1], "  high     X11 fails on 4 hosts: a, b, c, … (+1)", "{text}");
    assert_eq!(lines[2], "           No X11 forwarding");
    let fix = format!(
        "           fix: rectify fix -b {} -i {} --rule X11 --limit a,b,c,d",
        b.display(),
        inv.display()
    );
    assert_eq!(lines[3], fix);
    assert_eq!(lines[4], "  low      BANNER-PATH fails on 1 host: e");
    assert_eq!(lines[5], "           The banner is a file");
    assert!(!text.contains("why:"), "the rationale is for -v: {text}");
    let first_host = lines.iter().position(|l| l.starts_with("DRIFT")).unwrap();
    assert!(first_host > 5);
    // `expected` as a person reads it; a key set nowhere as sshd's default
    // (`sshd -T` says `banner none`).
    let e = text.split("DRIFT     e").nth(1).unwrap();
    assert!(e.contains("expected: matches regex ^/\n"), "{e}");
    assert!(e.contains("actual:   none (default)\n"), "{e}");
    assert!(
        text.contains("run ") && text.contains(": 5 hosts — 0 compliant, 5 drift"),
        "{text}"
    );

    // -q: the failing hosts and rules, nothing else.
    let out = audit_text(&inv, &b, &["-q"]);
    assert_eq!(out.status.code(), Some(1));
    let quiet = stdout(&out);
    assert!(
        !quiet.contains("COMPLIANT") && !quiet.contains("run ") && !quiet.contains("pass "),
        "{quiet}"
    );
    assert!(
        quiet.contains("DRIFT     a") && quiet.contains("fail  high     X11"),
        "{quiet}"
    );

    // -v: rationale, and the passing rules.
    let out = audit_text(&inv, &b, &["-v"]);
    let verbose = stdout(&out);
    assert!(
        verbose.contains("why: A forwarded X display lets the server read the client's keystrokes."),
        "{verbose}"
    );
    assert!(verbose.contains("pass  medium   ROOT"), "{verbose}");
    assert!(!verbose.contains(" ms\n"), "host times are for -vv");
    // -vv: each host's address and time.
    let out = audit_text(&inv, &b, &["-vv"]);
    let address = fleet.address("a");
    assert!(stdout(&out).contains(&format!("  {address} in ")), "{}", stdout(&out));
    assert!(!stderr(&out).contains("debug:"));
    // -vvv: debug lines on stderr, the report on stdout as with -vv.
    let out = audit_text(&inv, &b, &["-vvv"]);
    assert_eq!(out.status.code(), Some(1));
    let debug = stderr(&out);
    assert!(
        debug.contains("debug:") && debug.contains(&format!("a: connecting to root@{address}:22")),
        "{debug}"
    );
    assert!(debug.contains("a: connected in"), "{debug}");
    assert!(!stdout(&out).contains("debug:"));

    // The suggested command, run as printed, fixes X11 where it failed.
    let command = lines[3].trim_start().strip_prefix("fix: ").unwrap();
    let words = shlex::split(command).unwrap();
    assert_eq!(words[..2], ["rectify", "fix"]);
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let out = run_rectify(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    for h in ["a", "b", "c", "d", "e"] {
        assert_eq!(sshd_t(&fleet, h, "x11forwarding"), "no", "{h}");
    }

    // A compliant fleet with -q: not a byte; exit 0.
    let out = audit_text(&inv, &b, &["-q", "--rule", "X11"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let out = audit_text(&inv, &b, &["--rule", "X11"]);
    assert!(stdout(&out).contains("COMPLIANT a"));
}

/// One host: "1 host", and no per-rule summary for so small a run.
#[test]
fn one_host_is_one_host() {
    let fleet = Fleet::start(vec![HostSpec::new("solo").sshd("X11Forwarding yes\n")]);
    let inv = fleet.write_inventory();
    write(fleet.dir(), "x11.yaml", PLAYBOOK);
    let b = write(fleet.dir(), "levels.yaml", BASELINE);
    let out = audit_text(&inv, &b, &["--rule", "X11"]);
    let text = stdout(&out);
    assert!(text.contains(": 1 host — 0 compliant, 1 drift"), "{text}");
    assert!(!text.contains("failing rules"), "{text}");
}
