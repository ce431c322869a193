//! Narrowing a run: `--rule ID|GLOB`, `tags:` with `--tags`/`--skip-tags`,
//! and `-e KEY=VALUE` in the baselines' expectations, on `audit` and `fix`.
//! Verdicts are compared with the host's own `sshd -T`; what `fix` may
//! change is read back from the host's file.

use std::path::Path;

use crate::fleet::report::{host, json};
use crate::fleet::{audit_json, capture, run_rectify, sh, write, Fleet, HostSpec};

/// `sshd -T`'s value of `keyword` (lower case) on that host.
fn sshd_t(fleet: &Fleet, name: &str, keyword: &str) -> String {
    let out = sh(fleet, name, "/usr/sbin/sshd -T -f /etc/ssh/sshd_config");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("sshd -T has no {keyword}: {out}"))
        .to_string()
}

/// The ids and statuses of a host's results, in report order.
fn results(report: &serde_json::Value, name: &str) -> Vec<(String, String)> {
    host(report, name)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn shipped_ssh_baseline() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("baselines/ssh-hardening.yaml")
        .display()
        .to_string()
}

/// A host on which many shipped rules fail. `--rule` reports only that
/// rule, and `fix --rule` repairs only it: MaxAuthTries 6 (also failing)
/// stays as it is.
#[test]
fn rule_narrows_audit_and_fix() {
    let fleet = Fleet::start(vec![HostSpec::new("a")
        .sshd("X11Forwarding yes\nMaxAuthTries 6\n")
        .setup("chmod 0600 /etc/ssh/sshd_config")]);
    let inv = fleet.write_inventory().display().to_string();
    let b = shipped_ssh_baseline();

    let whole = json(&audit_json(Path::new(&inv), Path::new(&b), &[]));
    assert!(results(&whole, "a").len() > 5, "{whole}");

    let out = audit_json(Path::new(&inv), Path::new(&b), &["--rule", "SSH-X11-FORWARDING"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(sshd_t(&fleet, "a", "x11forwarding"), "yes");
    assert_eq!(
        results(&report, "a"),
        [("SSH-X11-FORWARDING".to_string(), "fail".to_string())]
    );

    // A glob, case-insensitive; several --rule add up.
    let out = audit_json(
        Path::new(&inv),
        Path::new(&b),
        &["--rule", "ssh-x11-*", "--rule", "SSH-MAX-AUTH-TRIES"],
    );
    let ids: Vec<String> = results(&json(&out), "a").into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"SSH-X11-FORWARDING".into()) && ids.contains(&"SSH-MAX-AUTH-TRIES".into()));

    // A rule that does not exist is a typo, not an empty compliant run.
    let out = audit_json(Path::new(&inv), Path::new(&b), &["--rule", "SSH-X11-FORWARDIN"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches no rule"));

    let before = String::from_utf8(fleet.read_file("a", "/etc/ssh/sshd_config")).unwrap();
    let out = run_rectify(
        &[
            "fix",
            "-b",
            &b,
            "-i",
            &inv,
            "--rule",
            "SSH-X11-FORWARDING",
            "--format",
            "json",
        ],
        &[],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(
        results(&report, "a"),
        [("SSH-X11-FORWARDING".to_string(), "pass".to_string())]
    );
    let after = String::from_utf8(fleet.read_file("a", "/etc/ssh/sshd_config")).unwrap();
    assert_eq!(after, before.replace("X11Forwarding yes\n", "X11Forwarding no\n"));
    assert_eq!(sshd_t(&fleet, "a", "x11forwarding"), "no");
    assert_eq!(
        sshd_t(&fleet, "a", "maxauthtries"),
        "6",
        "a rule not selected is not fixed"
    );
}

const TAGGED: &str = r#"name: tagged
rules:
  - {id: T-X11, file: /etc/ssh/sshd_config, setting: X11Forwarding, expect: "no", tags: [ssh, forwarding]}
  - {id: T-TCP, file: /etc/ssh/sshd_config, setting: AllowTcpForwarding, expect: "no", tags: [ssh, forwarding, bastion-exempt]}
  - {id: T-ROOT, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: prohibit-password, tags: [ssh]}
"#;

/// `--tags` keeps rules with one of the tags, `--skip-tags` drops rules
/// with one; both at once apply both. The verdicts are sshd's own.
#[test]
fn tags_and_skip_tags_select_rules() {
    let fleet = Fleet::start(vec![HostSpec::new("t").sshd("X11Forwarding no\n")]);
    let inv = fleet.write_inventory();
    let b = write(fleet.dir(), "tagged.yaml", TAGGED);
    // What sshd says, and so what each rule must say.
    assert_eq!(sshd_t(&fleet, "t", "x11forwarding"), "no");
    assert_eq!(sshd_t(&fleet, "t", "allowtcpforwarding"), "yes");
    assert_eq!(sshd_t(&fleet, "t", "permitrootlogin"), "without-password");
    let run = |extra: &[&str]| {
        let out = audit_json(&inv, &b, extra);
        (out.status.code(), results(&json(&out), "t"))
    };
    let r = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    };
    assert_eq!(
        run(&["--tags", "forwarding"]),
        (Some(1), r(&[("T-X11", "pass"), ("T-TCP", "fail")]))
    );
    assert_eq!(
        run(&["--skip-tags", "bastion-exempt"]),
        (Some(0), r(&[("T-X11", "pass"), ("T-ROOT", "pass")]))
    );
    assert_eq!(
        run(&["--tags", "forwarding,nosuch", "--skip-tags", "bastion-exempt"]),
        (Some(0), r(&[("T-X11", "pass")]))
    );
    let out = audit_json(&inv, &b, &["--tags", "nosuch"]);
    assert_eq!(out.status.code(), Some(2), "a selection of nothing is bad input");

    // A baseline captured from this host keeps the tags.
    let captured = fleet.dir().join("captured.yaml");
    let out = capture(&inv, "t", &b, &captured, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = audit_json(
        &inv,
        &captured,
        &["--tags", "forwarding", "--skip-tags", "bastion-exempt"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(results(&json(&out), "t"), r(&[("T-X11", "pass")]));
}

/// `-e` sets a var the baseline's expectation reads (the shipped header's
/// own example), on audit and on fix, where the playbook gets it too.
#[test]
fn extra_vars_reach_expectations() {
    let fleet = Fleet::start(vec![HostSpec::new("e")
        .sshd("MaxAuthTries 4\n")
        .setup("chmod 0600 /etc/ssh/sshd_config")]);
    let inv = fleet.write_inventory().display().to_string();
    let b = shipped_ssh_baseline();
    assert_eq!(sshd_t(&fleet, "e", "maxauthtries"), "4");
    let narrow = ["--rule", "SSH-MAX-AUTH-TRIES"];

    let out = audit_json(Path::new(&inv), Path::new(&b), &narrow);
    assert_eq!(out.status.code(), Some(0), "{}", json(&out));
    let out = audit_json(
        Path::new(&inv),
        Path::new(&b),
        &[&narrow[..], &["-e", "max_auth_tries=3"]].concat(),
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let rule = &host(&report, "e")["results"][0];
    assert_eq!(rule["status"], "fail");
    assert!(rule["expected"].as_str().unwrap().contains('3'), "{rule}");
    assert_eq!(rule["actual"], "4");

    let out = run_rectify(
        &[
            &[
                "fix",
                "-b",
                &b,
                "-i",
                &inv,
                "--format",
                "json",
                "-e",
                "max_auth_tries=3",
            ],
            &narrow[..],
        ]
        .concat(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", json(&out));
    assert_eq!(sshd_t(&fleet, "e", "maxauthtries"), "3");
}
