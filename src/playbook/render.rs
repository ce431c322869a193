//! Rendering a playbook for one host: every template string gets the host's
//! vars. Commands use the quoting renderer, so a var's value is always one
//! shell word. Errors here are input errors (exit 2), found before any host
//! is contacted.

use super::{Handler, Playbook, Step};
use crate::steps::Render;
use crate::template::Vars;

pub use crate::steps::Renderers;

/// A playbook's steps and handlers with every template rendered for a host.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub steps: Vec<Step>,
    pub handlers: Vec<Handler>,
    pub verify_commands: Vec<String>,
}

/// Renders `playbook` with `vars`. The error names the step, with file,
/// line and column.
pub fn render(playbook: &Playbook, vars: &Vars, r: &Renderers) -> Result<Rendered, crate::config_error::ConfigError> {
    let mut steps = Vec::with_capacity(playbook.steps.len());
    let cx = Render::new(vars, r, &playbook.secrets);
    for (i, step) in playbook.steps.iter().enumerate() {
        let fail = |e: String| playbook.step_error(i, format!("step {:?}: {e}", step.name));
        let kind = step.kind.render(&cx).map_err(|e| fail(e.to_string()))?;
        let validate = step
            .validate
            .as_deref()
            .map(|v| cx.command(v).map_err(|e| fail(e.to_string())))
            .transpose()?;
        // A step whose output was rendered from a secret shows and stores
        // no content or diff, as if it said `sensitive: true`.
        let touched = cx.take_touched_secret();
        steps.push(Step {
            name: step.name.clone(),
            kind,
            notify: step.notify.clone(),
            sensitive: step.sensitive || touched,
            validate,
            unsafe_writes: step.unsafe_writes,
            at: step.at,
        });
    }
    let mut handlers = Vec::new();
    for h in &playbook.handlers {
        let command = cx.command(&h.command).map_err(|e| {
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
        handlers,
        verify_commands,
    })
}
