//! One host's transaction (SPEC, "Apply, per host, as one transaction"):
//! gather, plan, lock, upload and validate candidates, back up, arm the
//! dead-man timer, swap, run handlers, verify over a new connection, then
//! confirm — or restore everything the run touched.

use std::time::{Duration, Instant};

use rand::Rng;

use super::host_facts::{gather_facts, guard};
use super::plan::{self, FileAction, FileKind, HostPlan, Op, StepInfo};
use super::remote;
use super::{HostWork, RunContext};
use crate::evaluate::CollectLimits;
use crate::inspect::audit_over;
use crate::inventory::Host;
use crate::playbook::StepKind;
use crate::report::{Change, HostReport, HostStatus, RuleResult, RuleStatus};
use crate::state::record::{sha256, FileRecord, TxRecord};
use crate::transport::one_line;
use crate::transport::{privileged, ExecLimits, ExecOutput, Transport, TransportError};

/// Largest file an apply reads to edit or back up.
pub(super) const MAX_FILE: u64 = 16 * 1024 * 1024;
/// How long a fresh connection is retried after handlers ran: sshd refuses
/// connections for a moment after a reload.
const RECONNECT_FOR: Duration = Duration::from_secs(15);

/// A step, rendered for this host.
#[derive(Debug, Clone)]
pub struct HostStep {
    pub name: String,
    pub kind: StepKind,
    pub notify: Vec<usize>,
    pub sensitive: bool,
    pub validate: Option<String>,
}

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
        Err(e) => return outcome(job.report(HostStatus::Error, Some(e), Vec::new(), clock)),
    };
    let (kept, refused) = guard(job, &facts);
    let infos: Vec<StepInfo<'_>> = kept
        .into_iter()
        .map(|s| StepInfo {
            name: &s.name,
            kind: &s.kind,
            notify: &s.notify,
            sensitive: s.sensitive,
            validate: s.validate.as_deref(),
        })
        .collect();
    let plan = match plan::plan(&infos, &facts, &job.work.redactor) {
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
    let (mut status, mut error) = tx.execute().await;
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
    ) && tx.touched(&error);
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
    }
}

struct Transaction<'a> {
    job: &'a HostJob<'a>,
    conn: &'a dyn Transport,
    plan: &'a HostPlan,
    nonce: String,
    /// The rendered commands of the handlers this plan notifies, in order.
    handlers: Vec<String>,
}

/// Errors that mean the run stopped before the host was changed.
const NOTHING_CHANGED: &str = "(nothing was changed)";

