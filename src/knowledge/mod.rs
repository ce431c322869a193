//! The knowledge behind the baselines, as pages for a team wiki and the
//! web view: per rule what it protects (rationale), how to check it by hand
//! (`manual_check`), how rectify checks it (the rule as written), how it is
//! fixed (the remediation playbook's steps as written, or the manual
//! text), its references, and from the run history where and when it came
//! back (recurrences) and where it fails now.
//!
//! [`pages`] builds the model (pure); [`markdown`] and [`html`] render it
//! (pure); [`export`] writes the files. File names come from
//! [`file_stem`], never from a rule id as it is.

pub mod export;
pub mod html;
pub mod markdown;

use std::path::Path;

use serde::Serialize;

use crate::baseline::{Baseline, Rule, Severity};
use crate::history::{Recurrence, Stats};
use crate::yaml::SourceFile;

/// One rule's page.
#[derive(Debug, Clone, Serialize)]
pub struct RulePage {
    /// The page's file name without extension ([`file_stem`]): unique
    /// among the pages, safe as a file name and a URL segment.
    pub file: String,
    pub id: String,
    pub title: String,
    pub severity: &'static str,
    #[serde(skip)]
    pub rank: Severity,
    pub level: u8,
    /// The baseline (the area) it belongs to.
    pub baseline: String,
    pub rationale: Option<String>,
    pub manual_check: Option<String>,
    /// `(catalogue, ids)` in catalogue order, only catalogues with ids.
    pub references: Vec<(String, Vec<String>)>,
    pub tags: Vec<String>,
    /// The rule as written in its baseline (YAML, comments dropped).
    pub check: String,
    pub remediation: RemediationDoc,
    /// From the state database; `None` when there is no history to read.
    pub history: Option<RuleHistory>,
}

/// How a rule is fixed.
#[derive(Debug, Clone, Serialize)]
pub struct RemediationDoc {
    /// `playbook`, `manual` or `none`.
    pub kind: &'static str,
    /// The playbook `fix` runs, as the baseline names it.
    pub playbook: Option<String>,
    /// The playbook runs whole (`steps` are then all of its steps).
    pub whole: bool,
    /// The steps that fix runs, each as written in the playbook.
    pub steps: Vec<StepDoc>,
    pub manual: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepDoc {
    pub name: String,
    /// The step as written (YAML), empty when the playbook cannot be read.
    pub yaml: String,
}

/// What the run history says of a rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleHistory {
    /// Start of the period read (its date, so that pages exported the same
    /// day from the same history are the same bytes).
    pub since: String,
    /// Hosts the rule was checked on.
    pub hosts: usize,
    pub failures: usize,
    pub failing_now: Vec<String>,
    /// Each time it failed again on a host where it had passed, oldest
    /// first.
    pub recurrences: Vec<Recurrence>,
}

/// The pages of every rule the baselines run (rules a profile or
/// tailoring leaves out are not documented), sorted by baseline then id,
/// with their history from `stats` when given.
pub fn pages(baselines: &[Baseline], stats: Option<&Stats>) -> Vec<RulePage> {
    let mut list: Vec<(&Baseline, &Rule)> = baselines
        .iter()
        .flat_map(|b| b.rules.iter().map(move |r| (b, r)))
        .filter(|(_, r)| r.excluded.is_none())
        .collect();
    list.sort_by(|(a, r), (b, s)| (a.name.as_str(), r.id.as_str()).cmp(&(b.name.as_str(), s.id.as_str())));
    // `index` is the index page's name.
    let mut used: Vec<String> = vec!["index".into()];
    list.into_iter()
        .map(|(b, r)| {
            let mut file = file_stem(&r.id);
            if used.contains(&file) {
                file = file_stem(&format!("{}--{}", b.name, r.id));
            }
            let mut n = 2;
            let base = file.clone();
            while used.contains(&file) {
                file = format!("{base}-{n}");
                n += 1;
            }
            used.push(file.clone());
            page(b, r, file, stats)
        })
        .collect()
}

