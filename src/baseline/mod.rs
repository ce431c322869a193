//! Baselines: named sets of rules describing how hosts should be configured.

pub mod expect;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use expect::Expect;

use crate::config_error::{find_key_value, ConfigError, ConfigErrors};
use crate::inventory::HostPattern;
use crate::template::{Renderer, Vars};
use crate::version::VersionConstraint;
use crate::yaml::SourceFile;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    Running,
    Stopped,
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageState {
    Installed,
    Absent,
}

/// A rule as written: every field any subject may use. [`Baseline::load`]
/// turns it into a [`Check`] and rejects combinations that make no sense.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: Option<String>,
    #[serde(default)]
    severity: Severity,
    rationale: Option<String>,
    remediation: Option<String>,
    hosts: Option<String>,
    file: Option<String>,
    setting: Option<String>,
    line: Option<String>,
    absent: Option<bool>,
    content: Option<String>,
    template: Option<String>,
    exists: Option<bool>,
    mode: Option<serde_yaml::Value>,
    max_mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
    sysctl: Option<String>,
    command: Option<String>,
    exit_code: Option<i32>,
    service: Option<String>,
    package: Option<String>,
    state: Option<String>,
    version: Option<String>,
    expect: Option<Expect>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    name: String,
    description: Option<String>,
    #[serde(default)]
    vars: Vars,
    rules: Vec<RawRule>,
}

/// What a rule checks, with everything it needs to do so.
#[derive(Debug, Clone)]
pub enum Check {
    Setting {
        file: String,
        key: String,
        expect: Option<Expect>,
    },
    Line {
        file: String,
        pattern: regex::Regex,
        expect: Option<Expect>,
        absent: bool,
    },
    Content {
        file: String,
        expected: String,
    },
    Metadata(Metadata),
    Sysctl {
        key: String,
        expect: Option<Expect>,
    },
    Command {
        command: String,
        expect: Option<Expect>,
        exit_code: Option<i32>,
    },
    Service {
        name: String,
        state: ServiceState,
    },
    Package {
        name: String,
        state: PackageState,
        version: Option<VersionConstraint>,
    },
}

#[derive(Debug, Clone)]
pub struct Metadata {
    pub file: String,
    pub exists: Option<bool>,
    pub mode: Option<u32>,
    pub max_mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub rationale: Option<String>,
    pub remediation: Option<PathBuf>,
    pub hosts: Option<HostPattern>,
    pub check: Check,
}

#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    pub description: Option<String>,
    pub vars: Vars,
    pub rules: Vec<Rule>,
    pub path: PathBuf,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, ConfigErrors> {
        let source = SourceFile::read(path)?;
        Self::from_source(&source)
    }

    pub fn from_source(source: &SourceFile) -> Result<Baseline, ConfigErrors> {
        let raw: RawBaseline = source.parse()?;
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let renderer = Renderer::default();

        for raw_rule in &raw.rules {
            let nth = seen.entry(raw_rule.id.as_str()).or_insert(0);
            let at = find_key_value(&source.text, "id", &raw_rule.id, *nth);
            *nth += 1;
            if *nth > 1 {
                errors.push(source.error_at(at, format!("duplicate rule id {:?}", raw_rule.id)));
                continue;
            }
            let builder = RuleBuilder {
                source,
                raw: raw_rule,
                renderer: &renderer,
                rule_at: at,
            };
            match builder.build() {
                Ok(rule) => rules.push(rule),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if raw.rules.is_empty() {
            errors.push(source.error_at(
                find_key_value(&source.text, "rules", "", 0),
                "the baseline has no rules",
            ));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Baseline {
            name: raw.name,
            description: raw.description,
            vars: raw.vars,
            rules,
            path: source.path.clone(),
        })
    }
}

struct RuleBuilder<'a> {
    source: &'a SourceFile,
    raw: &'a RawRule,
    renderer: &'a Renderer,
    /// Where the rule's `id:` is, for errors that cannot be placed better.
    rule_at: crate::config_error::Position,
}

