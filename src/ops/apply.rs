//! `rectify apply`: a playbook rendered for every host, then the repair
//! engine, with each host's start and end journaled as it happens.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::apply::{self, Amount, ApplyOutcome, ApplyPlan, HostWork};
use crate::config_error::ConfigErrors;
use crate::error::Error;
use crate::fleet::{Cancel, Event};
use crate::inventory::Host;
use crate::playbook::render::Renderers;
use crate::playbook::{Playbook, Verify};
use crate::report::RunKind;
use crate::state::StateDb;
use crate::template::Vars;
use crate::transport::ConnectOptions;

/// How a playbook is applied, as the command line says.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Show what would change; change nothing.
    pub check: bool,
    /// `--confirm-timeout`; else the playbook's, else [`apply::SAFETY_TIMEOUT`].
    pub confirm_timeout: Option<u64>,
    /// `-e` overrides, winning over inventory and playbook vars.
    pub extra: Vars,
    pub serial: Option<Amount>,
    pub max_fail: Option<Amount>,
    pub connect: ConnectOptions,
    pub command_timeout: Duration,
    pub forks: usize,
}

/// Renders `playbook` for every host; all errors at once.
pub fn work_for(playbook: &Playbook, hosts: &[Host], extra: &Vars) -> Result<Vec<HostWork>, ConfigErrors> {
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
pub fn plan_for(playbook: &Playbook, work: Vec<HostWork>, options: &ApplyOptions) -> ApplyPlan {
    let confirm_timeout = options
        .confirm_timeout
        .or(playbook.confirm_timeout)
        .unwrap_or(apply::SAFETY_TIMEOUT);
    ApplyPlan {
        kind: RunKind::Apply,
        work,
        verify_baselines: verify_baselines(playbook),
        check: options.check,
        confirm_timeout: Some(confirm_timeout),
        settle: playbook.settle,
        serial: options.serial,
        max_fail: options.max_fail,
        connect: options.connect.clone(),
        command_timeout: options.command_timeout,
        forks: options.forks,
        label: playbook.name.clone(),
        force: false,
    }
}

/// `playbook` rendered for `hosts` and planned; input errors before anything
/// is contacted.
pub fn plan(playbook: &Playbook, hosts: &[Host], options: &ApplyOptions) -> Result<ApplyPlan, Error> {
    let work = work_for(playbook, hosts, &options.extra)?;
    Ok(plan_for(playbook, work, options))
}

/// Runs plans one after another, each under its run id. Once `cancel` is
/// set, hosts in flight finish or roll back and nothing new starts.
pub async fn run(
    plans: Vec<(ApplyPlan, String)>,
    events: mpsc::UnboundedSender<Event>,
    cancel: &Cancel,
) -> Vec<ApplyOutcome> {
    let mut outcomes = Vec::new();
    for (plan, run_id) in plans {
        let journal = journaled(&plan, &run_id, events.clone());
        outcomes.push(apply::run(plan, run_id, Some(journal), cancel.clone()).await);
    }
    outcomes
}

/// Progress events for one plan, passed on to `progress` after each one is
/// noted in the state database's journal: which hosts a change run started
/// and how each ended, as it happens. If rectify is killed mid-run, `rectify
/// runs` still shows the run and which hosts were in flight (those the
/// dead-man timer restores unless the run had confirmed them). A check run
/// changes nothing and is not journaled.
fn journaled(plan: &ApplyPlan, run_id: &str, progress: mpsc::UnboundedSender<Event>) -> mpsc::UnboundedSender<Event> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let not_journaled = |e: &dyn std::fmt::Display| Event::Warning(format!("run {run_id} not journaled: {e}"));
    let mut db = if plan.check {
        None
    } else {
        StateDb::open_default()
            .map_err(|e| {
                let _ = progress.send(not_journaled(&e));
            })
            .ok()
    };
    let (run_id, kind) = (run_id.to_string(), plan.kind);
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Some(state) = db.as_mut() {
                let noted = match &event {
                    Event::HostStarted { name } => Some((name, "started")),
                    Event::HostFinished { name, status } => Some((name, status.as_str())),
                    Event::Warning(_) | Event::Retrying { .. } => None,
                };
                if let Some((host, status)) = noted {
                    if let Err(e) = state.journal(&run_id, kind, host, status) {
                        let _ = progress.send(Event::Warning(format!("run {run_id} not journaled: {e}")));
                        db = None;
                    }
                }
            }
            let _ = progress.send(event);
        }
    });
    tx
}
