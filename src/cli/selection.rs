//! Which rules a run works on, in the order they apply: `--profile FILE`
//! and `--tailoring FILE` (shared by `audit`, `fix`, `validate` and `list
//! rules`: which baselines, which of their rules, with which values), then
//! `--rule`, `--tags` and `--skip-tags`, which narrow `audit` and `fix` to
//! some of those rules (`baseline::select`). Everything is checked before
//! any host is contacted.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::Error;
use crate::baseline::select::RuleSelector;
use crate::baseline::tailoring::{select_level, Profile, Tailoring};
use crate::baseline::{Baseline, Remediations};
use crate::playbook::Playbook;

#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Profile: a named set of baselines and a level (see profiles/); with -b, adds to them.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// Tailoring file: deselect/select rules (ids, globs), set the level, override vars and values.
    #[arg(long, value_name = "FILE")]
    pub tailoring: Option<PathBuf>,
}

impl SelectionArgs {
    /// The profile's baselines and `extra` (the `-b` files), loaded,
    /// levelled and tailored; every problem of every file at once.
    /// `remediations`: whether the rules' playbook paths must resolve (an
    /// audit never runs them).
    pub fn baselines(&self, extra: &[PathBuf], remediations: Remediations) -> Result<Vec<Baseline>, Error> {
        let profile = self.profile.as_deref().map(Profile::load).transpose()?;
        let mut paths: Vec<PathBuf> = profile.iter().flat_map(|p| p.baselines.clone()).collect();
        paths.extend(extra.iter().cloned());
        let mut baselines = crate::ops::audit::load_baselines(&paths, remediations)?;
        self.tailor(&mut baselines, profile.as_ref())?;
        Ok(baselines)
    }

    /// The tailoring's vars (none without one): `fix` gives them to the
    /// remediation playbooks that declare the same var, so a tailored
    /// `pass_max_days: 60` is also what the fix writes. Host vars and `-e`
    /// still win, as they do over the playbook's own defaults.
    pub fn override_playbook_vars(&self, playbooks: &mut BTreeMap<PathBuf, Playbook>) -> Result<(), Error> {
        let Some(path) = &self.tailoring else {
            return Ok(());
        };
        let t = Tailoring::load(path)?;
        for p in playbooks.values_mut() {
            for (k, v) in t.vars() {
                if let Some(slot) = p.vars.get_mut(k) {
                    *slot = v.clone();
                }
            }
        }
        Ok(())
    }

    /// Applies the tailoring file (or only the profile's level).
    pub fn tailor(&self, baselines: &mut [Baseline], profile: Option<&Profile>) -> Result<(), Error> {
        match &self.tailoring {
            Some(path) => {
                let t = Tailoring::load(path)?;
                t.apply(baselines, profile).map_err(Error::Config)
            }
            None => {
                if let Some(p) = profile {
                    select_level(baselines, p.level, &format!("profile {}", p.name));
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Args, Default)]
pub struct SelectArgs {
    /// Only this rule: an id or a glob (`SSH-*`), case-insensitive; repeatable.
    #[arg(long = "rule", value_name = "ID|GLOB")]
    pub rules: Vec<String>,

    /// Only rules with one of these tags (comma list).
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    pub tags: Vec<String>,

    /// No rule with one of these tags (comma list).
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
}

impl SelectArgs {
    /// Drops the rules not selected from `baselines`; a selection that
    /// keeps nothing, or a `--rule` that names no rule, is bad input.
    pub fn narrow(&self, baselines: &mut Vec<Baseline>) -> Result<(), Error> {
        RuleSelector::new(&self.rules, &self.tags, &self.skip_tags)
            .and_then(|s| s.narrow(baselines))
            .map_err(|e| Error::Usage(e.to_string()))
    }
}
