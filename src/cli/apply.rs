//! `rectify apply -p PLAYBOOK [TARGETS]` and `rectify fix -b BASELINE...`.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, progress, Error, Output};
use crate::apply::{Amount, ApplyOutcome, ApplyPlan};
use crate::fleet::Cancel;
use crate::inventory::Host;
use crate::ops::{self, apply::ApplyOptions, fix::Remediations};
use crate::playbook::Playbook;
use crate::run_id::new_run_id;
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

pub(super) fn parse_var(text: &str) -> Result<(String, String), String> {
    let (k, v) = text.split_once('=').ok_or("expected KEY=VALUE")?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("invalid var name {k:?}"));
    }
    Ok((k.to_string(), v.to_string()))
}

impl ChangeArgs {
    fn extra_vars(&self) -> Vars {
        extra_vars(&self.extra)
    }
}

/// `-e KEY=VALUE` pairs as vars; each value is a string, as typed.
pub(super) fn extra_vars(pairs: &[(String, String)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), serde_yaml::Value::String(v.clone())))
        .collect()
}

/// Changing hosts needs them named: no silent fallback to this machine.
fn hosts(targets: &TargetArgs) -> Result<Vec<Host>, Error> {
    if targets.inventory.is_none() && targets.targets.is_empty() && !targets.local {
        return Err(Error::Usage(
            "which hosts? give -i INVENTORY, -t HOST or --local".into(),
        ));
    }
    targets.resolve()
}

/// The options of a change run, from the command line.
fn options(
    change: &ChangeArgs,
    conn: &ConnectionArgs,
    serial: Option<Amount>,
    max_fail: Option<Amount>,
) -> ApplyOptions {
    ApplyOptions {
        check: change.check,
        confirm_timeout: change.confirm_timeout,
        extra: change.extra_vars(),
        serial,
        max_fail,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
    }
}

pub async fn exec(args: ApplyArgs) -> Result<u8, Error> {
    let playbook = Playbook::load(&args.playbook)?;
    let hosts = hosts(&args.targets)?;
    let conn = &args.connection;
    let plan = ops::apply::plan(
        &playbook,
        &hosts,
        &options(&args.change, conn, args.serial, args.max_fail),
    )?;
    args.output.check_writable()?;
    let _lock = conn.take_lock()?;
    let run_id = new_run_id(Utc::now());
    let (outcome, interrupted) = run_with_progress(vec![(plan, run_id)], conn).await;
    let Some(outcome) = outcome.into_iter().next() else {
        return Ok(exit::INTERRUPTED);
    };
    super::deliver(
        &outcome.report,
        &outcome.records,
        &args.output,
        conn.view(args.change.diff),
    )?;
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(args.output.exit_code(&outcome.report))
}

