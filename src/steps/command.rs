//! `command:` — a shell command, skipped when `unless` succeeds or
//! `creates` exists (`unless`, `creates`, `rollback` are keys of the step
//! itself). Commands are rendered with the quoting renderer.

use serde::de::MapAccess;

use super::{Check, Render, RenderError, Step, StepKind, StepSyntax};
use crate::steps::plan::{Need, Needs, Op, PlanCx, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub command: String,
    pub unless: Option<String>,
    pub creates: Option<String>,
    /// Run instead of restoring files when the transaction rolls back.
    pub rollback: Option<String>,
}

#[derive(Debug, Default)]
pub struct Extra {
    unless: Option<String>,
    creates: Option<String>,
    rollback: Option<String>,
}

impl StepSyntax for Command {
    const KEY: &'static str = "command";
    const EXTRA: &'static [&'static str] = &["unless", "creates", "rollback"];
    type Value = String;
    type Extra = Extra;

    fn read_extra<'de, A: MapAccess<'de>>(e: &mut Extra, key: &str, map: &mut A) -> Result<bool, A::Error> {
        let slot = match key {
            "unless" => &mut e.unless,
            "creates" => &mut e.creates,
            "rollback" => &mut e.rollback,
            _ => return map.next_value::<serde::de::IgnoredAny>().map(|_| false),
        };
        *slot = map.next_value()?;
        Ok(slot.is_some())
    }

    fn check(command: &String, e: &Extra, cx: &mut Check<'_>) -> Option<Self> {
        for (field, text) in [
            ("command", Some(command)),
            ("unless", e.unless.as_ref()),
            ("rollback", e.rollback.as_ref()),
        ] {
            if let Some(text) = text {
                cx.syntax(field, text);
            }
        }
        if let Some(p) = &e.creates {
            cx.path("creates", p);
        }
        Some(Command {
            command: command.clone(),
            unless: e.unless.clone(),
            creates: e.creates.clone(),
            rollback: e.rollback.clone(),
        })
    }
}

impl StepKind for Command {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn target(&self) -> String {
        self.command.clone()
    }

    fn default_name(&self) -> String {
        format!("command {}", self.command.chars().take(40).collect::<String>())
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        Ok(Box::new(Command {
            command: r.command(&self.command)?,
            unless: self.unless.as_deref().map(|c| r.command(c)).transpose()?,
            creates: self.creates.as_deref().map(|p| r.path(p)).transpose()?,
            rollback: self.rollback.as_deref().map(|c| r.command(c)).transpose()?,
        }))
    }

    fn needs(&self, step: usize, needs: &mut Needs) {
        if let Some(u) = &self.unless {
            needs.push(Need::Unless {
                step,
                command: u.clone(),
            });
        }
        if let Some(c) = &self.creates {
            needs.push(Need::Creates { step, path: c.clone() });
        }
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        if cx.facts().satisfied.get(&index).copied().unwrap_or(false) {
            return Ok(false);
        }
        cx.change(step, "", || format!("will run: {}\n", self.command));
        cx.op(
            index,
            Op::Command {
                command: self.command.clone(),
                rollback: self.rollback.clone(),
                sensitive: step.sensitive,
            },
        );
        Ok(true)
    }
}
