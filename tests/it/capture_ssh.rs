//! `rectify capture`: a baseline from a golden host's live values; the
//! golden host passes it, a host that differs does not. Subnet 42.

use crate::fleet::report::json;
use crate::fleet::{run_rectify, Fleet, HostSpec};

#[test]
fn a_captured_baseline_passes_on_the_golden_host_and_names_the_differences_elsewhere() {
    let golden = HostSpec::new("golden")
        .file("demo.conf", "# {{ not a template }}\nColor blue\nSize 3\n", 0o640)
        .sshd("X11Forwarding no\nMaxAuthTries 3\n");
    let other = HostSpec::new("other")
        .file("demo.conf", "Color red\nSize 3\n", 0o644)
        .sshd("X11Forwarding yes\n");
    let fleet = Fleet::start(42, vec![golden, other]);
    let dir = fleet.dir();
    std::fs::write(dir.join("inv.yaml"), fleet.inventory_yaml()).unwrap();
    std::fs::write(
        dir.join("from.yaml"),
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
    )
    .unwrap();
    let inv = dir.join("inv.yaml").display().to_string();
    let from = dir.join("from.yaml").display().to_string();
    let out_path = dir.join("golden.yaml");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/ssh-hardening.yaml");
    let out = run_rectify(
        &[
            "capture",
            "--host",
            "golden",
            "-i",
            &inv,
            "--from",
            &from,
            "-o",
            out_path.to_str().unwrap(),
            "--file",
            "/etc/demo.conf",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        text.contains("Captured by `rectify capture` from host golden"),
        "{text}"
    );
    assert!(text.contains("id: COLOR") && text.contains("expect: blue"), "{text}");

    let b = out_path.display().to_string();
    let out = run_rectify(
        &["audit", "-i", &inv, "--limit", "golden", "-b", &b, "--format", "json"],
        &[],
    );
    let report = json(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the golden host fails its own capture: {report}"
    );
    assert_eq!(report["summary"]["rules_pass"], 8, "{report}");

    let out = run_rectify(
        &["audit", "-i", &inv, "--limit", "other", "-b", &b, "--format", "json"],
        &[],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let failing: Vec<&str> = report["hosts"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["COLOR", "META", "HOSTNAME", "FILE-ETC-DEMO-CONF"], "{report}");

    // The shipped baseline captures too, and the golden host passes it.
    let out_path2 = dir.join("ssh-golden.yaml");
    let out = run_rectify(
        &[
            "capture",
            "--host",
            "golden",
            "-i",
            &inv,
            "--from",
            shipped.to_str().unwrap(),
            "-o",
            out_path2.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run_rectify(
        &[
            "audit",
            "-i",
            &inv,
            "--limit",
            "golden",
            "-b",
            out_path2.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}
