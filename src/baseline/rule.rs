//! Turning one rule as written into a [`Rule`]: the fields every rule has,
//! which subject it names, and the checks shared by subjects. Each
//! subject's own fields are read in `check/`.

use super::{Check, Expect, RawRule, Rule, When};
use crate::config_error::{find_key_value, ConfigError};
use crate::inventory::HostPattern;
use crate::template::Renderer;
use crate::yaml::SourceFile;

pub(super) struct RuleBuilder<'a> {
    pub(super) source: &'a SourceFile,
    pub(super) raw: &'a RawRule,
    pub(super) renderer: &'a Renderer,
    /// Where the rule's `id:` is, for errors that cannot be placed better.
    pub(super) rule_at: crate::config_error::Position,
    pub(super) remediations: super::Remediations,
}

impl RuleBuilder<'_> {
    /// An error placed on `key: value` if it can be found after the rule's
    /// start, else on the rule's id.
    pub(super) fn error(&self, key: &str, value: &str, message: String) -> ConfigError {
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

    pub(super) fn build(self) -> Result<Rule, Vec<ConfigError>> {
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
        for tag in &r.tags {
            if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c)) {
                errors.push(self.error("tags", tag, format!("tag {tag:?} must match [A-Za-z0-9._:-]+")));
            }
        }
        let when = match r.when.as_ref().map(When::parse) {
            Some(Err(e)) => {
                errors.push(self.error(&e.key, "", e.to_string()));
                None
            }
            Some(Ok(w)) => Some(w),
            None => None,
        };
        let remediation = self.remediation(&mut errors);
        let docs = self.docs(&mut errors);
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
            docs,
            hosts,
            tags: r.tags.clone(),
            when,
            excluded: None,
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
        only("check", r.check.is_some(), &["sysctl"]);
        only("match", r.connection.is_some(), &["file"]);
        only("source", r.source.is_some(), &["file"]);
        only("default", r.default.is_some(), &["file"]);

        match subjects[0] {
            "file" => self.file_check(errors),
            "sysctl" => self.sysctl_check(errors),
            "command" => self.command_check(errors),
            "service" => self.service_check(errors),
            "package" => self.package_check(errors),
            _ => unreachable!("subjects are from the list above"),
        }
    }

    /// Service and package names become paths on the host (`/etc/init.d/NAME`):
    /// only plain names, so `../../bin/x` cannot name another program.
    pub(super) fn plain_name(&self, errors: &mut Vec<ConfigError>, key: &str, name: &str) {
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

    pub(super) fn no_expect(&self, errors: &mut Vec<ConfigError>, subject: &str) {
        if self.raw.expect.is_some() {
            errors.push(self.error(
                "expect",
                "",
                format!("`expect` does not apply to a `{subject}` rule; use `state`"),
            ));
        }
    }

    pub(super) fn state<T: serde::de::DeserializeOwned>(
        &self,
        errors: &mut Vec<ConfigError>,
        allowed: &str,
    ) -> Option<T> {
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
}
