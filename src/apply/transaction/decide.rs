//! What the transaction does next on each answer from the host, apart
//! from the I/O that fetches the answers, so every decision (and the
//! message it leads to) can be tested without a host.

use crate::apply::remote::{self, Replies, Rollback, Settlement};
use crate::redact::Redactor;
use crate::report::HostStatus;
use crate::steps::plan::{HostPlan, Op};

/// How a transaction that did not end `changed` ended. Whether the host
/// was touched is part of the type: a run that stopped before changing
/// anything leaves no record to roll back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Stopped before the host was changed.
    #[error("{reason} (nothing was changed)")]
    NothingChanged { status: HostStatus, reason: String },
    /// The host was (or may have been) changed, then restored or not.
    #[error("{reason}")]
    Settled { status: HostStatus, reason: String },
}

impl TxError {
    pub fn untouched(status: HostStatus, reason: String) -> TxError {
        TxError::NothingChanged { status, reason }
    }

    pub fn settled(status: HostStatus, reason: String) -> TxError {
        TxError::Settled { status, reason }
    }

    pub fn status(&self) -> HostStatus {
        match self {
            TxError::NothingChanged { status, .. } | TxError::Settled { status, .. } => *status,
        }
    }

    pub fn nothing_changed(&self) -> bool {
        matches!(self, TxError::NothingChanged { .. })
    }
}

/// After the change script.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterChange {
    /// Every phase finished: verify.
    Verify,
    /// Stopped before changing anything.
    Stop(TxError),
    /// Stopped part way: restore, for this reason.
    RollBack(String),
}

/// After the verify-and-confirm script.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterConfirm {
    Changed,
    /// The dead-man timer settled the run first.
    AwaitTimer(String),
    RollBack(String),
}

/// After the rollback script.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterRollback {
    /// Restored: check the host is still reachable.
    Restored,
    AwaitTimer,
    /// Our own earlier attempt is still restoring.
    AwaitSettled,
    Done(TxError),
}

/// What the decisions need to know of the run to word their messages.
pub struct Context<'a> {
    pub run_id: &'a str,
    pub plan: &'a HostPlan,
    /// The job's rendered handlers (name, command), by index.
    pub handlers: &'a [(String, String)],
    pub verify_commands: &'a [String],
    pub redactor: &'a Redactor,
}

impl Context<'_> {
    /// `hint` is what the script wrote to stderr, for when it answered
    /// nothing useful.
    pub fn after_change(&self, r: &Replies, hint: &str) -> AfterChange {
        if let Some(holder) = &r.busy {
            return AfterChange::Stop(TxError::untouched(
                HostStatus::Error,
                format!(
                    "host is locked by rectify run {} ({}); if no run is active, remove {} on the host",
                    safe(holder),
                    remote::LOCK_DIR,
                    remote::LOCK_DIR
                ),
            ));
        }
        if !r.has("uploaded") {
            let why = match (&r.rejected, &r.failed) {
                (Some((i, msg)), _) => match self.plan.files.get(*i) {
                    Some(change) => {
                        let detail = if change.sensitive || msg.trim().is_empty() {
                            String::new()
                        } else {
                            format!(": {}", safe(msg))
                        };
                        format!("validate rejected the new {}{detail}", change.path)
                    }
                    None => format!("validate rejected candidate {i}"),
                },
                (None, Some((op, msg))) => format!("{op}: {}", safe(msg)),
                (None, None) => format!("the change did not start: {hint}"),
            };
            return AfterChange::Stop(TxError::untouched(HostStatus::RolledBack, why));
        }
        if !r.has("prepared") {
            let why = r
                .failed
                .as_ref()
                .map(|(op, msg)| format!("{op}: {msg}"))
                .unwrap_or_else(|| hint.to_string());
            return AfterChange::Stop(TxError::untouched(
                HostStatus::Error,
                format!("could not back up: {}", safe(&why)),
            ));
        }
        if !r.has("committed") {
            return AfterChange::RollBack(match &r.failed {
                Some((op, msg)) => format!("{}: {}", self.describe_op(op), safe(msg)),
                None => format!("the change did not finish: {hint}"),
            });
        }
        if !r.has("handlers") {
            return AfterChange::RollBack(match &r.handler {
                Some((i, msg)) => format!("handler {:?} failed{}", self.handler_name(*i), detail(msg)),
                None => format!("the handlers did not finish: {hint}"),
            });
        }
        AfterChange::Verify
    }

    pub fn after_confirm(&self, r: &Replies, hint: &str) -> AfterConfirm {
        if let Some((i, msg)) = &r.verify {
            let cmd = self.verify_commands.get(*i).map(String::as_str).unwrap_or("?");
            return AfterConfirm::RollBack(format!(
                "verify failed: `{}` failed{}",
                self.redactor.redact(cmd),
                detail(msg)
            ));
        }
        if r.has("committed") {
            AfterConfirm::Changed
        } else if r.has("timer") {
            AfterConfirm::AwaitTimer("the confirm timeout ran out before verification finished".into())
        } else {
            AfterConfirm::RollBack(format!("could not confirm: {hint}"))
        }
    }

    /// `hint` here is `: ` and the restore log's tail, or empty.
    pub fn after_rollback(&self, why: &str, answer: Option<Rollback>, hint: &str) -> AfterRollback {
        match answer {
            Some(Rollback::Nothing) => AfterRollback::Done(TxError::untouched(HostStatus::RolledBack, why.into())),
            Some(Rollback::Timer) => AfterRollback::AwaitTimer,
            Some(Rollback::Busy) => AfterRollback::AwaitSettled,
            Some(Rollback::Restored(0)) => AfterRollback::Restored,
            other => AfterRollback::Done(TxError::settled(
                HostStatus::RollbackFailed,
                format!(
                    "{why}; ROLLBACK FAILED ({}{hint}): see {}/restore.log on the host",
                    other.map(|a| a.to_string()).unwrap_or_default(),
                    remote::backup_dir(self.run_id)
                ),
            )),
        }
    }

    /// The end of a run the dead-man timer settled, once the host says
    /// how; `None` while it has not.
    pub fn settled_by_timer(&self, why: &str, how: Option<Settlement>) -> Option<TxError> {
        match how? {
            Settlement::Restored => Some(TxError::settled(
                HostStatus::RolledBack,
                format!("{why}; restored by the dead-man timer"),
            )),
            Settlement::RestoreFailed => Some(TxError::settled(
                HostStatus::RollbackFailed,
                format!(
                    "{why}; the dead-man timer's restore FAILED: see {}/restore.log",
                    remote::backup_dir(self.run_id)
                ),
            )),
            Settlement::Committed | Settlement::Pending => None,
        }
    }

    fn handler_name(&self, i: usize) -> String {
        self.plan
            .handlers
            .get(i)
            .and_then(|h| self.handlers.get(*h))
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| format!("#{i}"))
    }

    fn describe_op(&self, op: &str) -> String {
        match op.parse::<usize>().ok().and_then(|k| self.plan.ops.get(k)) {
            Some(Op::File(f)) => self.plan.files[*f].path.clone(),
            Some(Op::Sysctl { key, .. }) => format!("sysctl {key}"),
            Some(Op::Command { sensitive: true, .. }) => "a sensitive command".into(),
            Some(Op::Command { command, .. }) => format!("command {:?}", self.redactor.redact(command)),
            None => op.to_string(),
        }
    }
}

