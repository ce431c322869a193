//! Checks at load, shared by the kinds: errors that point at a key inside
//! the step (file:line:col), template syntax, host paths, modes and names.

use std::path::PathBuf;

use crate::baseline::{expect::scalar_text, parse_mode};
use crate::config_error::{find_key_value, ConfigError, Position};
use crate::template::Renderer;
use crate::yaml::SourceFile;

use super::Meta;

/// Why a path may not be written by a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("must be an absolute path, got {0:?}")]
    NotAbsolute(String),
    #[error("invalid path {0:?}")]
    Invalid(String),
    #[error("{0:?} contains `..`")]
    DotDot(String),
    #[error("{0:?} does not name a file")]
    NotAFile(String),
}

/// A path a step may write: absolute, no NUL or newline, no `..`, not `/`.
pub fn check_remote_path(path: &str) -> Result<(), PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute(path.to_string()));
    }
    if path.contains(['\0', '\n']) {
        return Err(PathError::Invalid(path.to_string()));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(PathError::DotDot(path.to_string()));
    }
    if path.trim_end_matches('/').is_empty() || path.ends_with('/') {
        return Err(PathError::NotAFile(path.to_string()));
    }
    Ok(())
}

/// Checking one step of a playbook; problems are collected, not returned,
/// so one load reports them all.
pub struct Check<'a> {
    source: &'a SourceFile,
    at: Position,
    label: String,
    renderer: &'a Renderer,
    errors: Vec<ConfigError>,
}

impl<'a> Check<'a> {
    /// Step `index` (0-based), starting at `at`, named `name` if it is.
    pub fn new(source: &'a SourceFile, at: Position, index: usize, name: Option<&str>, renderer: &'a Renderer) -> Self {
        Check {
            source,
            at,
            label: name.map_or_else(|| format!("#{}", index + 1), str::to_string),
            renderer,
            errors: Vec::new(),
        }
    }

    pub fn at(&self) -> Position {
        self.at
    }

    pub(super) fn take_errors(&mut self) -> Vec<ConfigError> {
        std::mem::take(&mut self.errors)
    }

    /// A file next to the playbook (`template:`, `src:`).
    pub fn sibling(&self, relative: &str) -> PathBuf {
        self.source.sibling(relative)
    }

    /// An error on `key:` inside this step when it can be found, else on
    /// the step's `-`.
    pub fn error(&self, key: &str, message: impl std::fmt::Display) -> ConfigError {
        let start: usize = self
            .source
            .text
            .split_inclusive('\n')
            .take(self.at.line - 1)
            .map(str::len)
            .sum();
        let rest = &self.source.text[start..];
        let p = find_key_value(rest, key, "", 0);
        let position = if p.line == 1 && p.column == 1 && !rest.contains(key) {
            self.at
        } else {
            Position {
                line: p.line + self.at.line - 1,
                column: p.column,
            }
        };
        self.source
            .error_at(position, format!("step {}: {message}", self.label))
    }

    /// Records an error on `key:`.
    pub fn push(&mut self, key: &str, message: impl std::fmt::Display) {
        let e = self.error(key, message);
        self.errors.push(e);
    }

    pub fn syntax(&mut self, key: &str, text: &str) {
        if let Err(e) = self.renderer.check_syntax(text) {
            self.push(key, e);
        }
    }

    /// A template's own syntax; the error names the template file.
    pub fn template_syntax(&mut self, key: &str, text: &str, file: &std::path::Path) {
        if let Err(e) = self.renderer.check_syntax(text) {
            self.push(key, format!("{}: {e}", file.display()));
        }
    }

    /// Paths on the host are absolute; a templated one is checked again
    /// once rendered.
    pub fn path(&mut self, key: &str, path: &str) {
        self.syntax(key, path);
        if !path.contains("{{") {
            if let Err(e) = check_remote_path(path) {
                self.push(key, e);
            }
        }
    }

    pub fn scalar(&mut self, key: &str, value: &serde_yaml::Value) -> String {
        match scalar_text(value) {
            Ok(text) => {
                self.syntax(key, &text);
                text
            }
            Err(_) => {
                self.push(key, format!("`{key}` must be a string or number"));
                String::new()
            }
        }
    }

    pub fn meta(&mut self, mode: &Option<serde_yaml::Value>, owner: &Option<String>, group: &Option<String>) -> Meta {
        let mode = mode.as_ref().and_then(|v| self.mode_value("mode", v));
        for (key, name) in [("owner", owner), ("group", group)] {
            if let Some(name) = name {
                let ok = !name.is_empty()
                    && !name.starts_with('-')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-$".contains(c));
                if !ok {
                    self.push(key, format!("invalid {key} {name:?}"));
                }
            }
        }
        Meta {
            mode,
            max_mode: None,
            owner: owner.clone(),
            group: group.clone(),
        }
    }

    /// Modes are quoted octal strings ("0640"); an unquoted YAML number is
    /// refused because `0640` and `640` would silently mean different things.
    pub fn mode_value(&mut self, key: &str, value: &serde_yaml::Value) -> Option<u32> {
        match value {
            serde_yaml::Value::String(text) => match parse_mode(text) {
                Some(m) => Some(m),
                None => {
                    self.push(
                        key,
                        format!("invalid {key} {text:?}: expected an octal mode like \"0640\""),
                    );
                    None
                }
            },
            _ => {
                self.push(
                    key,
                    format!("{key} must be a quoted octal string, e.g. {key}: \"0640\""),
                );
                None
            }
        }
    }
}
