//! Rendering a playbook for one host: every template string gets the host's
//! vars. Commands use the quoting renderer, so a var's value is always one
//! shell word. Errors here are input errors (exit 2), found before any host
//! is contacted.

use super::{check_remote_path, Handler, Meta, Playbook, StepKind};
use crate::template::{Renderer, Vars};

/// A playbook's steps and handlers with every template rendered for a host.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub steps: Vec<StepKind>,
    pub validate: Vec<Option<String>>,
    pub handlers: Vec<Handler>,
    pub verify_commands: Vec<String>,
}

pub struct Renderers {
    text: Renderer,
    commands: Renderer,
}

impl Default for Renderers {
    fn default() -> Self {
        Renderers {
            text: Renderer::default(),
            commands: Renderer::for_commands(),
        }
    }
}

/// Renders `playbook` with `vars`. The error names the step, with file,
/// line and column.
pub fn render(playbook: &Playbook, vars: &Vars, r: &Renderers) -> Result<Rendered, crate::config_error::ConfigError> {
    let mut steps = Vec::with_capacity(playbook.steps.len());
    let mut validate = Vec::with_capacity(playbook.steps.len());
    for (i, step) in playbook.steps.iter().enumerate() {
        let fail = |e: String| playbook.step_error(i, format!("step {:?}: {e}", step.name));
        steps.push(render_kind(&step.kind, vars, r).map_err(fail)?);
        validate.push(
            step.validate
                .as_deref()
                .map(|v| r.commands.render(v, vars).map_err(|e| fail(e.to_string())))
                .transpose()?,
        );
    }
    let mut handlers = Vec::new();
    for h in &playbook.handlers {
        let command = r.commands.render(&h.command, vars).map_err(|e| {
            playbook.source.error_at(
                crate::config_error::find_key_value(&playbook.source.text, &h.name, "", 0),
                format!("handler {:?}: {e}", h.name),
            )
        })?;
        handlers.push(Handler {
            name: h.name.clone(),
            command,
        });
    }
    let mut verify_commands = Vec::new();
    for v in &playbook.verify {
        if let super::Verify::Command(c) = v {
            verify_commands.push(r.commands.render(c, vars).map_err(|e| {
                playbook.source.error_at(
                    crate::config_error::find_key_value(&playbook.source.text, "command", c, 0),
                    format!("verify: {e}"),
                )
            })?);
        }
    }
    Ok(Rendered {
        steps,
        validate,
        handlers,
        verify_commands,
    })
}

fn render_kind(kind: &StepKind, vars: &Vars, r: &Renderers) -> Result<StepKind, String> {
    let text = |s: &str| r.text.render(s, vars).map_err(|e| e.to_string());
    let path = |s: &str| -> Result<String, String> {
        let p = text(s)?;
        check_remote_path(&p)?;
        Ok(p)
    };
    let command = |s: &str| r.commands.render(s, vars).map_err(|e| e.to_string());
    let meta = |m: &Meta| -> Result<Meta, String> {
        Ok(Meta {
            mode: m.mode,
            max_mode: m.max_mode,
            owner: m.owner.as_deref().map(text).transpose()?,
            group: m.group.as_deref().map(text).transpose()?,
        })
    };
    Ok(match kind {
        StepKind::Template { source, dest, meta: m } => StepKind::Template {
            source: text(source)?,
            dest: path(dest)?,
            meta: meta(m)?,
        },
        StepKind::Copy { content, dest, meta: m } => StepKind::Copy {
            content: content.clone(),
            dest: path(dest)?,
            meta: meta(m)?,
        },
        StepKind::Restore { .. } => kind.clone(),
        StepKind::Setting { file, key, value } => {
            let value = text(value)?;
            if value.contains('\n') {
                return Err("the rendered value spans several lines".into());
            }
            StepKind::Setting {
                file: path(file)?,
                key: text(key)?,
                value,
            }
        }
        StepKind::Line {
            file,
            regexp,
            line,
            absent,
        } => {
            let regexp = regexp.as_deref().map(text).transpose()?;
            if let Some(re) = &regexp {
                regex::Regex::new(re).map_err(|e| format!("invalid regex: {e}"))?;
            }
            let line = line.as_deref().map(text).transpose()?;
            if line.as_deref().is_some_and(|l| l.contains('\n')) {
                return Err("the rendered line spans several lines".into());
            }
            StepKind::Line {
                file: path(file)?,
                regexp,
                line,
                absent: *absent,
            }
        }
        StepKind::File {
            path: p,
            absent,
            meta: m,
        } => StepKind::File {
            path: path(p)?,
            absent: *absent,
            meta: meta(m)?,
        },
        StepKind::Sysctl { key, value, persist } => {
            let key = text(key)?;
            if !crate::collect::valid_sysctl_key(&key) {
                return Err(format!("invalid sysctl key {key:?}"));
            }
            let value = text(value)?;
            if value.contains('\n') {
                return Err("the rendered value spans several lines".into());
            }
            StepKind::Sysctl {
                key,
                value,
                persist: persist.as_deref().map(path).transpose()?,
            }
        }
        StepKind::Command {
            command: c,
            unless,
            creates,
            rollback,
        } => StepKind::Command {
            command: command(c)?,
            unless: unless.as_deref().map(command).transpose()?,
            creates: creates.as_deref().map(path).transpose()?,
            rollback: rollback.as_deref().map(command).transpose()?,
        },
    })
}
