//! Step kinds: one module per kind, each holding the kind's data and its
//! impl of [`StepKind`] (render for a host, the facts it needs, the path it
//! writes, its part of the plan) and, for kinds a playbook may name, of
//! [`StepSyntax`] (its YAML keys and the checks at load).
//!
//! The kinds a playbook may name are registered once, in the `registry!`
//! list below; loading, the "exactly one of" message and the unknown-field
//! list all come from that list. Adding a kind is a new file, its `mod`
//! line and one line in the registry. `restore` is internal to `rollback`
//! and not a playbook key, so it is not registered.

mod check;
mod raw;
#[macro_use]
mod registry;

// Declared here, not by `registry!`, so `cargo fmt` sees the files.
pub mod command;
pub mod copy;
pub mod file;
pub mod line;
pub mod plan;
pub mod restore;
pub mod setting;
pub mod sysctl;
pub mod template;

use std::any::Any;
use std::fmt::Debug;

use serde::de::{DeserializeOwned, MapAccess};

use crate::config_error::Position;
use crate::steps::plan::{Needs, PlanCx, PlanError};
use crate::template::{Renderer, TemplateError, Vars};

pub use check::{check_remote_path, Check, PathError};
pub(crate) use raw::RawStep;
pub(crate) use registry::build;

registry! {
    template::Template,
    setting::Setting,
    line::Line,
    copy::Copy,
    file::File,
    sysctl::Sysctl,
    command::Command,
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

/// One step, from loading (text fields are templates) through rendering
/// for a host (the same type, rendered) to planning.
#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub kind: Box<dyn StepKind>,
    /// Indices into the playbook's handlers.
    pub notify: Vec<usize>,
    pub sensitive: bool,
    /// Run on the candidate file before it replaces the target; `{path}`
    /// is the candidate's quoted path.
    pub validate: Option<String>,
    /// Write in a directory a user other than root (or the connecting
    /// user) can write: refused otherwise, since that user could swap
    /// names under every command (`unsafe_writes: true`).
    pub unsafe_writes: bool,
    /// Where the step starts in the playbook, for errors found per host.
    pub at: Position,
}

impl Clone for Step {
    fn clone(&self) -> Self {
        Step {
            name: self.name.clone(),
            kind: self.kind.clone_box(),
            notify: self.notify.clone(),
            sensitive: self.sensitive,
            validate: self.validate.clone(),
            unsafe_writes: self.unsafe_writes,
            at: self.at,
        }
    }
}

impl Step {
    /// A step rectify makes itself (`rollback`), already rendered.
    pub fn internal(name: String, kind: Box<dyn StepKind>, notify: Vec<usize>, sensitive: bool) -> Step {
        Step {
            name,
            kind,
            notify,
            sensitive,
            validate: None,
            unsafe_writes: false,
            at: Position { line: 1, column: 1 },
        }
    }
}

/// What a step does, for every stage after loading.
pub trait StepKind: Debug + Send + Sync + CloneKind {
    /// The kind's key in a playbook (`template`, `setting`, …), for `list steps`.
    fn kind(&self) -> &'static str;
    /// What the step works on (a path, `file (key)`, a sysctl key, the
    /// command), for `list steps`.
    fn target(&self) -> String;
    /// The name when the playbook gives none.
    fn default_name(&self) -> String;
    /// The kind with every template rendered for one host.
    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError>;
    /// The facts planning this step needs; `step` is its index.
    fn needs(&self, step: usize, needs: &mut Needs);
    /// The one path this step replaces or removes as a whole, if any:
    /// `rollback` refuses such a step when the path changed since.
    fn writes(&self) -> Option<&str> {
        None
    }
    /// Plans step `index` (`step` holds this kind); `Ok(true)` when it
    /// changes something, which notifies its handlers.
    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError>;
}

/// Cloning and downcasting a boxed kind; implemented for every kind.
pub trait CloneKind {
    fn clone_box(&self) -> Box<dyn StepKind>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: StepKind + Clone + 'static> CloneKind for T {
    fn clone_box(&self) -> Box<dyn StepKind> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// How a kind a playbook may name is written in YAML and checked at load.
pub trait StepSyntax: StepKind + Sized + 'static {
    /// The step key naming the kind (`template:`, `setting:`…).
    const KEY: &'static str;
    /// Other step keys only this kind takes (`dest:` of a template).
    const EXTRA: &'static [&'static str] = &[];
    /// Whether `validate:` applies (the kind writes a file's content).
    const TAKES_VALIDATE: bool = false;
    /// What `KEY:` holds.
    type Value: DeserializeOwned;
    /// The values of [`StepSyntax::EXTRA`] keys.
    type Extra: Default;

    /// Reads the value of `key`, one of [`StepSyntax::EXTRA`]; `Ok(true)`
    /// when it is set (not null).
    fn read_extra<'de, A: MapAccess<'de>>(_extra: &mut Self::Extra, _key: &str, map: &mut A) -> Result<bool, A::Error> {
        map.next_value::<serde::de::IgnoredAny>().map(|_| false)
    }

    /// Checks what can be known offline; problems go into `cx`. `None`
    /// when the kind cannot be built at all.
    fn check(value: &Self::Value, extra: &Self::Extra, cx: &mut Check<'_>) -> Option<Self>;
}

/// The renderers a playbook is rendered with for each host.
pub struct Renderers {
    pub text: Renderer,
    /// Commands: every value is one quoted shell word.
    pub commands: Renderer,
}

impl Default for Renderers {
    fn default() -> Self {
        Renderers {
            text: Renderer::default(),
            commands: Renderer::for_commands(),
        }
    }
}

