//! `rectify apply -p PLAYBOOK [TARGETS]` and `rectify fix -b BASELINE...`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, progress, CliError, Output};
use crate::apply::{self, Amount, ApplyOutcome, ApplyPlan, HostWork};
use crate::config_error::ConfigErrors;
use crate::fleet::Event;
use crate::inventory::Host;
use crate::playbook::render::Renderers;
use crate::playbook::{Playbook, Verify};
use crate::report::RunKind;
use crate::run_id::new_run_id;
use crate::state::StateDb;
use crate::template::Vars;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The playbook to apply.
    #[arg(short = 'p', long = "playbook", value_name = "PLAYBOOK")]
    pub playbook: PathBuf,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub change: ChangeArgs,

    /// Hosts per batch (N or N%); the next batch starts when one is done.
    #[arg(long, value_name = "N|N%")]
    pub serial: Option<Amount>,

    /// Stop starting batches once more than this many hosts failed (N or N%).
    #[arg(long, value_name = "N|N%")]
    pub max_fail: Option<Amount>,

    #[command(flatten)]
    pub output: Output,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Options of every command that changes hosts.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Show what would change; change nothing. Exit 1 when something would change.
    #[arg(long)]
    pub check: bool,

    /// Show the unified diff of every change.
    #[arg(long)]
    pub diff: bool,

    /// Override a var: KEY=VALUE (repeatable; wins over inventory and playbook vars).
    #[arg(short = 'e', long = "extra-var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub extra: Vec<(String, String)>,

    /// Dead-man switch: the host restores itself unless the run is verified within SECS (default: the playbook's, else 300).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(5..=86400))]
    pub confirm_timeout: Option<u64>,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (k, v) = text.split_once('=').ok_or("expected KEY=VALUE")?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("invalid var name {k:?}"));
    }
    Ok((k.to_string(), v.to_string()))
}

impl ChangeArgs {
    fn extra_vars(&self) -> Vars {
        self.extra
            .iter()
            .map(|(k, v)| (k.clone(), serde_yaml::Value::String(v.clone())))
            .collect()
    }
}

/// Changing hosts needs them named: no silent fallback to this machine.
fn hosts(targets: &TargetArgs) -> Result<Vec<Host>, CliError> {
    if targets.inventory.is_none() && targets.targets.is_empty() && !targets.local {
        return Err(CliError::Usage(
            "which hosts? give -i INVENTORY, -t HOST or --local".into(),
        ));
    }
    targets.resolve()
}

/// Renders `playbook` for every host; all errors at once.
fn work_for(playbook: &Playbook, hosts: &[Host], extra: &Vars) -> Result<Vec<HostWork>, ConfigErrors> {
    let renderers = Renderers::default();
    let mut errors = ConfigErrors::default();
    let mut work = Vec::new();
    for host in hosts {
        match HostWork::for_playbook(playbook, host, extra, &renderers) {
            Ok(w) => work.push(w),
            Err(e) => errors.0.push(e),
        }
    }
    if errors.0.is_empty() {
        Ok(work)
    } else {
        Err(errors)
    }
}

fn verify_baselines(playbook: &Playbook) -> Vec<crate::baseline::Baseline> {
    playbook
        .verify
        .iter()
        .filter_map(|v| match v {
            Verify::Baseline(b) => Some((**b).clone()),
            Verify::Command(_) => None,
        })
        .collect()
}

/// The plan that applies `playbook` to `work`, for `apply` and for each
/// remediation playbook of `fix` alike. The dead-man timeout is the
/// command line's `--confirm-timeout`, else the playbook's, else
/// [`apply::SAFETY_TIMEOUT`].
fn plan_for(
    playbook: &Playbook,
    work: Vec<HostWork>,
    change: &ChangeArgs,
    conn: &ConnectionArgs,
    serial: Option<Amount>,
    max_fail: Option<Amount>,
) -> ApplyPlan {
    let confirm_timeout = change
        .confirm_timeout
        .or(playbook.confirm_timeout)
        .unwrap_or(apply::SAFETY_TIMEOUT);
    ApplyPlan {
        kind: RunKind::Apply,
        work,
        verify_baselines: verify_baselines(playbook),
        check: change.check,
        confirm_timeout: Some(confirm_timeout),
        settle: playbook.settle,
        serial,
        max_fail,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
        label: playbook.name.clone(),
        force: false,
    }
}

