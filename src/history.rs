//! What the run history says over time, computed from the state database's
//! rows without contacting anything: per-rule failure counts and recurring
//! drift (`rectify stats`), per-host compliance, and how audited files
//! changed between audits (`rectify changes`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::state::{FileVersion, RuleRow};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub since: String,
    pub runs: usize,
    pub rules: Vec<RuleStats>,
    pub hosts: Vec<HostStats>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    pub baseline: String,
    pub rule: String,
    pub severity: String,
    /// Hosts whose latest result for the rule is `fail` or `error`.
    pub failing_now: Vec<String>,
    /// Hosts the rule was checked on (latest results).
    pub hosts: usize,
    /// Failed results over the period, all hosts and runs together.
    pub failures: usize,
    /// Each time the rule failed on a host where it had passed before.
    pub recurring: Vec<Recurrence>,
}

/// A rule that passed (or was fixed) on a host and later failed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recurrence {
    pub host: String,
    /// The last passing run before the failure.
    pub passed: String,
    pub passed_run: String,
    pub failed: String,
    pub failed_run: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostStats {
    pub host: String,
    pub runs: usize,
    pub compliant_runs: usize,
    /// Oldest first: (run start, compliant?).
    pub timeline: Vec<(String, bool)>,
}

fn failed(status: &str) -> bool {
    status == "fail" || status == "error"
}

/// `rows` must be ordered oldest run first (as the state database returns
/// them).
pub fn stats(rows: &[RuleRow], since: &str) -> Stats {
    let mut by_rule: BTreeMap<(&str, &str), Vec<&RuleRow>> = BTreeMap::new();
    let mut by_host_run: BTreeMap<&str, BTreeMap<(&str, &str), bool>> = BTreeMap::new();
    let mut runs: Vec<&str> = Vec::new();
    for r in rows {
        by_rule.entry((&r.baseline, &r.rule_id)).or_default().push(r);
        let compliant = by_host_run
            .entry(&r.host)
            .or_default()
            .entry((&r.started, &r.run_id))
            .or_insert(true);
        *compliant &= !failed(&r.status);
        if !runs.contains(&r.run_id.as_str()) {
            runs.push(&r.run_id);
        }
    }

    let mut rules = Vec::new();
    for ((baseline, rule), results) in by_rule {
        let mut latest: BTreeMap<&str, &RuleRow> = BTreeMap::new();
        let mut last_pass: BTreeMap<&str, &RuleRow> = BTreeMap::new();
        let mut recurring = Vec::new();
        let mut failures = 0;
        for r in &results {
            latest.insert(&r.host, r);
            if failed(&r.status) {
                failures += 1;
                if let Some(p) = last_pass.remove(r.host.as_str()) {
                    recurring.push(Recurrence {
                        host: r.host.clone(),
                        passed: p.started.clone(),
                        passed_run: p.run_id.clone(),
                        failed: r.started.clone(),
                        failed_run: r.run_id.clone(),
                    });
                }
            } else if r.status == "pass" {
                last_pass.insert(&r.host, r);
            }
        }
        // Only the first failure after a pass counts: a rule that stays
        // broken over several audits came back once.
        rules.push(RuleStats {
            baseline: baseline.to_string(),
            rule: rule.to_string(),
            severity: results.last().map(|r| r.severity.clone()).unwrap_or_default(),
            failing_now: latest
                .values()
                .filter(|r| failed(&r.status))
                .map(|r| r.host.clone())
                .collect(),
            hosts: latest.len(),
            failures,
            recurring,
        });
    }
    // What needs attention first: recurring, then currently failing.
    rules.sort_by(|a, b| {
        (b.recurring.len(), b.failing_now.len(), b.failures)
            .cmp(&(a.recurring.len(), a.failing_now.len(), a.failures))
            .then(a.rule.cmp(&b.rule))
    });

    let hosts = by_host_run
        .into_iter()
        .map(|(host, runs)| {
            let timeline: Vec<(String, bool)> = runs
                .into_iter()
                .map(|((started, _), ok)| (started.to_string(), ok))
                .collect();
            HostStats {
                host: host.to_string(),
                runs: timeline.len(),
                compliant_runs: timeline.iter().filter(|(_, ok)| *ok).count(),
                timeline,
            }
        })
        .collect();
    Stats {
        since: since.to_string(),
        runs: runs.len(),
        rules,
        hosts,
    }
}

