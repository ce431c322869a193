//! What the apply's scripts answer, read back. Every answer is one line
//! `RECTIFY:<nonce>:<kind>:<field>…`, printed by the prelude's `say`,
//! possibly after noise without a newline; any other line (a login shell's
//! greeting, a command's output) is skipped.
//! The nonce is random per run, so nothing printed on the host can forge
//! an answer.

use std::fmt;

/// One answer line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A phase (`locked`, `uploaded`, `prepared`, `committed`, `handlers`,
    /// `timer`) or an operation's index finished.
    Done(String),
    /// The host is locked by the run named.
    Busy(String),
    /// `op` (an operation's index, `prepare`, `uploadN`, `validateN`)
    /// failed, saying `message`.
    Failed { op: String, message: String },
    /// Candidate `index` was rejected by its validate command.
    Rejected { index: usize, output: String },
    /// Handler `index` (in the plan's order) failed.
    HandlerFailed { index: usize, output: String },
    /// Verify command `index` failed.
    VerifyFailed { index: usize, output: String },
    /// What the rollback script did.
    Rollback(Rollback),
    /// How the run was settled, as the host records it.
    Settled(Settlement),
}

/// The rollback script's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollback {
    /// The backup directory does not exist: the change never started.
    Nothing,
    /// `restore.sh` ran, with this exit status.
    Restored(i32),
    /// The dead-man timer settled the run first.
    Timer,
    /// Someone else (an earlier attempt of ours) is restoring.
    Busy,
}

impl fmt::Display for Rollback {
    /// As the run's error message has always shown it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rollback::Nothing => f.write_str("nothing"),
            Rollback::Restored(rc) => write!(f, "restored {rc}"),
            Rollback::Timer => f.write_str("timer"),
            Rollback::Busy => f.write_str("busy"),
        }
    }
}

/// The marker files a run leaves on the host once settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    Restored,
    RestoreFailed,
    Committed,
    Pending,
}

impl Reply {
    /// The answer on `line`, if it is one of this run's. The frame may
    /// follow noise on the same line: a login shell's prompt printed
    /// without a newline (`printf "motd> "` in `~/.bashrc`) glues onto the
    /// first answer. The first `RECTIFY:<nonce>:` counts; only this run's
    /// scripts know the nonce, and whatever a reply carries comes after it.
    pub fn parse(line: &str, nonce: &str) -> Option<Reply> {
        let marker = format!("RECTIFY:{nonce}:");
        let rest = &line[line.find(&marker)? + marker.len()..];
        let (kind, rest) = rest.split_once(':').unwrap_or((rest, ""));
        let pair = || rest.split_once(':').unwrap_or((rest, ""));
        let indexed = || {
            let (i, msg) = pair();
            i.parse::<usize>().ok().map(|i| (i, msg.to_string()))
        };
        Some(match kind {
            "ok" => Reply::Done(rest.to_string()),
            "busy" => Reply::Busy(rest.to_string()),
            "fail" => {
                let (op, message) = pair();
                Reply::Failed {
                    op: op.to_string(),
                    message: message.to_string(),
                }
            }
            "validate" => indexed().map(|(index, output)| Reply::Rejected { index, output })?,
            "handler" => indexed().map(|(index, output)| Reply::HandlerFailed { index, output })?,
            "verify" => indexed().map(|(index, output)| Reply::VerifyFailed { index, output })?,
            "rollback" => Reply::Rollback(match pair() {
                ("nothing", _) => Rollback::Nothing,
                ("restored", rc) => Rollback::Restored(rc.parse().ok()?),
                ("timer", _) => Rollback::Timer,
                ("busy", _) => Rollback::Busy,
                _ => return None,
            }),
            "settled" => Reply::Settled(match rest {
                "restored" => Settlement::Restored,
                "restore-failed" => Settlement::RestoreFailed,
                "committed" => Settlement::Committed,
                "pending" => Settlement::Pending,
                _ => return None,
            }),
            _ => return None,
        })
    }
}

