//! A rule's `remediation:`: the playbook `fix` runs where the rule fails,
//! whole or only the named steps. Step names are checked against the
//! playbook when the baseline loads, so a misspelt one is exit 2 with its
//! position before any host is contacted, not a silent no-op at fix time.
//! An audit loads baselines with [`super::Remediations::Ignore`]: it never
//! runs a playbook, so one that does not resolve must not stop it.

use super::rule::RuleBuilder;
use super::{RawRemediation, Remediation, RuleDocs};
use crate::config_error::ConfigError;
use crate::yaml::SourceFile;

impl RuleBuilder<'_> {
    pub(super) fn remediation(&self, errors: &mut Vec<ConfigError>) -> Option<Remediation> {
        let (rel, steps) = match self.raw.remediation.as_ref()? {
            RawRemediation::Playbook(rel) => (rel, None),
            RawRemediation::Steps(s) => (&s.playbook, Some(s.steps.clone())),
            RawRemediation::Manual(_) => return None,
        };
        let playbook = self.source.sibling(rel);
        if self.remediations == super::Remediations::Ignore {
            // Kept as written: nothing in an audit opens it.
            return Some(Remediation {
                playbook,
                steps: steps.clone(),
            });
        }
        if !playbook.is_file() {
            errors.push(self.error(
                "remediation",
                rel,
                format!("remediation playbook {} does not exist", playbook.display()),
            ));
            return None;
        }
        if let Some(steps) = &steps {
            if steps.is_empty() {
                errors.push(self.error(
                    "steps",
                    "",
                    "`steps` names no step; omit it to run the whole playbook".into(),
                ));
            }
            // A playbook that does not parse is reported by its own loader
            // (fix loads every remediation); here only names are compared.
            if let Some(known) = step_names(&playbook) {
                for name in steps.iter().filter(|n| !known.contains(n)) {
                    errors.push(self.error(
                        "steps",
                        "",
                        format!(
                            "remediation playbook {} has no step named {name:?} (named steps: {})",
                            playbook.display(),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Some(Remediation { playbook, steps })
    }
}

impl RuleBuilder<'_> {
    /// `references:`, `manual_check:`, `remediation: {manual:}` and
    /// `level:`; texts must say something, the level is 1 or 2.
    pub(super) fn docs(&self, errors: &mut Vec<ConfigError>) -> RuleDocs {
        let r = self.raw;
        let manual_remediation = match &r.remediation {
            Some(RawRemediation::Manual(m)) => Some(m.manual.trim().to_string()),
            _ => None,
        };
        if manual_remediation.as_deref() == Some("") {
            errors.push(self.error("manual", "", "`manual` remediation text is empty".into()));
        }
        let manual_check = r.manual_check.as_ref().map(|t| t.trim().to_string());
        if manual_check.as_deref() == Some("") {
            errors.push(self.error("manual_check", "", "`manual_check` is empty".into()));
        }
        let level = r.level.unwrap_or(1);
        if !(1..=2).contains(&level) {
            errors.push(self.error("level", &level.to_string(), format!("level {level}: expected 1 or 2")));
        }
        let references = r.references.clone().unwrap_or_default();
        for c in super::docs::CATALOGUES {
            if references
                .get(c)
                .iter()
                .any(|id| id.trim().is_empty() || id.chars().any(char::is_whitespace))
            {
                errors.push(self.error(c, "", format!("references: a {c} id is empty or has blanks")));
            }
        }
        RuleDocs {
            references,
            manual_check,
            manual_remediation,
            level,
        }
    }
}

/// The `name:`s of a playbook's steps, in order; `None` if it cannot be read
/// as YAML. Read through [`SourceFile`], which bounds size and nesting.
fn step_names(path: &std::path::Path) -> Option<Vec<String>> {
    let doc: serde_yaml::Value = SourceFile::read(path).ok()?.parse().ok()?;
    let steps = doc.get("steps")?.as_sequence()?;
    Some(
        steps
            .iter()
            .filter_map(|s| s.get("name")?.as_str().map(str::to_string))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use crate::baseline::{Baseline, Remediation};

    /// The shipped playbook, reached from a baseline in `baselines/`.
    fn load(remediation: &str) -> Result<Baseline, crate::config_error::ConfigErrors> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines");
        let text = format!(
            "name: t\nrules:\n  - id: A\n    remediation: {remediation}\n    file: /etc/ssh/sshd_config\n    setting: X11Forwarding\n    expect: \"no\"\n"
        );
        Baseline::from_source(&crate::yaml::SourceFile {
            path: dir.join("t.yaml"),
            text,
        })
    }

    #[test]
    fn a_path_is_the_whole_playbook_and_steps_name_a_subset() {
        let playbook =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/../playbooks/ssh-hardening.yaml");
        let b = load("../playbooks/ssh-hardening.yaml").unwrap();
        assert_eq!(
            b.rules[0].remediation,
            Some(Remediation {
                playbook: playbook.clone(),
                steps: None
            })
        );
        let b = load("{playbook: ../playbooks/ssh-hardening.yaml, steps: [no X11 forwarding]}").unwrap();
        assert_eq!(
            b.rules[0].remediation,
            Some(Remediation {
                playbook,
                steps: Some(vec!["no X11 forwarding".into()])
            })
        );
    }

    #[test]
    fn an_unknown_step_name_is_an_error_at_its_line() {
        let e = load("{playbook: ../playbooks/ssh-hardening.yaml, steps: [no X11]}").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("t.yaml:4:"), "{text}");
        assert!(text.contains("has no step named \"no X11\""), "{text}");
        let e = load("{playbook: ../playbooks/ssh-hardening.yaml, steps: []}").unwrap_err();
        assert!(e.to_string().contains("names no step"), "{e}");
        let e = load("{playbook: ../playbooks/ssh-hardening.yaml, step: [no X11 forwarding]}").unwrap_err();
        assert!(e.to_string().contains("t.yaml:"), "{e}");
    }
}