/// One change of one file between two audits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub from_run: String,
    pub from: String,
    pub to_run: String,
    pub to: String,
    pub diff: String,
}

/// The changes between consecutive audits, per file, oldest first.
/// `versions` must be ordered by path, then run start.
pub fn changes(versions: &[FileVersion]) -> Vec<FileChange> {
    let mut out = Vec::new();
    for pair in versions.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.path != b.path || a.content == b.content {
            continue;
        }
        out.push(FileChange {
            path: b.path.clone(),
            from_run: a.run_id.clone(),
            from: a.started.clone(),
            to_run: b.run_id.clone(),
            to: b.started.clone(),
            diff: crate::diff::unified(&b.path, a.content.as_deref(), b.content.as_deref()),
        });
    }
    out.sort_by(|x, y| x.to.cmp(&y.to).then(x.path.cmp(&y.path)));
    out
}

/// `--since`: a duration back from `now` (`30d`, `12h`, `2w`), or a date
/// (`2026-11-01`) or RFC 3339 time.
/// A `--since` that is neither a duration nor a date.
#[derive(Debug, thiserror::Error)]
pub enum SinceError {
    #[error("--since {text:?}: expected a duration like 30d or 12h, or a date like 2026-11-01 ({source})")]
    Unreadable {
        text: String,
        source: humantime::DurationError,
    },
    #[error("--since {0:?} is too long")]
    TooLong(String),
}

pub fn since(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<chrono::DateTime<chrono::Utc>, SinceError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    let d = humantime::parse_duration(text).map_err(|source| SinceError::Unreadable {
        text: text.to_string(),
        source,
    })?;
    let too_long = || SinceError::TooLong(text.to_string());
    let d = chrono::Duration::from_std(d).map_err(|_| too_long())?;
    now.checked_sub_signed(d).ok_or_else(too_long)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: &str, host: &str, rule: &str, status: &str) -> RuleRow {
        RuleRow {
            run_id: run.into(),
            started: format!("2026-11-{run}T00:00:00Z"),
            host: host.into(),
            baseline: "b".into(),
            rule_id: rule.into(),
            severity: "high".into(),
            status: status.into(),
        }
    }

    #[test]
    fn recurring_drift_is_a_failure_after_a_pass() {
        let rows = vec![
            row("01", "web01", "X11", "fail"),
            row("01", "web02", "X11", "pass"),
            row("02", "web01", "X11", "pass"), // fixed
            row("02", "web02", "X11", "pass"),
            row("03", "web01", "X11", "fail"), // came back
            row("03", "web02", "X11", "pass"),
            row("04", "web01", "X11", "fail"), // still broken: not a new recurrence
            row("04", "web02", "X11", "pass"),
        ];
        let s = stats(&rows, "x");
        assert_eq!(s.runs, 4);
        let r = &s.rules[0];
        assert_eq!(r.failing_now, vec!["web01"]);
        assert_eq!(r.failures, 3);
        assert_eq!(r.recurring.len(), 1);
        assert_eq!(r.recurring[0].passed_run, "02");
        assert_eq!(r.recurring[0].failed_run, "03");
        let web01 = s.hosts.iter().find(|h| h.host == "web01").unwrap();
        assert_eq!((web01.runs, web01.compliant_runs), (4, 1));
    }

    #[test]
    fn file_changes_between_audits() {
        let v = |run: &str, content: Option<&str>| FileVersion {
            run_id: run.into(),
            started: run.into(),
            path: "/etc/x".into(),
            content: content.map(|c| c.as_bytes().to_vec()),
        };
        let c = changes(&[
            v("1", Some("a\n")),
            v("2", Some("a\n")),
            v("3", Some("b\n")),
            v("4", None),
        ]);
        assert_eq!(c.len(), 2);
        assert!(c[0].diff.contains("-a\n+b"), "{}", c[0].diff);
        assert_eq!((c[0].from_run.as_str(), c[0].to_run.as_str()), ("2", "3"));
        assert!(c[1].diff.contains("+++ /dev/null"), "{}", c[1].diff);
    }

    #[test]
    fn since_takes_durations_and_dates() {
        let now: chrono::DateTime<chrono::Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        assert_eq!(since("30d", now).unwrap().to_rfc3339(), "2026-10-23T12:00:00+00:00");
        assert_eq!(since("12h", now).unwrap().to_rfc3339(), "2026-11-22T00:00:00+00:00");
        assert_eq!(
            since("2026-11-01", now).unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(since("soon", now).is_err());
    }
}
