//! Waivers: accepted exceptions. A waived rule counts as compliant, shows
//! its reason, and stops applying after its expiry date, with a warning.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::config_error::{find_key_value, ConfigErrors};
use crate::inventory::HostPattern;
use crate::report::{RuleResult, RuleStatus};
use crate::yaml::SourceFile;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaivers {
    waivers: Vec<RawWaiver>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: String,
    hosts: Option<String>,
    reason: String,
    expires: Option<serde_yaml::Value>,
}

#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    pub hosts: Option<HostPattern>,
    pub reason: String,
    /// Last day on which the waiver applies.
    pub expires: Option<NaiveDate>,
}

impl Waiver {
    pub fn load_file(path: &Path) -> Result<Vec<Waiver>, ConfigErrors> {
        let source = SourceFile::read(path)?;
        Self::from_source(&source)
    }

    pub fn from_source(source: &SourceFile) -> Result<Vec<Waiver>, ConfigErrors> {
        let raw: RawWaivers = source.parse()?;
        let mut errors = Vec::new();
        let mut waivers = Vec::new();
        let mut seen_rules: std::collections::BTreeMap<String, usize> = Default::default();
        for w in raw.waivers {
            let nth = seen_rules.entry(w.rule.clone()).or_insert(0);
            let at = find_key_value(&source.text, "rule", &w.rule, *nth);
            *nth += 1;
            let err = |msg: String| source.error_at(at, format!("waiver for {}: {msg}", w.rule));
            if w.reason.trim().is_empty() {
                errors.push(err("a waiver needs a reason".into()));
            }
            let hosts = match w.hosts.as_deref().map(HostPattern::parse) {
                Some(Err(e)) => {
                    errors.push(err(e.to_string()));
                    continue;
                }
                Some(Ok(p)) => Some(p),
                None => None,
            };
            let expires = match &w.expires {
                None => None,
                Some(v) => {
                    let text = match v {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
                        Ok(d) => Some(d),
                        Err(_) => {
                            let pos = find_key_value(&source.text, "expires", &text, 0);
                            errors.push(source.error_at(pos, format!("expires: {text:?} is not a date (YYYY-MM-DD)")));
                            continue;
                        }
                    }
                }
            };
            waivers.push(Waiver {
                rule: w.rule,
                hosts,
                reason: w.reason,
                expires,
            });
        }
        if errors.is_empty() {
            Ok(waivers)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    fn covers(&self, rule: &str, host: &str, groups: &[String]) -> bool {
        self.rule == rule && self.hosts.as_ref().is_none_or(|p| p.matches(host, groups))
    }
}

/// Applies `waivers` to one host's results as of `today`. Returns warnings
/// about expired waivers that would otherwise have applied.
pub fn apply(
    waivers: &[Waiver],
    host: &str,
    groups: &[String],
    results: &mut [RuleResult],
    today: NaiveDate,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for result in results.iter_mut() {
        if !matches!(result.status, RuleStatus::Fail | RuleStatus::Error) {
            continue;
        }
        let Some(waiver) = waivers.iter().find(|w| w.covers(&result.id, host, groups)) else {
            continue;
        };
        match waiver.expires {
            Some(until) if until < today => {
                warnings.push(format!(
                    "waiver for {} on {host} expired on {until}; the rule counts again",
                    result.id
                ));
                let note = format!("waiver expired on {until}: {}", waiver.reason);
                result.message = Some(match result.message.take() {
                    Some(m) => format!("{m}; {note}"),
                    None => note,
                });
            }
            _ => {
                result.status = RuleStatus::Waived;
                let until = waiver.expires.map(|d| format!(" (until {d})")).unwrap_or_default();
                result.message = Some(format!("waived: {}{until}", waiver.reason));
            }
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Severity;

    fn load(text: &str) -> Result<Vec<Waiver>, ConfigErrors> {
        Waiver::from_source(&SourceFile {
            path: "w.yaml".into(),
            text: text.into(),
        })
    }

    fn result(id: &str, status: RuleStatus) -> RuleResult {
        RuleResult {
            id: id.into(),
            title: id.into(),
            severity: Severity::Medium,
            status,
            expected: None,
            actual: None,
            diff: None,
            message: None,
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

    #[test]
    fn waives_matching_failures_until_expiry() {
        let w = load("waivers:\n  - {rule: X11, hosts: 'legacy-*', reason: vendor needs it, expires: 2027-03-31}\n")
            .unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut results = vec![result("X11", RuleStatus::Fail), result("OTHER", RuleStatus::Fail)];
        let warnings = apply(&w, "legacy-1", &[], &mut results, day("2027-03-31"));
        assert!(warnings.is_empty());
        assert_eq!(results[0].status, RuleStatus::Waived);
        assert_eq!(
            results[0].message.as_deref(),
            Some("waived: vendor needs it (until 2027-03-31)")
        );
        assert_eq!(results[1].status, RuleStatus::Fail);

        let mut results = vec![result("X11", RuleStatus::Fail)];
        let warnings = apply(&w, "legacy-1", &[], &mut results, day("2027-04-01"));
        assert_eq!(results[0].status, RuleStatus::Fail);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("expired on 2027-03-31"));

        let mut results = vec![result("X11", RuleStatus::Fail)];
        apply(&w, "web01", &[], &mut results, day("2027-01-01"));
        assert_eq!(results[0].status, RuleStatus::Fail, "other hosts are not waived");
    }

    #[test]
    fn bad_waivers_point_at_the_problem() {
        let e = load("waivers:\n  - {rule: A, reason: r, expires: 31.03.2027}\n").unwrap_err();
        assert!(e.to_string().starts_with("w.yaml:2:"), "{e}");
        let e = load("waivers:\n  - {rule: A, reason: r, until: 2027-01-01}\n").unwrap_err();
        assert!(e.to_string().contains("until"), "{e}");
        let e = load("waivers:\n  - {rule: A, reason: ' '}\n").unwrap_err();
        assert!(e.to_string().contains("needs a reason"), "{e}");
    }
}