impl RuleBuilder<'_> {
    /// An error placed on `key: value` if it can be found after the rule's
    /// start, else on the rule's id.
    fn error(&self, key: &str, value: &str, message: String) -> ConfigError {
        let rule_start: usize = self
            .source
            .text
            .split_inclusive('\n')
            .take(self.rule_at.line - 1)
            .map(str::len)
            .sum();
        let rest = &self.source.text[rule_start..];
        let p = find_key_value(rest, key, value, 0);
        let position = if p.line == 1 && p.column == 1 && !rest.contains(key) {
            self.rule_at
        } else {
            crate::config_error::Position {
                line: p.line + self.rule_at.line - 1,
                column: p.column,
            }
        };
        self.source
            .error_at(position, format!("rule {}: {message}", self.raw.id))
    }

    fn build(self) -> Result<Rule, Vec<ConfigError>> {
        let r = self.raw;
        let mut errors = Vec::new();

        if r.id.is_empty() || !r.id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            errors.push(self.error("id", &r.id, "id must match [A-Za-z0-9._-]+".into()));
        }
        let hosts = match r.hosts.as_deref().map(HostPattern::parse) {
            Some(Err(e)) => {
                errors.push(self.error("hosts", r.hosts.as_deref().unwrap_or_default(), e.to_string()));
                None
            }
            Some(Ok(p)) => Some(p),
            None => None,
        };
        let remediation = r.remediation.as_deref().map(|rel| self.source.sibling(rel));
        if let (Some(path), Some(rel)) = (&remediation, &r.remediation) {
            if !path.is_file() {
                errors.push(self.error(
                    "remediation",
                    rel,
                    format!("remediation playbook {} does not exist", path.display()),
                ));
            }
        }
        if let Some(expect) = &r.expect {
            for text in expect.texts() {
                if let Err(e) = self.renderer.check_syntax(text) {
                    errors.push(self.error("expect", "", e.to_string()));
                }
            }
            if let Expect::Regex(re) = expect {
                if !re.contains("{{") {
                    if let Err(e) = regex::Regex::new(re) {
                        errors.push(self.error("regex", "", format!("invalid regex: {e}")));
                    }
                }
            }
        }

        let check = match self.check(&mut errors) {
            Some(check) if errors.is_empty() => check,
            _ => return Err(errors),
        };
        Ok(Rule {
            id: r.id.clone(),
            title: r.title.clone().unwrap_or_else(|| r.id.clone()),
            severity: r.severity,
            rationale: r.rationale.clone(),
            remediation,
            hosts,
            check,
        })
    }

    fn check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        let subjects: Vec<&str> = [
            ("file", r.file.is_some()),
            ("sysctl", r.sysctl.is_some()),
            ("command", r.command.is_some()),
            ("service", r.service.is_some()),
            ("package", r.package.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
        if subjects.len() != 1 {
            let msg = if subjects.is_empty() {
                "needs exactly one subject: file, sysctl, command, service or package".to_string()
            } else {
                format!(
                    "has {} subjects ({}); a rule checks exactly one",
                    subjects.len(),
                    subjects.join(", ")
                )
            };
            errors.push(self.error("id", &r.id, msg));
            return None;
        }

        // Fields that belong to one subject only.
        let mut only = |field: &str, set: bool, allowed_for: &[&str]| {
            if set && !allowed_for.contains(&subjects[0]) {
                errors.push(self.error(
                    field,
                    "",
                    format!("`{field}` does not apply to a `{}` rule", subjects[0]),
                ));
            }
        };
        only("setting", r.setting.is_some(), &["file"]);
        only("line", r.line.is_some(), &["file"]);
        only("content", r.content.is_some(), &["file"]);
        only("template", r.template.is_some(), &["file"]);
        only("absent", r.absent.is_some(), &["file"]);
        only("exists", r.exists.is_some(), &["file"]);
        only("mode", r.mode.is_some(), &["file"]);
        only("max_mode", r.max_mode.is_some(), &["file"]);
        only("owner", r.owner.is_some(), &["file"]);
        only("group", r.group.is_some(), &["file"]);
        only("exit_code", r.exit_code.is_some(), &["command"]);
        only("state", r.state.is_some(), &["service", "package"]);
        only("version", r.version.is_some(), &["package"]);

        match subjects[0] {
            "file" => self.file_check(errors),
            "sysctl" => {
                let key = r.sysctl.clone().unwrap_or_default();
                if !crate::collect::valid_sysctl_key(&key) {
                    errors.push(self.error("sysctl", &key, format!("invalid sysctl key {key:?}")));
                }
                Some(Check::Sysctl {
                    key,
                    expect: r.expect.clone(),
                })
            }
            "command" => {
                if r.expect.is_none() && r.exit_code.is_none() {
                    errors.push(self.error(
                        "command",
                        "",
                        "a command rule needs `expect`, `exit_code`, or both".into(),
                    ));
                }
                Some(Check::Command {
                    command: r.command.clone().unwrap_or_default(),
                    expect: r.expect.clone(),
                    exit_code: r.exit_code,
                })
            }
            "service" => {
                self.no_expect(errors, "service");
                self.plain_name(errors, "service", r.service.as_deref().unwrap_or_default());
                let state = self.state::<ServiceState>(errors, "running, stopped, enabled or disabled")?;
                Some(Check::Service {
                    name: r.service.clone().unwrap_or_default(),
                    state,
                })
            }
            "package" => {
                self.no_expect(errors, "package");
                self.plain_name(errors, "package", r.package.as_deref().unwrap_or_default());
                let state = self.state::<PackageState>(errors, "installed or absent")?;
                let version = match r.version.as_deref().map(str::parse::<VersionConstraint>) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(e)) => {
                        errors.push(self.error("version", "", e.to_string()));
                        None
                    }
                    None => None,
                };
                if version.is_some() && state == PackageState::Absent {
                    errors.push(self.error("version", "", "`version` needs state: installed".into()));
                }
                Some(Check::Package {
                    name: r.package.clone().unwrap_or_default(),
                    state,
                    version,
                })
            }
            _ => unreachable!("subjects are from the list above"),
        }
    }

    /// Service and package names become paths on the host (`/etc/init.d/NAME`):
    /// only plain names, so `../../bin/x` cannot name another program.
    fn plain_name(&self, errors: &mut Vec<ConfigError>, key: &str, name: &str) {
        let ok = !name.is_empty()
            && !name.starts_with(['-', '.'])
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "@_.:+-".contains(c));
        if !ok {
            errors.push(self.error(
                key,
                name,
                format!("invalid {key} name {name:?}: letters, digits and @_.:+- only"),
            ));
        }
    }

    fn no_expect(&self, errors: &mut Vec<ConfigError>, subject: &str) {
        if self.raw.expect.is_some() {
            errors.push(self.error(
                "expect",
                "",
                format!("`expect` does not apply to a `{subject}` rule; use `state`"),
            ));
        }
    }

    fn state<T: serde::de::DeserializeOwned>(&self, errors: &mut Vec<ConfigError>, allowed: &str) -> Option<T> {
        let Some(text) = &self.raw.state else {
            errors.push(self.error("id", &self.raw.id, format!("needs `state`: {allowed}")));
            return None;
        };
        match serde_yaml::from_value(serde_yaml::Value::String(text.clone())) {
            Ok(s) => Some(s),
            Err(_) => {
                errors.push(self.error("state", text, format!("invalid state {text:?}: expected {allowed}")));
                None
            }
        }
    }

    fn file_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        let file = r.file.clone().unwrap_or_default();
        if !file.starts_with('/') {
            errors.push(self.error("file", &file, format!("file must be an absolute path, got {file:?}")));
        }
        let metadata =
            r.exists.is_some() || r.mode.is_some() || r.max_mode.is_some() || r.owner.is_some() || r.group.is_some();
        let kinds = [
            r.setting.is_some(),
            r.line.is_some(),
            r.content.is_some() || r.template.is_some(),
            metadata,
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            errors.push(self.error(
                "file",
                &file,
                "a file rule checks one thing: `setting`, `line`, `content`/`template`, or metadata (exists, mode, max_mode, owner, group)".into(),
            ));
            return None;
        }
        if r.absent.is_some() && r.line.is_none() {
            errors.push(self.error("absent", "", "`absent` applies to `line` rules".into()));
        }
        if let Some(key) = &r.setting {
            if key.trim().is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
                errors.push(self.error("setting", key, format!("invalid setting key {key:?}")));
            }
            return Some(Check::Setting {
                file,
                key: key.clone(),
                expect: r.expect.clone(),
            });
        }
        if let Some(pattern) = &r.line {
            let pattern = match regex::Regex::new(pattern) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(self.error("line", "", format!("invalid regex: {e}")));
                    return None;
                }
            };
            let absent = r.absent.unwrap_or(false);
            if absent && r.expect.is_some() {
                errors.push(self.error("absent", "", "`absent: true` and `expect` contradict each other".into()));
            }
            return Some(Check::Line {
                file,
                pattern,
                expect: r.expect.clone(),
                absent,
            });
        }
        if r.content.is_some() || r.template.is_some() {
            if r.expect.is_some() {
                errors.push(self.error("expect", "", "`expect` does not apply to whole-file rules".into()));
            }
            let expected = match (&r.content, &r.template) {
                (Some(_), Some(_)) => {
                    errors.push(self.error("template", "", "give `content` or `template`, not both".into()));
                    return None;
                }
                (Some(text), None) => text.clone(),
                (None, Some(rel)) => match std::fs::read_to_string(self.source.sibling(rel)) {
                    Ok(text) => text,
                    Err(e) => {
                        errors.push(self.error(
                            "template",
                            rel,
                            format!("cannot read template {}: {e}", self.source.sibling(rel).display()),
                        ));
                        return None;
                    }
                },
                (None, None) => unreachable!("checked above"),
            };
            if let Err(e) = self.renderer.check_syntax(&expected) {
                errors.push(self.error(
                    if r.template.is_some() { "template" } else { "content" },
                    "",
                    e.to_string(),
                ));
            }
            return Some(Check::Content { file, expected });
        }
        if r.expect.is_some() {
            errors.push(self.error("expect", "", "`expect` does not apply to metadata checks".into()));
        }
        let mode = self.mode(errors, "mode", &r.mode);
        let max_mode = self.mode(errors, "max_mode", &r.max_mode);
        if r.exists == Some(false) && (mode.is_some() || max_mode.is_some() || r.owner.is_some() || r.group.is_some()) {
            errors.push(self.error(
                "exists",
                "",
                "`exists: false` cannot be combined with mode, owner or group".into(),
            ));
        }
        Some(Check::Metadata(Metadata {
            file,
            exists: r.exists,
            mode,
            max_mode,
            owner: r.owner.clone(),
            group: r.group.clone(),
        }))
    }

    /// Modes are octal strings ("0640"); an unquoted YAML number is refused
    /// because `0640` and `640` would silently mean different things.
    fn mode(&self, errors: &mut Vec<ConfigError>, key: &str, value: &Option<serde_yaml::Value>) -> Option<u32> {
        let value = value.as_ref()?;
        let text = match value {
            serde_yaml::Value::String(s) => s.clone(),
            other => {
                let shown = expect::scalar_text(other).unwrap_or_default();
                errors.push(self.error(
                    key,
                    &shown,
                    format!("{key} must be a quoted octal string, e.g. {key}: \"0640\""),
                ));
                return None;
            }
        };
        match parse_mode(&text) {
            Some(m) => Some(m),
            None => {
                errors.push(self.error(
                    key,
                    &text,
                    format!("invalid {key} {text:?}: expected an octal mode like \"0640\""),
                ));
                None
            }
        }
    }
}