pub fn exec(args: ApplyArgs) -> Result<u8, CliError> {
    let playbook = Playbook::load(&args.playbook)?;
    let hosts = hosts(&args.targets)?;
    let work = work_for(&playbook, &hosts, &args.change.extra_vars())?;
    let conn = &args.connection;
    let _lock = conn.take_lock()?;
    let plan = plan_for(&playbook, work, &args.change, conn, args.serial, args.max_fail);
    let run_id = new_run_id(Utc::now());
    let (outcome, interrupted) = run_with_progress(vec![(plan, run_id)], conn);
    let Some(outcome) = outcome.into_iter().next() else {
        return Ok(exit::INTERRUPTED);
    };
    super::deliver(
        &outcome.report,
        &outcome.records,
        &args.output,
        conn.verbose,
        args.change.diff,
    )?;
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(args.output.exit_code(&outcome.report))
}

/// Runs plans one after another with a progress bar. The first Ctrl-C lets
/// hosts in flight finish or roll back and starts nothing new; a second one
/// exits at once (the dead-man timer, if armed, still protects the hosts).
pub fn run_with_progress(plans: Vec<(ApplyPlan, String)>, conn: &ConnectionArgs) -> (Vec<ApplyOutcome>, bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let total: usize = plans.iter().map(|(p, _)| p.work.len()).sum();
    let bar = progress::bar(total, !conn.no_progress && !conn.quiet);
    let interrupted = Arc::new(AtomicBool::new(false));
    let outcomes = runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt()).expect("install SIGINT handler");
        let flag = interrupted.clone();
        let watcher_bar = bar.clone();
        tokio::spawn(async move {
            interrupt.recv().await;
            flag.store(true, Ordering::SeqCst);
            watcher_bar.suspend(|| {
                eprintln!("interrupted: finishing or rolling back the hosts in flight; Ctrl-C again to quit at once")
            });
            interrupt.recv().await;
            eprintln!("interrupted twice: quitting; armed dead-man timers will restore their hosts");
            std::process::exit(exit::INTERRUPTED as i32);
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let follower = tokio::spawn(progress::follow(bar.clone(), rx));
        let mut outcomes = Vec::new();
        for (plan, run_id) in plans {
            let events = journaled(&plan, &run_id, tx.clone());
            outcomes.push(apply::run(plan, run_id, Some(events), interrupted.clone()).await);
        }
        drop(tx);
        let _ = follower.await;
        outcomes
    });
    runtime.shutdown_background();
    (outcomes, interrupted.load(Ordering::SeqCst))
}

