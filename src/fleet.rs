//! Running one job per host across a fleet, for the audit and the repair
//! engine alike: at most `forks` hosts at a time, in batches (`--serial`)
//! that stop once too many hosts failed (`--max-fail`) or the run was
//! cancelled (Ctrl-C), with progress [`Event`]s for whoever shows them.
//! The engines themselves never print.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

use crate::report::{HostReport, HostStatus};

/// Progress of one host.
#[derive(Debug, Clone)]
pub enum Event {
    HostStarted {
        name: String,
    },
    HostFinished {
        name: String,
        status: HostStatus,
    },
    /// The host failed to connect and gets another attempt (`--retries`):
    /// its earlier `HostFinished` no longer counts.
    Retrying {
        name: String,
    },
    /// Something the operator should know that does not change the run
    /// (e.g. the journal could not be written), shown as `warning: …`.
    Warning(String),
}

/// A count or a share of the fleet, for `--serial` and `--max-fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Count(usize),
    Percent(u32),
}

/// Why a `--serial`/`--max-fail` value is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("invalid percentage {0:?}")]
    Percentage(String),
    #[error("{0} is more than 100%")]
    OverHundred(String),
    #[error("expected N or N%, got {0:?}")]
    Invalid(String),
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
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, AmountError> {
        if let Some(p) = s.strip_suffix('%') {
            let p: u32 = p.parse().map_err(|_| AmountError::Percentage(s.to_string()))?;
            if p > 100 {
                return Err(AmountError::OverHundred(s.to_string()));
            }
            Ok(Amount::Percent(p))
        } else {
            s.parse()
                .map(Amount::Count)
                .map_err(|_| AmountError::Invalid(s.to_string()))
        }
    }
}

/// How hosts are scheduled.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Hosts worked on at once.
    pub forks: usize,
    /// Hosts per batch; the next batch starts when one is done. All at once if `None`.
    pub serial: Option<Amount>,
    /// Stop starting batches once more than this many hosts failed.
    pub max_fail: Option<Amount>,
}

impl Schedule {
    /// Everything at once, `forks` at a time, never stopping early.
    pub fn forks(forks: usize) -> Schedule {
        Schedule {
            forks,
            serial: None,
            max_fail: None,
        }
    }
}

/// Cancellation shared by the run and whoever watches for Ctrl-C: once
/// set, no new batch starts and transactions not yet changing anything
/// stop; hosts in flight finish or roll back.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A host whose job gave no outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub status: HostStatus,
    pub error: String,
}

impl Unfinished {
    /// The host's report: it was never worked on, or its job died.
    pub fn report(self, name: &str, address: &str) -> HostReport {
        HostReport {
            name: name.to_string(),
            address: address.to_string(),
            status: self.status,
            error: Some(self.error),
            results: Vec::new(),
            changes: Vec::new(),
            duration_ms: 0,
            warnings: Vec::new(),
            attempts: 1,
            observed: Vec::new(),
        }
    }
}

/// A host that counts against `--max-fail`.
fn failed(status: HostStatus) -> bool {
    matches!(
        status,
        HostStatus::RolledBack | HostStatus::RollbackFailed | HostStatus::Error
    )
}