/// "0640", "640", "4755" → the mode bits; anything else is `None`.
pub fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return None;
    }
    u32::from_str_radix(digits, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Baseline, ConfigErrors> {
        Baseline::from_source(&SourceFile {
            path: "b.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn every_subject_loads() {
        let b = load(
            r#"
name: t
rules:
  - {id: A, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: [no, prohibit-password]}
  - {id: B, file: /etc/x, line: '^x=(\d+)', expect: {min: 2}}
  - {id: C, file: /etc/x, content: "a\n"}
  - {id: D, file: /etc/shadow, max_mode: "0640", owner: root}
  - {id: E, sysctl: kernel.randomize_va_space, expect: "2"}
  - {id: F, command: "echo hi", expect: hi, exit_code: 0}
  - {id: G, service: ssh, state: running}
  - {id: H, package: openssh-server, state: installed, version: ">= 1:9"}
"#,
        )
        .unwrap();
        assert_eq!(b.rules.len(), 8);
        assert!(matches!(
            b.rules[3].check,
            Check::Metadata(Metadata {
                max_mode: Some(0o640),
                ..
            })
        ));
        assert_eq!(b.rules[0].severity, Severity::Medium);
    }

    fn first_error(text: &str) -> String {
        load(text).unwrap_err().0[0].to_string()
    }

    #[test]
    fn duplicate_ids_point_at_the_second() {
        let e = first_error(
            "name: t\nrules:\n  - {id: A, sysctl: a.b, expect: '1'}\n  - id: A\n    sysctl: a.c\n    expect: '1'\n",
        );
        assert!(e.starts_with("b.yaml:4:5: duplicate rule id \"A\""), "{e}");
    }

    #[test]
    fn bad_regex_points_at_its_line() {
        let e = first_error("name: t\nrules:\n  - id: A\n    file: /etc/x\n    line: '(unclosed'\n");
        assert!(e.starts_with("b.yaml:5:5: rule A: invalid regex"), "{e}");
    }

    #[test]
    fn bad_modes_are_rejected() {
        let e = first_error("name: t\nrules:\n  - id: A\n    file: /etc/x\n    mode: \"0999\"\n");
        assert!(e.starts_with("b.yaml:5:5: rule A: invalid mode"), "{e}");
        // YAML reads `640` as a number; `0640` (not a YAML 1.2 integer) stays text.
        let e = first_error("name: t\nrules:\n  - id: A\n    file: /etc/x\n    mode: 640\n");
        assert!(e.contains("quoted octal"), "{e}");
        let b = load("name: t\nrules:\n  - id: A\n    file: /etc/x\n    mode: 0640\n").unwrap();
        assert!(matches!(
            b.rules[0].check,
            Check::Metadata(Metadata { mode: Some(0o640), .. })
        ));
    }

    #[test]
    fn unknown_fields_and_subject_mistakes() {
        let e = first_error("name: t\nrules:\n  - id: A\n    sysctl: a.b\n    expekt: '1'\n");
        assert!(e.starts_with("b.yaml:5:5:") && e.contains("expekt"), "{e}");
        let e = first_error("name: t\nrules:\n  - id: A\n    sysctl: a.b\n    command: x\n");
        assert!(e.contains("2 subjects"), "{e}");
        let e = first_error("name: t\nrules:\n  - id: A\n    service: ../../bin/echo\n    state: running\n");
        assert!(e.contains("invalid service name"), "{e}");
        let e = first_error("name: t\nrules:\n  - id: A\n    service: ssh\n    state: up\n");
        assert!(e.contains("invalid state"), "{e}");
        let e = first_error("name: t\nrules:\n  - {id: 'A B', sysctl: a.b, expect: '1'}\n");
        assert!(e.contains("[A-Za-z0-9._-]+"), "{e}");
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = load(
            "name: t\nrules:\n  - {id: A, file: rel, setting: K, expect: x}\n  - {id: B, sysctl: 'a;b', expect: '1'}\n",
        )
        .unwrap_err();
        assert_eq!(errors.0.len(), 2, "{errors}");
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0640"), Some(0o640));
        assert_eq!(parse_mode("4755"), Some(0o4755));
        assert_eq!(parse_mode("644"), Some(0o644));
        assert_eq!(parse_mode("0o600"), Some(0o600));
        assert_eq!(parse_mode("8"), None);
        assert_eq!(parse_mode("01777x"), None);
        assert_eq!(parse_mode("77777"), None);
    }
}