/// Progress events for one plan, passed on to `progress` after each one is
/// noted in the state database's journal: which hosts a change run started
/// and how each ended, as it happens. If rectify is killed mid-run, `rectify
/// runs` still shows the run and which hosts were in flight (those the
/// dead-man timer restores unless the run had confirmed them). A check run
/// changes nothing and is not journaled.
fn journaled(plan: &ApplyPlan, run_id: &str, progress: mpsc::UnboundedSender<Event>) -> mpsc::UnboundedSender<Event> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let mut db = if plan.check {
        None
    } else {
        StateDb::open_default()
            .map_err(|e| eprintln!("warning: run {run_id} not journaled: {e}"))
            .ok()
    };
    let (run_id, kind) = (run_id.to_string(), plan.kind);
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Some(state) = db.as_mut() {
                let (host, status) = match &event {
                    Event::HostStarted { name } => (name, "started"),
                    Event::HostFinished { name, status } => (name, status.as_str()),
                };
                if let Err(e) = state.journal(&run_id, kind, host, status) {
                    eprintln!("warning: run {run_id} not journaled: {e}");
                    db = None;
                }
            }
            let _ = progress.send(event);
        }
    });
    tx
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Baselines to audit; failing rules' `remediation` playbooks are applied.
    #[arg(short = 'b', long = "baseline", required = true, num_args = 1.., value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub output: Output,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub fn exec_fix(args: FixArgs) -> Result<u8, CliError> {
    let baselines = super::audit::load_baselines(&args.baselines)?;
    // Every remediation playbook is loaded (and rendered for every host)
    // before anything is contacted.
    let mut playbooks: BTreeMap<PathBuf, Playbook> = BTreeMap::new();
    let mut errors = ConfigErrors::default();
    for rule in baselines.iter().flat_map(|b| &b.rules) {
        if let Some(path) = &rule.remediation {
            if !playbooks.contains_key(path) {
                match Playbook::load(path) {
                    Ok(p) => {
                        playbooks.insert(path.clone(), p);
                    }
                    Err(mut e) => errors.0.append(&mut e.0),
                }
            }
        }
    }
    if !errors.0.is_empty() {
        return Err(CliError::Config(errors));
    }
    let hosts = hosts(&args.targets)?;
    let extra = args.change.extra_vars();
    let mut rendered = Vec::new();
    for (path, playbook) in &playbooks {
        rendered.push((path.clone(), work_for(playbook, &hosts, &extra)?));
    }
    let conn = &args.connection;
    let _lock = conn.take_lock()?;
    let fix_id = new_run_id(Utc::now());
    let audit = |hosts: Vec<Host>| super::audit::run_audit(hosts, baselines.clone(), Vec::new(), conn);

    let Some(before) = audit(hosts.clone()) else {
        return Ok(exit::INTERRUPTED);
    };
    // Which playbook fixes which host: those with a failing rule linked to it.
    let mut plans = Vec::new();
    for (n, (path, work)) in rendered.into_iter().enumerate() {
        let playbook = &playbooks[&path];
        let failing: Vec<&str> = before
            .hosts
            .iter()
            .filter(|h| {
                h.results.iter().any(|r| {
                    matches!(
                        r.status,
                        crate::report::RuleStatus::Fail | crate::report::RuleStatus::Error
                    ) && baselines
                        .iter()
                        .flat_map(|b| &b.rules)
                        .any(|rule| rule.id == r.id && rule.remediation.as_ref() == Some(&path))
                })
            })
            .map(|h| h.name.as_str())
            .collect();
        let work: Vec<HostWork> = work
            .into_iter()
            .filter(|w| failing.contains(&w.host.name.as_str()))
            .collect();
        if work.is_empty() {
            continue;
        }
        plans.push((
            plan_for(playbook, work, &args.change, conn, None, None),
            format!("{fix_id}.{}", n + 1),
        ));
    }
    let (outcomes, interrupted) = run_with_progress(plans, conn);
    for o in &outcomes {
        // Each playbook's transactions are an apply run of their own, so
        // `rectify rollback ID.N` can undo one of them.
        super::record(&o.report, &o.records);
    }
    let after = if args.change.check {
        Some(before.clone())
    } else {
        audit(hosts)
    };
    let Some(after) = after else {
        return Ok(exit::INTERRUPTED);
    };
    let report = crate::report::fix_report(
        fix_id,
        &before,
        &after,
        &outcomes.iter().map(|o| &o.report).collect::<Vec<_>>(),
    );
    super::deliver(&report, &[], &args.output, conn.verbose, args.change.diff)?;
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(args.output.exit_code(&report))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::yaml::SourceFile;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        change: ChangeArgs,
        #[command(flatten)]
        connection: ConnectionArgs,
    }

    fn playbook(confirm_timeout: Option<u64>) -> Playbook {
        let line = confirm_timeout.map_or(String::new(), |t| format!("confirm_timeout: {t}\n"));
        Playbook::from_source(SourceFile {
            path: "p.yaml".into(),
            text: format!("name: p\n{line}steps:\n  - command: \"true\"\n"),
        })
        .expect("valid playbook")
    }

    fn timeout(args: &[&str], playbook_timeout: Option<u64>) -> Option<u64> {
        let cli = Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).expect("valid args");
        plan_for(
            &playbook(playbook_timeout),
            Vec::new(),
            &cli.change,
            &cli.connection,
            None,
            None,
        )
        .confirm_timeout
    }

    #[test]
    fn confirm_timeout_command_line_then_playbook_then_default() {
        assert_eq!(timeout(&["--confirm-timeout", "7"], Some(60)), Some(7));
        assert_eq!(timeout(&[], Some(60)), Some(60));
        assert_eq!(timeout(&[], None), Some(apply::SAFETY_TIMEOUT));
    }

    #[test]
    fn plan_takes_check_serial_and_connection_options() {
        let cli = Cli::try_parse_from(["t", "--check", "--forks", "3", "--command-timeout", "9"]).expect("valid args");
        let serial = Some("2".parse::<Amount>().expect("amount"));
        let plan = plan_for(&playbook(None), Vec::new(), &cli.change, &cli.connection, serial, None);
        assert!(plan.check);
        assert_eq!(plan.forks, 3);
        assert_eq!(plan.command_timeout, Duration::from_secs(9));
        assert_eq!(plan.label, "p");
        assert!(plan.serial.is_some() && plan.max_fail.is_none());
    }
}
