//! `rectify capture`: a baseline written from a golden host's live values,
//! like goss's autoadd but over SSH. Every rule of the starting baseline
//! keeps its id, title, severity and subject; its expectation becomes what
//! the golden host has. `--file PATH` adds whole-file rules.

use std::time::Duration;

use chrono::Utc;
use serde_yaml::{Mapping, Value};

use crate::baseline::{Baseline, Check, Rule, Severity};
use crate::collect::{gather, GatherError, Probes};
use crate::evaluate::capture::capture;
use crate::evaluate::{probe_for, CollectLimits};
use crate::inventory::Host;
use crate::transport::Transport;

/// What capturing produced: the new baseline's text, and the rules that
/// could not be captured (with why), which are left out.
pub struct Captured {
    pub yaml: String,
    pub skipped: Vec<(String, String)>,
}

/// Why a golden host could not be captured at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The golden host could not be reached: the transport's error, on one line.
    #[error("{0}")]
    Connect(String),
    #[error(transparent)]
    Gather(#[from] GatherError),
    #[error("no rule could be captured from this host")]
    NothingCaptured,
    #[error("{0}")]
    Yaml(#[from] serde_yaml::Error),
}

/// A whole-file rule for `--file PATH`.
pub fn file_rule(path: &str) -> Rule {
    let slug: String = path
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '-'
            }
        })
        .collect();
    Rule {
        id: format!("FILE-{slug}"),
        title: format!("{path} is as on the golden host"),
        severity: Severity::Medium,
        rationale: None,
        remediation: None,
        docs: Default::default(),
        hosts: None,
        tags: Vec::new(),
        when: None,
        excluded: None,
        check: Check::Content {
            file: path.to_string(),
            expected: String::new(),
        },
    }
}

pub async fn capture_host(
    connection: &dyn Transport,
    host: &Host,
    from: &Baseline,
    extra: &[Rule],
    command_timeout: Duration,
) -> Result<Captured, CaptureError> {
    let limits = CollectLimits::default();
    let rules: Vec<&Rule> = from
        .rules
        .iter()
        .filter(|r| r.hosts.as_ref().is_none_or(|p| p.matches(&host.name, &host.groups)))
        .chain(extra.iter())
        .collect();
    let mut probes = Probes::default();
    let indices: Vec<usize> = rules.iter().map(|r| probes.add(probe_for(r, &limits))).collect();
    let outputs = gather(connection, host, &probes, command_timeout).await?;

    let mut list = Vec::new();
    let mut skipped = Vec::new();
    for (rule, index) in rules.iter().zip(indices) {
        match capture(&rule.check, &outputs[index]) {
            Ok(fields) => {
                let mut m = Mapping::new();
                let mut put = |k: &str, v: Value| {
                    m.insert(Value::String(k.into()), v);
                };
                put("id", rule.id.as_str().into());
                put("title", rule.title.as_str().into());
                put("severity", rule.severity.as_str().into());
                if let Some(r) = &rule.rationale {
                    put("rationale", r.as_str().into());
                }
                // What the rule tells people carries over to the captured one.
                if !rule.docs.references.is_empty() {
                    put("references", serde_yaml::to_value(&rule.docs.references)?);
                }
                if let Some(m) = &rule.docs.manual_check {
                    put("manual_check", m.as_str().into());
                }
                if rule.docs.level != 1 {
                    put("level", u64::from(rule.docs.level).into());
                }
                if let Some(m) = &rule.docs.manual_remediation {
                    let mut r = Mapping::new();
                    r.insert("manual".into(), m.as_str().into());
                    put("remediation", Value::Mapping(r));
                }
                if let Some(r) = &rule.remediation {
                    let p = &r.playbook;
                    let absolute = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                    let path: Value = absolute.display().to_string().into();
                    match &r.steps {
                        None => put("remediation", path),
                        Some(steps) => {
                            let mut m = Mapping::new();
                            m.insert("playbook".into(), path);
                            m.insert("steps".into(), steps.iter().map(|s| Value::from(s.as_str())).collect());
                            put("remediation", Value::Mapping(m));
                        }
                    }
                }
                if !rule.tags.is_empty() {
                    put("tags", rule.tags.iter().map(|t| Value::from(t.as_str())).collect());
                }
                for (k, v) in fields {
                    m.insert(k, v);
                }
                list.push(Value::Mapping(m));
            }
            Err(why) => skipped.push((rule.id.clone(), why.to_string())),
        }
    }
    if list.is_empty() {
        return Err(CaptureError::NothingCaptured);
    }
    let mut doc = Mapping::new();
    doc.insert("name".into(), format!("{}-{}", from.name, host.name).into());
    doc.insert(
        "description".into(),
        format!(
            "{} as on {}, captured {}",
            from.description.as_deref().unwrap_or(&from.name),
            host.name,
            Utc::now().format("%Y-%m-%d")
        )
        .into(),
    );
    doc.insert("rules".into(), Value::Sequence(list));
    let mut yaml = format!(
        "# Captured by `rectify capture` from host {} on {}, starting from {}.\n# Every expectation is that host's live value.\n",
        host.name,
        Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        from.path.display()
    );
    for (id, why) in &skipped {
        yaml.push_str(&format!("# Not captured: {id}: {}\n", why.replace('\n', " ")));
    }
    yaml.push_str(&serde_yaml::to_string(&Value::Mapping(doc))?);
    Ok(Captured { yaml, skipped })
}
