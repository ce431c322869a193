//! `when:` — whether a rule, or a whole baseline, applies to a host. The
//! conditions test host facts gathered in the same remote command as the
//! rules' own facts (`evaluate/when.rs` names the facts and judges them);
//! docs/baseline.md lists the forms.

use serde_yaml::Value;

use super::expect::scalar_text;
use crate::version::VersionConstraint;

/// A condition as read from `when:`.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// Every one holds: a mapping with several keys, or a list.
    All(Vec<When>),
    /// At least one holds: `any: [...]`.
    Any(Vec<When>),
    /// `not: CONDITION`.
    Not(Box<When>),
    /// os-release `ID` is one of these.
    Os(Vec<String>),
    /// os-release `ID`, or a word of `ID_LIKE`, is one of these.
    OsLike(Vec<String>),
    /// os-release `VERSION_ID` meets the constraint (Debian ordering).
    Version(VersionConstraint),
    /// The package is installed.
    Package(String),
    /// The path exists (following symlinks).
    File(String),
    /// The host knows the service (a unit or an init script).
    Service(String),
    /// `sh -c COMMAND` exits 0.
    Command(String),
    /// Each var has this value (for a list var: holds it).
    Var(Vec<(String, String)>),
}

/// Why a `when:` could not be read; `key` is the field to point at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("when: {message}")]
pub struct WhenError {
    pub key: String,
    pub message: String,
}

const KEYS: &str = "os, os_like, version, package, file, service, command, var, not, any";

fn err(key: &str, message: impl Into<String>) -> WhenError {
    WhenError {
        key: key.to_string(),
        message: message.into(),
    }
}

impl When {
    /// Reads a `when:` value: a mapping (all its keys hold) or a list of
    /// them (all hold).
    pub fn parse(value: &Value) -> Result<When, WhenError> {
        match value {
            Value::Sequence(items) if items.is_empty() => Err(err("when", "an empty list")),
            Value::Sequence(items) => Ok(When::All(items.iter().map(When::parse).collect::<Result<_, _>>()?)),
            Value::Mapping(map) if map.is_empty() => Err(err("when", "an empty mapping")),
            Value::Mapping(map) => {
                let mut all = Vec::new();
                for (k, v) in map {
                    let key = k.as_str().ok_or_else(|| err("when", "keys must be text"))?;
                    all.push(When::one(key, v)?);
                }
                Ok(if all.len() == 1 { all.remove(0) } else { When::All(all) })
            }
            _ => Err(err("when", format!("expected a mapping of {KEYS}, or a list of them"))),
        }
    }

    fn one(key: &str, value: &Value) -> Result<When, WhenError> {
        let text = |v: &Value| scalar_text(v).map_err(|_| err(key, format!("`{key}` takes a value")));
        let words = |v: &Value| -> Result<Vec<String>, WhenError> {
            let list = match v {
                Value::Sequence(items) if !items.is_empty() => items.iter().map(text).collect::<Result<_, _>>()?,
                Value::Sequence(_) => return Err(err(key, format!("`{key}`: an empty list"))),
                other => vec![text(other)?],
            };
            Ok(list)
        };
        let name = |v: &Value| -> Result<String, WhenError> {
            let n = text(v)?;
            let ok = !n.is_empty()
                && !n.starts_with(['-', '.'])
                && n.chars().all(|c| c.is_ascii_alphanumeric() || "@_.:+-".contains(c));
            if ok {
                Ok(n)
            } else {
                Err(err(
                    key,
                    format!("invalid {key} name {n:?}: letters, digits and @_.:+- only"),
                ))
            }
        };
        match key {
            "os" => Ok(When::Os(words(value)?)),
            "os_like" => Ok(When::OsLike(words(value)?)),
            "version" => text(value)?
                .parse()
                .map(When::Version)
                .map_err(|e: crate::version::VersionConstraintError| err(key, e.to_string())),
            "package" => Ok(When::Package(name(value)?)),
            "service" => Ok(When::Service(name(value)?)),
            "file" => {
                let path = text(value)?;
                if !path.starts_with('/') {
                    return Err(err(key, format!("file must be an absolute path, got {path:?}")));
                }
                Ok(When::File(path))
            }
            "command" => {
                let command = text(value)?;
                if command.trim().is_empty() {
                    return Err(err(key, "an empty command"));
                }
                Ok(When::Command(command))
            }
            "var" => {
                let Value::Mapping(map) = value else {
                    return Err(err(key, "`var` takes a mapping of var names to values"));
                };
                if map.is_empty() {
                    return Err(err(key, "`var`: an empty mapping"));
                }
                let mut pairs = Vec::new();
                for (k, v) in map {
                    pairs.push((text(k)?, text(v)?));
                }
                Ok(When::Var(pairs))
            }
            "not" => Ok(When::Not(Box::new(When::parse(value)?))),
            "any" => match value {
                Value::Sequence(items) if !items.is_empty() => {
                    Ok(When::Any(items.iter().map(When::parse).collect::<Result<_, _>>()?))
                }
                _ => Err(err(key, "`any` takes a non-empty list of conditions")),
            },
            other => Err(err(
                other,
                format!("unknown condition `{other}`; expected one of {KEYS}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(y: &str) -> Result<When, WhenError> {
        When::parse(&serde_yaml::from_str(y).unwrap())
    }

    #[test]
    fn every_form() {
        assert_eq!(
            w("{os: [debian, ubuntu]}").unwrap(),
            When::Os(vec!["debian".into(), "ubuntu".into()])
        );
        assert_eq!(
            w("{os_like: rhel, version: '>= 9'}").unwrap(),
            When::All(vec![
                When::OsLike(vec!["rhel".into()]),
                When::Version(">= 9".parse().unwrap())
            ])
        );
        assert_eq!(
            w("{package: openssh-server}").unwrap(),
            When::Package("openssh-server".into())
        );
        assert_eq!(
            w("{file: /etc/ssh/sshd_config}").unwrap(),
            When::File("/etc/ssh/sshd_config".into())
        );
        assert_eq!(w("{service: ssh}").unwrap(), When::Service("ssh".into()));
        assert_eq!(
            w("{command: 'test -d /x'}").unwrap(),
            When::Command("test -d /x".into())
        );
        assert_eq!(
            w("{var: {role: web, tier: 1}}").unwrap(),
            When::Var(vec![("role".into(), "web".into()), ("tier".into(), "1".into())])
        );
        assert_eq!(
            w("[{not: {os: alpine}}, {any: [{file: /a}, {package: b}]}]").unwrap(),
            When::All(vec![
                When::Not(Box::new(When::Os(vec!["alpine".into()]))),
                When::Any(vec![When::File("/a".into()), When::Package("b".into())])
            ])
        );
    }

    #[test]
    fn bad_forms_name_their_key() {
        assert_eq!(w("{osx: 1}").unwrap_err().key, "osx");
        assert_eq!(w("{file: etc/x}").unwrap_err().key, "file");
        assert_eq!(w("{package: ../x}").unwrap_err().key, "package");
        assert_eq!(w("{version: '>= 1, < 2'}").unwrap_err().key, "version");
        assert_eq!(w("{var: web}").unwrap_err().key, "var");
        assert_eq!(w("{any: {os: a}}").unwrap_err().key, "any");
        assert!(w("[]").is_err());
        assert!(w("{}").is_err());
        assert!(w("debian").is_err());
        assert!(w("{os: []}").is_err());
        assert!(w("{os: ~}").is_err());
    }
}
