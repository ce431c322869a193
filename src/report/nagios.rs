//! Nagios/Icinga plugin output: one status line with perfdata, and the
//! plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). A check that
//! ends before it has a report (a usage error, bad input, a held lock) is
//! still one line, [`unknown`], with exit 3: a plugin that prints nothing
//! shows up in the monitoring system as "(No output returned from plugin)".

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
        _ if report.summary.error > 0 || report.summary.interrupted > 0 => PluginState::Unknown,
        Some(_) => PluginState::Warning,
        None => PluginState::Ok,
    }
}

/// No separator Nagios reads (`|` starts perfdata) and no line break.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect()
}

/// The one line of a check that has no report: `RECTIFY UNKNOWN - why`,
/// the message's lines joined with "; ", at most 300 characters.
pub fn unknown(message: &str) -> String {
    let joined: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut text = plain(&joined.join("; "));
    if text.chars().count() > 300 {
        text = text.chars().take(299).collect::<String>() + "…";
    }
    format!("RECTIFY UNKNOWN - {text}\n")
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
    if s.interrupted > 0 {
        detail.push_str(&format!(", {} not audited (interrupted)", s.interrupted));
    }
    // Perfdata must not contain the characters Nagios uses as separators.
    let detail = plain(&detail);
    let duration = (report.finished - report.started).num_milliseconds() as f64 / 1000.0;
    format!(
        "RECTIFY {label} - {detail} | hosts={} compliant={} drift={} error={} rules_fail={} rules_error={} rules_waived={} duration={duration:.3}s\n",
        s.hosts, s.compliant, s.drift, s.error, s.rules_fail, s.rules_error, s.rules_waived
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_check_without_a_report_is_one_unknown_line() {
        assert_eq!(
            super::unknown("error: a.yaml:3:1: bad\nerror: b.yaml:1:1: worse | x\n"),
            "RECTIFY UNKNOWN - error: a.yaml:3:1: bad; error: b.yaml:1:1: worse   x\n"
        );
        let long = super::unknown(&"x".repeat(1000));
        assert_eq!(long.lines().count(), 1);
        assert!(long.chars().count() < 330, "{long}");
    }
}
