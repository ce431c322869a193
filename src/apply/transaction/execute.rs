//! Drives one host's change over the wire: runs the remote protocol's
//! scripts ([`remote`]) in order, fetches their answers, and follows what
//! [`decide`](super::decide) says to do on each — verify, confirm, roll
//! back, or wait for the dead-man timer.

use std::time::{Duration, Instant};

use super::decide::{AfterChange, AfterConfirm, AfterRollback, Context, TxError};
use super::HostJob;
use crate::apply::remote::{self, Replies};
use crate::evaluate::CollectLimits;
use crate::inspect::audit_over;
use crate::inventory::Host;
use crate::report::{HostStatus, RuleResult, RuleStatus};
use crate::shell::QuoteError;
use crate::steps::plan::HostPlan;
use crate::transport::{one_line, privileged, ExecLimits, ExecOutput, Transport};

/// How long a fresh connection is retried after handlers ran: sshd refuses
/// connections for a moment after a reload.
const RECONNECT_FOR: Duration = Duration::from_secs(15);

/// Why verification over the new connection failed.
#[derive(Debug, thiserror::Error)]
enum VerifyError {
    /// The audit itself could not run.
    #[error("{0}")]
    Audit(#[from] crate::collect::gather::GatherError),
    #[error("baseline rules still failing: {}", .0.join(", "))]
    Failing(Vec<String>),
}

/// Why no new connection could be opened: the transport's message, on one
/// line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconnectError(String);

pub(super) struct Transaction<'a> {
    pub job: &'a HostJob<'a>,
    pub conn: &'a dyn Transport,
    pub plan: &'a HostPlan,
    pub nonce: String,
    /// The rendered commands of the handlers this plan notifies, in order.
    pub handlers: Vec<String>,
}

fn quote_failed(e: QuoteError) -> TxError {
    TxError::untouched(HostStatus::Error, e.to_string())
}

