//! The config file for defaults: TOML whose keys are the long option names
//! (`forks = 20`, `host-key-policy = "accept-new"`), at the top for every
//! command that has the option, or in a table named after a command
//! (`[audit]`, `[runs]`) for that command only. Which keys exist is read
//! from the command line's own definition, so an option added to any
//! command is a key here without more code.
//!
//! Read from `--config FILE` or `$RECTIFY_CONFIG` (that file only), else
//! `/etc/rectify/config.toml` and then the user's
//! `$XDG_CONFIG_HOME/rectify/config.toml` (`~/.config/rectify/…`), whose
//! keys win over the system file's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Command;

use crate::config_error::{ConfigError, ConfigErrors, Position};

/// One key's value(s) and where it was written, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub values: Vec<String>,
    /// `path:line:col` of the value.
    pub origin: String,
}

/// The settings of the config files read, by scope (the command path, empty
/// for the top) and key.
#[derive(Debug, Default)]
pub struct Settings {
    map: BTreeMap<(Vec<String>, String), Setting>,
}

impl Settings {
    /// The setting of `key` for the command at `path`: its own table first,
    /// then the tables of the commands above it, then the top.
    pub fn get(&self, path: &[String], key: &str) -> Option<&Setting> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.map.get(&(path[..n].to_vec(), key.to_string())))
    }

    /// Reads `path` on top of what is there (its keys win).
    pub fn read(&mut self, path: &Path, cmd: &Command) -> Result<(), ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::whole_file(path, format!("cannot read config file: {e}")))?;
        let mut errors = ConfigErrors::default();
        let doc = toml_edit::Document::parse(text.as_str()).map_err(|e| {
            let at = position(&text, e.span().map_or(0, |s| s.start));
            ConfigError::at(path, &text, at, format!("not valid TOML: {}", e.message().trim()))
        })?;
        let file = File { path, text: &text };
        file.table(doc.as_table(), cmd, &[], &mut self.map, &mut errors);
        if errors.0.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The files to read, lowest precedence first: the one `explicit` names,
/// or the system file and the user's file where they exist.
pub fn files(explicit: Option<PathBuf>, env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![path];
    }
    let mut files = vec![PathBuf::from("/etc/rectify/config.toml")];
    let user = env("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        });
    if let Some(dir) = user {
        files.push(dir.join("rectify/config.toml"));
    }
    files.retain(|f| f.exists());
    files
}

/// The options of `cmd` a config file or the environment may set: those
/// with a long name that take a value or are flags, not hidden, not
/// `--help`/`--version`, not `--config` itself.
pub fn settable(cmd: &Command) -> impl Iterator<Item = &clap::Arg> {
    cmd.get_arguments().filter(|a| {
        a.get_long().is_some()
            && !a.is_positional()
            && !a.is_hide_set()
            && a.get_id() != "config"
            && !matches!(
                a.get_action(),
                clap::ArgAction::Help
                    | clap::ArgAction::HelpShort
                    | clap::ArgAction::HelpLong
                    | clap::ArgAction::Version
            )
    })
}

struct File<'a> {
    path: &'a Path,
    text: &'a str,
}

impl File<'_> {
    fn error(&self, span: Option<std::ops::Range<usize>>, message: String) -> ConfigError {
        let at = position(self.text, span.map_or(0, |s| s.start));
        ConfigError::at(self.path, self.text, at, message)
    }

    /// The keys of `table`, the scope of the command at `scope` (`cmd`).
    fn table(
        &self,
        table: &dyn toml_edit::TableLike,
        cmd: &Command,
        scope: &[String],
        out: &mut BTreeMap<(Vec<String>, String), Setting>,
        errors: &mut ConfigErrors,
    ) {
        for (key, item) in table.iter() {
            let span = table.key(key).and_then(|k| k.span());
            let name = key.replace('_', "-");
            let sub = cmd.get_subcommands().find(|s| s.get_name() == name);
            if let (Some(sub), Some(inner)) = (sub, item.as_table_like()) {
                let mut scope = scope.to_vec();
                scope.push(name);
                self.table(inner, sub, &scope, out, errors);
                continue;
            }
            if !known(cmd, scope.is_empty(), &name) {
                let place = if scope.is_empty() {
                    "no command has an option".to_string()
                } else {
                    format!("`rectify {}` has no option", scope.join(" "))
                };
                errors
                    .0
                    .push(self.error(span, format!("unknown key `{key}`: {place} --{name}")));
                continue;
            }
            let value_span = item.span().or(span);
            match values(item) {
                Ok(values) => {
                    let at = position(self.text, value_span.clone().map_or(0, |s| s.start));
                    out.insert(
                        (scope.to_vec(), name),
                        Setting {
                            values,
                            origin: format!("{}:{}:{}", self.path.display(), at.line, at.column),
                        },
                    );
                }
                Err(message) => errors.0.push(self.error(value_span, format!("`{key}`: {message}"))),
            }
        }
    }
}

/// Whether `name` is a settable option of `cmd` (at the top: of any command).
fn known(cmd: &Command, top: bool, name: &str) -> bool {
    if settable(cmd).any(|a| a.get_long() == Some(name)) {
        return true;
    }
    top && cmd.get_subcommands().any(|s| known(s, true, name))
}

/// A value as the command line would spell it: strings, numbers and
/// booleans, or an array of them for an option given several times.
fn values(item: &toml_edit::Item) -> Result<Vec<String>, String> {
    let Some(value) = item.as_value() else {
        return Err("expected a value, found a table".into());
    };
    let one = |v: &toml_edit::Value| -> Result<String, String> {
        match v {
            toml_edit::Value::String(s) => Ok(s.value().clone()),
            toml_edit::Value::Integer(i) => Ok(i.value().to_string()),
            toml_edit::Value::Float(f) => Ok(f.value().to_string()),
            toml_edit::Value::Boolean(b) => Ok(b.value().to_string()),
            other => Err(format!(
                "expected a string, number or boolean, found {}",
                other.type_name()
            )),
        }
    };
    match value {
        toml_edit::Value::Array(items) => items.iter().map(one).collect(),
        v => one(v).map(|s| vec![s]),
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, column }
}
