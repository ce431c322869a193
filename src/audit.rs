//! The audit engine: for every host, one connection and one remote command
//! that gathers every fact its rules need, then evaluation. Hosts run
//! concurrently up to `forks`; a slow or dead host only costs its own slot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use crate::baseline::Baseline;
use crate::evaluate::CollectLimits;
use crate::fleet::{self, Cancel, Event, Schedule};
use crate::inspect::audit_over;
use crate::inventory::Host;
use crate::report::{HostReport, HostStatus, RunKind, RunReport};
use crate::run_id::new_run_id;
use crate::transport::{one_line, ConnectOptions, Connector, Transport};
use crate::waiver::{self, Waiver};

/// Everything an audit needs, decided by the caller.
pub struct AuditPlan {
    pub hosts: Vec<Host>,
    pub baselines: Vec<Baseline>,
    pub limits: CollectLimits,
    pub connect: ConnectOptions,
    /// Bound on the collection command, not counting the `command:` rules'
    /// own timeouts, which are added to it.
    pub command_timeout: Duration,
    pub forks: usize,
    pub waivers: Vec<Waiver>,
    /// Further attempts for a host whose connection timed out or was
    /// refused (`--retries`), each round after every other host is done.
    pub retries: u32,
}

/// One attempt at one host: its report, and whether the connection failed
/// in a way another attempt may cure (timed out, refused).
struct Attempt {
    report: HostReport,
    retry: bool,
}

/// Ctrl-C for an audit: once the sender says `true`, hosts in flight are
/// abandoned (an audit changes nothing, so there is nothing to finish) and
/// hosts not yet started are not, each reported `interrupted`; the hosts
/// already done keep their results.
pub type Stop = watch::Receiver<bool>;

/// Resolves once `stop` says `true`; never if its sender is gone first.
pub(crate) async fn stopped(mut stop: Stop) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

pub async fn run(plan: AuditPlan, events: Option<mpsc::UnboundedSender<Event>>, stop: Option<Stop>) -> RunReport {
    let started = Utc::now();
    let run_id = new_run_id(started);
    let schedule = Schedule::forks(plan.forks);
    let connector = Connector::new(plan.connect.clone());
    let context = Arc::new((plan, connector));
    let mut retry = vec![false; context.0.hosts.len()];
    let total = context.0.hosts.len();
    let mut hosts: Vec<Option<HostReport>> = vec![None; total];
    let mut pending: Vec<usize> = (0..total).collect();
    for attempt in 1..=context.0.retries + 1 {
        if attempt > 1 {
            pending.retain(|&i| retry[i]);
            if pending.is_empty() || stop.as_ref().is_some_and(|s| *s.borrow()) {
                break;
            }
            if let Some(tx) = &events {
                for &i in &pending {
                    let _ = tx.send(Event::Retrying {
                        name: context.0.hosts[i].name.clone(),
                    });
                }
            }
        }
        let names: Vec<String> = pending.iter().map(|&i| context.0.hosts[i].name.clone()).collect();
        // Ctrl-C is `stop`, not the fleet's `Cancel`: hosts in flight are not
        // waited for (a hung host would hold the report back forever).
        let outcomes = fleet::run(
            &names,
            schedule,
            events.as_ref(),
            &Cancel::default(),
            |a: &Attempt| a.report.status,
            |k| {
                let context = context.clone();
                let stop = stop.clone();
                let index = pending[k];
                async move {
                    let (plan, connector) = &*context;
                    attempt_host(&plan.hosts[index], plan, connector, stop).await
                }
            },
        )
        .await;
        for (&i, outcome) in pending.iter().zip(outcomes) {
            let host = &context.0.hosts[i];
            let (mut report, again) = match outcome {
                Ok(a) => (a.report, a.retry),
                Err(unfinished) => (unfinished.report(&host.name, &host.address), false),
            };
            report.attempts = attempt;
            retry[i] = again;
            hosts[i] = Some(report);
        }
    }
    let plan = &context.0;
    let hosts: Vec<HostReport> = hosts
        .into_iter()
        .map(|h| h.expect("every host had an attempt"))
        .collect();
    RunReport {
        run_id,
        kind: RunKind::Audit,
        check: false,
        started,
        finished: Utc::now(),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: plan.baselines.iter().map(|b| b.name.clone()).collect(),
        rectify_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Audits one host, abandoning it when `stop` says so.
async fn attempt_host(host: &Host, plan: &AuditPlan, connector: &Connector, stop: Option<Stop>) -> Attempt {
    let Some(stop) = stop else {
        return audit_host(host, plan, connector).await;
    };
    if *stop.borrow() {
        return Attempt {
            report: interrupted(host, "interrupted before this host was audited", Duration::ZERO),
            retry: false,
        };
    }
    let clock = Instant::now();
    tokio::select! {
        attempt = audit_host(host, plan, connector) => attempt,
        () = stopped(stop) => Attempt {
            report: interrupted(host, "interrupted while this host was being audited", clock.elapsed()),
            retry: false,
        },
    }
}

fn interrupted(host: &Host, why: &str, elapsed: Duration) -> HostReport {
    HostReport {
        status: HostStatus::Interrupted,
        ..host_error(host, why.to_string(), elapsed)
    }
}

fn host_error(host: &Host, error: String, elapsed: Duration) -> HostReport {
    HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        status: HostStatus::Error,
        error: Some(error),
        results: Vec::new(),
        changes: Vec::new(),
        duration_ms: elapsed.as_millis() as u64,
        warnings: Vec::new(),
        attempts: 1,
        observed: Vec::new(),
    }
}

async fn audit_host(host: &Host, plan: &AuditPlan, connector: &Connector) -> Attempt {
    let clock = Instant::now();
    let connection = match connector.connect(host).await {
        Ok(c) => c,
        Err(e) => {
            return Attempt {
                report: host_error(host, one_line(&e), clock.elapsed()),
                retry: e.is_retryable(),
            }
        }
    };
    Attempt {
        report: audit_connected(host, plan, connection, clock).await,
        retry: false,
    }
}

async fn audit_connected(host: &Host, plan: &AuditPlan, connection: Box<dyn Transport>, clock: Instant) -> HostReport {
    let results = audit_over(
        connection.as_ref(),
        host,
        &plan.baselines,
        &plan.limits,
        plan.command_timeout,
    )
    .await;
    connection.close().await;
    let (mut results, observed) = match results {
        Ok(audited) => (audited.results, audited.observed),
        Err(e) => return host_error(host, e.to_string(), clock.elapsed()),
    };
    let warnings = waiver::apply(
        &plan.waivers,
        &host.name,
        &host.groups,
        &mut results,
        Utc::now().date_naive(),
    );
    HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        status: HostReport::status_from_results(&results),
        error: None,
        results,
        changes: Vec::new(),
        duration_ms: clock.elapsed().as_millis() as u64,
        warnings,
        attempts: 1,
        observed,
    }
}
