//! `template:` — a whole file from a minijinja template next to the
//! playbook, rendered per host (`dest`, `mode`, `owner`, `group` are keys
//! of the step itself).

use serde::de::MapAccess;

use super::{Check, Meta, Render, RenderError, Step, StepKind, StepSyntax};
use crate::steps::plan::{Needs, PlanCx, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template text itself.
    pub source: String,
    pub dest: String,
    pub meta: Meta,
}

#[derive(Debug, Default)]
pub struct Extra {
    dest: Option<String>,
    mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
}

impl StepSyntax for Template {
    const KEY: &'static str = "template";
    const EXTRA: &'static [&'static str] = &["dest", "mode", "owner", "group"];
    const TAKES_VALIDATE: bool = true;
    type Value = String;
    type Extra = Extra;

    fn read_extra<'de, A: MapAccess<'de>>(e: &mut Extra, key: &str, map: &mut A) -> Result<bool, A::Error> {
        Ok(match key {
            "dest" => {
                e.dest = map.next_value()?;
                e.dest.is_some()
            }
            "mode" => {
                e.mode = map.next_value()?;
                e.mode.is_some()
            }
            "owner" => {
                e.owner = map.next_value()?;
                e.owner.is_some()
            }
            "group" => {
                e.group = map.next_value()?;
                e.group.is_some()
            }
            _ => map.next_value::<serde::de::IgnoredAny>().map(|_| false)?,
        })
    }

    fn check(rel: &String, e: &Extra, cx: &mut Check<'_>) -> Option<Self> {
        let Some(dest) = &e.dest else {
            cx.push("template", "a template step needs `dest`");
            return None;
        };
        cx.path("dest", dest);
        let meta = cx.meta(&e.mode, &e.owner, &e.group);
        let path = cx.sibling(rel);
        let source = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                cx.push("template", format!("cannot read template {}: {err}", path.display()));
                return None;
            }
        };
        cx.template_syntax("template", &source, &path);
        Some(Template {
            source,
            dest: dest.clone(),
            meta,
        })
    }
}

impl StepKind for Template {
    fn kind(&self) -> &'static str {
        "template"
    }

    fn target(&self) -> String {
        self.dest.clone()
    }

    fn default_name(&self) -> String {
        format!("template {}", self.dest)
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        Ok(Box::new(Template {
            source: r.text(&self.source)?,
            dest: r.path(&self.dest)?,
            meta: r.meta(&self.meta)?,
        }))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        needs.file(&self.dest);
    }

    fn writes(&self) -> Option<&str> {
        Some(&self.dest)
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        cx.write_whole(step, index, &self.dest, self.source.as_bytes(), &self.meta)
    }
}
