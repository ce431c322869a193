//! The report for people: on a fleet, the failing rules across hosts
//! first (each with the hosts it fails on and the command that fixes it),
//! then drift per host, failing rules with expected and actual values and
//! diffs, passing hosts in one line each. `-q` keeps only what failed; each
//! `-v` adds detail.

use std::fmt::Write;

use console::Style;

use super::sanitize::for_terminal;
use super::{HostReport, HostStatus, RuleResult, RuleStatus, RunReport};

#[derive(Debug, Clone, Default)]
pub struct HumanOptions {
    pub color: bool,
    /// `-q`: only failing hosts and rules, no summary line; nothing at all
    /// for a run where everything is fine.
    pub quiet: bool,
    /// `-v` (1): also passing, skipped and waived rules, and the rationale
    /// of failing rules; `-vv` (2): also each host's address and time, and
    /// expected and actual values of passing rules.
    pub verbose: u8,
    /// Show the unified diff of every change (apply `--diff`).
    pub diff: bool,
    /// `rectify fix -b … -i …` for the hosts of this run: the per-rule
    /// summary suggests it, with `--rule` and `--limit`, for rules that
    /// have a remediation. `None`: no suggestion.
    pub fix_command: Option<String>,
}

/// A run of at least this many hosts gets the per-rule summary before
/// the per-host detail: one line per failing rule instead of one per
/// host and rule.
pub const SUMMARY_MIN_HOSTS: usize = 3;

/// Hosts named in a summary line before `(+N)`.
const SUMMARY_NAMES: usize = 3;

/// "1 host", "2 hosts".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

struct Palette {
    bad: Style,
    warn: Style,
    good: Style,
    dim: Style,
    bold: Style,
    add: Style,
    del: Style,
}

impl Palette {
    fn new(color: bool) -> Palette {
        let s = |style: Style| style.force_styling(color);
        Palette {
            bad: s(Style::new().red().bold()),
            warn: s(Style::new().yellow().bold()),
            good: s(Style::new().green()),
            dim: s(Style::new().dim()),
            bold: s(Style::new().bold()),
            add: s(Style::new().green()),
            del: s(Style::new().red()),
        }
    }
}

pub fn render(report: &RunReport, options: HumanOptions) -> String {
    let p = Palette::new(options.color);
    let mut out = String::new();
    if matches!(report.kind, super::RunKind::Audit | super::RunKind::Fix) && report.hosts.len() >= SUMMARY_MIN_HOSTS {
        render_rule_summary(&mut out, report, &p, &options);
    }
    let mut hosts: Vec<&HostReport> = report.hosts.iter().collect();
    // Drift first, then hosts that could not be audited, then the compliant.
    hosts.sort_by_key(|h| match h.status {
        HostStatus::RollbackFailed => 0,
        HostStatus::Drift | HostStatus::RolledBack => 1,
        HostStatus::Error => 2,
        HostStatus::NotStarted | HostStatus::Interrupted => 3,
        HostStatus::Changed | HostStatus::WouldChange => 4,
        HostStatus::Compliant | HostStatus::Unchanged => 5,
    });
    for host in hosts {
        if options.quiet && is_fine(host.status) {
            continue;
        }
        render_host(&mut out, host, &p, &options);
    }
    if options.quiet {
        return out;
    }
    let s = &report.summary;
    if report.kind == super::RunKind::Apply || report.kind == super::RunKind::Rollback {
        let _ = writeln!(
            out,
            "\n{} {}: {} — {} changed, {} unchanged, {} would change, {} rolled back, {} rollback failed, {} error, {} not started",
            p.bold.apply_to("run"),
            report.run_id,
            count(s.hosts, "host"),
            s.changed,
            s.unchanged,
            s.would_change,
            if s.rolled_back > 0 { p.bad.apply_to(s.rolled_back) } else { p.dim.apply_to(s.rolled_back) },
            if s.rollback_failed > 0 { p.bad.apply_to(s.rollback_failed) } else { p.dim.apply_to(s.rollback_failed) },
            if s.error > 0 { p.warn.apply_to(s.error) } else { p.dim.apply_to(s.error) },
            s.not_started,
        );
        return out;
    }
    let _ = writeln!(
        out,
        "\n{} {}: {} — {} compliant, {} drift, {} error; rules: {} pass, {} fail, {} error, {} waived, {} skipped",
        p.bold.apply_to("run"),
        report.run_id,
        count(s.hosts, "host"),
        p.good.apply_to(s.compliant),
        if s.drift > 0 {
            p.bad.apply_to(s.drift)
        } else {
            p.dim.apply_to(s.drift)
        },
        if s.error > 0 {
            p.warn.apply_to(s.error)
        } else {
            p.dim.apply_to(s.error)
        },
        s.rules_pass,
        s.rules_fail,
        s.rules_error,
        s.rules_waived,
        s.rules_skipped,
    );
    if s.interrupted > 0 {
        let _ = writeln!(
            out,
            "{}: {} of {} hosts not audited",
            p.warn.apply_to("interrupted"),
            s.interrupted,
            s.hosts
        );
    }
    out
}

