//! The HTML report: one self-contained page (inline CSS, no scripts, no
//! external assets) with a fleet summary, per-host and per-rule tables,
//! and the details people act on: failing rules with their diffs, waivers
//! with their reasons, and the changes a repair made.
//!
//! The page is a minijinja template with HTML auto-escaping: every value
//! from a host or an input file is escaped by the engine, not by hand.

use std::collections::BTreeMap;

use minijinja::{context, AutoEscape, Environment};
use serde::Serialize;

use super::sanitize::for_terminal;
use super::{RuleStatus, RunKind, RunReport};

const TEMPLATE: &str = include_str!("report.html.j2");

#[derive(Serialize)]
struct HostRow<'a> {
    name: String,
    address: &'a str,
    status: &'a str,
    error: Option<String>,
    warnings: &'a [String],
    pass: usize,
    fail: usize,
    error_count: usize,
    waived: usize,
    results: &'a [super::RuleResult],
    changes: &'a [super::Change],
}

#[derive(Serialize, Default)]
struct RuleRow {
    id: String,
    title: String,
    severity: &'static str,
    pass: usize,
    fail: usize,
    error: usize,
    waived: usize,
    failing: Vec<String>,
}

pub fn render(report: &RunReport) -> String {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_function("diff_lines", |text: String| -> Vec<Vec<String>> {
        text.lines()
            .map(|line| {
                let class = if line.starts_with('+') && !line.starts_with("+++") {
                    "add"
                } else if line.starts_with('-') && !line.starts_with("---") {
                    "del"
                } else {
                    ""
                };
                vec![class.to_string(), for_terminal(line).into_owned()]
            })
            .collect()
    });
    env.add_template("report.html", TEMPLATE)
        .expect("the report template is valid");

    let count = |h: &super::HostReport, s: RuleStatus| h.results.iter().filter(|r| r.status == s).count();
    let hosts: Vec<HostRow> = report
        .hosts
        .iter()
        .map(|h| HostRow {
            // Control characters are shown as text, like in the terminal.
            name: for_terminal(&h.name).into_owned(),
            address: &h.address,
            status: h.status.as_str(),
            error: h.error.as_deref().map(|e| for_terminal(e).into_owned()),
            warnings: &h.warnings,
            pass: count(h, RuleStatus::Pass),
            fail: count(h, RuleStatus::Fail),
            error_count: count(h, RuleStatus::Error),
            waived: count(h, RuleStatus::Waived),
            results: &h.results,
            changes: &h.changes,
        })
        .collect();

    let mut rules: BTreeMap<(String, String), RuleRow> = BTreeMap::new();
    for h in &report.hosts {
        for r in &h.results {
            let row = rules
                .entry((r.baseline.clone(), r.id.clone()))
                .or_insert_with(|| RuleRow {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    severity: r.severity.as_str(),
                    ..RuleRow::default()
                });
            match r.status {
                RuleStatus::Pass => row.pass += 1,
                RuleStatus::Fail => {
                    row.fail += 1;
                    row.failing.push(h.name.clone());
                }
                RuleStatus::Error => {
                    row.error += 1;
                    row.failing.push(h.name.clone());
                }
                RuleStatus::Waived => row.waived += 1,
                RuleStatus::Skipped => {}
            }
        }
    }
    // Most failures first, then most severe.
    let mut rules: Vec<RuleRow> = rules.into_values().collect();
    rules.sort_by(|a, b| (b.fail + b.error).cmp(&(a.fail + a.error)).then(a.id.cmp(&b.id)));

    let cards: Vec<(&str, &str)> = match report.kind {
        RunKind::Audit | RunKind::Fix => vec![("compliant", "compliant"), ("drift", "drift"), ("error", "error")],
        RunKind::Apply | RunKind::Rollback => vec![
            ("changed", "changed"),
            ("unchanged", "unchanged"),
            ("would change", "would_change"),
            ("rolled back", "rolled_back"),
            ("rollback failed", "rollback_failed"),
            ("error", "error"),
            ("not started", "not_started"),
        ],
    };
    env.get_template("report.html")
        .expect("added above")
        .render(context! { r => report, hosts => hosts, rules => rules, cards => cards })
        .expect("the report always renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Severity;
    use crate::report::{HostReport, HostStatus, RuleResult};

    fn result(id: &str, status: RuleStatus, diff: Option<&str>) -> RuleResult {
        RuleResult {
            id: id.into(),
            title: format!("title of {id}"),
            severity: Severity::High,
            status,
            expected: Some("no".into()),
            actual: Some("<script>alert(1)</script>".into()),
            diff: diff.map(String::from),
            message: Some("waived: vendor & appliance".into()),
            baseline: "b".into(),
            before: None,
            references: None,
            manual_check: None,
            remediation: None,
        }
    }

    /// A failing rule with references, a manual check and a manual fix.
    fn documented() -> RuleResult {
        RuleResult {
            references: Some(crate::baseline::References {
                cis: vec!["5.4.1.1".into()],
                nist: vec!["IA-5(1)".into()],
                ..Default::default()
            }),
            manual_check: Some("grep PASS_MAX_DAYS /etc/login.defs".into()),
            remediation: Some(crate::report::ManualRemediation {
                manual: "Agree a <maximum> with the owners".into(),
            }),
            ..result("R3", RuleStatus::Fail, None)
        }
    }

    #[test]
    fn everything_from_hosts_is_escaped_and_the_numbers_add_up() {
        let hosts = vec![
            HostReport {
                name: "web<01>".into(),
                address: "192.0.2.1".into(),
                status: HostStatus::Drift,
                error: None,
                results: vec![
                    result("R1", RuleStatus::Fail, Some("--- a\n+++ b\n-old\n+new \u{1b}[2J")),
                    result("R2", RuleStatus::Waived, None),
                    documented(),
                ],
                changes: Vec::new(),
                duration_ms: 1,
                warnings: Vec::new(),
                observed: Vec::new(),
            },
            HostReport {
                name: "web02".into(),
                address: "192.0.2.2".into(),
                status: HostStatus::Compliant,
                error: None,
                results: vec![result("R1", RuleStatus::Pass, None)],
                changes: Vec::new(),
                duration_ms: 1,
                warnings: Vec::new(),
                observed: Vec::new(),
            },
        ];
        let report = RunReport {
            run_id: "run-1".into(),
            kind: RunKind::Audit,
            started: "2026-01-01T00:00:00Z".parse().unwrap(),
            finished: "2026-01-01T00:00:01Z".parse().unwrap(),
            summary: RunReport::summarize(&hosts),
            hosts,
            baselines: vec!["b".into()],
            rectify_version: "t".into(),
        };
        let html = render(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script>"), "unescaped host text");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;") || html.contains("&lt;script&gt;"));
        assert!(html.contains("web&lt;01&gt;"));
        assert!(!html.contains('\u{1b}'), "escape sequence passed through");
        assert!(html.contains(r#"<span class="n" id="n-hosts">2</span>"#));
        assert!(html.contains(r#"<span class="n" id="n-drift">1</span>"#));
        assert!(html.contains(r#"<span class="add">+new"#));
        assert!(html.contains("vendor &amp; appliance"));
        // What people act on for a failing rule: the manual fix, the manual
        // check and the references, escaped like everything else.
        assert!(
            html.contains("manual fix: Agree a &lt;maximum&gt; with the owners"),
            "{html}"
        );
        assert!(
            html.contains("check by hand: grep PASS_MAX_DAYS &#x2f;etc&#x2f;login.defs"),
            "{html}"
        );
        assert!(
            html.contains("cis <code>5.4.1.1</code>") && html.contains("nist <code>IA-5(1)</code>"),
            "{html}"
        );
        // Self-contained: nothing is fetched.
        assert!(!html.contains("src=") && !html.contains("href=\"http") && !html.contains("@import"));
    }
}
