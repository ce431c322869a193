//! The result of a run, in the shape of the JSON report (docs/reports.md,
//! docs/report.schema.json), and its
//! renderings. The model is the same for every format; each format module
//! only renders it.

pub mod html;
pub mod human;
pub mod junit;
pub mod nagios;
pub mod prometheus;
pub mod sanitize;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::baseline::Severity;
pub use crate::evaluate::RuleStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Audit,
    Apply,
    Fix,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    Compliant,
    Drift,
    Error,
    Changed,
    Unchanged,
    WouldChange,
    RolledBack,
    RollbackFailed,
    NotStarted,
    /// An audit stopped by Ctrl-C before this host was done (or started).
    Interrupted,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Compliant => "compliant",
            HostStatus::Drift => "drift",
            HostStatus::Error => "error",
            HostStatus::Changed => "changed",
            HostStatus::Unchanged => "unchanged",
            HostStatus::WouldChange => "would_change",
            HostStatus::RolledBack => "rolled_back",
            HostStatus::RollbackFailed => "rollback_failed",
            HostStatus::NotStarted => "not_started",
            HostStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub status: RuleStatus,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub diff: Option<String>,
    pub message: Option<String>,
    /// The baseline the rule came from.
    pub baseline: String,
    /// In a `fix` run: the rule's status before the remediation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<RuleStatus>,
    /// In a `fix` run: the rule still fails (or is `error`) and has no
    /// `remediation:`, so fix could not have changed it. Written only when
    /// true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_remediation: bool,
    /// `actual` is sshd's compiled-in default (no line of the
    /// configuration sets the key); written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub actual_default: bool,
    /// The rule's `rationale:`, for a failing rule (shown with `-v`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// The rule's `references:` (any status; absent when it has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<crate::baseline::References>,
    /// The rule's `manual_check:`, on `fail`, `error` and `waived` results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_check: Option<String>,
    /// How a failing (`fail`, `error`, `waived`) rule is fixed: the
    /// playbook `fix` runs, or the manual instructions of a rule that `fix`
    /// leaves to a person. Absent when the rule has neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<ResultRemediation>,
}

/// A result's `remediation`: exactly one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRemediation {
    /// The remediation playbook's path, as the baseline resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
    /// What a person has to do; `fix` runs nothing for this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub step: String,
    pub path: String,
    pub diff: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    pub name: String,
    pub address: String,
    pub status: HostStatus,
    pub error: Option<String>,
    pub results: Vec<RuleResult>,
    pub changes: Vec<Change>,
    /// Wall time spent on this host, in milliseconds.
    pub duration_ms: u64,
    /// Things the operator should know that are not results (an expired waiver).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Connection attempts this host took: more than 1 only for an audit
    /// with `--retries` whose first connection timed out or was refused.
    /// Reports stored before the field existed load as 1.
    #[serde(default = "first_attempt")]
    pub attempts: u32,
    /// The audited files as read (secrets masked), for the state database's
    /// file history; not part of the report itself.
    #[serde(skip)]
    pub observed: Vec<Observed>,
}

fn first_attempt() -> u32 {
    1
}

/// One audited file's content at the time of a run; `None`: it was missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub path: String,
    pub content: Option<Vec<u8>>,
}

