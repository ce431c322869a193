//! node_exporter textfile-collector format: write it to
//! `<textfile dir>/rectify.prom` (atomically: to a temp name, then rename).
//! Every sample carries a `schedule` label, so several scheduled runs on one
//! node, each writing its own `.prom` file into the same textfile
//! directory, give distinct series that node_exporter merges into one
//! family per metric (the HELP and TYPE lines are the same in every file,
//! as it requires). The label is the report file's name without `.prom`,
//! or `--schedule NAME`.

use std::fmt::Write;

use super::{HostStatus, RuleStatus, RunReport};

/// Label values escape backslash, double quote and newline (exposition format).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The `schedule` label of stdout output (and `show`) without `--schedule`.
pub const DEFAULT_SCHEDULE: &str = "default";

/// The `schedule` label of a report written to `path` (as given, before
/// `{date}` is filled in): the file name without its `.prom` extension.
pub fn schedule_from_path(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".prom").unwrap_or(&name).to_string()
}

pub fn render(report: &RunReport, schedule: &str) -> String {
    let mut out = String::new();
    let sched = format!("schedule=\"{}\"", label(schedule));
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
        "rectify_last_run_timestamp_seconds{{{sched}}} {}",
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
        "rectify_run_duration_seconds{{{sched}}} {:.3}",
        (report.finished - report.started).num_milliseconds() as f64 / 1000.0
    );

    metric(&mut out, "rectify_hosts", "gauge", "Hosts in the last run, by status.");
    for (status, n) in [
        ("compliant", s.compliant),
        ("drift", s.drift),
        ("error", s.error),
        ("interrupted", s.interrupted),
    ] {
        let _ = writeln!(out, "rectify_hosts{{{sched},status=\"{status}\"}} {n}");
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
        let _ = writeln!(out, "rectify_rules{{{sched},status=\"{status}\"}} {n}");
    }

    metric(&mut out, "rectify_host_up", "gauge", "1 if the host could be audited.");
    for h in &report.hosts {
        let _ = writeln!(
            out,
            "rectify_host_up{{{sched},host=\"{}\"}} {}",
            label(&h.name),
            u8::from(!matches!(h.status, HostStatus::Error | HostStatus::Interrupted))
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
            "rectify_host_compliant{{{sched},host=\"{}\"}} {}",
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
                "rectify_rule_failed{{{sched},host=\"{}\",baseline=\"{}\",rule=\"{}\",severity=\"{}\",status=\"{}\"}} {}",
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
    use super::{label, schedule_from_path};

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_schedule_is_the_file_name_without_prom() {
        let p = |s: &str| schedule_from_path(std::path::Path::new(s));
        assert_eq!(
            p("/var/lib/node_exporter/textfile/rectify-nightly.prom"),
            "rectify-nightly"
        );
        assert_eq!(p("hourly.txt"), "hourly.txt");
    }
}
