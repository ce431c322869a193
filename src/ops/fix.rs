//! `rectify fix`: which remediation playbook fixes which host. Every
//! remediation playbook is loaded (and rendered for every host) before
//! anything is contacted; after the first audit, each playbook is applied
//! only to the hosts where a rule linked to it fails, and there only with
//! the steps those failing rules name (every step where one of them names
//! the whole playbook). A step of a rule that passes never runs, so a value
//! already stricter than the rule (`MaxAuthTries 2` against `max: 4`) is
//! never loosened to the playbook's.

use std::collections::{BTreeMap, BTreeSet};
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
        if let Some(path) = rule.remediation.as_ref().map(|r| &r.playbook) {
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

/// The rules (baseline name, rule id) that have no `remediation:` at all:
/// fix cannot change them, and says so when they fail. A `manual:`
/// remediation is not among them: its instructions are reported instead.
pub fn unremediable(baselines: &[Baseline]) -> BTreeSet<(String, String)> {
    baselines
        .iter()
        .flat_map(|b| b.rules.iter().map(move |r| (b, r)))
        .filter(|(_, r)| r.remediation.is_none() && r.docs.manual_remediation.is_none())
        .map(|(b, r)| (b.name.clone(), r.id.clone()))
        .collect()
}

/// "RULE: no remediation, still failing on host01, host02" for each rule
/// of `report` marked `no_remediation`, in rule order.
pub fn unremediated_lines(report: &RunReport) -> Vec<String> {
    let mut by_rule: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for h in &report.hosts {
        for r in h.results.iter().filter(|r| r.no_remediation) {
            by_rule.entry(&r.id).or_default().push(&h.name);
        }
    }
    by_rule
        .into_iter()
        .map(|(rule, hosts)| format!("{rule}: no remediation, still failing on {}", hosts.join(", ")))
        .collect()
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
            let work: Vec<HostWork> = work
                .into_iter()
                .filter_map(|mut w| {
                    match wanted_steps(baselines, before, &w.host.name, &path)? {
                        Wanted::All => {}
                        Wanted::Named(names) => w.steps.retain(|s| names.contains(s.name.as_str())),
                    }
                    (!w.steps.is_empty()).then_some(w)
                })
                .collect();
            if work.is_empty() {
                continue;
            }
            plans.push((plan_for(playbook, work, options), format!("{fix_id}.{}", n + 1)));
        }
        plans
    }
}

/// Which steps of one playbook a host needs.
enum Wanted<'a> {
    All,
    Named(BTreeSet<&'a str>),
}

/// The steps of the playbook at `path` that the rules failing on `host` in
/// `before` name; `None` when no rule linked to it fails there.
fn wanted_steps<'a>(baselines: &'a [Baseline], before: &RunReport, host: &str, path: &PathBuf) -> Option<Wanted<'a>> {
    let results = &before.hosts.iter().find(|h| h.name == host)?.results;
    let mut wanted: Option<Wanted<'a>> = None;
    for rule in baselines.iter().flat_map(|b| &b.rules) {
        let Some(remediation) = rule.remediation.as_ref().filter(|r| &r.playbook == path) else {
            continue;
        };
        let failing = results
            .iter()
            .any(|r| r.id == rule.id && matches!(r.status, RuleStatus::Fail | RuleStatus::Error));
        if !failing {
            continue;
        }
        wanted = Some(match (wanted, &remediation.steps) {
            (Some(Wanted::All), _) | (_, None) => Wanted::All,
            (Some(Wanted::Named(mut names)), Some(steps)) => {
                names.extend(steps.iter().map(String::as_str));
                Wanted::Named(names)
            }
            (None, Some(steps)) => Wanted::Named(steps.iter().map(String::as_str).collect()),
        });
    }
    wanted
}