/// A host that needs no one's attention: `-q` leaves it out.
fn is_fine(status: HostStatus) -> bool {
    matches!(
        status,
        HostStatus::Compliant | HostStatus::Unchanged | HostStatus::Changed
    )
}

/// Each rule that fails (or errs) somewhere, most severe first, then on
/// most hosts: the hosts it fails on, its rationale with `-v`, and the
/// `fix` command that repairs it when it has a remediation.
fn render_rule_summary(out: &mut String, report: &RunReport, p: &Palette, options: &HumanOptions) {
    struct Failing<'a> {
        first: &'a RuleResult,
        hosts: Vec<&'a str>,
    }
    let mut rules: Vec<Failing> = Vec::new();
    for host in &report.hosts {
        for r in host
            .results
            .iter()
            .filter(|r| matches!(r.status, RuleStatus::Fail | RuleStatus::Error))
        {
            match rules
                .iter_mut()
                .find(|f| f.first.id == r.id && f.first.baseline == r.baseline)
            {
                Some(f) => f.hosts.push(&host.name),
                None => rules.push(Failing {
                    first: r,
                    hosts: vec![&host.name],
                }),
            }
        }
    }
    if rules.is_empty() {
        return;
    }
    rules.sort_by_key(|f| (std::cmp::Reverse(f.first.severity), std::cmp::Reverse(f.hosts.len())));
    let _ = writeln!(out, "{}", p.bold.apply_to("failing rules"));
    for f in &rules {
        let r = f.first;
        let shown: Vec<String> = f
            .hosts
            .iter()
            .take(SUMMARY_NAMES)
            .map(|h| for_terminal(h).into_owned())
            .collect();
        let more = match f.hosts.len().saturating_sub(SUMMARY_NAMES) {
            0 => String::new(),
            n => format!(", … (+{n})"),
        };
        let _ = writeln!(
            out,
            "  {:<8} {} fails on {}: {}{more}",
            r.severity.as_str(),
            p.bold.apply_to(for_terminal(&r.id)),
            count(f.hosts.len(), "host"),
            shown.join(", ")
        );
        let _ = writeln!(out, "           {}", for_terminal(&r.title));
        if options.verbose > 0 {
            if let Some(why) = &r.rationale {
                let _ = writeln!(out, "           {} {}", p.dim.apply_to("why:"), for_terminal(why));
            }
        }
        if let (Some(fix), Some(_)) = (
            &options.fix_command,
            r.remediation.as_ref().and_then(|m| m.playbook.as_ref()),
        ) {
            let _ = writeln!(
                out,
                "           {} {fix} --rule {} --limit {}",
                p.dim.apply_to("fix:"),
                for_terminal(&r.id),
                for_terminal(&f.hosts.join(","))
            );
        }
    }
    let _ = writeln!(out);
}

