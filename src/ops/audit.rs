//! `rectify audit`: the inputs checked all at once, then the audit engine.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use crate::audit::{self, AuditPlan};
use crate::baseline::{Baseline, Remediations};
use crate::config_error::ConfigErrors;
use crate::error::Error;
use crate::fleet::Event;
use crate::report::RunReport;
use crate::waiver::Waiver;

/// Loads every baseline, reporting all problems at once; `remediations`
/// says whether their `remediation:` playbooks must resolve (`fix`) or
/// not (an audit, which never runs them).
pub fn load_baselines(paths: &[PathBuf], remediations: Remediations) -> Result<Vec<Baseline>, Error> {
    let mut errors = ConfigErrors::default();
    let mut baselines = Vec::new();
    for path in paths {
        match Baseline::load_with(path, remediations) {
            Ok(b) => baselines.push(b),
            Err(mut e) => errors.0.append(&mut e.0),
        }
    }
    if errors.0.is_empty() {
        Ok(baselines)
    } else {
        Err(Error::Config(errors))
    }
}

/// The baselines and waivers of an audit. Everything that can be wrong
/// with them is found before any host is contacted (exit 2, nothing
/// contacted), and reported at once.
pub fn load_inputs(baselines: &[PathBuf], waivers: Option<&Path>) -> Result<(Vec<Baseline>, Vec<Waiver>), Error> {
    let mut errors = ConfigErrors::default();
    let baselines = load_baselines(baselines, Remediations::Ignore).unwrap_or_else(|e| {
        if let Error::Config(mut e) = e {
            errors.0.append(&mut e.0);
        }
        Vec::new()
    });
    let waivers = match waivers {
        Some(path) => Waiver::load_file(path).unwrap_or_else(|mut e| {
            errors.0.append(&mut e.0);
            Vec::new()
        }),
        None => Vec::new(),
    };
    if errors.0.is_empty() {
        Ok((baselines, waivers))
    } else {
        Err(Error::Config(errors))
    }
}

/// Audits the plan's hosts, sending progress to `events`; `stop` is
/// Ctrl-C ([`audit::Stop`]).
pub async fn audit(
    plan: AuditPlan,
    events: Option<mpsc::UnboundedSender<Event>>,
    stop: Option<audit::Stop>,
) -> RunReport {
    audit::run(plan, events, stop).await
}
