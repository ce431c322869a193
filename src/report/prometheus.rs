//! node_exporter textfile-collector format: write it to
//! `<textfile dir>/rectify.prom` (atomically: to a temp name, then rename).

use std::fmt::Write;

use super::{HostStatus, RuleStatus, RunReport};

/// Label values escape backslash, double quote and newline (exposition format).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let metric = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };

    metric(
        &mut out,
        "rectify_last_run_timestamp_seconds",
        "gauge",
        "When the last run finished, as a Unix time.",
    );
    let _ = writeln!(
        out,
        "rectify_last_run_timestamp_seconds {}",
        report.finished.timestamp()
    );
    metric(
        &mut out,
        "rectify_run_duration_seconds",
        "gauge",
        "Wall time of the last run.",
    );
    let _ = writeln!(
        out,
        "rectify_run_duration_seconds {:.3}",
        (report.finished - report.started).num_milliseconds() as f64 / 1000.0
    );

    metric(&mut out, "rectify_hosts", "gauge", "Hosts in the last run, by status.");
    for (status, n) in [("compliant", s.compliant), ("drift", s.drift), ("error", s.error)] {
        let _ = writeln!(out, "rectify_hosts{{status=\"{status}\"}} {n}");
    }
    metric(
        &mut out,
        "rectify_rules",
        "gauge",
        "Rule results over all hosts, by status.",
    );
    for (status, n) in [
        ("pass", s.rules_pass),
        ("fail", s.rules_fail),
        ("error", s.rules_error),
        ("waived", s.rules_waived),
        ("skipped", s.rules_skipped),
    ] {
        let _ = writeln!(out, "rectify_rules{{status=\"{status}\"}} {n}");
    }

    metric(&mut out, "rectify_host_up", "gauge", "1 if the host could be audited.");
    for h in &report.hosts {
        let _ = writeln!(
            out,
            "rectify_host_up{{host=\"{}\"}} {}",
            label(&h.name),
            u8::from(h.status != HostStatus::Error)
        );
    }
    metric(
        &mut out,
        "rectify_host_compliant",
        "gauge",
        "1 if every rule passed or was waived on the host.",
    );
    for h in &report.hosts {
        let _ = writeln!(
            out,
            "rectify_host_compliant{{host=\"{}\"}} {}",
            label(&h.name),
            u8::from(h.status == HostStatus::Compliant)
        );
    }
    metric(
        &mut out,
        "rectify_rule_failed",
        "gauge",
        "1 if the rule failed or could not be evaluated on the host.",
    );
    for h in &report.hosts {
        for r in &h.results {
            if r.status == RuleStatus::Skipped {
                continue;
            }
            let _ = writeln!(
                out,
                "rectify_rule_failed{{host=\"{}\",baseline=\"{}\",rule=\"{}\",severity=\"{}\",status=\"{}\"}} {}",
                label(&h.name),
                label(&r.baseline),
                label(&r.id),
                r.severity.as_str(),
                r.status.as_str(),
                u8::from(matches!(r.status, RuleStatus::Fail | RuleStatus::Error))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
