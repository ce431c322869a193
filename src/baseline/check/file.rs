//! Reading a `file` rule: an absolute path (or a pattern of them, checked
//! here so that only `*`, `?` and plain bracket expressions reach the
//! host's shell unquoted) and exactly one thing to check about it, each
//! read in its own module (setting, line, content, metadata).

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;
use crate::conftext::include::follows_includes;
use crate::shell::glob::{is_glob, word};

impl RuleBuilder<'_> {
    pub(in crate::baseline) fn file_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        let file = r.file.clone().unwrap_or_default();
        if !file.starts_with('/') {
            errors.push(self.error("file", &file, format!("file must be an absolute path, got {file:?}")));
        }
        if is_glob(&file) {
            if let Err(e) = word(&file) {
                errors.push(self.error("file", &file, format!("invalid file pattern {file:?}: {e}")));
            }
            if r.setting.is_some() && follows_includes(&file) {
                errors.push(
                    self.error(
                        "file",
                        &file,
                        "an sshd configuration is read with its Include lines: name the one main file, not a pattern"
                            .into(),
                    ),
                );
            }
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
        if r.absent.is_some() && r.line.is_none() && r.setting.is_none() {
            errors.push(self.error("absent", "", "`absent` applies to `line` and `setting` rules".into()));
        }
        if let Some(key) = &r.setting {
            return self.setting_check(file, key, errors);
        }
        if let Some(pattern) = &r.line {
            return self.line_check(file, pattern, errors);
        }
        if r.content.is_some() || r.template.is_some() {
            return self.content_check(file, errors);
        }
        self.metadata_check(file, errors)
    }
}
