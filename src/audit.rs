//! The audit engine: for every host, one connection and one remote command
//! that gathers every fact its rules need, then evaluation. Hosts run
//! concurrently up to `forks`; a slow or dead host only costs its own slot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, Semaphore};

use crate::baseline::Baseline;
use crate::evaluate::CollectLimits;
use crate::fleet::Event;
use crate::inspect::audit_over;
use crate::inventory::Host;
use crate::report::{HostReport, HostStatus, RunKind, RunReport};
use crate::run_id::new_run_id;
use crate::transport::{self, one_line, ConnectOptions};
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
}

pub async fn run(plan: AuditPlan, events: Option<mpsc::UnboundedSender<Event>>) -> RunReport {
    let started = Utc::now();
    let run_id = new_run_id(started);
    let plan = Arc::new(plan);
    let keys = Arc::new(transport::ssh::KeyStore::default());
    let jumps = Arc::new(transport::ssh::JumpPool::default());
    let slots = Arc::new(Semaphore::new(plan.forks.max(1)));

    let mut tasks = Vec::with_capacity(plan.hosts.len());
    for index in 0..plan.hosts.len() {
        let (plan, keys, jumps, slots, events) =
            (plan.clone(), keys.clone(), jumps.clone(), slots.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.expect("semaphore is never closed");
            let host = &plan.hosts[index];
            if let Some(tx) = &events {
                let _ = tx.send(Event::HostStarted {
                    name: host.name.clone(),
                });
            }
            let report = audit_host(host, &plan, &keys, &jumps).await;
            if let Some(tx) = &events {
                let _ = tx.send(Event::HostFinished {
                    name: host.name.clone(),
                    status: report.status,
                });
            }
            report
        }));
    }
    let mut hosts = Vec::with_capacity(tasks.len());
    for (task, host) in tasks.into_iter().zip(&plan.hosts) {
        hosts.push(
            task.await
                .unwrap_or_else(|e| host_error(host, format!("internal error: {e}"), Duration::ZERO)),
        );
    }
    RunReport {
        run_id,
        kind: RunKind::Audit,
        started,
        finished: Utc::now(),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: plan.baselines.iter().map(|b| b.name.clone()).collect(),
        rectify_version: env!("CARGO_PKG_VERSION").to_string(),
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
        observed: Vec::new(),
    }
}

async fn audit_host(
    host: &Host,
    plan: &AuditPlan,
    keys: &transport::ssh::KeyStore,
    jumps: &transport::ssh::JumpPool,
) -> HostReport {
    let clock = Instant::now();
    let connection = match transport::connect(host, &plan.connect, keys, jumps).await {
        Ok(c) => c,
        Err(e) => return host_error(host, one_line(&e), clock.elapsed()),
    };
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
        observed,
    }
}