/// Runs plans one after another with a progress bar. The first Ctrl-C (or
/// SIGTERM, SIGHUP) lets hosts in flight finish or roll back and starts
/// nothing new; a second one
/// exits at once (the dead-man timer, if armed, still protects the hosts).
pub async fn run_with_progress(plans: Vec<(ApplyPlan, String)>, conn: &ConnectionArgs) -> (Vec<ApplyOutcome>, bool) {
    let total: usize = plans.iter().map(|(p, _)| p.work.len()).sum();
    let bar = progress::bar(total, conn.progress());
    let cancel = Cancel::default();
    // SIGTERM (systemd stop, `timeout`, `kill`) and SIGHUP (a closed
    // terminal) are handled as Ctrl-C: the run stops starting hosts, rolls
    // back the ones in flight, reports, and exits 130.
    let signals = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()]
        .into_iter()
        .map(signal)
        .collect::<Result<Vec<_>, _>>();
    let watcher = match signals {
        Ok(mut signals) => {
            let cancel = cancel.clone();
            let watcher_bar = bar.clone();
            Some(tokio::spawn(async move {
                any_signal(&mut signals).await;
                cancel.cancel();
                watcher_bar.suspend(|| {
                    eprintln!(
                        "interrupted: finishing or rolling back the hosts in flight; Ctrl-C again to quit at once"
                    )
                });
                any_signal(&mut signals).await;
                eprintln!("interrupted twice: quitting; armed dead-man timers will restore their hosts");
                std::process::exit(exit::INTERRUPTED as i32);
            }))
        }
        Err(e) => {
            eprintln!("warning: cannot install the SIGINT, SIGTERM and SIGHUP handlers: {e}");
            None
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let follower = tokio::spawn(progress::follow(bar.clone(), rx));
    let outcomes = ops::apply::run(plans, tx, &cancel).await;
    let _ = follower.await;
    // The watcher belongs to these plans: a later audit (`fix`) handles
    // Ctrl-C itself.
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    (outcomes, cancel.is_cancelled())
}

/// Waits for the first of `signals` (SIGINT, SIGTERM, SIGHUP) to arrive.
async fn any_signal(signals: &mut [tokio::signal::unix::Signal]) {
    let [int, term, hup] = signals else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Baselines to audit; failing rules' `remediation` playbooks are applied.
    #[arg(short = 'b', long = "baseline", required_unless_present = "profile", num_args = 1.., value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,

    #[command(flatten)]
    pub targets: TargetArgs,

    #[command(flatten)]
    pub select: super::selection::SelectArgs,

    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub output: Output,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub async fn exec_fix(args: FixArgs) -> Result<u8, Error> {
    let mut baselines = args
        .selection
        .baselines(&args.baselines, crate::baseline::Remediations::Check)?;
    // Before the playbooks load: only the selected rules' remediations run.
    args.select.narrow(&mut baselines)?;
    let mut playbooks = ops::fix::load_playbooks(&baselines)?;
    args.selection.override_playbook_vars(&mut playbooks)?;
    let mut hosts = hosts(&args.targets)?;
    // `-e` wins in the audits' expectations as in the playbooks.
    let extra = args.change.extra_vars();
    for host in &mut hosts {
        host.override_vars(&extra);
    }
    let conn = &args.connection;
    let remediations = Remediations::render(playbooks, &hosts, &args.change.extra_vars())?;
    args.output.check_writable()?;
    let _lock = conn.take_lock()?;
    let fix_id = new_run_id(Utc::now());
    let unremediable = ops::fix::unremediable(&baselines);

    let Some(before) = super::audit::run_audit(hosts.clone(), baselines.clone(), Vec::new(), conn).await else {
        return Ok(exit::INTERRUPTED);
    };
    let plans = remediations.plans(&baselines, &before, &fix_id, &options(&args.change, conn, None, None));
    let (outcomes, interrupted) = run_with_progress(plans, conn).await;
    for o in &outcomes {
        // Each playbook's transactions are an apply run of their own, so
        // `rectify rollback ID.N` can undo one of them.
        super::record(&o.report, &o.records);
        // The id `rollback` needs is the remediation's, not the fix run's.
        if !o.records.is_empty() {
            let playbook = o.report.baselines.first().map_or("remediation", String::as_str);
            eprintln!(
                "{playbook}: changes recorded as run {id} ({} host{}); undo with `rectify rollback {id}`",
                o.records.len(),
                if o.records.len() == 1 { "" } else { "s" },
                id = o.report.run_id,
            );
        }
    }
    let after = if args.change.check {
        Some(before.clone())
    } else {
        super::audit::run_audit(hosts, baselines, Vec::new(), conn).await
    };
    let Some(after) = after else {
        return Ok(exit::INTERRUPTED);
    };
    let report = crate::report::fix_report(
        fix_id,
        args.change.check,
        &unremediable,
        &before,
        &after,
        &outcomes.iter().map(|o| &o.report).collect::<Vec<_>>(),
    );
    super::deliver(&report, &[], &args.output, conn.view(args.change.diff))?;
    // Rules fix cannot change, on stderr so that a machine format on
    // stdout stays whole (the report marks them `no_remediation`).
    for line in ops::fix::unremediated_lines(&report) {
        eprintln!("{line}");
    }
    if interrupted {
        return Ok(exit::INTERRUPTED);
    }
    Ok(args.output.exit_code(&report))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::apply;
    use crate::ops::apply::plan_for;
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
            &options(&cli.change, &cli.connection, None, None),
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
        let plan = plan_for(
            &playbook(None),
            Vec::new(),
            &options(&cli.change, &cli.connection, serial, None),
        );
        assert!(plan.check);
        assert_eq!(plan.forks, 3);
        assert_eq!(plan.command_timeout, Duration::from_secs(9));
        assert_eq!(plan.label, "p");
        assert!(plan.serial.is_some() && plan.max_fail.is_none());
    }
}
