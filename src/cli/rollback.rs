//! `rectify rollback RUN_ID [TARGETS] [--force]`: undo what an apply run
//! changed, from what the state database recorded and the backups the run
//! left on each host.

use std::time::Duration;

use chrono::Utc;
use clap::Args;

use super::apply::run_with_progress;
use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, Error, Output};
use crate::ops::rollback::{RecordedRun, RollbackOptions};
use crate::run_id::new_run_id;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The apply run to undo: its id as `rectify runs` lists it, a unique prefix of it, or `last-apply`.
    pub run_id: String,

    #[command(flatten)]
    pub targets: TargetArgs,

    /// Also restore files that were changed since the run (their diff is shown either way).
    #[arg(long)]
    pub force: bool,

    /// Show what would be restored; change nothing.
    #[arg(long)]
    pub check: bool,

    /// Show the unified diff of every change.
    #[arg(long)]
    pub diff: bool,

    #[command(flatten)]
    pub output: Output,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub async fn exec(args: RollbackArgs) -> Result<u8, Error> {
    let recorded = RecordedRun::load(&args.run_id)?;
    // Without TARGETS: every host the run changed, reached as the run
    // reached it. With them: only the hosts they name, reached as they say
    // (an inventory may know of a new address).
    let hosts = if args.targets.inventory.is_none() && args.targets.targets.is_empty() && !args.targets.local {
        recorded.recorded_hosts()?
    } else {
        args.targets.resolve()?
    };
    let conn = &args.connection;
    let options = RollbackOptions {
        force: args.force,
        check: args.check,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
    };
    let planned = recorded.plan(hosts, &options)?;
    let run_id = &recorded.run.run_id;
    for (host, by) in &planned.done {
        eprintln!("{host}: run {run_id} already rolled back there by run {by}; skipped");
    }
    let Some(plan) = planned.plan else {
        // Nothing left to restore is the state the user asked for.
        let message = format!("run {run_id} already rolled back; nothing to do");
        if args.output.format == crate::report::Format::Human {
            outln!("{message}");
        } else {
            eprintln!("{message}");
        }
        return Ok(exit::OK);
    };
    args.output.check_writable()?;
    let _lock = conn.take_lock()?;
    let (outcomes, interrupted) = run_with_progress(vec![(plan, new_run_id(Utc::now()))], conn).await;
    let Some(outcome) = outcomes.into_iter().next() else {
        return Ok(exit::INTERRUPTED);
    };
    super::deliver(&outcome.report, &outcome.records, &args.output, conn.view(args.diff))?;
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(args.output.exit_code(&outcome.report))
}