impl HostReport {
    /// Compliant unless a rule failed or could not be evaluated (an
    /// `error` rule on a reachable host makes it non-compliant).
    pub fn status_from_results(results: &[RuleResult]) -> HostStatus {
        if results
            .iter()
            .any(|r| matches!(r.status, RuleStatus::Fail | RuleStatus::Error))
        {
            HostStatus::Drift
        } else {
            HostStatus::Compliant
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub hosts: usize,
    pub compliant: usize,
    pub drift: usize,
    pub error: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub rolled_back: usize,
    pub rollback_failed: usize,
    pub not_started: usize,
    #[serde(default)]
    pub would_change: usize,
    /// Hosts an interrupted audit did not finish.
    #[serde(default)]
    pub interrupted: usize,
    /// Rule results over all hosts, by status.
    pub rules_pass: usize,
    pub rules_fail: usize,
    pub rules_error: usize,
    pub rules_waived: usize,
    pub rules_skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub run_id: String,
    pub kind: RunKind,
    /// A `--check` run (apply, fix or rollback): it showed what would
    /// change and changed nothing. Written only when true, so reports of
    /// other runs keep their shape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check: bool,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub summary: Summary,
    pub hosts: Vec<HostReport>,
    pub baselines: Vec<String>,
    pub rectify_version: String,
}

impl RunReport {
    pub fn summarize(hosts: &[HostReport]) -> Summary {
        let mut s = Summary {
            hosts: hosts.len(),
            ..Summary::default()
        };
        for h in hosts {
            match h.status {
                HostStatus::Compliant => s.compliant += 1,
                HostStatus::Drift => s.drift += 1,
                HostStatus::Error => s.error += 1,
                HostStatus::Changed => s.changed += 1,
                HostStatus::Unchanged => s.unchanged += 1,
                HostStatus::WouldChange => s.would_change += 1,
                HostStatus::RolledBack => s.rolled_back += 1,
                HostStatus::RollbackFailed => s.rollback_failed += 1,
                HostStatus::NotStarted => s.not_started += 1,
                HostStatus::Interrupted => s.interrupted += 1,
            }
            for r in &h.results {
                match r.status {
                    RuleStatus::Pass => s.rules_pass += 1,
                    RuleStatus::Fail => s.rules_fail += 1,
                    RuleStatus::Error => s.rules_error += 1,
                    RuleStatus::Waived => s.rules_waived += 1,
                    RuleStatus::Skipped => s.rules_skipped += 1,
                }
            }
        }
        s
    }

    /// The exit codes of docs/reports.md, the highest applicable one: 4 when a rollback
    /// failed (a host is in an unknown state), 3 when a host could not be
    /// worked on or was left `not_started`, 1 on drift, a rolled-back host
    /// or (with `--check`) pending changes, else 0.
    pub fn exit_code(&self) -> i32 {
        let s = &self.summary;
        if s.rollback_failed > 0 {
            4
        } else if s.interrupted > 0 {
            crate::error::exit::INTERRUPTED as i32
        } else if s.error > 0 || s.not_started > 0 {
            3
        } else if s.drift > 0 || s.rolled_back > 0 || s.would_change > 0 {
            1
        } else {
            0
        }
    }

    /// The JSON report: `format_version` first, then the report's fields.
    pub fn to_json(&self) -> String {
        let versioned = Versioned {
            format_version: FORMAT_VERSION,
            report: self,
        };
        serde_json::to_string_pretty(&versioned).expect("reports always serialise")
    }
}

/// The version of the JSON report's shape (docs/reports.md). Bumped only on
/// an incompatible change (a field removed, renamed or retyped, a value's
/// meaning changed); new fields and new enum values do not bump it. It is
/// written by `to_json` rather than kept in `RunReport`, so a report is
/// always shown in the current shape, and reports stored before the field
/// existed load as they are (an unknown field is ignored when loading).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Versioned<'a> {
    format_version: u32,
    #[serde(flatten)]
    report: &'a RunReport,
}

/// The report of a `fix` run: the second audit's results, each with its
/// status in the first audit, and the changes the remediations made. A host
/// whose remediation failed says so in its warnings; one whose rollback
/// failed is `rollback_failed`.
pub fn fix_report(
    run_id: String,
    check: bool,
    unremediable: &std::collections::BTreeSet<(String, String)>,
    before: &RunReport,
    after: &RunReport,
    applies: &[&RunReport],
) -> RunReport {
    let mut hosts = after.hosts.clone();
    for host in &mut hosts {
        let earlier = before.hosts.iter().find(|h| h.name == host.name);
        for r in &mut host.results {
            r.before = earlier.and_then(|h| {
                h.results
                    .iter()
                    .find(|b| b.id == r.id && b.baseline == r.baseline)
                    .map(|b| b.status)
            });
            r.no_remediation = matches!(r.status, RuleStatus::Fail | RuleStatus::Error)
                && unremediable.contains(&(r.baseline.clone(), r.id.clone()));
        }
        // Rules whose remediation is manual: `fix` ran nothing for them.
        let manual: Vec<&str> = host
            .results
            .iter()
            .filter(|r| {
                r.remediation.as_ref().is_some_and(|m| m.manual.is_some())
                    && matches!(r.status, RuleStatus::Fail | RuleStatus::Error)
            })
            .map(|r| r.id.as_str())
            .collect();
        if !manual.is_empty() {
            let warning = format!("needs a manual fix (nothing was run for it): {}", manual.join(", "));
            host.warnings.push(warning);
        }
        for apply in applies {
            let Some(h) = apply.hosts.iter().find(|h| h.name == host.name) else {
                continue;
            };
            let playbook = apply.baselines.first().map(String::as_str).unwrap_or("playbook");
            host.changes.extend(h.changes.iter().cloned());
            match h.status {
                HostStatus::RollbackFailed => {
                    host.status = HostStatus::RollbackFailed;
                    host.error = h.error.clone();
                }
                HostStatus::RolledBack | HostStatus::Error | HostStatus::NotStarted => host.warnings.push(format!(
                    "{playbook} ({}): {} — {}",
                    apply.run_id,
                    h.status.as_str(),
                    h.error.as_deref().unwrap_or("")
                )),
                _ => {}
            }
        }
    }
    RunReport {
        run_id,
        kind: RunKind::Fix,
        check,
        started: before.started,
        finished: Utc::now(),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: after.baselines.clone(),
        rectify_version: after.rectify_version.clone(),
    }
}

/// Output formats for `--format` and `--report FORMAT=PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Html,
    Nagios,
    Prometheus,
}

impl Format {
    pub fn render(self, report: &RunReport, human: human::HumanOptions) -> String {
        match self {
            Format::Human => human::render(report, human),
            Format::Json => report.to_json() + "\n",
            Format::Junit => junit::render(report),
            Format::Html => html::render(report),
            Format::Nagios => nagios::render(report),
            // `show` and stdout without `--schedule`: the default schedule.
            Format::Prometheus => prometheus::render(report, prometheus::DEFAULT_SCHEDULE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> RunReport {
        let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        RunReport {
            run_id: "20261129T100000Z-abcdef".into(),
            kind: RunKind::Audit,
            check: false,
            started: at,
            finished: at,
            summary: Summary::default(),
            hosts: vec![],
            baselines: vec!["b.yaml".into()],
            rectify_version: "0.1.0".into(),
        }
    }

    #[test]
    fn the_json_report_starts_with_its_format_version() {
        let json = report().to_json();
        assert!(
            json.starts_with("{\n  \"format_version\": 1,\n  \"run_id\": "),
            "{json}"
        );
    }

    /// Runs stored before `format_version` existed (and after) still load,
    /// so `rectify show` works for them and prints the current version.
    #[test]
    fn reports_with_and_without_format_version_load() {
        let new = report().to_json();
        let mut old: serde_json::Value = serde_json::from_str(&new).unwrap();
        old.as_object_mut().unwrap().remove("format_version");
        let old = serde_json::to_string(&old).unwrap();
        for text in [new.as_str(), old.as_str()] {
            let loaded: RunReport = serde_json::from_str(text).unwrap();
            assert_eq!(loaded, report());
            assert_eq!(loaded.to_json(), new);
        }
    }
}
