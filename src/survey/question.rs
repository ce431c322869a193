//! The question a survey asks, and the one-rule baseline it becomes: the
//! baseline loader checks its subject exactly as in a baseline file.

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use crate::baseline::{Baseline, Check, Remediations, Rule};
use crate::yaml::SourceFile;

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A file's whole content.
    File,
    /// `FILE:KEY`: a setting's value, read as an audit reads it (sshd's
    /// `Include`s followed for an sshd configuration).
    Setting,
    /// A sysctl's live value.
    Sysctl,
    /// A package's installed versions.
    Package,
    /// A command's output and exit status, the command run as given.
    Command,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Setting => "setting",
            Kind::Sysctl => "sysctl",
            Kind::Package => "package",
            Kind::Command => "command",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        [Kind::File, Kind::Setting, Kind::Sysctl, Kind::Package, Kind::Command]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// One survey's question: its kind and its subject as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub kind: Kind,
    pub subject: String,
}

/// Why a question cannot be asked.
#[derive(Debug, thiserror::Error)]
pub enum QuestionError {
    #[error("--setting takes FILE:KEY (e.g. /etc/ssh/sshd_config:PermitRootLogin), got {0:?}")]
    SettingSyntax(String),
    #[error("--{kind} {subject:?}: {message}")]
    Invalid {
        kind: &'static str,
        subject: String,
        message: String,
    },
}

/// The id of the rule a survey asks through, and captures.
pub const RULE_ID: &str = "SURVEY";

impl Question {
    /// The question as a rule's subject fields (no expectation yet).
    pub fn subject_fields(&self) -> Result<Mapping, QuestionError> {
        let mut m = Mapping::new();
        let mut put = |k: &str, v: &str| {
            m.insert(Value::String(k.into()), Value::String(v.into()));
        };
        match self.kind {
            Kind::File => {
                put("file", &self.subject);
                put("content", "");
            }
            Kind::Setting => {
                let (file, key) = self
                    .subject
                    .rsplit_once(':')
                    .filter(|(f, k)| !f.is_empty() && !k.is_empty())
                    .ok_or_else(|| QuestionError::SettingSyntax(self.subject.clone()))?;
                put("file", file);
                put("setting", key);
            }
            Kind::Sysctl => {
                put("sysctl", &self.subject);
                put("check", "live");
            }
            Kind::Package => {
                put("package", &self.subject);
                put("state", "installed");
            }
            Kind::Command => {
                put("command", &self.subject);
                m.insert("exit_code".into(), 0.into());
            }
        }
        Ok(m)
    }

    /// The rule the question is asked through, checked by the baseline
    /// loader as if it were written in a baseline.
    pub fn rule(&self) -> Result<Rule, QuestionError> {
        let mut rule = Mapping::new();
        rule.insert("id".into(), RULE_ID.into());
        rule.extend(self.subject_fields()?);
        let mut doc = Mapping::new();
        doc.insert("name".into(), "survey".into());
        doc.insert("rules".into(), Value::Sequence(vec![Value::Mapping(rule)]));
        let invalid = |message: String| QuestionError::Invalid {
            kind: self.kind.as_str(),
            subject: self.subject.clone(),
            message,
        };
        let text = serde_yaml::to_string(&Value::Mapping(doc)).map_err(|e| invalid(e.to_string()))?;
        let source = SourceFile {
            path: "survey".into(),
            text,
        };
        let baseline = Baseline::from_source_with(&source, Remediations::Ignore).map_err(|errors| {
            invalid(
                errors
                    .0
                    .iter()
                    .map(|e| e.message.trim_start_matches("rule SURVEY: ").to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        baseline
            .rules
            .into_iter()
            .next()
            .ok_or_else(|| invalid("no rule".into()))
    }

    /// Whether the answer must be withheld: a file (or setting) whose path
    /// holds secrets by its nature — password hashes, private keys.
    pub fn sensitive_path(rule: &Rule) -> bool {
        let path = match &rule.check {
            Check::Content { file, .. } | Check::Setting { file, .. } => file.as_str(),
            _ => return false,
        };
        sensitive_path(path)
    }
}

/// `/etc/shadow`, `/etc/gshadow` (and their `-` backups), sshd's host
/// keys, and any `*.key` or private `id_*` key file: their content is a
/// secret whoever reads it, so a survey groups hosts by them without
/// showing or storing them.
pub fn sensitive_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        path,
        "/etc/shadow" | "/etc/shadow-" | "/etc/gshadow" | "/etc/gshadow-" | "/etc/security/opasswd"
    ) || (name.starts_with("ssh_host_") && name.ends_with("_key"))
        || name.ends_with(".key")
        || (name.starts_with("id_") && !name.ends_with(".pub"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: Kind, subject: &str) -> Question {
        Question {
            kind,
            subject: subject.into(),
        }
    }

    #[test]
    fn questions_are_checked_as_rule_subjects() {
        assert!(matches!(
            q(Kind::Setting, "/etc/ssh/sshd_config:PermitRootLogin").rule().unwrap().check,
            Check::Setting { ref file, ref key, .. } if file == "/etc/ssh/sshd_config" && key == "PermitRootLogin"
        ));
        assert!(q(Kind::Sysctl, "net.ipv4.ip_forward").rule().is_ok());
        assert!(q(Kind::Command, "uname -r; echo '$x'").rule().is_ok());
        assert!(q(Kind::File, "/etc/hosts").rule().is_ok());
        let bad = [
            q(Kind::File, "etc/hosts"),
            q(Kind::Sysctl, "../../etc/passwd"),
            q(Kind::Package, "../bin/x"),
            q(Kind::Setting, "/etc/ssh/sshd_config"),
            q(Kind::Setting, "/etc/x:two words"),
        ];
        for b in bad {
            let e = b.rule().expect_err(&b.subject).to_string();
            assert!(!e.contains("SURVEY"), "{e}");
        }
    }

    #[test]
    fn secret_paths() {
        for p in [
            "/etc/shadow",
            "/etc/ssh/ssh_host_ed25519_key",
            "/root/.ssh/id_rsa",
            "/etc/ssl/private/a.key",
        ] {
            assert!(sensitive_path(p), "{p}");
        }
        for p in [
            "/etc/passwd",
            "/etc/ssh/ssh_host_ed25519_key.pub",
            "/root/.ssh/id_rsa.pub",
            "/etc/ssh/sshd_config",
        ] {
            assert!(!sensitive_path(p), "{p}");
        }
    }
}
