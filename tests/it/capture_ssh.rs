//! `rectify capture`: a baseline from a golden host's live values; the
//! golden host passes it, a host that differs does not.

use crate::fleet::report::{failing_rules, json};
use crate::fleet::{audit_json, audit_text, capture, write, Fleet, HostSpec};

#[test]
fn a_captured_baseline_passes_on_the_golden_host_and_names_the_differences_elsewhere() {
    let golden = HostSpec::new("golden")
        .file("demo.conf", "# {{ not a template }}\nColor blue\nSize 3\n", 0o640)
        .sshd("X11Forwarding no\nMaxAuthTries 3\n");
    let other = HostSpec::new("other")
        .file("demo.conf", "Color red\nSize 3\n", 0o644)
        .sshd("X11Forwarding yes\n");
    let fleet = Fleet::start(vec![golden, other]);
    let dir = fleet.dir();
    let inv = fleet.write_inventory();
    let from = write(
        dir,
        "from.yaml",
        r#"name: demo
description: demo settings
rules:
  - id: COLOR
    severity: high
    file: /etc/demo.conf
    setting: Color
    expect: green
  - id: SIZE-LINE
    file: /etc/demo.conf
    line: '^Size (\d+)'
    expect: "9"
  - id: UNSET
    file: /etc/demo.conf
    setting: Shape
    expect: round
  - id: META
    file: /etc/demo.conf
    mode: "0600"
  - id: HOSTNAME
    sysctl: kernel.hostname
    expect: nobody
  - id: CMD
    command: cat /etc/hostname 2>/dev/null | wc -c; exit 0
    exit_code: 1
  - id: SSHD-PKG
    package: openssh-server
    state: absent
"#,
    );
    let out_path = dir.join("golden.yaml");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/ssh-hardening.yaml");
    let out = capture(&inv, "golden", &from, &out_path, &["--file", "/etc/demo.conf"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        text.contains("Captured by `rectify capture` from host golden"),
        "{text}"
    );
    assert!(text.contains("id: COLOR") && text.contains("expect: blue"), "{text}");

    let out = audit_json(&inv, &out_path, &["--limit", "golden"]);
    let report = json(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the golden host fails its own capture: {report}"
    );
    assert_eq!(report["summary"]["rules_pass"], 8, "{report}");

    let out = audit_json(&inv, &out_path, &["--limit", "other"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let failing = failing_rules(&report["hosts"][0]);
    assert_eq!(failing, ["COLOR", "META", "HOSTNAME", "FILE-ETC-DEMO-CONF"], "{report}");

    // The shipped baseline captures too, and the golden host passes it.
    let out_path2 = dir.join("ssh-golden.yaml");
    let out = capture(&inv, "golden", &shipped, &out_path2, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = audit_text(&inv, &out_path2, &["--limit", "golden"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
