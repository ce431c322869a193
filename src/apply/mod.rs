//! The repair engine: playbooks applied to a fleet, each host as one
//! transaction ([`transaction`]), in batches (`--serial`) that stop when too
//! many hosts fail (`--max-fail`).
//!
//! [`crate::steps::plan`] decides what changes, [`remote`] writes the shell that does it,
//! [`transaction`] drives one host. This module only schedules hosts.

pub mod host_facts;

pub mod remote;
pub mod transaction;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::baseline::Baseline;
use crate::config_error::ConfigError;
pub use crate::fleet::Amount;
use crate::fleet::{self, Cancel, Event, Schedule};
use crate::inventory::{Become, Host};
use crate::playbook::render::{self, Renderers};
use crate::playbook::Playbook;
use crate::redact::Redactor;
use crate::report::{HostReport, RunKind, RunReport};
pub use crate::state::record::{FileRecord, TxRecord};
pub use crate::steps::Step;
use crate::template::Vars;
use crate::transport::{ConnectOptions, Connector};
pub use transaction::{Guard, HostOutcome};

/// The dead-man timer every transaction gets when neither the playbook nor
/// `--confirm-timeout` sets one: if the controller dies (SIGKILL, power,
/// network) after changing a host, the host restores itself after this
/// many seconds instead of staying half-changed and locked.
pub const SAFETY_TIMEOUT: u64 = 300;

/// One host's share of the work, rendered for it.
pub struct HostWork {
    pub host: Host,
    pub become_: Become,
    pub steps: Vec<Step>,
    pub handlers: Vec<(String, String)>,
    pub verify_commands: Vec<String>,
    pub redactor: Redactor,
    pub guards: Vec<Guard>,
}

impl HostWork {
    /// Renders `playbook` for `host`. Vars: the playbook's defaults, then
    /// the host's (inventory) vars, then `-e` overrides. An undefined var or
    /// a bad rendered path is an input error naming the step.
    pub fn for_playbook(
        playbook: &Playbook,
        host: &Host,
        extra: &Vars,
        renderers: &Renderers,
    ) -> Result<HostWork, ConfigError> {
        let mut vars = playbook.vars.clone();
        vars.extend(host.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        let rendered = render::render(playbook, &vars, renderers).map_err(|mut e| {
            e.message = format!("host {}: {}", host.name, e.message);
            e
        })?;
        Ok(HostWork {
            host: host.clone(),
            become_: playbook.become_.unwrap_or(host.become_),
            steps: rendered.steps,
            handlers: rendered.handlers.into_iter().map(|h| (h.name, h.command)).collect(),
            verify_commands: rendered.verify_commands,
            redactor: Redactor::new(&vars, &playbook.secrets),
            guards: Vec::new(),
        })
    }
}

pub struct ApplyPlan {
    pub kind: RunKind,
    pub work: Vec<HostWork>,
    pub verify_baselines: Vec<Baseline>,
    pub check: bool,
    pub confirm_timeout: Option<u64>,
    /// The pause between handlers and verification (the playbook's `settle`).
    pub settle: Duration,
    pub serial: Option<Amount>,
    pub max_fail: Option<Amount>,
    pub connect: ConnectOptions,
    pub command_timeout: Duration,
    pub forks: usize,
    /// The name recorded as the run's "baseline" column: the playbook.
    pub label: String,
    /// `rollback --force`: restore files changed since the run too.
    pub force: bool,
}

pub struct ApplyOutcome {
    pub report: RunReport,
    /// Per host (by name), what `rectify rollback` needs later.
    pub records: Vec<(String, TxRecord)>,
}

/// What every host's transaction of one run shares, built once per run and
/// borrowed by each host's [`transaction::HostJob`].
pub struct RunContext {
    pub run_id: String,
    pub verify_baselines: Vec<Baseline>,
    pub check: bool,
    pub confirm_timeout: Option<u64>,
    /// The pause between handlers and verification.
    pub settle: Duration,
    pub connector: Connector,
    pub command_timeout: Duration,
    pub cancel: Cancel,
    /// For `rectify rollback`: restore files changed since the run too.
    pub force: bool,
}

pub async fn run(
    plan: ApplyPlan,
    run_id: String,
    events: Option<mpsc::UnboundedSender<Event>>,
    cancel: Cancel,
) -> ApplyOutcome {
    let started = Utc::now();
    let schedule = Schedule {
        forks: plan.forks,
        serial: plan.serial,
        max_fail: plan.max_fail,
    };
    let context = Arc::new(RunContext {
        run_id,
        verify_baselines: plan.verify_baselines,
        check: plan.check,
        confirm_timeout: plan.confirm_timeout,
        settle: plan.settle,
        connector: Connector::new(plan.connect),
        command_timeout: plan.command_timeout,
        cancel,
        force: plan.force,
    });
    let work = Arc::new(plan.work);
    let names: Vec<String> = work.iter().map(|w| w.host.name.clone()).collect();
    let outcomes = fleet::run(
        &names,
        schedule,
        events.as_ref(),
        &context.cancel,
        |o: &HostOutcome| o.report.status,
        |index| {
            let (context, work) = (context.clone(), work.clone());
            async move {
                transaction::run(transaction::HostJob {
                    run: &context,
                    work: &work[index],
                })
                .await
            }
        },
    )
    .await;

    let mut records = Vec::new();
    let mut hosts: Vec<HostReport> = Vec::with_capacity(outcomes.len());
    for (outcome, w) in outcomes.into_iter().zip(work.iter()) {
        match outcome {
            Ok(outcome) => {
                if let Some(r) = outcome.record {
                    records.push((w.host.name.clone(), r));
                }
                hosts.push(outcome.report);
            }
            Err(unfinished) => hosts.push(unfinished.report(&w.host.name, &w.host.address)),
        }
    }
    let report = RunReport {
        run_id: context.run_id.clone(),
        kind: plan.kind,
        check: plan.check,
        started,
        finished: Utc::now(),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: vec![plan.label],
        rectify_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    ApplyOutcome { report, records }
}
