//! A host's answer to a survey question, read from the one fact the
//! question's rule collects. Pure: the facts were gathered already.

use crate::baseline::Check;
use crate::collect::facts::command::CommandOutput;
use crate::collect::facts::package::PackageFacts;
use crate::collect::facts::sysctl;
use crate::collect::{ProbeOutput, ProbeStatus};
use crate::redact::Redactor;

use super::model::Answer;

/// The answer `output` gives to the question `check` asks; secret values
/// (`redactor`) masked before it is hashed, so nothing stored or shown
/// holds them.
pub fn answer(check: &Check, output: &ProbeOutput, redactor: &Redactor) -> Answer {
    let (state, value) = read(check, output);
    let value = match String::from_utf8(value) {
        Ok(text) if !redactor.is_empty() => redactor.redact(&text).into_bytes(),
        Ok(text) => text.into_bytes(),
        Err(e) => e.into_bytes(),
    };
    Answer::new(&state, value)
}

fn read(check: &Check, output: &ProbeOutput) -> (String, Vec<u8>) {
    let none = |state: &str| (state.to_string(), Vec::new());
    let failed = |output: &ProbeOutput| match output {
        ProbeOutput::Missing => none("missing"),
        ProbeOutput::Status(s) => none(status_word(s)),
        ProbeOutput::Ok(_) | ProbeOutput::Parts(_) => none("malformed"),
    };
    match check {
        Check::Content { .. } => match output {
            ProbeOutput::Ok(bytes) => ("value".into(), bytes.clone()),
            other => failed(other),
        },
        Check::Command { .. } => match output {
            ProbeOutput::Ok(bytes) => match CommandOutput::parse(bytes) {
                Some(CommandOutput { stdout, status: 0 }) => ("value".into(), stdout.into_bytes()),
                Some(CommandOutput { stdout, status }) => (format!("exit {status}"), stdout.into_bytes()),
                // No status after the output: it was cut at the limit.
                None => ("cut".into(), bytes.clone()),
            },
            other => failed(other),
        },
        Check::Sysctl { .. } => match sysctl::decode(output) {
            Ok(Some(value)) => ("value".into(), sysctl::normalize(&value).into_bytes()),
            Ok(None) => none("no such key"),
            Err(s) => none(status_word(&s)),
        },
        Check::Package { name, .. } => match PackageFacts::parse(name, output) {
            Ok(facts) if facts.absent() => none("not installed"),
            Ok(facts) => {
                let mut lines: Vec<String> = facts.versions().iter().map(|v| format!("installed {v}")).collect();
                lines.extend(
                    facts
                        .partial
                        .iter()
                        .map(|p| format!("{} {}", p.state, p.instance.version)),
                );
                ("value".into(), format!("{}\n", lines.join("\n")).into_bytes())
            }
            Err(e) => (format!("error: {e}"), Vec::new()),
        },
        Check::Setting { .. } => match crate::evaluate::capture::capture(check, output) {
            Ok(fields) => match fields.get("expect").and_then(serde_yaml::Value::as_str) {
                Some(value) => ("value".into(), unraw(value).as_bytes().to_vec()),
                None => none("not set"),
            },
            Err(crate::evaluate::EvalError::GoneOnGolden(_)) => none("missing"),
            Err(crate::evaluate::EvalError::Read { status, .. }) => none(status_word(&status)),
            Err(e) => (format!("error: {e}"), Vec::new()),
        },
        Check::Line { .. } | Check::Metadata(_) | Check::Service { .. } => none("not a survey question"),
    }
}

/// A captured value as the host wrote it: capture wraps values that look
/// like template syntax in a raw block, which a survey shows unwrapped.
fn unraw(value: &str) -> &str {
    value
        .strip_prefix("{% raw %}")
        .and_then(|v| v.strip_suffix("{% endraw %}"))
        .unwrap_or(value)
}

/// The read's status as a short word for grouping.
fn status_word(status: &ProbeStatus) -> &'static str {
    match status {
        ProbeStatus::Denied => "denied",
        ProbeStatus::IsDir => "a directory",
        ProbeStatus::NotFile => "not a regular file",
        ProbeStatus::TooLarge => "too large",
        ProbeStatus::OverBudget => "over budget",
        ProbeStatus::Unreadable => "read error",
        ProbeStatus::Garbled => "garbled",
        ProbeStatus::Malformed => "malformed",
        ProbeStatus::Other(_) => "unexpected status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{Kind, Question};

    fn ask(kind: Kind, subject: &str, output: ProbeOutput) -> Answer {
        let rule = Question {
            kind,
            subject: subject.into(),
        }
        .rule()
        .unwrap();
        answer(&rule.check, &output, &Redactor::default())
    }

    fn ok(text: &str) -> ProbeOutput {
        ProbeOutput::Ok(text.as_bytes().to_vec())
    }

    #[test]
    fn answers_per_kind() {
        let a = ask(Kind::Command, "x", ok("out\n\n3"));
        assert_eq!((a.state.as_str(), a.text().as_deref()), ("exit 3", Some("out\n")));
        let a = ask(Kind::Command, "x", ok("cut-without-status"));
        assert_eq!(a.state, "cut");
        let a = ask(Kind::Sysctl, "net.ipv4.ip_forward", ok("1\t 2\n"));
        assert_eq!(a.text().as_deref(), Some("1 2"));
        assert_eq!(ask(Kind::Sysctl, "a.b", ProbeOutput::Missing).state, "no such key");
        let a = ask(Kind::Setting, "/etc/app.conf:color", ok("color = {{ x }}\n"));
        assert_eq!(a.text().as_deref(), Some("{{ x }}"));
        assert_eq!(
            ask(Kind::Setting, "/etc/app.conf:size", ok("color = 1\n")).state,
            "not set"
        );
        assert_eq!(
            ask(Kind::Setting, "/etc/app.conf:size", ProbeOutput::Missing).state,
            "missing"
        );
        let a = ask(
            Kind::Package,
            "p",
            ok("manager=dpkg\namd64\tinstall ok installed\t1.2-3\n"),
        );
        assert_eq!(a.text().as_deref(), Some("installed 1.2-3\n"));
        assert_eq!(ask(Kind::Package, "p", ok("manager=dpkg\n")).state, "not installed");
        let a = ask(Kind::File, "/etc/f", ProbeOutput::Status(ProbeStatus::Denied));
        assert_eq!(a.state, "denied");
        let a = ask(Kind::File, "/etc/f", ProbeOutput::Status(ProbeStatus::TooLarge));
        assert_eq!((a.state.as_str(), a.size), ("too large", 0));
    }

    #[test]
    fn secret_vars_are_masked_before_hashing() {
        let mut vars = crate::template::Vars::new();
        vars.insert("db_password".into(), "hunter22".into());
        let r = Redactor::new(&vars, &Default::default());
        let rule = Question {
            kind: Kind::File,
            subject: "/etc/f".into(),
        }
        .rule()
        .unwrap();
        let a = answer(&rule.check, &ok("pw=hunter22\n"), &r);
        assert_eq!(a.text().as_deref(), Some("pw=********\n"));
    }
}