fn render_host(out: &mut String, host: &HostReport, p: &Palette, options: &HumanOptions) {
    let verbose = options.verbose > 0;
    let name = for_terminal(&host.name);
    match host.status {
        HostStatus::Changed
        | HostStatus::Unchanged
        | HostStatus::WouldChange
        | HostStatus::RolledBack
        | HostStatus::RollbackFailed
        | HostStatus::NotStarted
        | HostStatus::Interrupted => {
            let tag = match host.status {
                HostStatus::Changed => p.good.apply_to("CHANGED        "),
                HostStatus::Unchanged => p.dim.apply_to("UNCHANGED      "),
                HostStatus::WouldChange => p.warn.apply_to("WOULD CHANGE   "),
                HostStatus::RolledBack => p.bad.apply_to("ROLLED BACK    "),
                HostStatus::RollbackFailed => p.bad.apply_to("ROLLBACK FAILED"),
                HostStatus::Interrupted => p.warn.apply_to("INTERRUPTED    "),
                _ => p.dim.apply_to("NOT STARTED    "),
            };
            let _ = writeln!(out, "{tag} {}", p.bold.apply_to(&name));
            if let Some(e) = &host.error {
                let _ = writeln!(out, "  {}", for_terminal(e));
            }
            render_changes(out, host, p, options.diff);
            return;
        }
        HostStatus::Error => {
            let reason = for_terminal(host.error.as_deref().unwrap_or("unknown error"));
            let _ = writeln!(
                out,
                "{} {}  {}",
                p.warn.apply_to("ERROR    "),
                p.bold.apply_to(name),
                reason
            );
            return;
        }
        HostStatus::Compliant => {
            let _ = writeln!(
                out,
                "{} {}  {}",
                p.good.apply_to("COMPLIANT"),
                p.bold.apply_to(name),
                p.dim.apply_to(counts(host))
            );
        }
        HostStatus::Drift => {
            let _ = writeln!(
                out,
                "{} {}  {}",
                p.bad.apply_to("DRIFT    "),
                p.bold.apply_to(name),
                counts(host)
            );
        }
    }
    if options.verbose > 1 {
        let _ = writeln!(
            out,
            "  {}",
            p.dim
                .apply_to(format!("{} in {} ms", for_terminal(&host.address), host.duration_ms))
        );
    }
    let mut shown: Vec<&RuleResult> = host
        .results
        .iter()
        .filter(|r| {
            verbose
                || matches!(r.status, RuleStatus::Fail | RuleStatus::Error)
                || (r.status == RuleStatus::Waived && !options.quiet)
                || r.before.is_some_and(|b| b != r.status && !options.quiet)
        })
        .collect();
    // Within a host: failures before errors before the rest, most severe first.
    shown.sort_by_key(|r| (status_rank(r.status), std::cmp::Reverse(r.severity)));
    for r in shown {
        render_rule(out, r, p, options.verbose);
    }
    // A fix run: what the remediations changed on this host.
    render_changes(out, host, p, options.diff);
    for w in &host.warnings {
        let _ = writeln!(out, "  {} {}", p.warn.apply_to("warning:"), for_terminal(w));
    }
}

fn render_changes(out: &mut String, host: &HostReport, p: &Palette, diff: bool) {
    for c in &host.changes {
        // Default step names (`template /etc/motd`, `X in /etc/ssh/sshd_config`)
        // already name the path: print it once.
        let target = if c.path.is_empty() || names_path(&c.step, &c.path) {
            String::new()
        } else {
            format!(" ({})", c.path)
        };
        let _ = writeln!(out, "  ~ {}{}", for_terminal(&c.step), for_terminal(&target));
        if diff {
            render_diff(out, &c.diff, p);
        }
    }
}

/// Whether `step` contains `path` as a word of its own: between the start
/// or a blank and the end or a blank, so `copy /etc/a.bak` does not name
/// `/etc/a`.
fn names_path(step: &str, path: &str) -> bool {
    step.match_indices(path).any(|(at, _)| {
        let before = step[..at].chars().next_back();
        let after = step[at + path.len()..].chars().next();
        before.is_none_or(char::is_whitespace) && after.is_none_or(char::is_whitespace)
    })
}

fn status_rank(s: RuleStatus) -> u8 {
    match s {
        RuleStatus::Fail => 0,
        RuleStatus::Error => 1,
        RuleStatus::Waived => 2,
        RuleStatus::Pass => 3,
        RuleStatus::Skipped => 4,
    }
}

fn counts(host: &HostReport) -> String {
    let n = |s: RuleStatus| host.results.iter().filter(|r| r.status == s).count();
    let mut parts = vec![format!("{} pass", n(RuleStatus::Pass))];
    for (s, label) in [
        (RuleStatus::Fail, "fail"),
        (RuleStatus::Error, "error"),
        (RuleStatus::Waived, "waived"),
        (RuleStatus::Skipped, "skipped"),
    ] {
        if n(s) > 0 {
            parts.push(format!("{} {label}", n(s)));
        }
    }
    format!("({})", parts.join(", "))
}

