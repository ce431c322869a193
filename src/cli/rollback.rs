//! `rectify rollback RUN_ID [TARGETS] [--force]`: undo what an apply run
//! changed, from what the state database recorded and the backups the run
//! left on each host.

use std::time::Duration;

use chrono::Utc;
use clap::Args;

use super::apply::run_with_progress;
use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, CliError, Output};
use crate::apply::{ApplyPlan, Guard, HostWork, TxRecord};
use crate::redact::Redactor;
use crate::report::RunKind;
use crate::run_id::new_run_id;
use crate::state::StateDb;
use crate::steps::copy::Copy;
use crate::steps::file::File;
use crate::steps::restore::Restore;
use crate::steps::sysctl::Sysctl;
use crate::steps::{Meta, Step, StepKind};

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The apply run to undo, as `rectify runs` lists it.
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

pub fn exec(args: RollbackArgs) -> Result<u8, CliError> {
    let db = StateDb::open_default().map_err(CliError::State)?;
    let Some(run) = db.load(&args.run_id).map_err(CliError::State)? else {
        return Err(CliError::Usage(format!(
            "no run {:?} in the state database (see `rectify runs`)",
            args.run_id
        )));
    };
    if !matches!(run.kind, RunKind::Apply | RunKind::Rollback) {
        return Err(CliError::Usage(format!(
            "run {} is a {} run; only apply runs change hosts (a fix run's changes are its runs {}.N)",
            run.run_id,
            serde_json::to_value(run.kind)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            run.run_id
        )));
    }
    if args.targets.inventory.is_none() && args.targets.targets.is_empty() && !args.targets.local {
        return Err(CliError::Usage(
            "which hosts? give -i INVENTORY, -t HOST or --local (the run's hosts are matched by name)".into(),
        ));
    }
    let hosts = args.targets.resolve()?;
    let mut work = Vec::new();
    for host in hosts {
        let Some(record) = db.tx_record(&run.run_id, &host.name).map_err(CliError::State)? else {
            continue;
        };
        work.push(restore_work(host, &run.run_id, record));
    }
    if work.is_empty() {
        return Err(CliError::Usage(format!(
            "run {} changed nothing on the selected hosts",
            run.run_id
        )));
    }
    let conn = &args.connection;
    let _lock = conn.take_lock()?;
    let plan = ApplyPlan {
        kind: RunKind::Rollback,
        work,
        verify_baselines: Vec::new(),
        check: args.check,
        confirm_timeout: Some(crate::apply::SAFETY_TIMEOUT),
        settle: crate::playbook::DEFAULT_SETTLE,
        serial: None,
        max_fail: None,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
        label: format!("rollback of {}", run.run_id),
        force: args.force,
    };
    let (outcomes, interrupted) = run_with_progress(vec![(plan, new_run_id(Utc::now()))], conn);
    let Some(outcome) = outcomes.into_iter().next() else {
        return Ok(exit::INTERRUPTED);
    };
    super::deliver(&outcome.report, &outcome.records, &args.output, conn.verbose, args.diff)?;
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(args.output.exit_code(&outcome.report))
}

/// The steps that put back what `record` says the run found.
fn restore_work(host: crate::inventory::Host, run_id: &str, record: TxRecord) -> HostWork {
    let all_handlers: Vec<usize> = (0..record.handlers.len()).collect();
    let mut steps = Vec::new();
    let mut guards = Vec::new();
    for f in record.files.iter().rev() {
        let meta = Meta {
            mode: Some(f.mode),
            max_mode: None,
            owner: Some(f.uid.to_string()),
            group: Some(f.gid.to_string()),
        };
        let kind: Box<dyn StepKind> = match (f.action, f.existed, &f.before) {
            (_, false, _) => Box::new(File::remove(f.path.clone())),
            ("metadata", true, _) => Box::new(File::metadata(f.path.clone(), meta)),
            (_, true, Some(content)) => Box::new(Copy::new(content.clone(), f.path.clone(), meta)),
            (_, true, None) => Box::new(Restore::new(
                format!("{}/{}", record.backup_dir, f.seq),
                f.path.clone(),
                meta,
            )),
        };
        steps.push(Step::internal(
            format!("restore {}", f.path),
            kind,
            all_handlers.clone(),
            f.sensitive,
        ));
        guards.push(Guard {
            path: f.path.clone(),
            run_id: run_id.to_string(),
            exists: f.after_exists,
            hash: f.after_hash.clone(),
            mode: f.after_mode,
            content: f.after.clone(),
        });
    }
    for (key, old) in &record.sysctl {
        steps.push(Step::internal(
            format!("restore sysctl {key}"),
            Box::new(Sysctl::new(key.clone(), old.clone(), None)),
            all_handlers.clone(),
            false,
        ));
    }
    HostWork {
        become_: host.become_,
        host,
        steps,
        handlers: record
            .handlers
            .into_iter()
            .enumerate()
            .map(|(i, h)| (format!("handler {}", i + 1), h))
            .collect(),
        verify_commands: Vec::new(),
        redactor: Redactor::default(),
        guards,
    }
}
