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
    results: Vec<&'a super::RuleResult>,
    changes: &'a [super::Change],
}

#[derive(Serialize, Default)]
struct RuleRow {
    id: String,
    title: String,
    severity: &'static str,
    #[serde(skip)]
    rank: crate::baseline::Severity,
    pass: usize,
    fail: usize,
    error: usize,
    waived: usize,
    failing: Vec<String>,
}

/// Lines of a unified diff with their class for the page's colours
/// (`add`, `del`, or none), each made safe to show. Shared by the report,
/// the web view and the survey pages.
pub fn diff_lines(text: &str) -> Vec<(&'static str, String)> {
    text.lines()
        .map(|line| {
            let class = if line.starts_with('+') && !line.starts_with("+++") {
                "add"
            } else if line.starts_with('-') && !line.starts_with("---") {
                "del"
            } else {
                ""
            };
            (class, for_terminal(line).into_owned())
        })
        .collect()
}

pub fn render(report: &RunReport) -> String {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_function("diff_lines", |text: String| {
        minijinja::Value::from_serialize(diff_lines(&text))
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
            results: ordered(&h.results),
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
                    rank: r.severity,
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
    // Most severe first, then the rules failing on most hosts.
    let mut rules: Vec<RuleRow> = rules.into_values().collect();
    rules.sort_by(|a, b| {
        b.rank
            .cmp(&a.rank)
            .then((b.fail + b.error).cmp(&(a.fail + a.error)))
            .then(a.id.cmp(&b.id))
    });
    let times = Times::of(report);
    let compliance = Compliance::of(report);

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
        .render(context! {
            r => report, hosts => hosts, rules => rules, cards => cards,
            times => times, compliance => compliance,
        })
        .expect("the report always renders")
}

/// A host's results as the terminal lists them: failures, errors, waived,
/// then the rest, each most severe first.
fn ordered(results: &[super::RuleResult]) -> Vec<&super::RuleResult> {
    let rank = |s: RuleStatus| match s {
        RuleStatus::Fail => 0,
        RuleStatus::Error => 1,
        RuleStatus::Waived => 2,
        RuleStatus::Pass => 3,
        RuleStatus::Skipped => 4,
    };
    let mut sorted: Vec<&super::RuleResult> = results.iter().collect();
    sorted.sort_by_key(|r| (rank(r.status), std::cmp::Reverse(r.severity)));
    sorted
}

/// The run's start and end as people read them: to the second, in UTC,
/// with the machine-readable RFC 3339 form for `<time datetime>`.
#[derive(Serialize)]
struct Times {
    started: String,
    started_rfc3339: String,
    finished: String,
    finished_rfc3339: String,
    took: String,
}

impl Times {
    fn of(report: &RunReport) -> Times {
        use chrono::SecondsFormat;
        let (a, b) = (report.started, report.finished);
        let same_day = a.date_naive() == b.date_naive();
        let millis = (b - a).num_milliseconds().max(0);
        Times {
            started: a.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            started_rfc3339: a.to_rfc3339_opts(SecondsFormat::Secs, true),
            finished: if same_day {
                b.format("%H:%M:%S UTC")
            } else {
                b.format("%Y-%m-%d %H:%M:%S UTC")
            }
            .to_string(),
            finished_rfc3339: b.to_rfc3339_opts(SecondsFormat::Secs, true),
            took: format!("{}.{} s", millis / 1000, (millis % 1000) / 100),
        }
    }
}

/// Percentages for the cards, rounded down so that "100%" means every
/// one: hosts compliant (of the hosts audited; a host that could not be
/// audited is not compliant) and rule results passing (waived counts as
/// passing, skipped is left out). `None` where there is nothing to count.
#[derive(Serialize)]
struct Compliance {
    hosts: Option<u64>,
    rules: Option<u64>,
}

impl Compliance {
    fn of(report: &RunReport) -> Compliance {
        let s = &report.summary;
        let percent = |part: usize, whole: usize| (whole > 0).then(|| (part as u64 * 100) / whole as u64);
        let judged = s.rules_pass + s.rules_fail + s.rules_error + s.rules_waived;
        Compliance {
            hosts: matches!(report.kind, RunKind::Audit | RunKind::Fix)
                .then(|| percent(s.compliant, s.hosts))
                .flatten(),
            rules: percent(s.rules_pass + s.rules_waived, judged),
        }
    }
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
            no_remediation: false,
            actual_default: false,
            rationale: None,
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
            remediation: Some(crate::report::ResultRemediation {
                playbook: None,
                manual: Some("Agree a <maximum> with the owners".into()),
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
                attempts: 1,
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
                attempts: 1,
                observed: Vec::new(),
            },
        ];
        let report = RunReport {
            run_id: "run-1".into(),
            kind: RunKind::Audit,
            check: false,
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

    fn host(name: &str, results: Vec<RuleResult>) -> HostReport {
        HostReport {
            name: name.into(),
            address: name.into(),
            status: HostReport::status_from_results(&results),
            error: None,
            results,
            changes: Vec::new(),
            duration_ms: 1,
            warnings: Vec::new(),
            observed: Vec::new(),
            attempts: 1,
        }
    }

    fn with_severity(id: &str, status: RuleStatus, severity: Severity) -> RuleResult {
        RuleResult {
            severity,
            ..result(id, status, None)
        }
    }

    /// Severity first, then failing hosts; percentages rounded down, so
    /// 2 of 3 is 66% and only all is 100%.
    #[test]
    fn rules_by_severity_then_failing_hosts_and_percentages() {
        let rules = |fail_low: bool| {
            vec![
                with_severity(
                    "LOW-A",
                    if fail_low { RuleStatus::Fail } else { RuleStatus::Pass },
                    Severity::Low,
                ),
                with_severity("LOW-B", RuleStatus::Pass, Severity::Low),
                with_severity("HIGH", RuleStatus::Pass, Severity::High),
            ]
        };
        let hosts = vec![host("a", rules(true)), host("b", rules(false)), host("c", rules(false))];
        let report = RunReport {
            run_id: "run-2".into(),
            kind: RunKind::Audit,
            started: "2026-01-01T23:59:59.123456789Z".parse().unwrap(),
            finished: "2026-01-02T00:00:01.5Z".parse().unwrap(),
            summary: RunReport::summarize(&hosts),
            hosts,
            baselines: vec!["b".into()],
            rectify_version: "t".into(),
            check: false,
        };
        let html = render(&report);
        let at = |id: &str| html.find(&format!("<code class=\"id\">{id}</code>")).unwrap();
        assert!(at("HIGH") < at("LOW-A") && at("LOW-A") < at("LOW-B"));
        assert!(html.contains(r#"<span class="n" id="pct-hosts">66%</span>"#), "{html}");
        assert!(
            html.contains(r#"<span class="n" id="pct-rules">88%</span>"#),
            "8 of 9 checks"
        );
        assert!(html.contains(r#"<time datetime="2026-01-01T23:59:59Z">2026-01-01 23:59:59 UTC</time>"#));
        assert!(
            html.contains(r#"<time datetime="2026-01-02T00:00:01Z">2026-01-02 00:00:01 UTC</time> (2.3 s)"#),
            "{html}"
        );
    }
}
