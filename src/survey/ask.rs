//! Asking every host: one connection and one collection command per host,
//! `forks` hosts at a time (the fleet runner the audit uses), each bounded
//! by the connect timeout and the command timeout, so a dead host costs
//! only its own slot.

use std::sync::Arc;
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use tokio::sync::mpsc;

use super::answer::answer;
use super::model::{HostAnswer, Survey};
use super::question::Question;
use crate::audit::{stopped, Stop};
use crate::baseline::Rule;
use crate::collect::{gather, Probes};
use crate::evaluate::{probe_for, CollectLimits};
use crate::fleet::{self, Cancel, Event, Schedule};
use crate::inventory::Host;
use crate::redact::Redactor;
use crate::report::HostStatus;
use crate::run_id::new_run_id;
use crate::transport::{one_line, ConnectOptions, Connector};

/// Everything a survey needs, decided by the caller.
pub struct SurveyPlan {
    pub hosts: Vec<Host>,
    pub question: Question,
    /// The question's rule ([`Question::rule`]).
    pub rule: Rule,
    /// Withhold the answers (a sensitive path, or `--sensitive`).
    pub sensitive: bool,
    pub limits: CollectLimits,
    pub connect: ConnectOptions,
    /// Bound on the collection command, beyond a command question's own.
    pub command_timeout: Duration,
    pub forks: usize,
}

/// Asks every host of the plan; answers in the plan's host order. Once
/// `stop` (Ctrl-C) says `true`, hosts in flight are abandoned and hosts
/// not started are not asked (a survey changes nothing, so there is
/// nothing to finish): they are not reached, with `interrupted` as error.
pub async fn run(plan: SurveyPlan, events: Option<mpsc::UnboundedSender<Event>>, stop: Option<Stop>) -> Survey {
    // Milliseconds, as the state database keeps them: `show` prints the
    // same times the survey printed.
    let started = Utc::now().trunc_subsecs(3);
    let run_id = new_run_id(started);
    let names: Vec<String> = plan.hosts.iter().map(|h| h.name.clone()).collect();
    let connector = Connector::new(plan.connect.clone());
    let context = Arc::new((plan, connector, run_id.clone()));
    let outcomes = fleet::run(
        &names,
        Schedule::forks(context.0.forks),
        events.as_ref(),
        &Cancel::default(),
        |a: &HostAnswer| {
            if a.answer.is_some() {
                HostStatus::Compliant
            } else {
                HostStatus::Error
            }
        },
        |i| {
            let context = context.clone();
            let stop = stop.clone();
            async move {
                let (plan, connector, run_id) = &*context;
                let host = &plan.hosts[i];
                let Some(stop) = stop else {
                    return ask_host(host, plan, connector, run_id).await;
                };
                if *stop.borrow() {
                    return interrupted(host, "interrupted before this host was asked");
                }
                tokio::select! {
                    answer = ask_host(host, plan, connector, run_id) => answer,
                    () = stopped(stop) => interrupted(host, "interrupted while this host was being asked"),
                }
            }
        },
    )
    .await;
    let plan = &context.0;
    let hosts = plan
        .hosts
        .iter()
        .zip(outcomes)
        .map(|(host, outcome)| {
            outcome.unwrap_or_else(|unfinished| HostAnswer {
                host: host.name.clone(),
                address: host.address.clone(),
                answer: None,
                error: Some(unfinished.error),
            })
        })
        .collect();
    Survey {
        run_id,
        started,
        finished: Utc::now().trunc_subsecs(3),
        question: plan.question.clone(),
        sensitive: plan.sensitive,
        hosts,
    }
}

fn interrupted(host: &Host, why: &str) -> HostAnswer {
    HostAnswer {
        host: host.name.clone(),
        address: host.address.clone(),
        answer: None,
        error: Some(why.to_string()),
    }
}

async fn ask_host(host: &Host, plan: &SurveyPlan, connector: &Connector, run_id: &str) -> HostAnswer {
    let mut result = HostAnswer {
        host: host.name.clone(),
        address: host.address.clone(),
        answer: None,
        error: None,
    };
    let connection = match connector.connect(host).await {
        Ok(c) => c,
        Err(e) => {
            result.error = Some(one_line(&e));
            return result;
        }
    };
    let mut probes = Probes::default();
    probes.add(probe_for(&plan.rule, &plan.limits));
    let outputs = gather(connection.as_ref(), host, &probes, plan.command_timeout).await;
    connection.close().await;
    match outputs {
        Ok(outputs) => {
            // Secret vars of the host (by name) never reach an answer.
            let redactor = Redactor::new(&host.vars, &Default::default());
            let a = answer(&plan.rule.check, &outputs[0], &redactor);
            result.answer = Some(if plan.sensitive { a.withheld(run_id) } else { a });
        }
        Err(e) => result.error = Some(e.to_string()),
    }
    result
}
