//! Playbooks: ordered steps that bring a host to a wanted state, the
//! handlers they notify, and the checks that must pass afterwards
//! (docs/playbook.md). Loading validates everything that can be known offline, so a
//! bad playbook is exit 2 before any host is contacted.

pub mod render;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::baseline::Baseline;
use crate::config_error::{find_key_value, ConfigError, ConfigErrors, Position};
use crate::inventory::Become;
use crate::steps::{build, Check, RawStep};
use crate::template::{Renderer, Vars};
use crate::yaml::SourceFile;

pub use crate::steps::{check_remote_path, Meta, Step, StepKind};

/// After the handlers, rectify waits this long before it verifies, so a
/// daemon told to reload by a signal (which returns at once) has reloaded
/// before the new connection reaches it. A playbook's `settle` overrides it.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(250);
const MAX_SETTLE_SECS: f64 = 60.0;

#[derive(Deserialize)]
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
struct RawVerify {
    command: Option<String>,
    baseline: Option<String>,
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

        let handler_names: Vec<&str> = handlers.iter().map(|h| h.name.as_str()).collect();
        let mut steps = Vec::new();
        for (i, raw_step) in raw.steps.iter().enumerate() {
            let at = step_starts.get(i).copied().unwrap_or(Position { line: 1, column: 1 });
            let mut check = Check::new(&source, at, i, raw_step.name.as_deref(), &renderer);
            match build(raw_step, &mut check, &handler_names) {
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
        let sysctl = p.steps[2].kind.as_any().downcast_ref::<crate::steps::sysctl::Sysctl>();
        assert!(sysctl.is_some_and(|s| s.value == "0"), "{:?}", p.steps[2].kind);
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