impl Transaction<'_> {
    fn touched(&self, error: &Option<String>) -> bool {
        !error.as_deref().unwrap_or("").ends_with(NOTHING_CHANGED)
    }

    async fn execute(&self) -> (HostStatus, Option<String>) {
        let job = self.job;
        let quote_err = |e: crate::shell::QuoteError| (HostStatus::Error, Some(format!("{e} {NOTHING_CHANGED}")));

        // The whole change in one remote command; see `remote::change`.
        let script = match remote::change(
            &job.run.run_id,
            self.plan,
            &self.handlers,
            job.run.confirm_timeout,
            job.run.command_timeout.as_secs().max(1),
            &self.nonce,
        ) {
            Ok(s) => s,
            Err(e) => return quote_err(e),
        };
        let validations: u32 = self.plan.files.iter().map(|f| f.validate.len() as u32).sum();
        let limits = ExecLimits {
            timeout: job.run.command_timeout * (2 + validations + self.handlers.len() as u32),
            ..job.limits()
        };
        let armed_at = Instant::now();
        let result = self
            .conn
            .exec(&privileged(job.work.become_, &["sh", "-s"]), script.as_bytes(), limits)
            .await;
        let out = match result {
            Ok(out) => out,
            // Where it stopped is unknown: restore whatever was started
            // (the rollback script knows when nothing was).
            Err(e) => {
                return self
                    .roll_back(format!("connection lost while changing: {}", one_line(&e)), armed_at)
                    .await
            }
        };
        let status = Status::parse(&out.stdout, &self.nonce);
        if let Some(holder) = &status.busy {
            return (
                HostStatus::Error,
                Some(format!(
                    "host is locked by rectify run {} ({}); if no run is active, remove {} on the host {NOTHING_CHANGED}",
                    safe(holder),
                    remote::LOCK_DIR,
                    remote::LOCK_DIR
                )),
            );
        }
        if !status.has("uploaded") {
            let why = match (&status.rejected, &status.failed) {
                (Some((i, msg)), _) => {
                    let change = &self.plan.files[*i];
                    let detail = if change.sensitive || msg.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", safe(msg))
                    };
                    format!("validate rejected the new {}{detail}", change.path)
                }
                (None, Some((op, msg))) => format!("{op}: {}", safe(msg)),
                (None, None) => format!("the change did not start: {}", stderr_hint(&out)),
            };
            return (HostStatus::RolledBack, Some(format!("{why} {NOTHING_CHANGED}")));
        }
        if !status.has("prepared") {
            let why = status
                .failed
                .as_ref()
                .map(|(op, msg)| format!("{op}: {msg}"))
                .unwrap_or_else(|| stderr_hint(&out));
            return (
                HostStatus::Error,
                Some(format!("could not back up: {} {NOTHING_CHANGED}", safe(&why))),
            );
        }
        if !status.has("committed") {
            let why = match &status.failed {
                Some((op, msg)) => format!("{}: {}", self.describe_op(op), safe(msg)),
                None => format!("the change did not finish: {}", stderr_hint(&out)),
            };
            return self.roll_back(why, armed_at).await;
        }
        if !status.has("handlers") {
            let why = match &status.handler {
                Some((i, msg)) => {
                    let detail = if msg.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", safe(msg))
                    };
                    format!("handler {:?} failed{detail}", self.handler_name(*i))
                }
                None => format!("the handlers did not finish: {}", stderr_hint(&out)),
            };
            return self.roll_back(why, armed_at).await;
        }

        // Verify over a new connection. Handlers that reload a service
        // return before the service has reloaded (a SIGHUP is handled
        // asynchronously): give it the playbook's `settle`, or verification
        // could reach the old process and confirm a change that cuts the
        // host off.
        if !self.handlers.is_empty() {
            tokio::time::sleep(job.run.settle).await;
        }
        if job.interrupted() {
            return self.roll_back("interrupted".into(), armed_at).await;
        }
        let fresh = match reconnect(job).await {
            Ok(c) => c,
            Err(e) => {
                return self
                    .roll_back(format!("verify: cannot open a new connection: {e}"), armed_at)
                    .await
            }
        };
        if let Err(why) = self.verify_baselines(fresh.as_ref()).await {
            fresh.close().await;
            return self.roll_back(format!("verify failed: {why}"), armed_at).await;
        }
        if job.interrupted() {
            fresh.close().await;
            return self.roll_back("interrupted".into(), armed_at).await;
        }
        let script = match remote::verify_and_confirm(&job.run.run_id, &job.work.verify_commands, &self.nonce) {
            Ok(s) => s,
            Err(e) => return quote_err(e),
        };
        let limits = ExecLimits {
            timeout: job.run.command_timeout * (1 + job.work.verify_commands.len() as u32),
            ..job.limits()
        };
        let confirmed = fresh
            .exec(&privileged(job.work.become_, &["sh", "-s"]), script.as_bytes(), limits)
            .await;
        fresh.close().await;
        let out = match confirmed {
            Ok(out) => out,
            Err(e) => {
                return self
                    .roll_back(format!("could not confirm: {}", one_line(&e)), armed_at)
                    .await
            }
        };
        let status = Status::parse(&out.stdout, &self.nonce);
        if let Some((i, msg)) = &status.verify {
            let cmd = job.work.verify_commands.get(*i).map(String::as_str).unwrap_or("?");
            let detail = if msg.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", safe(msg))
            };
            return self
                .roll_back(
                    format!("verify failed: `{}` failed{detail}", job.work.redactor.redact(cmd)),
                    armed_at,
                )
                .await;
        }
        if status.has("committed") {
            (HostStatus::Changed, None)
        } else if status.has("timer") {
            self.await_timer(
                "the confirm timeout ran out before verification finished".into(),
                armed_at,
            )
            .await
        } else {
            self.roll_back(format!("could not confirm: {}", stderr_hint(&out)), armed_at)
                .await
        }
    }

    fn handler_name(&self, i: usize) -> String {
        self.job.work.handlers[self.plan.handlers[i]].0.clone()
    }

    fn describe_op(&self, op: &str) -> String {
        match op.parse::<usize>().ok().and_then(|k| self.plan.ops.get(k)) {
            Some(Op::File(f)) => self.plan.files[*f].path.clone(),
            Some(Op::Sysctl { key, .. }) => format!("sysctl {key}"),
            Some(Op::Command { sensitive: true, .. }) => "a sensitive command".into(),
            Some(Op::Command { command, .. }) => format!("command {:?}", self.job.work.redactor.redact(command)),
            None => op.to_string(),
        }
    }

    async fn verify_baselines(&self, conn: &dyn Transport) -> Result<(), String> {
        let job = self.job;
        if !job.run.verify_baselines.is_empty() {
            let host = Host {
                become_: job.work.become_,
                ..job.work.host.clone()
            };
            let results = audit_over(
                conn,
                &host,
                &job.run.verify_baselines,
                &CollectLimits::default(),
                job.run.command_timeout,
            )
            .await?
            .results;
            let failing: Vec<&RuleResult> = results
                .iter()
                .filter(|r| matches!(r.status, RuleStatus::Fail | RuleStatus::Error))
                .collect();
            if !failing.is_empty() {
                let ids: Vec<&str> = failing.iter().map(|r| r.id.as_str()).collect();
                return Err(format!("baseline rules still failing: {}", ids.join(", ")));
            }
        }
        Ok(())
    }

    /// Restores the host: over the first connection if it still works,
    /// else a new one, else by waiting for the dead-man timer.
    async fn roll_back(&self, why: String, armed_at: Instant) -> (HostStatus, Option<String>) {
        let job = self.job;
        let script = match remote::rollback(&job.run.run_id) {
            Ok(s) => s,
            Err(e) => return (HostStatus::RollbackFailed, Some(format!("{why}; rollback: {e}"))),
        };
        // restore.sh reruns the handlers (and rollback commands), each
        // bounded by the command timeout on the host.
        let limits = ExecLimits {
            timeout: job.run.command_timeout * (2 + self.handlers.len() as u32 + self.plan.ops.len() as u32),
            ..job.limits()
        };
        let argv = privileged(job.work.become_, &["sh", "-s"]);
        let mut out = self.conn.exec(&argv, script.as_bytes(), limits).await;
        if out.is_err() {
            if let Ok(fresh) = reconnect(job).await {
                out = fresh.exec(&argv, script.as_bytes(), limits).await;
                fresh.close().await;
            }
        }
        match out {
            Ok(o) => {
                let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if text == "nothing" {
                    return (HostStatus::RolledBack, Some(format!("{why} {NOTHING_CHANGED}")));
                }
                if text == "timer" {
                    return self.await_timer(why, armed_at).await;
                }
                if text == "busy" {
                    // Our own earlier attempt is still restoring.
                    return self.await_settled(why, Instant::now() + limits.timeout).await;
                }
                if text != "restored 0" {
                    return (
                        HostStatus::RollbackFailed,
                        Some(format!(
                            "{why}; ROLLBACK FAILED ({}{}): see {}/restore.log on the host",
                            safe(&text),
                            with_hint(&o),
                            remote::backup_dir(&job.run.run_id)
                        )),
                    );
                }
                match reconnect(job).await {
                    Ok(c) => {
                        c.close().await;
                        (HostStatus::RolledBack, Some(format!("{why}; restored")))
                    }
                    Err(e) => (
                        HostStatus::RollbackFailed,
                        Some(format!("{why}; files restored but the host is unreachable: {e}")),
                    ),
                }
            }
            Err(_) if job.run.confirm_timeout.is_some() => self.await_timer(why, armed_at).await,
            Err(e) => (
                HostStatus::RollbackFailed,
                Some(format!(
                    "{why}; ROLLBACK FAILED: connection lost ({}) and no confirm timeout was set",
                    one_line(&e)
                )),
            ),
        }
    }

    /// The dead-man timer settles the run: wait until it has fired, then
    /// ask the host how it went.
    async fn await_timer(&self, why: String, armed_at: Instant) -> (HostStatus, Option<String>) {
        let job = self.job;
        let timeout = Duration::from_secs(job.run.confirm_timeout.unwrap_or(0));
        let deadline = armed_at + timeout + Duration::from_secs(60);
        let script = match remote::settled(&job.run.run_id) {
            Ok(s) => s,
            Err(e) => return (HostStatus::RollbackFailed, Some(format!("{why}; {e}"))),
        };
        let fired = armed_at + timeout;
        if Instant::now() < fired {
            tokio::time::sleep_until(fired.into()).await;
        }
        self.poll_settled(why, &script, deadline).await
    }

    /// Waits (bounded) for a restore already under way on the host.
    async fn await_settled(&self, why: String, deadline: Instant) -> (HostStatus, Option<String>) {
        let script = match remote::settled(&self.job.run.run_id) {
            Ok(s) => s,
            Err(e) => return (HostStatus::RollbackFailed, Some(format!("{why}; {e}"))),
        };
        self.poll_settled(why, &script, deadline).await
    }

    async fn poll_settled(&self, why: String, script: &str, deadline: Instant) -> (HostStatus, Option<String>) {
        let job = self.job;
        loop {
            if let Ok(c) = reconnect(job).await {
                let out = self.job.script(c.as_ref(), script).await;
                c.close().await;
                if let Ok(o) = out {
                    match String::from_utf8_lossy(&o.stdout).trim() {
                        "restored" => {
                            return (
                                HostStatus::RolledBack,
                                Some(format!("{why}; restored by the dead-man timer")),
                            )
                        }
                        "restore-failed" => {
                            return (
                                HostStatus::RollbackFailed,
                                Some(format!(
                                    "{why}; the dead-man timer's restore FAILED: see {}/restore.log",
                                    remote::backup_dir(&job.run.run_id)
                                )),
                            )
                        }
                        _ => {}
                    }
                }
            }
            if Instant::now() > deadline {
                return (
                    HostStatus::RollbackFailed,
                    Some(format!(
                        "{why}; the host did not report a restore within the confirm timeout"
                    )),
                );
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// What the change script reported, phase by phase.
#[derive(Debug, Default)]
struct Status {
    done: Vec<String>,
    busy: Option<String>,
    failed: Option<(String, String)>,
    rejected: Option<(usize, String)>,
    handler: Option<(usize, String)>,
    verify: Option<(usize, String)>,
}

impl Status {
    fn parse(stdout: &[u8], nonce: &str) -> Status {
        let prefix = format!("RECTIFY:{nonce}:");
        let mut s = Status::default();
        for line in String::from_utf8_lossy(stdout).lines() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let (kind, rest) = rest.split_once(':').unwrap_or((rest, ""));
            let indexed = || {
                let (i, msg) = rest.split_once(':').unwrap_or((rest, ""));
                i.parse::<usize>().ok().map(|i| (i, msg.to_string()))
            };
            match kind {
                "ok" => s.done.push(rest.to_string()),
                "busy" => s.busy = Some(rest.to_string()),
                "fail" => {
                    let (op, msg) = rest.split_once(':').unwrap_or((rest, ""));
                    s.failed = Some((op.to_string(), msg.to_string()));
                }
                "validate" => s.rejected = indexed(),
                "handler" => s.handler = indexed(),
                "verify" => s.verify = indexed(),
                _ => {}
            }
        }
        s
    }

    fn has(&self, phase: &str) -> bool {
        self.done.iter().any(|d| d == phase)
    }
}

/// A new connection, retried for a while: sshd refuses connections for a
/// moment after a reload.
async fn reconnect(job: &HostJob<'_>) -> Result<Box<dyn Transport>, String> {
    let until = Instant::now() + RECONNECT_FOR;
    // A reload usually takes milliseconds: retry soon, then back off.
    let mut pause = Duration::from_millis(100);
    loop {
        match job.run.connector.connect(&job.work.host).await {
            Ok(c) => return Ok(c),
            Err(e) if e.is_permanent() || Instant::now() >= until => return Err(one_line(&e)),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(800));
            }
        }
    }
}

/// `: hint` when the command said something, else nothing.
fn with_hint(out: &ExecOutput) -> String {
    let hint = stderr_hint(out);
    if hint.is_empty() {
        hint
    } else {
        format!(": {hint}")
    }
}

/// The first lines a command wrote to stderr (or stdout), made safe to show.
fn stderr_hint(out: &ExecOutput) -> String {
    let stream = if out.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        &out.stderr
    } else {
        &out.stdout
    };
    let text = String::from_utf8_lossy(stream);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(3).collect();
    safe(&lines.join(" | "))
}

/// Host text for a message: no control characters, bounded.
fn safe(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect::<String>()
}
