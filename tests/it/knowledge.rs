//! `rectify export knowledge`: pages built from a baseline and the history
//! real audits of a small fleet recorded. Each rule's page holds its text,
//! its manual check, its remediation steps as written and the times it
//! came back (host, dates, run ids), with text from the baseline escaped;
//! the Markdown's headings and tables are well-formed and the HTML passes
//! `xmllint --html`.

use std::path::Path;
use std::process::Command;

use crate::fleet::report::json;
use crate::fleet::{audit_json_with, run_rectify, sh, write, Fleet, HostSpec};

const BASELINE: &str = r#"name: demo
description: the demo settings
rules:
  - id: DEMO-COLOR
    title: The demo colour is blue | not red
    severity: high
    rationale: "A red <b>demo</b> | *alarms* people; see [the runbook](x)."
    manual_check: "Run `grep '^color' /etc/demo.conf`; it must say color = blue."
    references: {cis: ["debian12:9.9.9"], nist: [CM-6]}
    remediation: {playbook: fix.yaml, steps: [set the colour]}
    file: /etc/demo.conf
    setting: color
    expect: blue
  - id: DEMO-SIZE
    title: The demo size is 3
    severity: low
    remediation: {manual: "Edit /etc/demo.conf by hand & restart the demo."}
    file: /etc/demo.conf
    setting: size
    expect: "3"
"#;

const PLAYBOOK: &str = r#"name: fix
steps:
  - name: set the colour
    setting: {file: /etc/demo.conf, key: color, value: blue}
  - name: unrelated
    command: "true"
"#;

/// The cells of a Markdown table row: split at `|` not escaped by `\`.
fn cells(line: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    n
}

/// Headings are `#…# text`, every table has a header, a separator with
/// as many cells, and rows with as many cells; code fences are closed.
fn assert_well_formed_markdown(name: &str, text: &str) {
    let mut fence: Option<String> = None;
    let mut table: Option<usize> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(f) = &fence {
            if line.trim_end() == f {
                fence = None;
            }
            continue;
        }
        if line.starts_with("```") {
            fence = Some(line.chars().take_while(|c| *c == '`').collect());
            continue;
        }
        if line.starts_with('#') {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            assert!(
                hashes <= 6 && line[hashes..].starts_with(' '),
                "{name}:{}: heading {line:?}",
                i + 1
            );
        }
        match (line.starts_with('|'), table) {
            (true, None) => {
                let n = cells(line);
                let sep = lines.get(i + 1).copied().unwrap_or_default();
                assert!(sep.starts_with("| ---"), "{name}:{}: table without separator", i + 1);
                assert_eq!(cells(sep), n, "{name}:{}: separator", i + 2);
                table = Some(n);
            }
            (true, Some(n)) => assert_eq!(cells(line), n, "{name}:{}: row {line:?}", i + 1),
            (false, _) => table = None,
        }
    }
    assert!(fence.is_none(), "{name}: a code fence is never closed");
}

