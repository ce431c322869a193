//! Narrowing a run to some rules: `--rule ID|GLOB`, `--tags`, `--skip-tags`.
//! Rules left out are not audited, not reported and never remediated, as
//! if the baselines did not have them. A selector that keeps no rule at all
//! is bad input (exit 2), and so is a `--rule` that names no rule: a typo
//! must not turn into a run that checks nothing and reports compliance.

use globset::{GlobBuilder, GlobMatcher};

use super::{Baseline, Rule};

/// Which rules a run keeps. Each kind of filter given must hold: the id
/// matches one of `rules`, the rule has one of `tags`, and none of
/// `skip_tags`. With no filter at all every rule is kept.
#[derive(Debug, Clone, Default)]
pub struct RuleSelector {
    rules: Vec<(String, GlobMatcher)>,
    tags: Vec<String>,
    skip_tags: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("--rule {pattern:?}: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("--rule {0:?} matches no rule of the baselines")]
    NoSuchRule(String),
    #[error("--tags/--skip-tags and --rule leave no rule to check")]
    Empty,
}

impl RuleSelector {
    /// Rule ids are matched as globs (`SSH-*`), ignoring case; tags exactly.
    pub fn new(rules: &[String], tags: &[String], skip_tags: &[String]) -> Result<RuleSelector, SelectError> {
        let rules = rules
            .iter()
            .map(|pattern| {
                GlobBuilder::new(pattern)
                    .case_insensitive(true)
                    .build()
                    .map(|g| (pattern.clone(), g.compile_matcher()))
                    .map_err(|e| SelectError::BadPattern {
                        pattern: pattern.clone(),
                        reason: e.kind().to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        let clean = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        };
        Ok(RuleSelector {
            rules,
            tags: clean(tags),
            skip_tags: clean(skip_tags),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.tags.is_empty() && self.skip_tags.is_empty()
    }

    pub fn selects(&self, rule: &Rule) -> bool {
        let by_id = self.rules.is_empty() || self.rules.iter().any(|(_, m)| m.is_match(&rule.id));
        let by_tag = self.tags.is_empty() || rule.tags.iter().any(|t| self.tags.contains(t));
        let skipped = rule.tags.iter().any(|t| self.skip_tags.contains(t));
        by_id && by_tag && !skipped
    }

    /// Keeps only the selected rules; a baseline left without rules is
    /// dropped from the run (its name is not reported as checked).
    pub fn narrow(&self, baselines: &mut Vec<Baseline>) -> Result<(), SelectError> {
        if self.is_empty() {
            return Ok(());
        }
        for (pattern, matcher) in &self.rules {
            let known = baselines.iter().flat_map(|b| &b.rules).any(|r| matcher.is_match(&r.id));
            if !known {
                return Err(SelectError::NoSuchRule(pattern.clone()));
            }
        }
        for b in baselines.iter_mut() {
            b.rules.retain(|r| self.selects(r));
        }
        baselines.retain(|b| !b.rules.is_empty());
        if baselines.is_empty() {
            return Err(SelectError::Empty);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::SourceFile;

    fn baselines() -> Vec<Baseline> {
        let b = |name: &str, rules: &str| {
            Baseline::from_source(&SourceFile {
                path: format!("{name}.yaml").into(),
                text: format!("name: {name}\nrules:\n{rules}"),
            })
            .unwrap()
        };
        vec![
            b(
                "ssh",
                "  - {id: SSH-ROOT, sysctl: a.b, tags: [ssh, cis-l1]}\n  - {id: SSH-X11, sysctl: a.c, tags: [ssh, slow]}\n",
            ),
            b("net", "  - {id: NET-FWD, sysctl: a.d, tags: [net, cis-l1]}\n  - {id: NET-X, sysctl: a.e}\n"),
        ]
    }

    fn ids(selector: RuleSelector) -> Result<Vec<String>, SelectError> {
        let mut b = baselines();
        selector.narrow(&mut b)?;
        Ok(b.iter().flat_map(|b| &b.rules).map(|r| r.id.clone()).collect())
    }

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rules_tags_and_skip_tags() {
        let all = ids(RuleSelector::default()).unwrap();
        assert_eq!(all, ["SSH-ROOT", "SSH-X11", "NET-FWD", "NET-X"]);
        let sel = |r: &[&str], t: &[&str], k: &[&str]| ids(RuleSelector::new(&s(r), &s(t), &s(k)).unwrap());
        assert_eq!(sel(&["ssh-*"], &[], &[]).unwrap(), ["SSH-ROOT", "SSH-X11"]);
        assert_eq!(sel(&["SSH-X11", "NET-X"], &[], &[]).unwrap(), ["SSH-X11", "NET-X"]);
        assert_eq!(sel(&[], &["cis-l1"], &[]).unwrap(), ["SSH-ROOT", "NET-FWD"]);
        assert_eq!(sel(&[], &[], &["slow"]).unwrap(), ["SSH-ROOT", "NET-FWD", "NET-X"]);
        // Every kind of filter holds at once.
        assert_eq!(sel(&["SSH-*"], &["cis-l1"], &[]).unwrap(), ["SSH-ROOT"]);
        assert_eq!(sel(&[], &["ssh"], &["slow"]).unwrap(), ["SSH-ROOT"]);
    }

    #[test]
    fn a_selection_that_checks_nothing_is_an_error() {
        let sel = |r: &[&str], t: &[&str]| ids(RuleSelector::new(&s(r), &s(t), &[]).unwrap());
        assert_eq!(sel(&["SSH-X1"], &[]), Err(SelectError::NoSuchRule("SSH-X1".into())));
        assert_eq!(sel(&[], &["nosuchtag"]), Err(SelectError::Empty));
        assert_eq!(sel(&["NET-X"], &["ssh"]), Err(SelectError::Empty));
        assert!(RuleSelector::new(&s(&["SSH-["]), &[], &[]).is_err());
    }

    #[test]
    fn a_baseline_without_selected_rules_leaves_the_run() {
        let mut b = baselines();
        RuleSelector::new(&s(&["NET-*"]), &[], &[])
            .unwrap()
            .narrow(&mut b)
            .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].name, "net");
    }
}
