//! JUnit XML for CI systems: one testsuite per host, one testcase per
//! host × rule. A host that could not be audited is one errored testcase.

use std::fmt::Write;

use quick_xml::escape::escape;

use super::sanitize::for_xml;
use super::{HostStatus, RuleStatus, RunReport};

fn x(text: &str) -> String {
    escape(for_xml(text).as_ref()).into_owned()
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
        "<testsuites name=\"rectify {}\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" timestamp=\"{}\">",
        x(&report.run_id),
        report.started.to_rfc3339()
    );
    for host in &report.hosts {
        let seconds = host.duration_ms as f64 / 1000.0;
        if host.status == HostStatus::Error {
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"{seconds:.3}\">",
                x(&host.name)
            );
            let msg = host.error.as_deref().unwrap_or("could not be audited");
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"connect\" time=\"{seconds:.3}\">",
                x(&host.name)
            );
            let _ = writeln!(out, "      <error message=\"{}\" type=\"unreachable\"/>", x(msg));
            let _ = writeln!(out, "    </testcase>\n  </testsuite>");
            continue;
        }
        let count = |s: RuleStatus| host.results.iter().filter(|r| r.status == s).count();
        let skipped = count(RuleStatus::Skipped) + count(RuleStatus::Waived);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">",
            x(&host.name),
            host.results.len(),
            count(RuleStatus::Fail),
            count(RuleStatus::Error)
        );
        for r in &host.results {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}: {}\"",
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
                        x(&format!(
                            "{}: {}",
                            r.status.as_str(),
                            r.message.as_deref().unwrap_or("")
                        ))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
