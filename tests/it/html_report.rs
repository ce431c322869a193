//! The HTML report as a person sees it: rendered by headless Chromium
//! (Debian's `chromium`) to PDF, and its visible text read back with
//! `pdftotext`. A missing Chromium fails the test: `.ci/run` installs it.

use std::path::Path;
use std::process::Command;

fn visible_text(html: &Path, dir: &Path) -> String {
    let pdf = dir.join("report.pdf");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", html.display()),
        ])
        .output()
        .expect("chromium is installed (apt-get install chromium)");
    assert!(
        pdf.exists(),
        "chromium wrote no PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is installed (apt-get install poppler-utils)");
    String::from_utf8_lossy(&text.stdout).into_owned()
}

#[test]
fn the_html_report_shows_the_fleet_summary_rules_diffs_and_waivers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("app.conf"), "mode = <b>loud</b>\n").unwrap();
    std::fs::write(
        d.join("b.yaml"),
        format!(
            "name: demo\nrules:\n  - id: APP-CONTENT\n    title: app.conf is the approved one\n    severity: high\n    file: {app}\n    content: \"mode = quiet\\n\"\n  - id: APP-EXISTS\n    title: app.conf exists\n    file: {app}\n    exists: true\n  - id: APP-WAIVED\n    title: a rule with an exception\n    file: {app}\n    setting: colour\n    expect: blue\n  - id: APP-MODE\n    title: quiet mode\n    severity: low\n    file: {app}\n    setting: mode\n    expect: {{regex: \"^quiet\"}}\n  - id: APP-OWNER\n    title: app.conf names its owner\n    severity: critical\n    rationale: Someone must answer for it.\n    file: {app}\n    setting: owner\n    expect: ops\n",
            app = d.join("app.conf").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("w.yaml"),
        "waivers:\n  - rule: APP-WAIVED\n    hosts: \"*\"\n    reason: Vendor appliance cannot change colour\n    expires: 2099-12-31\n",
    )
    .unwrap();
    let html = d.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["audit", "--local", "-b", "b.yaml", "--waivers", "w.yaml"])
        .arg("--report")
        .arg(format!("html={}", html.display()))
        .current_dir(d)
        .env("HOME", d)
        .env("RECTIFY_STATE_DIR", d.join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<b>loud"), "host text reached the page unescaped");

    let seen = visible_text(&html, d);
    let squeezed: String = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "rectify audit report",
        // The summary cards: numbers over their labels, the percentages
        // after the host count: no host compliant; 2 of 5 checks pass
        // (one of them waived).
        "1 0% 40% 0 1 hosts hosts compliant checks passing compliant drift",
        "0 error",
        "APP-CONTENT",
        "app.conf is the approved one",
        "high",
        "-mode = quiet",
        "+mode = <b>loud</b>",
        "waived",
        "Vendor appliance cannot change colour",
        // As in the terminal: a regex reads as one, an unset key as such.
        "expected: matches regex ^quiet",
        "actual: (not set)",
        "why: Someone must answer for it.",
    ] {
        assert!(squeezed.contains(expected), "{expected:?} not visible in:\n{seen}");
    }
    // Readable times, to the second: no nanoseconds, no RFC 3339 `T`.
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → \d\d:\d\d:\d\d UTC \(\d+\.\d s\)").unwrap();
    assert!(time.is_match(&squeezed), "no readable run time in:\n{seen}");
    assert!(
        !regex::Regex::new(r"\d\d:\d\d:\d\d\.\d").unwrap().is_match(&squeezed),
        "{seen}"
    );
    // Rules: most severe first, then most failing hosts, then by id.
    let rules = &squeezed[squeezed.find("Rules").unwrap()..squeezed.find("Details").unwrap()];
    let order: Vec<usize> = ["APP-OWNER", "APP-CONTENT", "APP-EXISTS", "APP-WAIVED", "APP-MODE"]
        .iter()
        .map(|id| {
            rules
                .find(id)
                .unwrap_or_else(|| panic!("{id} not in the rules table: {rules}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "rules out of order: {rules}");
    // A host's failing rules, most severe first, as in the terminal.
    let details = &squeezed[squeezed.find("Details").unwrap()..];
    let order: Vec<usize> = [
        "fail APP-OWNER",
        "fail APP-CONTENT",
        "fail APP-MODE",
        "waived APP-WAIVED",
    ]
    .iter()
    .map(|r| {
        details
            .find(r)
            .unwrap_or_else(|| panic!("{r} not in the details: {details}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "details out of order: {details}");
}