impl Transaction<'_> {
    fn context(&self) -> Context<'_> {
        Context {
            run_id: &self.job.run.run_id,
            plan: self.plan,
            handlers: &self.job.work.handlers,
            verify_commands: &self.job.work.verify_commands,
            redactor: &self.job.work.redactor,
        }
    }

    pub async fn execute(&self) -> Result<(), TxError> {
        let job = self.job;

        // The whole change in one remote command; see `remote::change`.
        let script = remote::change(
            &job.run.run_id,
            self.plan,
            &self.handlers,
            job.run.confirm_timeout,
            job.run.command_timeout.as_secs().max(1),
            &self.nonce,
        )
        .map_err(quote_failed)?;
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
        let replies = Replies::parse(&out.stdout, &self.nonce);
        match self.context().after_change(&replies, &stderr_hint(&out)) {
            AfterChange::Verify => {}
            AfterChange::Stop(e) => return Err(e),
            AfterChange::RollBack(why) => return self.roll_back(why, armed_at).await,
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
        let script = remote::verify_and_confirm(&job.run.run_id, &job.work.verify_commands, &self.nonce)
            .map_err(quote_failed)?;
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
        let replies = Replies::parse(&out.stdout, &self.nonce);
        match self.context().after_confirm(&replies, &stderr_hint(&out)) {
            AfterConfirm::Changed => Ok(()),
            AfterConfirm::AwaitTimer(why) => self.await_timer(why, armed_at).await,
            AfterConfirm::RollBack(why) => self.roll_back(why, armed_at).await,
        }
    }

    async fn verify_baselines(&self, conn: &dyn Transport) -> Result<(), VerifyError> {
        let job = self.job;
        if !&job.run.verify_baselines.is_empty() {
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
            .await
            .map_err(VerifyError::Audit)?
            .results;
            let failing: Vec<String> = results
                .iter()
                .filter(|r: &&RuleResult| matches!(r.status, RuleStatus::Fail | RuleStatus::Error))
                .map(|r| r.id.clone())
                .collect();
            if !failing.is_empty() {
                return Err(VerifyError::Failing(failing));
            }
        }
        Ok(())
    }

    /// Restores the host: over the first connection if it still works,
    /// else a new one, else by waiting for the dead-man timer.
    async fn roll_back(&self, why: String, armed_at: Instant) -> Result<(), TxError> {
        let job = self.job;
        let script = match remote::rollback(&job.run.run_id, &self.nonce) {
            Ok(s) => s,
            Err(e) => {
                return Err(TxError::settled(
                    HostStatus::RollbackFailed,
                    format!("{why}; rollback: {e}"),
                ))
            }
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
                let answer = Replies::parse(&o.stdout, &self.nonce).rollback;
                match self.context().after_rollback(&why, answer, &with_hint(&o)) {
                    AfterRollback::Done(e) => Err(e),
                    AfterRollback::AwaitTimer => self.await_timer(why, armed_at).await,
                    AfterRollback::AwaitSettled => self.await_settled(why, Instant::now() + limits.timeout).await,
                    AfterRollback::Restored => match reconnect(job).await {
                        Ok(c) => {
                            c.close().await;
                            Err(TxError::settled(HostStatus::RolledBack, format!("{why}; restored")))
                        }
                        Err(e) => Err(TxError::settled(
                            HostStatus::RollbackFailed,
                            format!("{why}; files restored but the host is unreachable: {e}"),
                        )),
                    },
                }
            }
            Err(_) if job.run.confirm_timeout.is_some() => self.await_timer(why, armed_at).await,
            Err(e) => Err(TxError::settled(
                HostStatus::RollbackFailed,
                format!(
                    "{why}; ROLLBACK FAILED: connection lost ({}) and no confirm timeout was set",
                    one_line(&e)
                ),
            )),
        }
    }

    /// The dead-man timer settles the run: wait until it has fired, then
    /// ask the host how it went.
    async fn await_timer(&self, why: String, armed_at: Instant) -> Result<(), TxError> {
        let timeout = Duration::from_secs(self.job.run.confirm_timeout.unwrap_or(0));
        let deadline = armed_at + timeout + Duration::from_secs(60);
        let fired = armed_at + timeout;
        if Instant::now() < fired {
            tokio::time::sleep_until(fired.into()).await;
        }
        self.poll_settled(why, deadline).await
    }

    /// Waits (bounded) for a restore already under way on the host.
    async fn await_settled(&self, why: String, deadline: Instant) -> Result<(), TxError> {
        self.poll_settled(why, deadline).await
    }

    async fn poll_settled(&self, why: String, deadline: Instant) -> Result<(), TxError> {
        let job = self.job;
        let script = match remote::settled(&job.run.run_id, &self.nonce) {
            Ok(s) => s,
            Err(e) => return Err(TxError::settled(HostStatus::RollbackFailed, format!("{why}; {e}"))),
        };
        loop {
            if let Ok(c) = reconnect(job).await {
                let out = job.script(c.as_ref(), &script).await;
                c.close().await;
                if let Ok(o) = out {
                    let how = Replies::parse(&o.stdout, &self.nonce).settled;
                    if let Some(end) = self.context().settled_by_timer(&why, how) {
                        return Err(end);
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(TxError::settled(
                    HostStatus::RollbackFailed,
                    format!("{why}; the host did not report a restore within the confirm timeout"),
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// A new connection, retried for a while: sshd refuses connections for a
/// moment after a reload.
async fn reconnect(job: &HostJob<'_>) -> Result<Box<dyn Transport>, ReconnectError> {
    let until = Instant::now() + RECONNECT_FOR;
    // A reload usually takes milliseconds: retry soon, then back off.
    let mut pause = Duration::from_millis(100);
    loop {
        match job.run.connector.connect(&job.work.host).await {
            Ok(c) => return Ok(c),
            Err(e) if e.is_permanent() || Instant::now() >= until => return Err(ReconnectError(one_line(&e))),
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
    // Answers are for the parser, not for the reader (and carry the nonce).
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("RECTIFY:"))
        .take(3)
        .collect();
    super::decide::safe(&lines.join(" | "))
}
