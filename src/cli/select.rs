//! `--rule`, `--tags`, `--skip-tags`: the options that narrow `audit` and
//! `fix` to some rules of their baselines (`baseline::select`).

use clap::Args;

use super::Error;
use crate::baseline::select::RuleSelector;
use crate::baseline::Baseline;

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