fn render_rule(out: &mut String, r: &RuleResult, p: &Palette, verbose: u8) {
    let tag = match r.status {
        RuleStatus::Fail => p.bad.apply_to("fail "),
        RuleStatus::Error => p.warn.apply_to("error"),
        RuleStatus::Pass => p.good.apply_to("pass "),
        RuleStatus::Waived => p.dim.apply_to("waive"),
        RuleStatus::Skipped => p.dim.apply_to("skip "),
    };
    // In a fix run: what the rule was before the remediation.
    let mut was = match r.before {
        Some(b) if b != r.status => format!("  (was {})", b.as_str()),
        _ => String::new(),
    };
    if r.no_remediation {
        was.push_str("  (no remediation)");
    }
    let _ = writeln!(
        out,
        "  {tag} {:<8} {}  {}{}",
        r.severity.as_str(),
        p.bold.apply_to(for_terminal(&r.id)),
        for_terminal(&r.title),
        p.dim.apply_to(was)
    );
    if verbose > 0 {
        if let Some(why) = &r.rationale {
            let _ = writeln!(out, "        {} {}", p.dim.apply_to("why:"), for_terminal(why));
        }
    }
    if matches!(r.status, RuleStatus::Fail | RuleStatus::Error) || (verbose > 1 && r.status == RuleStatus::Pass) {
        if let Some(e) = &r.expected {
            let _ = writeln!(out, "        expected: {}", for_terminal(e));
        }
        if r.status == RuleStatus::Fail || r.actual.is_some() {
            let actual = r.actual.as_deref().map(for_terminal);
            let _ = writeln!(out, "        actual:   {}", actual.as_deref().unwrap_or("(not set)"));
        }
    }
    if let Some(m) = &r.message {
        let _ = writeln!(out, "        {}", p.dim.apply_to(for_terminal(m)));
    }
    if let Some(diff) = &r.diff {
        render_diff(out, diff, p);
    }
    // A rule a person must fix: say how, where it still fails.
    let manual = r.remediation.as_ref().and_then(|m| m.manual.as_deref());
    if let (Some(m), RuleStatus::Fail | RuleStatus::Error) = (manual, r.status) {
        let _ = writeln!(out, "        {} {}", p.warn.apply_to("manual fix:"), for_terminal(m));
    }
}

fn render_diff(out: &mut String, diff: &str, p: &Palette) {
    for line in for_terminal(diff).lines() {
        let styled = if line.starts_with('+') && !line.starts_with("+++") {
            p.add.apply_to(line).to_string()
        } else if line.starts_with('-') && !line.starts_with("---") {
            p.del.apply_to(line).to_string()
        } else {
            p.dim.apply_to(line).to_string()
        };
        let _ = writeln!(out, "        {styled}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Change;

    fn change_lines(changes: &[(&str, &str)]) -> Vec<String> {
        let host = HostReport {
            changes: changes
                .iter()
                .map(|(step, path)| Change {
                    step: step.to_string(),
                    path: path.to_string(),
                    diff: String::new(),
                })
                .collect(),
            name: "h".into(),
            address: "h".into(),
            status: HostStatus::Changed,
            error: None,
            results: Vec::new(),
            duration_ms: 0,
            warnings: Vec::new(),
            attempts: 1,
            observed: Vec::new(),
        };
        let mut out = String::new();
        render_changes(&mut out, &host, &Palette::new(false), false);
        out.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_change_names_its_path_once() {
        assert_eq!(
            change_lines(&[
                ("template /etc/motd", "/etc/motd"),
                ("X11Forwarding in /etc/ssh/sshd_config", "/etc/ssh/sshd_config"),
                ("harden sshd", "/etc/ssh/sshd_config"),
                ("copy /etc/a.bak", "/etc/a"),
                ("restore /etc/a b", "/etc/a b"),
                ("command true", ""),
            ]),
            [
                "  ~ template /etc/motd",
                "  ~ X11Forwarding in /etc/ssh/sshd_config",
                "  ~ harden sshd (/etc/ssh/sshd_config)",
                "  ~ copy /etc/a.bak (/etc/a)",
                "  ~ restore /etc/a b",
                "  ~ command true",
            ]
        );
    }
}