fn page(b: &Baseline, r: &Rule, file: String, stats: Option<&Stats>) -> RulePage {
    let references = crate::baseline::docs::CATALOGUES
        .iter()
        .filter(|c| !r.docs.references.get(c).is_empty())
        .map(|c| (c.to_string(), r.docs.references.get(c).to_vec()))
        .collect();
    let remediation = match (&r.remediation, &r.docs.manual_remediation) {
        (Some(rem), _) => {
            let names = match &rem.steps {
                Some(steps) => steps.clone(),
                None => step_names(&rem.playbook),
            };
            RemediationDoc {
                kind: "playbook",
                playbook: Some(rem.playbook.display().to_string()),
                whole: rem.steps.is_none(),
                steps: names
                    .into_iter()
                    .map(|name| StepDoc {
                        yaml: as_written(&rem.playbook, "steps", "name", &name),
                        name,
                    })
                    .collect(),
                manual: None,
            }
        }
        (None, Some(manual)) => RemediationDoc {
            kind: "manual",
            playbook: None,
            whole: false,
            steps: Vec::new(),
            manual: Some(manual.clone()),
        },
        (None, None) => RemediationDoc {
            kind: "none",
            playbook: None,
            whole: false,
            steps: Vec::new(),
            manual: None,
        },
    };
    let history = stats.map(|s| {
        let found = s.rules.iter().find(|x| x.baseline == b.name && x.rule == r.id);
        RuleHistory {
            since: s.since.get(..10).unwrap_or(&s.since).to_string(),
            hosts: found.map_or(0, |x| x.hosts),
            failures: found.map_or(0, |x| x.failures),
            failing_now: found.map(|x| x.failing_now.clone()).unwrap_or_default(),
            recurrences: found.map(|x| x.recurring.clone()).unwrap_or_default(),
        }
    });
    RulePage {
        file,
        id: r.id.clone(),
        title: r.title.clone(),
        severity: r.severity.as_str(),
        rank: r.severity,
        level: r.docs.level,
        baseline: b.name.clone(),
        rationale: r.rationale.clone(),
        manual_check: r.docs.manual_check.clone(),
        references,
        tags: r.tags.clone(),
        check: as_written(&b.path, "rules", "id", &r.id),
        remediation,
        history,
    }
}

/// The page `name` names in the web view (`/knowledge/NAME`): by its file
/// stem, else by rule id.
pub fn find<'a>(pages: &'a [RulePage], name: &str) -> Option<&'a RulePage> {
    pages
        .iter()
        .find(|p| p.file == name)
        .or_else(|| pages.iter().find(|p| p.id == name))
}

/// A file name (without extension) for a page: ASCII letters, digits, `-`
/// and `_` kept, everything else `_`; never empty, never starting with
/// `.` or `-`, at most 100 bytes. Rule ids are already `[A-Za-z0-9._-]+`;
/// this holds for any text (no `/`, no `..`, nothing hidden).
pub fn file_stem(text: &str) -> String {
    let mut stem: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    stem = stem.replace("..", "__");
    if stem.is_empty() || stem.starts_with(['.', '-']) {
        stem.insert(0, '_');
    }
    stem
}

/// The names of every step of a playbook (empty when it cannot be read).
fn step_names(path: &Path) -> Vec<String> {
    let Some(doc) = SourceFile::read(path)
        .ok()
        .and_then(|s| s.parse::<serde_yaml::Value>().ok())
    else {
        return Vec::new();
    };
    doc.get("steps")
        .and_then(|s| s.as_sequence())
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| s.get("name")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The item of list `list` in the YAML file at `path` whose `key` is
/// `value`, printed back as YAML (comments dropped), indented two spaces;
/// empty if not found.
pub fn as_written(path: &Path, list: &str, key: &str, value: &str) -> String {
    let Some(doc) = SourceFile::read(path)
        .ok()
        .and_then(|s| s.parse::<serde_yaml::Value>().ok())
    else {
        return String::new();
    };
    let item = doc.get(list).and_then(|l| l.as_sequence()).and_then(|items| {
        items
            .iter()
            .find(|i| i.get(key).and_then(|v| v.as_str()) == Some(value))
    });
    match item {
        Some(item) => {
            let text = serde_yaml::to_string(&serde_yaml::Value::Sequence(vec![item.clone()])).unwrap_or_default();
            text.lines().map(|l| format!("  {l}\n")).collect()
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe_for_any_text() {
        assert_eq!(file_stem("SSH-ROOT-LOGIN"), "SSH-ROOT-LOGIN");
        assert_eq!(file_stem("../../etc/passwd"), "______etc_passwd");
        for text in ["..", ".", "", "-rf", "a/b", "a\0b", "ä", ".hidden", "x..y"] {
            let s = file_stem(text);
            assert!(
                !s.is_empty() && !s.starts_with(['.', '-']) && !s.contains('/') && !s.contains(".."),
                "{text:?} → {s:?}"
            );
        }
    }

    #[test]
    fn the_shipped_baselines_make_one_page_per_rule_with_unique_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines");
        let mut baselines = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            baselines.push(Baseline::load_with(&entry.unwrap().path(), crate::baseline::Remediations::Ignore).unwrap());
        }
        let pages = pages(&baselines, None);
        let rules: usize = baselines.iter().map(|b| b.rules.len()).sum();
        assert_eq!(pages.len(), rules);
        let mut files: Vec<&str> = pages.iter().map(|p| p.file.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), rules, "file names are unique");
        let root = find(&pages, "SSH-ROOT-LOGIN").expect("the shipped rule");
        assert_eq!(root.remediation.kind, "playbook");
        assert!(
            root.remediation.steps[0]
                .yaml
                .contains("name: root logs in with keys only"),
            "{:?}",
            root.remediation
        );
        assert!(root.check.contains("id: SSH-ROOT-LOGIN"));
    }
}