/// Everything one script answered, gathered by kind. Of each failure only
/// the last counts: a script stops at its first.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replies {
    pub done: Vec<String>,
    pub busy: Option<String>,
    pub failed: Option<(String, String)>,
    pub rejected: Option<(usize, String)>,
    pub handler: Option<(usize, String)>,
    pub verify: Option<(usize, String)>,
    pub rollback: Option<Rollback>,
    pub settled: Option<Settlement>,
}

impl Replies {
    pub fn parse(stdout: &[u8], nonce: &str) -> Replies {
        let mut r = Replies::default();
        for line in String::from_utf8_lossy(stdout).lines() {
            match Reply::parse(line, nonce) {
                Some(Reply::Done(phase)) => r.done.push(phase),
                Some(Reply::Busy(holder)) => r.busy = Some(holder),
                Some(Reply::Failed { op, message }) => r.failed = Some((op, message)),
                Some(Reply::Rejected { index, output }) => r.rejected = Some((index, output)),
                Some(Reply::HandlerFailed { index, output }) => r.handler = Some((index, output)),
                Some(Reply::VerifyFailed { index, output }) => r.verify = Some((index, output)),
                Some(Reply::Rollback(answer)) => r.rollback = Some(answer),
                Some(Reply::Settled(how)) => r.settled = Some(how),
                None => {}
            }
        }
        r
    }

    pub fn has(&self, phase: &str) -> bool {
        self.done.iter().any(|d| d == phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn only_this_runs_framed_lines_are_answers() {
        let out = format!(
            "restored 0\nRECTIFY:{NONCE}:ok:locked\nRECTIFY:ffff:ok:committed\nRECTIFY:{NONCE}x:ok:prepared\n\
             ok:uploaded\nRECTIFY:{NONCE}:fail:3:chmod failed: really\nRECTIFY:{NONCE}:verify:1:a:b\n\
             RECTIFY:{NONCE}:rollback:restored:0\nRECTIFY:{NONCE}:settled:restore-failed\nRECTIFY:{NONCE}:weird:1\n"
        );
        let r = Replies::parse(out.as_bytes(), NONCE);
        assert_eq!(r.done, vec!["locked".to_string()]);
        assert!(r.has("locked") && !r.has("committed") && !r.has("prepared"));
        assert_eq!(r.failed, Some(("3".into(), "chmod failed: really".into())));
        assert_eq!(r.verify, Some((1, "a:b".into())));
        assert_eq!(r.rollback, Some(Rollback::Restored(0)));
        assert_eq!(r.settled, Some(Settlement::RestoreFailed));
    }

    #[test]
    fn malformed_answers_are_not_answers() {
        for line in [
            format!("RECTIFY:{NONCE}:verify:x:out"),
            format!("RECTIFY:{NONCE}:rollback:restored:zero"),
            format!("RECTIFY:{NONCE}:rollback:maybe"),
            format!("RECTIFY:{NONCE}:settled:soon"),
            format!("RECTIFY:{NONCE}"),
            format!("RECTIFY:{}:ok:locked", &NONCE[1..]),
        ] {
            assert_eq!(Reply::parse(&line, NONCE), None, "{line}");
        }
    }

    /// A prompt printed without a newline (even one forging another run's
    /// frame) glues onto the first answer; the answer is still read.
    #[test]
    fn an_answer_after_noise_on_its_line_is_read() {
        for noise in ["motd> ", " ", "RECTIFY:ffff:ok:timer", "\x1b[0m$ "] {
            let line = format!("{noise}RECTIFY:{NONCE}:ok:committed");
            assert_eq!(
                Reply::parse(&line, NONCE),
                Some(Reply::Done("committed".into())),
                "{line}"
            );
        }
        let first = format!("motd> RECTIFY:{NONCE}:validate:0:out RECTIFY:{NONCE}:ok:x");
        assert_eq!(
            Reply::parse(&first, NONCE),
            Some(Reply::Rejected {
                index: 0,
                output: format!("out RECTIFY:{NONCE}:ok:x")
            })
        );
    }

    #[test]
    fn rollback_answers_read_as_they_always_did() {
        assert_eq!(Rollback::Restored(1).to_string(), "restored 1");
        assert_eq!(Rollback::Nothing.to_string(), "nothing");
        assert_eq!(Rollback::Timer.to_string(), "timer");
        assert_eq!(Rollback::Busy.to_string(), "busy");
    }
}
