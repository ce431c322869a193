//! Playbooks: ordered steps that bring a host to a wanted state, the
//! handlers they notify, and the checks that must pass afterwards (SPEC,
//! "Playbook"). Loading validates everything that can be known offline, so a
//! bad playbook is exit 2 before any host is contacted.

pub mod render;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::baseline::{expect::scalar_text, parse_mode, Baseline};
use crate::config_error::{find_key_value, ConfigError, ConfigErrors, Position};
use crate::inventory::Become;
use crate::template::{Renderer, Vars};
use crate::yaml::SourceFile;

/// After the handlers, rectify waits this long before it verifies, so a
/// daemon told to reload by a signal (which returns at once) has reloaded
/// before the new connection reaches it. A playbook's `settle` overrides it.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(250);
const MAX_SETTLE_SECS: f64 = 60.0;

/// Files a `copy` step sends are read whole into memory; keep them small.
const MAX_COPY_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlaybook {
    name: String,
    description: Option<String>,
    #[serde(default)]
    vars: Vars,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(rename = "become")]
    become_: Option<Become>,
    confirm_timeout: Option<u64>,
    settle: Option<f64>,
    steps: Vec<RawStep>,
    #[serde(default)]
    handlers: IndexMap<String, String>,
    #[serde(default)]
    verify: Vec<RawVerify>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: Option<String>,
    #[serde(default)]
    notify: Vec<String>,
    #[serde(default)]
    sensitive: bool,
    validate: Option<String>,
    template: Option<String>,
    dest: Option<String>,
    mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
    setting: Option<RawSetting>,
    line: Option<RawLine>,
    copy: Option<RawCopy>,
    file: Option<RawFile>,
    sysctl: Option<RawSysctl>,
    command: Option<String>,
    unless: Option<String>,
    creates: Option<String>,
    rollback: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetting {
    file: String,
    key: String,
    value: serde_yaml::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    file: String,
    regexp: Option<String>,
    line: Option<String>,
    state: Option<Presence>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCopy {
    src: String,
    dest: String,
    mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: String,
    state: Option<Presence>,
    mode: Option<serde_yaml::Value>,
    /// Extension: clear permission bits beyond these, keep stricter modes.
    max_mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSysctl {
    key: String,
    value: serde_yaml::Value,
    persist: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    command: Option<String>,
    baseline: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Presence {
    Present,
    Absent,
}

/// Mode, owner and group a step wants; `None` keeps what the file has (or,
/// for a new file, 0644 and the connecting user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub mode: Option<u32>,
    /// Bits allowed at most: `0640` turns 0644 into 0640 and leaves 0600
    /// alone (the baseline's `max_mode`, as a repair).
    pub max_mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// What a step does. Text fields are templates until
/// [`render::render_step`] renders them for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A whole file from a minijinja template (the template text itself).
    Template { source: String, dest: String, meta: Meta },
    /// A whole file from a local file, sent byte for byte (not rendered).
    Copy { content: Vec<u8>, dest: String, meta: Meta },
    /// One `KEY VALUE` setting edited in place.
    Setting { file: String, key: String, value: String },
    /// lineinfile: the last line matching `regexp` becomes `line`, or
    /// `line` is appended; with `absent`, matching lines are removed.
    Line {
        file: String,
        regexp: Option<String>,
        line: Option<String>,
        absent: bool,
    },
    /// Metadata of an existing file or directory, or its removal.
    File { path: String, absent: bool, meta: Meta },
    /// A live kernel value, optionally persisted in a sysctl.d file.
    Sysctl {
        key: String,
        value: String,
        persist: Option<String>,
    },
    /// Internal to `rectify rollback`: a whole file from a copy the host
    /// keeps (`from`, in a run's backup directory), for files whose content
    /// never left the host (sensitive steps).
    Restore { from: String, dest: String, meta: Meta },
    /// A shell command, skipped when `unless` succeeds or `creates` exists.
    Command {
        command: String,
        unless: Option<String>,
        creates: Option<String>,
        rollback: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub kind: StepKind,
    /// Indices into [`Playbook::handlers`].
    pub notify: Vec<usize>,
    pub sensitive: bool,
    /// Run on the candidate file before it replaces the target; `{path}`
    /// is the candidate's quoted path.
    pub validate: Option<String>,
    /// Where the step starts in the playbook, for errors found per host.
    pub at: Position,
}

#[derive(Debug, Clone)]
pub struct Handler {
    pub name: String,
    pub command: String,
}

#[derive(Debug, Clone)]
pub enum Verify {
    Command(String),
    Baseline(Box<Baseline>),
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub description: Option<String>,
    pub vars: Vars,
    /// Var names whose values never appear in output, reports or state,
    /// besides those named like `*password*`, `*token*` or `*secret*`.
    pub secrets: BTreeSet<String>,
    pub become_: Option<Become>,
    pub confirm_timeout: Option<u64>,
    /// How long to wait after the handlers before verifying.
    pub settle: Duration,
    pub steps: Vec<Step>,
    pub handlers: Vec<Handler>,
    pub verify: Vec<Verify>,
    pub path: PathBuf,
    /// The source, kept so per-host render errors can point into it.
    pub source: SourceFile,
}

impl Playbook {
    pub fn load(path: &Path) -> Result<Playbook, ConfigErrors> {
        let source = SourceFile::read(path)?;
        Self::from_source(source)
    }

    pub fn from_source(source: SourceFile) -> Result<Playbook, ConfigErrors> {
        let raw: RawPlaybook = source.parse()?;
        let mut errors = Vec::new();
        let step_starts = item_starts(&source.text, "steps");
        let renderer = Renderer::default();

        let handlers: Vec<Handler> = raw
            .handlers
            .iter()
            .map(|(name, command)| Handler {
                name: name.clone(),
                command: command.clone(),
            })
            .collect();
        for h in &handlers {
            if let Err(e) = renderer.check_syntax(&h.command) {
                errors.push(source.error_at(find_key_value(&source.text, &h.name, "", 0), e.to_string()));
            }
        }
        if let Some(t) = raw.confirm_timeout {
            if !(5..=86_400).contains(&t) {
                errors.push(source.error_at(
                    find_key_value(&source.text, "confirm_timeout", "", 0),
                    format!("confirm_timeout must be between 5 and 86400 seconds, got {t}"),
                ));
            }
        }

        let settle = match raw.settle {
            None => DEFAULT_SETTLE,
            Some(t) if (0.0..=MAX_SETTLE_SECS).contains(&t) => Duration::from_secs_f64(t),
            Some(t) => {
                errors.push(source.error_at(
                    find_key_value(&source.text, "settle", "", 0),
                    format!("settle must be between 0 and {MAX_SETTLE_SECS} seconds, got {t}"),
                ));
                DEFAULT_SETTLE
            }
        };

        let mut steps = Vec::new();
        for (i, raw_step) in raw.steps.iter().enumerate() {
            let at = step_starts.get(i).copied().unwrap_or(Position { line: 1, column: 1 });
            let builder = StepBuilder {
                source: &source,
                raw: raw_step,
                at,
                index: i,
                renderer: &renderer,
                handlers: &handlers,
            };
            match builder.build() {
                Ok(step) => steps.push(step),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if raw.steps.is_empty() {
            errors.push(source.error_at(
                find_key_value(&source.text, "steps", "", 0),
                "the playbook has no steps",
            ));
        }

        let verify_starts = item_starts(&source.text, "verify");
        let mut verify = Vec::new();
        for (i, v) in raw.verify.iter().enumerate() {
            let at = verify_starts.get(i).copied().unwrap_or(Position { line: 1, column: 1 });
            match (&v.command, &v.baseline) {
                (Some(command), None) => {
                    if let Err(e) = renderer.check_syntax(command) {
                        errors.push(source.error_at(at, e.to_string()));
                    }
                    verify.push(Verify::Command(command.clone()));
                }
                (None, Some(rel)) => match Baseline::load(&source.sibling(rel)) {
                    Ok(b) => verify.push(Verify::Baseline(Box::new(b))),
                    Err(e) => {
                        errors.push(source.error_at(at, format!("verify baseline {rel}: {} problem(s)", e.0.len())));
                        errors.extend(e.0);
                    }
                },
                _ => errors.push(source.error_at(at, "a verify check is `command: CMD` or `baseline: FILE`")),
            }
        }

        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Playbook {
            name: raw.name,
            description: raw.description,
            vars: raw.vars,
            secrets: raw.secrets.into_iter().collect(),
            become_: raw.become_,
            confirm_timeout: raw.confirm_timeout,
            settle,
            steps,
            handlers,
            verify,
            path: source.path.clone(),
            source,
        })
    }

    /// An error about step `index` found while rendering it for a host.
    pub fn step_error(&self, index: usize, message: impl Into<String>) -> ConfigError {
        self.source.error_at(self.steps[index].at, message)
    }
}

/// Where each item of the top-level list `key:` starts (1-based line and
/// column of its `-`), so errors about the n-th step point at it.
fn item_starts(text: &str, key: &str) -> Vec<Position> {
    let mut starts = Vec::new();
    let mut inside = false;
    let mut item_indent: Option<usize> = None;
    let header = format!("{key}:");
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.is_empty() && !trimmed.starts_with('#') && !trimmed.starts_with('-') {
            inside = trimmed.starts_with(&header);
            continue;
        }
        if !inside || !(trimmed.starts_with("- ") || trimmed == "-") {
            continue;
        }
        match item_indent {
            None => item_indent = Some(indent),
            Some(n) if n != indent => continue,
            _ => {}
        }
        starts.push(Position {
            line: i + 1,
            column: line[..indent].chars().count() + 1,
        });
    }
    starts
}

struct StepBuilder<'a> {
    source: &'a SourceFile,
    raw: &'a RawStep,
    at: Position,
    index: usize,
    renderer: &'a Renderer,
    handlers: &'a [Handler],
}

impl StepBuilder<'_> {
    /// An error on `key:` inside this step when it can be found, else on
    /// the step's `-`.
    fn error(&self, key: &str, message: impl std::fmt::Display) -> ConfigError {
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
        let label = self.raw.name.clone().unwrap_or_else(|| format!("#{}", self.index + 1));
        self.source.error_at(position, format!("step {label}: {message}"))
    }

    fn build(self) -> Result<Step, Vec<ConfigError>> {
        let r = self.raw;
        let mut errors = Vec::new();
        let kinds: Vec<&str> = [
            ("template", r.template.is_some()),
            ("setting", r.setting.is_some()),
            ("line", r.line.is_some()),
            ("copy", r.copy.is_some()),
            ("file", r.file.is_some()),
            ("sysctl", r.sysctl.is_some()),
            ("command", r.command.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect();
        if kinds.len() != 1 {
            let msg = if kinds.is_empty() {
                "needs exactly one of template, setting, line, copy, file, sysctl, command".to_string()
            } else {
                format!(
                    "has {} kinds ({}); a step does one thing",
                    kinds.len(),
                    kinds.join(", ")
                )
            };
            return Err(vec![self.error(kinds.first().copied().unwrap_or("name"), msg)]);
        }
        let kind_name = kinds[0];

        let mut only = |field: &str, set: bool, allowed: &[&str]| {
            if set && !allowed.contains(&kind_name) {
                errors.push(self.error(field, format!("`{field}` does not apply to a `{kind_name}` step")));
            }
        };
        only("dest", r.dest.is_some(), &["template"]);
        only("mode", r.mode.is_some(), &["template"]);
        only("owner", r.owner.is_some(), &["template"]);
        only("group", r.group.is_some(), &["template"]);
        only(
            "validate",
            r.validate.is_some(),
            &["template", "copy", "setting", "line"],
        );
        only("unless", r.unless.is_some(), &["command"]);
        only("creates", r.creates.is_some(), &["command"]);
        only("rollback", r.rollback.is_some(), &["command"]);

        let mut notify = Vec::new();
        for name in &r.notify {
            match self.handlers.iter().position(|h| &h.name == name) {
                Some(i) => {
                    if !notify.contains(&i) {
                        notify.push(i)
                    }
                }
                None => errors.push(self.error("notify", format!("unknown handler {name:?}"))),
            }
        }
        if let Some(v) = &r.validate {
            if !v.contains("{path}") {
                errors.push(self.error(
                    "validate",
                    "validate must name the candidate file as {path}, e.g. `sshd -t -f {path}`",
                ));
            }
            self.syntax(&mut errors, "validate", v);
        }

        let kind = match kind_name {
            "template" => self.template(&mut errors),
            "setting" => {
                let s = r.setting.as_ref().expect("kind checked");
                self.path(&mut errors, "file", &s.file);
                self.syntax(&mut errors, "key", &s.key);
                if s.key.trim().is_empty() || s.key.contains(char::is_whitespace) || s.key.contains('=') {
                    errors.push(self.error("key", format!("invalid setting key {:?}", s.key)));
                }
                let value = self.scalar(&mut errors, "value", &s.value);
                if value.contains('\n') {
                    errors.push(self.error("value", "a setting value is one line"));
                }
                Some(StepKind::Setting {
                    file: s.file.clone(),
                    key: s.key.clone(),
                    value,
                })
            }
            "line" => {
                let l = r.line.as_ref().expect("kind checked");
                self.path(&mut errors, "file", &l.file);
                let absent = l.state == Some(Presence::Absent);
                match (&l.regexp, &l.line, absent) {
                    (_, Some(_), true) => {
                        errors.push(self.error("state", "`state: absent` takes `regexp`, not `line`"))
                    }
                    (None, _, true) => errors.push(self.error("state", "`state: absent` needs `regexp`")),
                    (_, None, false) => errors.push(self.error("line", "needs `line` (or `state: absent`)")),
                    _ => {}
                }
                if let Some(re) = &l.regexp {
                    self.syntax(&mut errors, "regexp", re);
                    if !re.contains("{{") {
                        if let Err(e) = regex::Regex::new(re) {
                            errors.push(self.error("regexp", format!("invalid regex: {e}")));
                        }
                    }
                }
                if let Some(line) = &l.line {
                    self.syntax(&mut errors, "line", line);
                    if line.contains('\n') {
                        errors.push(self.error("line", "`line` is one line"));
                    }
                }
                Some(StepKind::Line {
                    file: l.file.clone(),
                    regexp: l.regexp.clone(),
                    line: l.line.clone(),
                    absent,
                })
            }
            "copy" => {
                let c = r.copy.as_ref().expect("kind checked");
                self.path(&mut errors, "dest", &c.dest);
                let meta = self.meta(&mut errors, &c.mode, &c.owner, &c.group);
                let src = self.source.sibling(&c.src);
                let content = match std::fs::metadata(&src) {
                    Ok(m) if m.len() > MAX_COPY_BYTES => {
                        errors.push(self.error("src", format!("{} is larger than 16 MiB", src.display())));
                        Vec::new()
                    }
                    Ok(m) if m.is_dir() => {
                        errors.push(self.error("src", format!("{} is a directory", src.display())));
                        Vec::new()
                    }
                    Ok(_) => std::fs::read(&src).unwrap_or_else(|e| {
                        errors.push(self.error("src", format!("cannot read {}: {e}", src.display())));
                        Vec::new()
                    }),
                    Err(e) => {
                        errors.push(self.error("src", format!("cannot read {}: {e}", src.display())));
                        Vec::new()
                    }
                };
                Some(StepKind::Copy {
                    content,
                    dest: c.dest.clone(),
                    meta,
                })
            }
            "file" => {
                let f = r.file.as_ref().expect("kind checked");
                self.path(&mut errors, "path", &f.path);
                let absent = f.state == Some(Presence::Absent);
                let mut meta = self.meta(&mut errors, &f.mode, &f.owner, &f.group);
                if let Some(v) = &f.max_mode {
                    meta.max_mode = self.mode_value(&mut errors, "max_mode", v);
                    if f.mode.is_some() {
                        errors.push(self.error("max_mode", "give `mode` or `max_mode`, not both"));
                    }
                }
                if absent && meta != Meta::default() {
                    errors.push(self.error("state", "`state: absent` cannot be combined with mode, owner or group"));
                }
                if !absent && f.mode.is_none() && f.max_mode.is_none() && f.owner.is_none() && f.group.is_none() {
                    errors.push(self.error(
                        "path",
                        "a file step needs mode, max_mode, owner, group or `state: absent`",
                    ));
                }
                Some(StepKind::File {
                    path: f.path.clone(),
                    absent,
                    meta,
                })
            }
            "sysctl" => {
                let s = r.sysctl.as_ref().expect("kind checked");
                // A templated key is checked once rendered (render.rs).
                if !s.key.contains("{{") && !crate::collect::valid_sysctl_key(&s.key) {
                    errors.push(self.error("key", format!("invalid sysctl key {:?}", s.key)));
                }
                let value = self.scalar(&mut errors, "value", &s.value);
                if let Some(p) = &s.persist {
                    self.path(&mut errors, "persist", p);
                }
                Some(StepKind::Sysctl {
                    key: s.key.clone(),
                    value,
                    persist: s.persist.clone(),
                })
            }
            "command" => {
                let command = r.command.clone().expect("kind checked");
                for (field, text) in [
                    ("command", Some(&command)),
                    ("unless", r.unless.as_ref()),
                    ("rollback", r.rollback.as_ref()),
                ] {
                    if let Some(text) = text {
                        self.syntax(&mut errors, field, text);
                    }
                }
                if let Some(p) = &r.creates {
                    self.path(&mut errors, "creates", p);
                }
                Some(StepKind::Command {
                    command,
                    unless: r.unless.clone(),
                    creates: r.creates.clone(),
                    rollback: r.rollback.clone(),
                })
            }
            _ => unreachable!("kinds come from the list above"),
        };
        match kind {
            Some(kind) if errors.is_empty() => Ok(Step {
                name: r.name.clone().unwrap_or_else(|| default_name(&kind)),
                kind,
                notify,
                sensitive: r.sensitive,
                validate: r.validate.clone(),
                at: self.at,
            }),
            _ => Err(errors),
        }
    }

    fn template(&self, errors: &mut Vec<ConfigError>) -> Option<StepKind> {
        let r = self.raw;
        let rel = r.template.as_deref().expect("kind checked");
        let Some(dest) = &r.dest else {
            errors.push(self.error("template", "a template step needs `dest`"));
            return None;
        };
        self.path(errors, "dest", dest);
        let meta = self.meta(errors, &r.mode, &r.owner, &r.group);
        let path = self.source.sibling(rel);
        let source = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                errors.push(self.error("template", format!("cannot read template {}: {e}", path.display())));
                return None;
            }
        };
        if let Err(e) = self.renderer.check_syntax(&source) {
            errors.push(self.error("template", format!("{}: {e}", path.display())));
        }
        Some(StepKind::Template {
            source,
            dest: dest.clone(),
            meta,
        })
    }

    fn syntax(&self, errors: &mut Vec<ConfigError>, key: &str, text: &str) {
        if let Err(e) = self.renderer.check_syntax(text) {
            errors.push(self.error(key, e));
        }
    }

    /// Paths on the host are absolute; a templated one is checked again
    /// once rendered.
    fn path(&self, errors: &mut Vec<ConfigError>, key: &str, path: &str) {
        self.syntax(errors, key, path);
        if !path.contains("{{") {
            if let Err(e) = check_remote_path(path) {
                errors.push(self.error(key, e));
            }
        }
    }

    fn scalar(&self, errors: &mut Vec<ConfigError>, key: &str, value: &serde_yaml::Value) -> String {
        match scalar_text(value) {
            Ok(text) => {
                self.syntax(errors, key, &text);
                text
            }
            Err(_) => {
                errors.push(self.error(key, format!("`{key}` must be a string or number")));
                String::new()
            }
        }
    }

    fn meta(
        &self,
        errors: &mut Vec<ConfigError>,
        mode: &Option<serde_yaml::Value>,
        owner: &Option<String>,
        group: &Option<String>,
    ) -> Meta {
        let mode = mode.as_ref().and_then(|v| self.mode_value(errors, "mode", v));
        for (key, name) in [("owner", owner), ("group", group)] {
            if let Some(name) = name {
                let ok = !name.is_empty()
                    && !name.starts_with('-')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-$".contains(c));
                if !ok {
                    errors.push(self.error(key, format!("invalid {key} {name:?}")));
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
    fn mode_value(&self, errors: &mut Vec<ConfigError>, key: &str, value: &serde_yaml::Value) -> Option<u32> {
        match value {
            serde_yaml::Value::String(text) => match parse_mode(text) {
                Some(m) => Some(m),
                None => {
                    errors.push(self.error(
                        key,
                        format!("invalid {key} {text:?}: expected an octal mode like \"0640\""),
                    ));
                    None
                }
            },
            _ => {
                errors.push(self.error(
                    key,
                    format!("{key} must be a quoted octal string, e.g. {key}: \"0640\""),
                ));
                None
            }
        }
    }
}

/// A path a step may write: absolute, no NUL or newline, no `..`, not `/`.
pub fn check_remote_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("must be an absolute path, got {path:?}"));
    }
    if path.contains(['\0', '\n']) {
        return Err(format!("invalid path {path:?}"));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!("{path:?} contains `..`"));
    }
    if path.trim_end_matches('/').is_empty() || path.ends_with('/') {
        return Err(format!("{path:?} does not name a file"));
    }
    Ok(())
}

fn default_name(kind: &StepKind) -> String {
    match kind {
        StepKind::Template { dest, .. } => format!("template {dest}"),
        StepKind::Copy { dest, .. } => format!("copy {dest}"),
        StepKind::Restore { dest, .. } => format!("restore {dest}"),
        StepKind::Setting { file, key, .. } => format!("{key} in {file}"),
        StepKind::Line { file, .. } => format!("line in {file}"),
        StepKind::File { path, absent: true, .. } => format!("remove {path}"),
        StepKind::File { path, .. } => format!("metadata of {path}"),
        StepKind::Sysctl { key, .. } => format!("sysctl {key}"),
        StepKind::Command { command, .. } => format!("command {}", command.chars().take(40).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Playbook, ConfigErrors> {
        Playbook::from_source(SourceFile {
            path: "p.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn a_full_playbook_loads() {
        let p = load(
            "name: t\nvars: {x: \"no\"}\nsteps:\n  - name: s\n    setting: {file: /etc/ssh/sshd_config, key: X11Forwarding, value: \"{{ x }}\"}\n    validate: sshd -t -f {path}\n    notify: [reload]\n  - file: {path: /etc/shadow, mode: \"0640\"}\n  - sysctl: {key: net.ipv4.ip_forward, value: 0, persist: /etc/sysctl.d/90-r.conf}\n  - command: true\n    unless: test -e /x\nhandlers:\n  reload: kill -HUP 1\nverify:\n  - command: sshd -t\n",
        )
        .unwrap();
        assert_eq!(p.steps.len(), 4);
        assert_eq!(p.steps[0].notify, vec![0]);
        assert_eq!(p.steps[1].at, Position { line: 8, column: 3 });
        assert!(matches!(&p.steps[2].kind, StepKind::Sysctl { value, .. } if value == "0"));
    }

    #[test]
    fn settle_defaults_to_a_quarter_second_and_takes_fractions() {
        let p = load("name: t\nsteps:\n  - command: true\n").unwrap();
        assert_eq!(p.settle, Duration::from_millis(250));
        let p = load("name: t\nsettle: 1.5\nsteps:\n  - command: true\n").unwrap();
        assert_eq!(p.settle, Duration::from_millis(1500));
        let p = load("name: t\nsettle: 0\nsteps:\n  - command: true\n").unwrap();
        assert_eq!(p.settle, Duration::ZERO);
        let e = load("name: t\nsettle: -1\nsteps:\n  - command: true\n").unwrap_err();
        assert!(
            e.to_string().contains("p.yaml:2:1: settle must be between 0 and 60"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_step_line_and_column() {
        let e = load(
            "name: t\nsteps:\n  - command: true\n  - setting: {file: /etc/x, key: K, value: v}\n    notify: [nope]\n",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("p.yaml:5:5: step #2: unknown handler \"nope\""), "{text}");

        let e = load("name: t\nsteps:\n  - copy: {src: missing.txt, dest: /etc/x}\n").unwrap_err();
        assert!(e.to_string().contains("p.yaml:3:12: step #1: cannot read"), "{e}");

        let e = load("name: t\nsteps:\n  - file: {path: etc/x, mode: 644}\n").unwrap_err();
        assert_eq!(e.0.len(), 2, "{e}");

        let e = load("name: t\nsteps:\n  - command: x\n    bogus: 1\n").unwrap_err();
        assert!(
            e.to_string().contains("p.yaml:4:5: steps[0]: unknown field `bogus`"),
            "{e}"
        );

        let e = load("name: t\nsteps:\n  - template: t.j2\n    dest: /etc/x\n    validate: sshd -t\n").unwrap_err();
        assert!(e.to_string().contains("{path}"), "{e}");
    }

    #[test]
    fn paths_must_stay_absolute_and_plain() {
        assert!(check_remote_path("/etc/ssh/sshd_config").is_ok());
        for bad in ["etc/x", "/etc/../root/.ssh/authorized_keys", "/", "/etc/x\n", "/etc/"] {
            assert!(check_remote_path(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Loaders return errors, never panic, on arbitrary text; errors
        /// carry the file name.
        #[test]
        fn input_loaders_never_panic(text in "\\PC{0,300}") {
            let source = SourceFile { path: "x.yaml".into(), text: text.clone() };
            if let Err(e) = Playbook::from_source(source.clone()) {
                prop_assert!(e.to_string().contains("x.yaml"));
            }
            let _ = crate::baseline::Baseline::from_source(&source);
            let _ = crate::waiver::Waiver::from_source(&source);
            let _ = crate::inventory::Inventory::from_source(source, &crate::inventory::SshConfig::none());
        }

        /// Structured but wrong playbooks too.
        #[test]
        fn near_miss_playbooks_never_panic(
            kind in prop::sample::select(vec!["template", "setting", "line", "copy", "file", "sysctl", "command", "bogus"]),
            value in "[ -~]{0,30}",
            notify in "[a-z]{0,5}",
        ) {
            let text = format!("name: p\nsteps:\n  - {kind}: {value:?}\n    notify: [{notify}]\nhandlers:\n  h: true\n");
            let _ = Playbook::from_source(SourceFile { path: "p.yaml".into(), text });
        }
    }
}
