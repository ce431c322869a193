//! One host's transaction (docs/playbook.md, "The transaction"):
//! gather, plan, lock, upload and validate candidates, back up, arm the
//! dead-man timer, swap, run handlers, verify over a new connection, then
//! confirm — or restore everything the run touched.
//!
//! This file holds the job and the steps before the change (gather, plan,
//! check mode) and the record after it; [`execute`] drives the change over
//! the wire and [`decide`] says what to do on each answer.

mod decide;
mod execute;

pub use decide::TxError;

use std::time::Instant;

use rand::Rng;

use super::host_facts::{gather_facts, guard};
use super::remote;
use super::{HostWork, RunContext};
use crate::report::{Change, HostReport, HostStatus};
use crate::state::record::{sha256, FileRecord, TxRecord};
use crate::steps::plan::{self, FileAction, FileKind, HostPlan, Op};
use crate::transport::one_line;
use crate::transport::{privileged, ExecLimits, ExecOutput, Transport, TransportError};
use execute::Transaction;

/// Largest file an apply reads to edit or back up.
pub(super) const MAX_FILE: u64 = 16 * 1024 * 1024;

/// One host's transaction: what the run shares with every host, and this
/// host's own rendered work, both borrowed (nothing is copied per host).
pub struct HostJob<'a> {
    pub run: &'a RunContext,
    pub work: &'a HostWork,
}

/// What a run left at `path`, to notice later changes by someone else.
#[derive(Debug, Clone)]
pub struct Guard {
    pub path: String,
    pub run_id: String,
    pub exists: bool,
    pub hash: Option<String>,
    pub mode: Option<u32>,
    /// The content itself when it may be shown (not sensitive).
    pub content: Option<Vec<u8>>,
}

pub struct HostOutcome {
    pub report: HostReport,
    pub record: Option<TxRecord>,
}

impl HostJob<'_> {
    fn report(&self, status: HostStatus, error: Option<String>, changes: Vec<Change>, clock: Instant) -> HostReport {
        HostReport {
            name: self.work.host.name.clone(),
            address: self.work.host.address.clone(),
            status,
            error: error.map(|e| self.work.redactor.redact(&e)),
            results: Vec::new(),
            changes,
            duration_ms: clock.elapsed().as_millis() as u64,
            warnings: Vec::new(),
            attempts: 1,
            observed: Vec::new(),
        }
    }

    fn limits(&self) -> ExecLimits {
        ExecLimits {
            timeout: self.run.command_timeout,
            max_stdout: 1024 * 1024,
            max_stderr: 64 * 1024,
        }
    }

    /// Runs a script (on stdin) with the host's privileges.
    async fn script(&self, conn: &dyn Transport, script: &str) -> Result<ExecOutput, TransportError> {
        conn.exec(
            &privileged(self.work.become_, &["sh", "-s"]),
            script.as_bytes(),
            self.limits(),
        )
        .await
    }

    fn interrupted(&self) -> bool {
        self.run.cancel.is_cancelled()
    }
}

pub async fn run(job: HostJob<'_>) -> HostOutcome {
    let clock = Instant::now();
    let outcome = |report| HostOutcome { report, record: None };
    let conn = match job.run.connector.connect(&job.work.host).await {
        Ok(c) => c,
        Err(e) => return outcome(job.report(HostStatus::Error, Some(one_line(&e)), Vec::new(), clock)),
    };
    let result = transact(&job, conn.as_ref(), clock).await;
    conn.close().await;
    result
}

