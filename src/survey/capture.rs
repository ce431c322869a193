//! `--capture-baseline`: the majority's answer as a one-rule baseline,
//! which the majority passes and every other answer fails.

use serde_yaml::{Mapping, Value};

use super::group::Grouped;
use super::model::Survey;
use super::question::{Kind, Question};
use crate::evaluate::capture::literal;

/// Why no baseline can be written from a survey.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no host answered: there is no majority to capture")]
    NoAnswer,
    #[error("the answers are withheld (sensitive): nothing to capture")]
    Withheld,
    #[error("the majority's answer ({0}) cannot be an expectation")]
    NotAValue(String),
    #[error("the majority's answer is not UTF-8 text")]
    NotText,
    #[error(transparent)]
    Question(#[from] super::question::QuestionError),
    #[error("{0}")]
    Yaml(#[from] serde_yaml::Error),
}

/// The rule id a question's captured rule gets: `SURVEY-` and the
/// question in capitals, other characters as `-` (at most 64 long).
pub fn rule_id(question: &Question) -> String {
    let mut slug = String::new();
    for c in format!("{}-{}", question.kind.as_str(), question.subject).chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '-'
        };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(56).collect();
    format!("SURVEY-{}", slug.trim_end_matches('-'))
}

/// The baseline (YAML text) whose one rule expects the majority's answer.
pub fn majority_baseline(survey: &Survey, grouped: &Grouped) -> Result<String, CaptureError> {
    if survey.sensitive {
        return Err(CaptureError::Withheld);
    }
    let group = grouped.majority().ok_or(CaptureError::NoAnswer)?;
    let hash = group.hash.as_deref().ok_or(CaptureError::NoAnswer)?;
    let answer = survey
        .hosts
        .iter()
        .filter_map(|h| h.answer.as_ref())
        .find(|a| a.hash == hash)
        .ok_or(CaptureError::NoAnswer)?;
    let value = answer.value.as_deref().ok_or(CaptureError::Withheld)?;
    let text = std::str::from_utf8(value).map_err(|_| CaptureError::NotText)?;
    let q = &survey.question;
    let mut rule = Mapping::new();
    let put = |m: &mut Mapping, k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    put(&mut rule, "id", rule_id(q).into());
    put(
        &mut rule,
        "title",
        format!("{} {} as on the majority of hosts", q.kind.as_str(), q.subject).into(),
    );
    put(&mut rule, "severity", "medium".into());
    let state = answer.state.as_str();
    let not_a_value = || CaptureError::NotAValue(state.to_string());
    match (q.kind, state) {
        (Kind::File, "value") => {
            put(&mut rule, "file", q.subject.as_str().into());
            put(&mut rule, "content", literal(text));
        }
        (Kind::File, "missing") => {
            put(&mut rule, "file", q.subject.as_str().into());
            put(&mut rule, "exists", false.into());
        }
        (Kind::Setting, "value" | "not set") => {
            let fields = q.subject_fields()?;
            rule.extend(fields);
            if state == "value" {
                put(&mut rule, "expect", literal(text));
            } else {
                put(&mut rule, "absent", true.into());
            }
        }
        (Kind::Sysctl, "value") => {
            rule.extend(q.subject_fields()?);
            put(&mut rule, "expect", literal(text));
        }
        (Kind::Package, "not installed") => {
            put(&mut rule, "package", q.subject.as_str().into());
            put(&mut rule, "state", "absent".into());
        }
        (Kind::Package, "value") => {
            // `installed VERSION` lines, in the manager's order: the one
            // version, or at least the oldest of several, as `capture` does.
            let versions: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("installed ")).collect();
            if versions.len() != text.lines().count() {
                return Err(CaptureError::NotAValue("partly installed".into()));
            }
            put(&mut rule, "package", q.subject.as_str().into());
            put(&mut rule, "state", "installed".into());
            match versions.as_slice() {
                [one] => put(&mut rule, "version", format!("= {one}").into()),
                [oldest, ..] => put(&mut rule, "version", format!(">= {oldest}").into()),
                [] => {}
            }
        }
        (Kind::Command, _) => {
            let status: i64 = match state {
                "value" => 0,
                s => s
                    .strip_prefix("exit ")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(not_a_value)?,
            };
            put(&mut rule, "command", q.subject.as_str().into());
            put(&mut rule, "expect", literal(text.trim()));
            put(&mut rule, "exit_code", status.into());
        }
        _ => return Err(not_a_value()),
    }
    let mut doc = Mapping::new();
    doc.insert("name".into(), format!("survey-{}", grouped.run_id).into());
    doc.insert(
        "description".into(),
        format!(
            "{} {} as {} of {} hosts answered in survey {}",
            q.kind.as_str(),
            q.subject,
            group.count,
            grouped.hosts,
            grouped.run_id
        )
        .into(),
    );
    doc.insert("rules".into(), Value::Sequence(vec![Value::Mapping(rule)]));
    let mut yaml = format!(
        "# Captured by `rectify survey` (run {}) from the majority answer: {} of {} hosts ({}).\n",
        grouped.run_id,
        group.count,
        grouped.hosts,
        group.compact.replace('\n', " ")
    );
    yaml.push_str(&serde_yaml::to_string(&Value::Mapping(doc))?);
    Ok(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_valid_whatever_the_subject() {
        let id = rule_id(&Question {
            kind: Kind::Command,
            subject: "uname -r; cat /etc/../x 'ä'".into(),
        });
        assert_eq!(id, "SURVEY-COMMAND-UNAME-R-CAT-ETC-X");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