/// Runs `job(i)` for every host `names[i]` as [`Schedule`] says, sending
/// `HostStarted` once a host has a slot and `HostFinished` with
/// `status(outcome)` when it is done. The outcomes come back in host order.
pub async fn run<O, F, Fut>(
    names: &[String],
    schedule: Schedule,
    events: Option<&mpsc::UnboundedSender<Event>>,
    cancel: &Cancel,
    status: fn(&O) -> HostStatus,
    job: F,
) -> Vec<Result<O, Unfinished>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
    O: Send + 'static,
{
    let total = names.len();
    let batch = schedule.serial.map_or(total, |s| s.of(total)).max(1);
    let max_fail = schedule.max_fail.map(|m| m.of(total));
    let slots = Arc::new(Semaphore::new(schedule.forks.max(1)));

    let mut outcomes: Vec<Option<Result<O, Unfinished>>> = (0..total).map(|_| None).collect();
    let mut failures = 0;
    let mut stop_reason: Option<String> = None;

    for chunk_start in (0..total).step_by(batch) {
        if stop_reason.is_none() && cancel.is_cancelled() {
            stop_reason = Some("interrupted".into());
        }
        if stop_reason.is_some() {
            break;
        }
        let mut tasks = Vec::new();
        for (index, name) in names
            .iter()
            .enumerate()
            .take((chunk_start + batch).min(total))
            .skip(chunk_start)
        {
            let (slots, events, name) = (slots.clone(), events.cloned(), name.clone());
            let work = job(index);
            tasks.push((
                index,
                tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await.expect("semaphore is never closed");
                    if let Some(tx) = &events {
                        let _ = tx.send(Event::HostStarted { name: name.clone() });
                    }
                    crate::debug!("{name}: started");
                    let outcome = work.await;
                    crate::debug!("{name}: finished, {:?}", status(&outcome));
                    if let Some(tx) = &events {
                        let _ = tx.send(Event::HostFinished {
                            name,
                            status: status(&outcome),
                        });
                    }
                    outcome
                }),
            ));
        }
        for (index, task) in tasks {
            outcomes[index] = Some(match task.await {
                Ok(outcome) => {
                    if failed(status(&outcome)) {
                        failures += 1;
                    }
                    Ok(outcome)
                }
                Err(e) => {
                    failures += 1;
                    Err(Unfinished {
                        status: HostStatus::Error,
                        error: format!("internal error: {e}"),
                    })
                }
            });
        }
        if let Some(limit) = max_fail {
            if failures > limit {
                stop_reason = Some(format!(
                    "{} failed, more than --max-fail {limit}",
                    crate::report::human::count(failures, "host")
                ));
            }
        }
    }

    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                let why = stop_reason.clone().unwrap_or_else(|| "not started".into());
                Err(Unfinished {
                    status: HostStatus::NotStarted,
                    error: format!("not started: {why}"),
                })
            })
        })
        .collect()
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

    #[test]
    fn amount_messages_are_the_ones_users_saw() {
        assert_eq!(
            "x%".parse::<Amount>().unwrap_err().to_string(),
            "invalid percentage \"x%\""
        );
        assert_eq!(
            "101%".parse::<Amount>().unwrap_err().to_string(),
            "101% is more than 100%"
        );
        assert_eq!(
            "x".parse::<Amount>().unwrap_err().to_string(),
            "expected N or N%, got \"x\""
        );
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("h{i}")).collect()
    }

    #[tokio::test]
    async fn max_fail_stops_later_batches_and_says_why() {
        let schedule = Schedule {
            forks: 4,
            serial: Some(Amount::Count(1)),
            max_fail: Some(Amount::Count(0)),
        };
        let out = run(
            &names(3),
            schedule,
            None,
            &Cancel::default(),
            |s: &HostStatus| *s,
            |_| async { HostStatus::Error },
        )
        .await;
        assert_eq!(out[0], Ok(HostStatus::Error));
        let expected = Err(Unfinished {
            status: HostStatus::NotStarted,
            error: "not started: 1 host failed, more than --max-fail 0".into(),
        });
        assert_eq!(out[1], expected);
        assert_eq!(out[2], expected);
    }

    #[tokio::test]
    async fn a_cancelled_run_starts_nothing_and_events_follow_hosts() {
        let cancel = Cancel::default();
        cancel.cancel();
        let out = run(
            &names(2),
            Schedule::forks(2),
            None,
            &cancel,
            |s: &HostStatus| *s,
            |_| async { HostStatus::Compliant },
        )
        .await;
        assert!(out
            .iter()
            .all(|o| o.as_ref().is_err_and(|u| u.error == "not started: interrupted")));

        let (tx, mut rx) = mpsc::unbounded_channel();
        let out = run(
            &names(1),
            Schedule::forks(1),
            Some(&tx),
            &Cancel::default(),
            |s: &HostStatus| *s,
            |_| async { HostStatus::Compliant },
        )
        .await;
        assert_eq!(out, vec![Ok(HostStatus::Compliant)]);
        assert!(matches!(rx.try_recv(), Ok(Event::HostStarted { name }) if name == "h0"));
        assert!(matches!(
            rx.try_recv(),
            Ok(Event::HostFinished {
                status: HostStatus::Compliant,
                ..
            })
        ));
    }
}
