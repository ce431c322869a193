//! `rectify fix`: which remediation playbook fixes which host. Every
//! remediation playbook is loaded (and rendered for every host) before
//! anything is contacted; after the first audit, each playbook is applied
//! only to the hosts where a rule linked to it fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::apply::{plan_for, work_for, ApplyOptions};
use crate::apply::{ApplyPlan, HostWork};
use crate::baseline::Baseline;
use crate::config_error::ConfigErrors;
use crate::error::Error;
use crate::inventory::Host;
use crate::playbook::Playbook;
use crate::report::{RuleStatus, RunReport};
use crate::template::Vars;

/// The remediation playbooks of the baselines' rules, by path; all load
/// errors at once.
pub fn load_playbooks(baselines: &[Baseline]) -> Result<BTreeMap<PathBuf, Playbook>, Error> {
    let mut playbooks: BTreeMap<PathBuf, Playbook> = BTreeMap::new();
    let mut errors = ConfigErrors::default();
    for rule in baselines.iter().flat_map(|b| &b.rules) {
        if let Some(path) = &rule.remediation {
            if !playbooks.contains_key(path) {
                match Playbook::load(path) {
                    Ok(p) => {
                        playbooks.insert(path.clone(), p);
                    }
                    Err(mut e) => errors.0.append(&mut e.0),
                }
            }
        }
    }
    if errors.0.is_empty() {
        Ok(playbooks)
    } else {
        Err(Error::Config(errors))
    }
}

/// Every remediation playbook, rendered for every host.
pub struct Remediations {
    playbooks: BTreeMap<PathBuf, Playbook>,
    rendered: Vec<(PathBuf, Vec<HostWork>)>,
}

impl Remediations {
    pub fn render(playbooks: BTreeMap<PathBuf, Playbook>, hosts: &[Host], extra: &Vars) -> Result<Remediations, Error> {
        let mut rendered = Vec::new();
        for (path, playbook) in &playbooks {
            rendered.push((path.clone(), work_for(playbook, hosts, extra)?));
        }
        Ok(Remediations { playbooks, rendered })
    }

    /// One apply plan per playbook that fixes some host of `before`, with
    /// run id `FIX_ID.N` (N counting every playbook, so a playbook keeps its
    /// number whether or not it had work).
    pub fn plans(
        self,
        baselines: &[Baseline],
        before: &RunReport,
        fix_id: &str,
        options: &ApplyOptions,
    ) -> Vec<(ApplyPlan, String)> {
        let mut plans = Vec::new();
        for (n, (path, work)) in self.rendered.into_iter().enumerate() {
            let playbook = &self.playbooks[&path];
            let failing = failing_hosts(baselines, before, &path);
            let work: Vec<HostWork> = work
                .into_iter()
                .filter(|w| failing.contains(&w.host.name.as_str()))
                .collect();
            if work.is_empty() {
                continue;
            }
            plans.push((plan_for(playbook, work, options), format!("{fix_id}.{}", n + 1)));
        }
        plans
    }
}

/// The hosts of `before` with a failing rule whose remediation is `path`.
fn failing_hosts<'a>(baselines: &[Baseline], before: &'a RunReport, path: &PathBuf) -> Vec<&'a str> {
    before
        .hosts
        .iter()
        .filter(|h| {
            h.results.iter().any(|r| {
                matches!(r.status, RuleStatus::Fail | RuleStatus::Error)
                    && baselines
                        .iter()
                        .flat_map(|b| &b.rules)
                        .any(|rule| rule.id == r.id && rule.remediation.as_ref() == Some(path))
            })
        })
        .map(|h| h.name.as_str())
        .collect()
}
