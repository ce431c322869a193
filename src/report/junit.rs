//! JUnit XML for CI systems: one testsuite per host, one testcase per
//! host × rule. A host that could not be audited is one errored testcase.
//! The shape is the one Jenkins' `junit-10.xsd` accepts (tests/it/junit_schema
//! validates it): the run's start is a `timestamp` on each testsuite, not
//! on `testsuites`, which has none; every testcase has a `time`, its equal
//! share of the host's wall time (one remote command checks all of a
//! host's rules, so there is no per-rule time to report).

use std::fmt::Write;

use quick_xml::escape::escape;

use super::sanitize::for_xml;
use super::{HostStatus, RuleStatus, RunReport};

fn x(text: &str) -> String {
    escape(for_xml(text).as_ref()).into_owned()
}

/// "waived: REASON" / "skipped: WHY", said once: a waiver's message
/// already starts with "waived: ".
fn skip_message(status: RuleStatus, message: Option<&str>) -> String {
    let word = status.as_str();
    match message {
        Some(m) if m.starts_with(&format!("{word}:")) => m.to_string(),
        Some(m) => format!("{word}: {m}"),
        None => word.to_string(),
    }
}

pub fn render(report: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = report.hosts.iter().map(|h| h.results.len().max(1)).sum();
    let failures: usize = report
        .hosts
        .iter()
        .flat_map(|h| &h.results)
        .filter(|r| r.status == RuleStatus::Fail)
        .count();
    let errors: usize = report
        .hosts
        .iter()
        .flat_map(|h| &h.results)
        .filter(|r| r.status == RuleStatus::Error)
        .count()
        + report.hosts.iter().filter(|h| h.status == HostStatus::Error).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"rectify {}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{:.3}\">",
        x(&report.run_id),
        (report.finished - report.started).num_milliseconds().max(0) as f64 / 1000.0
    );
    let timestamp = report.started.format("%Y-%m-%dT%H:%M:%S");
    for host in &report.hosts {
        let seconds = host.duration_ms as f64 / 1000.0;
        if matches!(host.status, HostStatus::Error | HostStatus::Interrupted) {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"{}\" skipped=\"{}\" time=\"{seconds:.3}\" timestamp=\"{timestamp}\">",
                x(&host.name),
                u8::from(host.status == HostStatus::Error),
                u8::from(host.status == HostStatus::Interrupted)
            );
            let msg = host.error.as_deref().unwrap_or("could not be audited");
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"connect\" time=\"{seconds:.3}\">",
                x(&host.name)
            );
            if host.status == HostStatus::Interrupted {
                let _ = writeln!(out, "      <skipped message=\"{}\"/>", x(msg));
            } else {
                let _ = writeln!(out, "      <error message=\"{}\" type=\"unreachable\"/>", x(msg));
            }
            let _ = writeln!(out, "    </testcase>\n  </testsuite>");
            continue;
        }
        let count = |s: RuleStatus| host.results.iter().filter(|r| r.status == s).count();
        let skipped = count(RuleStatus::Skipped) + count(RuleStatus::Waived);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{skipped}\" time=\"{seconds:.3}\" timestamp=\"{timestamp}\">",
            x(&host.name),
            host.results.len(),
            count(RuleStatus::Fail),
            count(RuleStatus::Error)
        );
        let share = seconds / host.results.len().max(1) as f64;
        for r in &host.results {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}: {}\" time=\"{share:.3}\"",
                x(&host.name),
                x(&r.id),
                x(&r.title)
            );
            let detail = format!(
                "expected: {}; actual: {}{}",
                r.expected.as_deref().unwrap_or("-"),
                r.actual.as_deref().unwrap_or("(not set)"),
                r.message.as_deref().map(|m| format!("; {m}")).unwrap_or_default()
            );
            match r.status {
                RuleStatus::Pass => out.push_str("/>\n"),
                RuleStatus::Fail => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        x(&detail),
                        r.severity.as_str(),
                        x(r.diff.as_deref().unwrap_or(&detail))
                    );
                }
                RuleStatus::Error => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\" type=\"error\"/>\n    </testcase>",
                        x(r.message.as_deref().unwrap_or("error"))
                    );
                }
                RuleStatus::Skipped | RuleStatus::Waived => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        x(&skip_message(r.status, r.message.as_deref()))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::skip_message;
    use crate::report::RuleStatus;

    #[test]
    fn a_waived_case_says_waived_once() {
        assert_eq!(
            skip_message(RuleStatus::Waived, Some("waived: vendor appliance (until 2027-03-31)")),
            "waived: vendor appliance (until 2027-03-31)"
        );
        assert_eq!(
            skip_message(RuleStatus::Skipped, Some("when: not debian")),
            "skipped: when: not debian"
        );
        assert_eq!(skip_message(RuleStatus::Skipped, None), "skipped");
    }
}