/// Rendering one host's step: the host's vars and the renderers.
pub struct Render<'a> {
    pub vars: &'a Vars,
    pub renderers: &'a Renderers,
    /// Vars listed under the playbook's `secrets:` (vars named like a
    /// secret count too, see [`crate::redact::secret_name`]).
    pub secrets: &'a std::collections::BTreeSet<String>,
    /// Set once a rendered text read a secret var: its output is then
    /// treated as sensitive, since a filter (`upper`, `replace`, `b64encode`)
    /// or a multi-line value can carry the secret past the redactor.
    pub touched_secret: std::cell::Cell<bool>,
}

impl<'a> Render<'a> {
    pub fn new(vars: &'a Vars, renderers: &'a Renderers, secrets: &'a std::collections::BTreeSet<String>) -> Self {
        Render {
            vars,
            renderers,
            secrets,
            touched_secret: std::cell::Cell::new(false),
        }
    }

    /// Whether anything rendered since the last call read a secret var;
    /// resets the mark.
    pub fn take_touched_secret(&self) -> bool {
        self.touched_secret.replace(false)
    }

    fn note_secrets(&self, r: &crate::template::Renderer, s: &str) -> Result<(), RenderError> {
        let names = r.referenced(s)?;
        if names
            .iter()
            .any(|n| self.vars.contains_key(n) && (self.secrets.contains(n) || crate::redact::secret_name(n)))
        {
            self.touched_secret.set(true);
        }
        Ok(())
    }

    pub fn text(&self, s: &str) -> Result<String, RenderError> {
        self.note_secrets(&self.renderers.text, s)?;
        Ok(self.renderers.text.render(s, self.vars)?)
    }

    /// A path on the host, checked again once rendered.
    pub fn path(&self, s: &str) -> Result<String, RenderError> {
        let p = self.text(s)?;
        check_remote_path(&p)?;
        Ok(p)
    }

    pub fn command(&self, s: &str) -> Result<String, RenderError> {
        self.note_secrets(&self.renderers.commands, s)?;
        Ok(self.renderers.commands.render(s, self.vars)?)
    }

    pub fn meta(&self, m: &Meta) -> Result<Meta, RenderError> {
        Ok(Meta {
            mode: m.mode,
            max_mode: m.max_mode,
            owner: m.owner.as_deref().map(|s| self.text(s)).transpose()?,
            group: m.group.as_deref().map(|s| self.text(s)).transpose()?,
        })
    }
}

/// Why a step cannot be rendered for a host (an input error, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("the rendered value spans several lines")]
    MultilineValue,
    #[error("the rendered line spans several lines")]
    MultilineLine,
    #[error("invalid regex: {0}")]
    Regex(#[from] regex::Error),
    #[error("invalid sysctl key {0:?}")]
    SysctlKey(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading a secret var marks the render however the value is
    /// transformed; other vars and plain text do not.
    #[test]
    fn a_render_that_reads_a_secret_is_marked_whatever_the_filter() {
        let mut vars = Vars::new();
        vars.insert("db_password".into(), "hunter22".into());
        vars.insert("key".into(), "a\nb".into());
        vars.insert("port".into(), "22".into());
        let listed: std::collections::BTreeSet<String> = ["key".to_string()].into();
        let renderers = Renderers::default();
        let cx = Render::new(&vars, &renderers, &listed);
        assert_eq!(
            cx.text("p={{ db_password | upper | replace('H', 'x') }}").unwrap(),
            "p=xUNTER22"
        );
        assert!(cx.take_touched_secret());
        assert!(!cx.take_touched_secret(), "the mark is reset");
        cx.text("port {{ port }}").unwrap();
        cx.command("echo plain").unwrap();
        assert!(!cx.take_touched_secret());
        cx.command("printf %s {{ key }}").unwrap();
        assert!(cx.take_touched_secret());
        cx.text("{% if false %}{{ db_password }}{% endif %}").unwrap();
        assert!(cx.take_touched_secret(), "every branch counts");
    }

    /// The registry yields the keys serde lists and the kinds messages
    /// name, in the order users have always seen them.
    #[test]
    fn the_registry_lists_keys_in_the_documented_order() {
        assert_eq!(
            step_fields(),
            [
                "name",
                "notify",
                "sensitive",
                "validate",
                "unsafe_writes",
                "template",
                "dest",
                "mode",
                "owner",
                "group",
                "setting",
                "line",
                "copy",
                "file",
                "sysctl",
                "command",
                "unless",
                "creates",
                "rollback"
            ]
        );
        assert_eq!(
            KIND_KEYS,
            ["template", "setting", "line", "copy", "file", "sysctl", "command"]
        );
        assert_eq!(kind_owning("dest"), Some("template"));
        assert_eq!(kind_owning("creates"), Some("command"));
        assert!(takes_validate("line") && !takes_validate("sysctl"));
    }

    /// `rollback` refuses steps by the path they write; edits in place
    /// write no whole path.
    #[test]
    fn whole_file_kinds_say_which_path_they_write() {
        let meta = Meta::default();
        let restore = restore::Restore::new("/var/b/1".into(), "/etc/a".into(), meta.clone());
        assert_eq!(restore.writes(), Some("/etc/a"));
        assert_eq!(file::File::remove("/etc/b".into()).writes(), Some("/etc/b"));
        assert_eq!(
            copy::Copy::new(Vec::new(), "/etc/c".into(), meta).writes(),
            Some("/etc/c")
        );
        let s = sysctl::Sysctl::new("net.ipv4.ip_forward".into(), "0".into(), None);
        assert_eq!(s.writes(), None);
    }
}
