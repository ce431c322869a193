//! `rectify stats [--since 30d]` and `rectify changes HOST [--since 7d]`:
//! the run history, read offline from the state database.

use chrono::{SecondsFormat, Utc};
use clap::{Args, ValueEnum};

use super::{exit, Error};
use crate::history;
use crate::ops;
use crate::report::sanitize::for_terminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// How far back: a duration (30d, 12h, 2w) or a date (2026-11-01).
    #[arg(long, default_value = "30d")]
    pub since: String,

    #[arg(long, value_enum, default_value = "human")]
    pub format: HistoryFormat,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// The host, by its inventory name.
    pub host: String,

    /// How far back: a duration (7d, 12h) or a date (2026-11-01).
    #[arg(long, default_value = "7d")]
    pub since: String,

    #[arg(long, value_enum, default_value = "human")]
    pub format: HistoryFormat,
}

fn since(text: &str) -> Result<String, Error> {
    let t = history::since(text, Utc::now()).map_err(|e| Error::Usage(e.to_string()))?;
    Ok(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

pub fn exec_stats(args: StatsArgs) -> Result<u8, Error> {
    let since = since(&args.since)?;
    let stats = ops::history::stats(&since)?;
    if args.format == HistoryFormat::Json {
        outln!("{}", serde_json::to_string_pretty(&stats).expect("stats serialise"));
        return Ok(exit::OK);
    }
    outln!("{} audit runs since {since}", stats.runs);
    outln!("\nrules (recurring drift first)");
    outln!(
        "  {:<28} {:<9} {:>12} {:>9}  recurring drift",
        "rule",
        "severity",
        "failing now",
        "failures"
    );
    for r in &stats.rules {
        outln!(
            "  {:<28} {:<9} {:>12} {:>9}  {}",
            for_terminal(&r.rule),
            r.severity,
            format!("{}/{}", r.failing_now.len(), r.hosts),
            r.failures,
            r.recurring
                .iter()
                .map(|x| format!(
                    "{}: passed {}, failed again {}",
                    for_terminal(&x.host),
                    day(&x.passed),
                    day(&x.failed)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        if !r.failing_now.is_empty() {
            outln!("  {:<28} failing on {}", "", for_terminal(&r.failing_now.join(", ")));
        }
    }
    outln!("\nhosts (compliance over time, oldest first: + compliant, x drift)");
    for h in &stats.hosts {
        let line: String = h.timeline.iter().map(|(_, ok)| if *ok { '+' } else { 'x' }).collect();
        outln!(
            "  {:<24} {:>3}/{:<3} compliant  {line}",
            for_terminal(&h.host),
            h.compliant_runs,
            h.runs
        );
    }
    Ok(exit::OK)
}

fn day(rfc3339: &str) -> &str {
    rfc3339.get(..16).unwrap_or(rfc3339)
}

pub fn exec_changes(args: ChangesArgs) -> Result<u8, Error> {
    let since = since(&args.since)?;
    let changes = ops::history::changes(&args.host, &since)?;
    if args.format == HistoryFormat::Json {
        outln!("{}", serde_json::to_string_pretty(&changes).expect("changes serialise"));
        return Ok(exit::OK);
    }
    if changes.is_empty() {
        outln!(
            "no changes to {}'s audited files since {since}",
            for_terminal(&args.host)
        );
    }
    for c in &changes {
        outln!(
            "{}  {}  (run {} → {})",
            day(&c.to),
            for_terminal(&c.path),
            c.from_run,
            c.to_run
        );
        for line in for_terminal(&c.diff).lines() {
            outln!("    {line}");
        }
    }
    Ok(exit::OK)
}