async fn transact(job: &HostJob<'_>, conn: &dyn Transport, clock: Instant) -> HostOutcome {
    let outcome = |report| HostOutcome { report, record: None };
    let facts = match gather_facts(job, conn).await {
        Ok(f) => f,
        Err(e) => return outcome(job.report(HostStatus::Error, Some(e.to_string()), Vec::new(), clock)),
    };
    let (kept, refused) = guard(job, &facts);
    let plan = match plan::plan(&kept, &facts, &job.work.redactor) {
        Ok(p) => p,
        Err(e) => {
            return outcome(job.report(
                HostStatus::Error,
                Some(format!("{e} (nothing was changed)")),
                Vec::new(),
                clock,
            ))
        }
    };
    let refusal = (!refused.is_empty()).then(|| {
        let paths: Vec<&str> = refused.iter().map(|c| c.path.as_str()).collect();
        format!(
            "not restored, changed since the run (use --force to overwrite): {}",
            paths.join(", ")
        )
    });
    if plan.is_empty() {
        let status = if refusal.is_some() {
            HostStatus::Error
        } else {
            HostStatus::Unchanged
        };
        return outcome(job.report(status, refusal, refused, clock));
    }
    let mut changes = plan.changes.clone();
    changes.extend(refused);
    if job.run.check {
        return outcome(job.report(HostStatus::WouldChange, None, changes, clock));
    }
    if job.interrupted() {
        return outcome(job.report(
            HostStatus::NotStarted,
            Some("interrupted before any change".into()),
            changes,
            clock,
        ));
    }

    let tx = Transaction {
        job,
        conn,
        plan: &plan,
        nonce: format!("{:032x}", rand::rng().random::<u128>()),
        handlers: plan.handlers.iter().map(|h| job.work.handlers[*h].1.clone()).collect(),
    };
    let result = tx.execute().await;
    let nothing_changed = matches!(&result, Err(e) if e.nothing_changed());
    let (mut status, mut error) = match result {
        Ok(()) => (HostStatus::Changed, None),
        Err(e) => (e.status(), Some(e.to_string())),
    };
    if let Some(r) = refusal {
        if status == HostStatus::Changed {
            status = HostStatus::Error;
        }
        error = Some(match error {
            Some(e) => format!("{e}; {r}"),
            None => r,
        });
    }
    let touched = matches!(
        status,
        HostStatus::Changed | HostStatus::RolledBack | HostStatus::RollbackFailed
    ) && !nothing_changed;
    let record = touched.then(|| record(job, &plan, &tx.handlers));
    HostOutcome {
        report: job.report(status, error, changes, clock),
        record,
    }
}

fn record(job: &HostJob<'_>, plan: &HostPlan, handlers: &[String]) -> TxRecord {
    let mut files = Vec::new();
    for (seq, op) in plan.ops.iter().enumerate() {
        let Op::File(f) = op else { continue };
        let c = &plan.files[*f];
        let existed = c.before.kind != FileKind::Missing;
        let (after_exists, after_hash, after_mode) = match &c.action {
            FileAction::Write { content, mode, .. } => (true, Some(sha256(content)), Some(*mode)),
            FileAction::Chmod { mode, .. } => (
                true,
                c.before.content.as_ref().ok().map(|b| sha256(b)),
                Some(mode.unwrap_or(c.before.mode)),
            ),
            FileAction::Remove => (false, None, None),
        };
        let after = match (&c.action, c.sensitive) {
            (_, true) => None,
            (FileAction::Write { content, .. }, false) => Some(content.clone()),
            (FileAction::Chmod { .. }, false) => c.before.content.clone().ok(),
            (FileAction::Remove, false) => None,
        };
        files.push(FileRecord {
            seq,
            after,
            path: c.path.clone(),
            action: match c.action {
                FileAction::Write { .. } => "write",
                FileAction::Chmod { .. } => "metadata",
                FileAction::Remove => "remove",
            },
            existed,
            mode: c.before.mode,
            uid: c.before.uid,
            gid: c.before.gid,
            before: if c.sensitive || c.before.kind != FileKind::Regular {
                None
            } else {
                c.before.content.clone().ok()
            },
            after_exists,
            after_hash,
            after_mode,
            sensitive: c.sensitive,
        });
    }
    let sysctl = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Sysctl { key, old, .. } => Some((key.clone(), old.clone())),
            _ => None,
        })
        .collect();
    TxRecord {
        backup_dir: remote::backup_dir(&job.run.run_id),
        handlers: handlers.iter().map(|h| job.work.redactor.redact(h)).collect(),
        files,
        sysctl,
        connection: Some(crate::inventory::HostConnection::of(&job.work.host)),
    }
}
