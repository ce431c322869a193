//! Nagios/Icinga plugin output: one status line with perfdata, and the
//! plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).

use super::{HostStatus, RuleStatus, RunReport};
use crate::baseline::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginState {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

/// CRITICAL when a high or critical rule fails anywhere; WARNING for other
/// drift; UNKNOWN when hosts could not be audited and nothing is known to
/// be critical; OK otherwise.
pub fn state(report: &RunReport) -> PluginState {
    let failing = report
        .hosts
        .iter()
        .flat_map(|h| &h.results)
        .filter(|r| matches!(r.status, RuleStatus::Fail | RuleStatus::Error));
    let mut worst = None;
    for r in failing {
        worst = worst.max(Some(r.severity));
    }
    match worst {
        Some(s) if s >= Severity::High => PluginState::Critical,
        _ if report.summary.error > 0 => PluginState::Unknown,
        Some(_) => PluginState::Warning,
        None => PluginState::Ok,
    }
}

pub fn render(report: &RunReport) -> String {
    let s = &report.summary;
    let label = match state(report) {
        PluginState::Ok => "OK",
        PluginState::Warning => "WARNING",
        PluginState::Critical => "CRITICAL",
        PluginState::Unknown => "UNKNOWN",
    };
    let mut detail = format!("{} of {} hosts compliant", s.compliant, s.hosts);
    if s.drift > 0 {
        let names: Vec<&str> = report
            .hosts
            .iter()
            .filter(|h| h.status == HostStatus::Drift)
            .map(|h| h.name.as_str())
            .take(5)
            .collect();
        detail.push_str(&format!(
            ", {} drift ({}{})",
            s.drift,
            names.join(" "),
            if s.drift > 5 { " …" } else { "" }
        ));
    }
    if s.error > 0 {
        detail.push_str(&format!(", {} unreachable", s.error));
    }
    // Perfdata must not contain the characters Nagios uses as separators.
    let detail: String = detail
        .chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect();
    let duration = (report.finished - report.started).num_milliseconds() as f64 / 1000.0;
    format!(
        "RECTIFY {label} - {detail} | hosts={} compliant={} drift={} error={} rules_fail={} rules_error={} rules_waived={} duration={duration:.3}s\n",
        s.hosts, s.compliant, s.drift, s.error, s.rules_fail, s.rules_error, s.rules_waived
    )
}