/// `: output` when a command said something, else nothing.
fn detail(msg: &str) -> String {
    if msg.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", safe(msg))
    }
}

/// Host text for a message: no control characters, bounded.
pub fn safe(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect::<String>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::plan::{FileAction, FileChange, FileFacts, FileKind};

    fn plan() -> HostPlan {
        let facts = FileFacts {
            kind: FileKind::Regular,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
            content: Ok(b"old\n".to_vec()),
        };
        HostPlan {
            files: vec![FileChange {
                path: "/etc/demo.conf".into(),
                before: facts,
                action: FileAction::Remove,
                validate: Vec::new(),
                sensitive: false,
                unsafe_writes: false,
            }],
            ops: vec![
                Op::File(0),
                Op::Sysctl {
                    key: "net.ipv4.ip_forward".into(),
                    value: "0".into(),
                    old: "1".into(),
                },
                Op::Command {
                    command: "secret".into(),
                    rollback: None,
                    sensitive: true,
                },
            ],
            handlers: vec![1],
            changes: Vec::new(),
        }
    }

    fn decide<T>(f: impl FnOnce(&Context<'_>) -> T) -> T {
        let plan = plan();
        let handlers = [
            ("a".to_string(), "true".to_string()),
            ("reload sshd".into(), "x".into()),
        ];
        let verify = ["test -e /x".to_string()];
        let redactor = Redactor::default();
        f(&Context {
            run_id: "RUN",
            plan: &plan,
            handlers: &handlers,
            verify_commands: &verify,
            redactor: &redactor,
        })
    }

    fn replies(done: &[&str]) -> Replies {
        Replies {
            done: done.iter().map(|d| d.to_string()).collect(),
            ..Replies::default()
        }
    }

    #[test]
    fn a_change_that_stopped_early_changed_nothing() {
        let busy = Replies {
            busy: Some("other\x1b[31m".into()),
            ..Replies::default()
        };
        let AfterChange::Stop(e) = decide(|c| c.after_change(&busy, "")) else {
            panic!("a busy host stops the run")
        };
        assert!(e.nothing_changed() && e.status() == HostStatus::Error);
        assert_eq!(
            e.to_string(),
            "host is locked by rectify run other[31m (/run/rectify.lock); if no run is active, \
             remove /run/rectify.lock on the host (nothing was changed)"
        );
        let rejected = Replies {
            rejected: Some((0, "bad line".into())),
            ..replies(&["locked"])
        };
        assert_eq!(
            decide(|c| c.after_change(&rejected, "")),
            AfterChange::Stop(TxError::untouched(
                HostStatus::RolledBack,
                "validate rejected the new /etc/demo.conf: bad line".into()
            ))
        );
        let silent = decide(|c| c.after_change(&replies(&[]), "sh: oops"));
        let AfterChange::Stop(e) = silent else { panic!() };
        assert_eq!(
            e.to_string(),
            "the change did not start: sh: oops (nothing was changed)"
        );
        let unprepared = Replies {
            failed: Some(("prepare".into(), "cannot create the backup directory".into())),
            ..replies(&["locked", "uploaded"])
        };
        let AfterChange::Stop(e) = decide(|c| c.after_change(&unprepared, "")) else {
            panic!()
        };
        assert_eq!(
            (e.status(), e.to_string()),
            (
                HostStatus::Error,
                "could not back up: prepare: cannot create the backup directory (nothing was changed)".into()
            )
        );
    }

    #[test]
    fn a_change_that_stopped_part_way_is_rolled_back_naming_the_operation() {
        let at = |op: &str| Replies {
            failed: Some((op.into(), "chmod failed".into())),
            ..replies(&["locked", "uploaded", "prepared"])
        };
        let why = |r: Replies| decide(|c| c.after_change(&r, "hint"));
        assert_eq!(
            why(at("0")),
            AfterChange::RollBack("/etc/demo.conf: chmod failed".into())
        );
        assert_eq!(
            why(at("1")),
            AfterChange::RollBack("sysctl net.ipv4.ip_forward: chmod failed".into())
        );
        assert_eq!(
            why(at("2")),
            AfterChange::RollBack("a sensitive command: chmod failed".into())
        );
        assert_eq!(
            why(replies(&["locked", "uploaded", "prepared"])),
            AfterChange::RollBack("the change did not finish: hint".into())
        );
        let handler = Replies {
            handler: Some((0, " \n".into())),
            ..replies(&["locked", "uploaded", "prepared", "committed"])
        };
        assert_eq!(
            why(handler),
            AfterChange::RollBack("handler \"reload sshd\" failed".into())
        );
        assert_eq!(
            why(replies(&["locked", "uploaded", "prepared", "committed", "handlers"])),
            AfterChange::Verify
        );
    }

    #[test]
    fn confirm_answers() {
        let failed = Replies {
            verify: Some((0, "no".into())),
            ..replies(&[])
        };
        assert_eq!(
            decide(|c| c.after_confirm(&failed, "")),
            AfterConfirm::RollBack("verify failed: `test -e /x` failed: no".into())
        );
        assert_eq!(
            decide(|c| c.after_confirm(&replies(&["committed"]), "")),
            AfterConfirm::Changed
        );
        assert!(matches!(
            decide(|c| c.after_confirm(&replies(&["timer"]), "")),
            AfterConfirm::AwaitTimer(_)
        ));
        assert_eq!(
            decide(|c| c.after_confirm(&replies(&[]), "lost")),
            AfterConfirm::RollBack("could not confirm: lost".into())
        );
    }

    #[test]
    fn rollback_answers() {
        let after = |a| decide(|c| c.after_rollback("verify failed", a, ": tail"));
        assert_eq!(after(Some(Rollback::Restored(0))), AfterRollback::Restored);
        assert_eq!(after(Some(Rollback::Timer)), AfterRollback::AwaitTimer);
        assert_eq!(after(Some(Rollback::Busy)), AfterRollback::AwaitSettled);
        let AfterRollback::Done(e) = after(Some(Rollback::Nothing)) else {
            panic!()
        };
        assert_eq!(
            (e.status(), e.to_string()),
            (HostStatus::RolledBack, "verify failed (nothing was changed)".into())
        );
        for (answer, shown) in [(Some(Rollback::Restored(1)), "restored 1"), (None, "")] {
            let AfterRollback::Done(e) = after(answer) else {
                panic!()
            };
            assert!(!e.nothing_changed());
            assert_eq!(
                (e.status(), e.to_string()),
                (
                    HostStatus::RollbackFailed,
                    format!(
                        "verify failed; ROLLBACK FAILED ({shown}: tail): see /var/backups/rectify/RUN/restore.log on the host"
                    )
                )
            );
        }
    }

    #[test]
    fn the_timers_settlement() {
        let settled = |s| decide(|c| c.settled_by_timer("why", s));
        assert_eq!(settled(None), None);
        assert_eq!(settled(Some(Settlement::Pending)), None);
        assert_eq!(settled(Some(Settlement::Committed)), None);
        assert_eq!(
            settled(Some(Settlement::Restored)),
            Some(TxError::settled(
                HostStatus::RolledBack,
                "why; restored by the dead-man timer".into()
            ))
        );
        let failed = settled(Some(Settlement::RestoreFailed)).unwrap();
        assert_eq!(failed.status(), HostStatus::RollbackFailed);
        assert!(failed
            .to_string()
            .contains("restore FAILED: see /var/backups/rectify/RUN/restore.log"));
    }
}
