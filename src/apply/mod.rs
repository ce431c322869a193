//! The repair engine: playbooks applied to a fleet, each host as one
//! transaction ([`transaction`]), in batches (`--serial`) that stop when too
//! many hosts fail (`--max-fail`).
//!
//! [`plan`] decides what changes, [`remote`] writes the shell that does it,
//! [`transaction`] drives one host. This module only schedules hosts.

pub mod host_facts;
pub mod plan;
pub mod remote;
pub mod transaction;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, Semaphore};

use crate::baseline::Baseline;
use crate::config_error::ConfigError;
use crate::fleet::Event;
use crate::inventory::{Become, Host};
use crate::playbook::render::{self, Renderers};
use crate::playbook::Playbook;
use crate::redact::Redactor;
use crate::report::{HostReport, HostStatus, RunKind, RunReport};
pub use crate::state::record::{FileRecord, TxRecord};
use crate::template::Vars;
use crate::transport::{self, ConnectOptions};
pub use transaction::{Guard, HostStep};

/// The dead-man timer every transaction gets when neither the playbook nor
/// `--confirm-timeout` sets one: if the controller dies (SIGKILL, power,
/// network) after changing a host, the host restores itself after this
/// many seconds instead of staying half-changed and locked.
pub const SAFETY_TIMEOUT: u64 = 300;

/// A count or a share of the fleet, for `--serial` and `--max-fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Count(usize),
    Percent(u32),
}

impl Amount {
    /// Of `total` hosts; a percentage rounds down but `--serial` is at least 1.
    pub fn of(self, total: usize) -> usize {
        match self {
            Amount::Count(n) => n,
            Amount::Percent(p) => total * p as usize / 100,
        }
    }
}

impl std::str::FromStr for Amount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(p) = s.strip_suffix('%') {
            let p: u32 = p.parse().map_err(|_| format!("invalid percentage {s:?}"))?;
            if p > 100 {
                return Err(format!("{s} is more than 100%"));
            }
            Ok(Amount::Percent(p))
        } else {
            s.parse()
                .map(Amount::Count)
                .map_err(|_| format!("expected N or N%, got {s:?}"))
        }
    }
}

/// One host's share of the work, rendered for it.
pub struct HostWork {
    pub host: Host,
    pub become_: Become,
    pub steps: Vec<HostStep>,
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
        let steps = playbook
            .steps
            .iter()
            .zip(rendered.steps)
            .zip(rendered.validate)
            .map(|((step, kind), validate)| HostStep {
                name: step.name.clone(),
                kind,
                notify: step.notify.clone(),
                sensitive: step.sensitive,
                validate,
            })
            .collect();
        Ok(HostWork {
            host: host.clone(),
            become_: playbook.become_.unwrap_or(host.become_),
            steps,
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

fn failed(status: HostStatus) -> bool {
    matches!(
        status,
        HostStatus::RolledBack | HostStatus::RollbackFailed | HostStatus::Error
    )
}

pub async fn run(
    plan: ApplyPlan,
    run_id: String,
    events: Option<mpsc::UnboundedSender<Event>>,
    interrupted: Arc<AtomicBool>,
) -> ApplyOutcome {
    let started = Utc::now();
    let total = plan.work.len();
    let batch = plan.serial.map_or(total, |s| s.of(total)).max(1);
    let max_fail = plan.max_fail.map(|m| m.of(total));
    let plan = Arc::new(plan);
    let keys = Arc::new(transport::ssh::KeyStore::default());
    let jumps = Arc::new(transport::ssh::JumpPool::default());
    let slots = Arc::new(Semaphore::new(plan.forks.max(1)));
    let run_id = Arc::new(run_id);

    let mut reports: Vec<Option<HostReport>> = (0..total).map(|_| None).collect();
    let mut records = Vec::new();
    let mut failures = 0;
    let mut stop_reason: Option<String> = None;

    for chunk_start in (0..total).step_by(batch) {
        if stop_reason.is_none() && interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            stop_reason = Some("interrupted".into());
        }
        if stop_reason.is_some() {
            break;
        }
        let mut tasks = Vec::new();
        for index in chunk_start..(chunk_start + batch).min(total) {
            let (plan, keys, jumps, slots, events, run_id, interrupted) = (
                plan.clone(),
                keys.clone(),
                jumps.clone(),
                slots.clone(),
                events.clone(),
                run_id.clone(),
                interrupted.clone(),
            );
            tasks.push((
                index,
                tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await.expect("semaphore is never closed");
                    let work = &plan.work[index];
                    if let Some(tx) = &events {
                        let _ = tx.send(Event::HostStarted {
                            name: work.host.name.clone(),
                        });
                    }
                    let job = transaction::HostJob {
                        run_id: &run_id,
                        host: &work.host,
                        become_: work.become_,
                        steps: work.steps.clone(),
                        handlers: work.handlers.clone(),
                        verify_commands: work.verify_commands.clone(),
                        verify_baselines: &plan.verify_baselines,
                        redactor: work.redactor.clone(),
                        check: plan.check,
                        confirm_timeout: plan.confirm_timeout,
                        settle: plan.settle,
                        connect: &plan.connect,
                        keys: &keys,
                        jumps: &jumps,
                        command_timeout: plan.command_timeout,
                        interrupted: &interrupted,
                        guards: work.guards.clone(),
                        force: plan.force,
                    };
                    let outcome = transaction::run(job).await;
                    if let Some(tx) = &events {
                        let _ = tx.send(Event::HostFinished {
                            name: work.host.name.clone(),
                            status: outcome.report.status,
                        });
                    }
                    outcome
                }),
            ));
        }
        for (index, task) in tasks {
            let host = &plan.work[index].host;
            match task.await {
                Ok(outcome) => {
                    if failed(outcome.report.status) {
                        failures += 1;
                    }
                    if let Some(r) = outcome.record {
                        records.push((host.name.clone(), r));
                    }
                    reports[index] = Some(outcome.report);
                }
                Err(e) => {
                    failures += 1;
                    reports[index] = Some(not_done(host, HostStatus::Error, format!("internal error: {e}")));
                }
            }
        }
        if let Some(limit) = max_fail {
            if failures > limit {
                stop_reason = Some(format!("{failures} hosts failed, more than --max-fail {limit}"));
            }
        }
    }

    let hosts: Vec<HostReport> = reports
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                let why = stop_reason.clone().unwrap_or_else(|| "not started".into());
                not_done(
                    &plan.work[i].host,
                    HostStatus::NotStarted,
                    format!("not started: {why}"),
                )
            })
        })
        .collect();
    let report = RunReport {
        run_id: run_id.to_string(),
        kind: plan.kind,
        started,
        finished: Utc::now(),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: vec![plan.label.clone()],
        rectify_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    ApplyOutcome { report, records }
}

fn not_done(host: &Host, status: HostStatus, error: String) -> HostReport {
    HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        status,
        error: Some(error),
        results: Vec::new(),
        changes: Vec::new(),
        duration_ms: 0,
        warnings: Vec::new(),
        observed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!("2".parse::<Amount>().unwrap().of(10), 2);
        assert_eq!("25%".parse::<Amount>().unwrap().of(10), 2);
        assert!("101%".parse::<Amount>().is_err());
        assert!("x".parse::<Amount>().is_err());
    }
}
