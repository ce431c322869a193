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
            "name: demo\nrules:\n  - id: APP-CONTENT\n    title: app.conf is the approved one\n    severity: high\n    file: {app}\n    content: \"mode = quiet\\n\"\n  - id: APP-EXISTS\n    title: app.conf exists\n    file: {app}\n    exists: true\n  - id: APP-WAIVED\n    title: a rule with an exception\n    file: {app}\n    setting: colour\n    expect: blue\n",
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
        // The summary cards: numbers over their labels.
        "1 0 1 0 hosts compliant drift error",
        "APP-CONTENT",
        "app.conf is the approved one",
        "high",
        "-mode = quiet",
        "+mode = <b>loud</b>",
        "waived",
        "Vendor appliance cannot change colour",
    ] {
        assert!(squeezed.contains(expected), "{expected:?} not visible in:\n{seen}");
    }
}
