//! `rectify runs [-n N]`: the run history, newest first.

use clap::Args;

use super::{exit, Error};
use crate::state::UnfinishedRun;

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to list.
    #[arg(short = 'n', long, default_value_t = 20, value_name = "N")]
    pub count: usize,

    /// The old name of `--count`: `--limit` selects hosts everywhere else.
    /// Still taken, with a warning, so existing scripts keep working.
    #[arg(long, value_name = "N", hide = true, conflicts_with = "count")]
    pub limit: Option<usize>,
}

pub fn exec(args: RunsArgs) -> Result<u8, Error> {
    let count = match args.limit {
        Some(n) => {
            eprintln!("warning: `rectify runs --limit N` is deprecated, use `-n N` (or `--count N`); --limit selects hosts in every other command");
            n
        }
        None => args.count,
    };
    let (rows, unfinished) = crate::ops::history::runs(count)?;
    if rows.is_empty() && unfinished.is_empty() {
        outln!("no runs recorded yet");
        return Ok(exit::OK);
    }
    for run in &unfinished {
        outln!("{}", describe_unfinished(run));
    }
    // A fix run's remediations (`…-3fa9c2.12`) are longer than plain ids:
    // the column is as wide as the longest id shown.
    let width = rows.iter().map(|r| r.run_id.len()).max().unwrap_or(0).max(3);
    let kind = |r: &crate::state::RunRow| {
        if r.check {
            format!("{} (check)", r.kind)
        } else {
            r.kind.clone()
        }
    };
    let kind_width = rows.iter().map(|r| kind(r).len()).max().unwrap_or(0).max(4);
    outln!(
        "{:<width$} {:<kind_width$} {:<24} {:>5} {:>9} {:>5} {:>5} {:>4}",
        "RUN",
        "KIND",
        "STARTED",
        "HOSTS",
        "COMPLIANT",
        "DRIFT",
        "ERROR",
        "EXIT"
    );
    for r in rows {
        outln!(
            "{:<width$} {:<kind_width$} {:<24} {:>5} {:>9} {:>5} {:>5} {:>4}",
            r.run_id,
            kind(&r),
            r.started,
            r.hosts,
            r.compliant,
            r.drift,
            r.error,
            r.exit_code
        );
    }
    Ok(exit::OK)
}

/// What is known of a change run whose controller stopped before recording
/// it: each host's last journaled state. A host left `started` was in
/// flight; the host itself knows how it ended.
pub fn describe_unfinished(run: &UnfinishedRun) -> String {
    let mut text = format!(
        "{} {}: UNFINISHED — rectify stopped before recording this run\n",
        run.run_id, run.kind
    );
    for (host, status, at) in &run.hosts {
        if status == "started" {
            text.push_str(&format!(
                "  {host}: in flight since {at}, outcome unknown here; on the host, {bk}: \
                 no backup directory means it was cut off before changing anything (its lock is freed \
                 there once its script ends; `rectify unlock` says who holds a lock); decided/by names who settled it (controller, timer — only if a confirm \
                 timeout was set — or abandoned: nothing was started); a backup without decided/ was \
                 never settled: `rectify unlock --restore` (or `sh {bk}/restore.sh` there) undoes what it \
                 started and frees its lock\n",
                bk = crate::apply::remote::backup_dir(&run.run_id),
            ));
        } else {
            text.push_str(&format!("  {host}: {status} at {at}\n"));
        }
    }
    text
}