#[test]
fn exported_pages_hold_the_rule_its_checks_its_fix_and_when_it_came_back() {
    let fleet = Fleet::start(vec![
        HostSpec::new("a").file("demo.conf", "color = blue\nsize = 3\n", 0o644),
        HostSpec::new("b").file("demo.conf", "color = blue\nsize = 3\n", 0o644),
    ]);
    let dir = fleet.dir().to_path_buf();
    let baseline = write(&dir, "demo.yaml", BASELINE);
    write(&dir, "fix.yaml", PLAYBOOK);
    let inv = fleet.write_inventory();
    let state = tempfile::tempdir().unwrap();
    let envs = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];
    let audit = || {
        let out = audit_json_with(&inv, &baseline, &[], &envs);
        json(&out)
    };
    let first = audit();
    assert_eq!(first["summary"]["drift"], 0, "{first}");
    sh(&fleet, "b", "sed -i 's/blue/red/' /etc/demo.conf");
    assert_eq!(sh(&fleet, "b", "grep '^color' /etc/demo.conf"), "color = red\n");
    let second = audit();
    let third = audit();
    assert_eq!(third["summary"]["drift"], 1, "{third}");

    let out_dir = dir.join("wiki");
    let out = run_rectify(
        &[
            "export",
            "knowledge",
            "--out",
            out_dir.to_str().unwrap(),
            "-b",
            baseline.to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
            "--since",
            "2020-01-01",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "DEMO-COLOR.html",
            "DEMO-COLOR.md",
            "DEMO-SIZE.html",
            "DEMO-SIZE.md",
            "index.html",
            "index.md"
        ]
    );
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();

    let md = read("DEMO-COLOR.md");
    // The text, escaped so it renders as itself.
    assert!(
        md.starts_with("# DEMO-COLOR: The demo colour is blue \\| not red\n"),
        "{md}"
    );
    assert!(
        md.contains("A red \\<b\\>demo\\</b\\> \\| \\*alarms\\* people; see \\[the runbook\\](x)."),
        "{md}"
    );
    assert!(
        md.contains("```sh\nRun `grep '^color' /etc/demo.conf`; it must say color = blue.\n```"),
        "{md}"
    );
    // The remediation step as written in the playbook, not the other one.
    assert!(
        md.contains("### set the colour") && md.contains("key: color") && md.contains("value: blue"),
        "{md}"
    );
    assert!(!md.contains("unrelated"), "{md}");
    assert!(md.contains("| cis | debian12:9.9.9 |"), "{md}");
    // It came back once on b: passed in the first audit, failed in the
    // second (the third, still failing, is not a new recurrence).
    let date = |r: &serde_json::Value| r["started"].as_str().unwrap()[..10].to_string();
    let id = |r: &serde_json::Value| r["run_id"].as_str().unwrap().to_string();
    let row = format!(
        "| b | {} ({}) | {} ({}) |",
        date(&first),
        id(&first),
        date(&second),
        id(&second)
    );
    assert!(md.contains(&row), "{row}\n{md}");
    assert_eq!(md.matches("| b |").count(), 1, "{md}");
    assert!(md.contains("Failing now on: b\n"), "{md}");
    let size = read("DEMO-SIZE.md");
    assert!(
        size.contains("Edit /etc/demo.conf by hand & restart the demo."),
        "manual text in a code block: {size}"
    );
    assert!(size.contains("It never came back after passing."), "{size}");
    for name in names.iter().filter(|n| n.ends_with(".md")) {
        assert_well_formed_markdown(name, &read(name));
    }
    let index = read("index.md");
    assert!(
        index.contains("## demo") && index.contains("[DEMO-COLOR](DEMO-COLOR.md)"),
        "{index}"
    );
    assert!(
        index.find("DEMO-COLOR").unwrap() < index.find("DEMO-SIZE").unwrap(),
        "most severe first: {index}"
    );

    let html = read("DEMO-COLOR.html");
    assert!(html.contains("A red &lt;b&gt;demo&lt;&#x2f;b&gt;"), "{html}");
    assert!(html.contains(r#"<tr class="recurrence" data-host="b">"#), "{html}");
    assert!(html.contains(&id(&first)) && html.contains(&id(&second)), "{html}");
    assert!(
        html.contains(r#"<div id="manual-check">"#) && html.contains(r#"<pre class="step">"#),
        "{html}"
    );
    for name in names.iter().filter(|n| n.ends_with(".html")) {
        let check = Command::new("xmllint")
            .args(["--html", "--noout"])
            .arg(Path::new(&out_dir).join(name))
            .output()
            .expect("xmllint is installed");
        assert!(
            check.status.success() && check.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }

    // The same inputs (a fixed --since) give the same bytes.
    let again = dir.join("wiki2");
    let out = run_rectify(
        &[
            "export",
            "knowledge",
            "--out",
            again.to_str().unwrap(),
            "-b",
            baseline.to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
            "--since",
            "2020-01-01",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    for name in &names {
        assert_eq!(read(name), std::fs::read_to_string(again.join(name)).unwrap(), "{name}");
    }
}
