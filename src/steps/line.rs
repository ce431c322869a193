//! `line:` — lineinfile: the last line matching `regexp` becomes `line`,
//! or `line` is appended; with `state: absent`, matching lines are removed.

use serde::Deserialize;

use super::{Check, Render, RenderError, Step, StepKind, StepSyntax};
use crate::conftext::edit::{remove_line, set_line};
use crate::steps::plan::{Needs, PlanCx, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub file: String,
    pub regexp: Option<String>,
    pub line: Option<String>,
    pub absent: bool,
}

/// `state:` of `line` and `file` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Present,
    Absent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLine {
    file: String,
    regexp: Option<String>,
    line: Option<String>,
    state: Option<Presence>,
}

impl StepSyntax for Line {
    const KEY: &'static str = "line";
    const TAKES_VALIDATE: bool = true;
    type Value = RawLine;
    type Extra = ();

    fn check(l: &RawLine, _: &(), cx: &mut Check<'_>) -> Option<Self> {
        cx.path("file", &l.file);
        let absent = l.state == Some(Presence::Absent);
        match (&l.regexp, &l.line, absent) {
            (_, Some(_), true) => cx.push("state", "`state: absent` takes `regexp`, not `line`"),
            (None, _, true) => cx.push("state", "`state: absent` needs `regexp`"),
            (_, None, false) => cx.push("line", "needs `line` (or `state: absent`)"),
            _ => {}
        }
        if let Some(re) = &l.regexp {
            cx.syntax("regexp", re);
            if !re.contains("{{") {
                if let Err(e) = regex::Regex::new(re) {
                    cx.push("regexp", format!("invalid regex: {e}"));
                }
            }
        }
        if let Some(line) = &l.line {
            cx.syntax("line", line);
            if line.contains('\n') {
                cx.push("line", "`line` is one line");
            }
        }
        Some(Line {
            file: l.file.clone(),
            regexp: l.regexp.clone(),
            line: l.line.clone(),
            absent,
        })
    }
}

impl StepKind for Line {
    fn kind(&self) -> &'static str {
        "line"
    }

    fn target(&self) -> String {
        self.file.clone()
    }

    fn default_name(&self) -> String {
        format!("line in {}", self.file)
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        let regexp = self.regexp.as_deref().map(|s| r.text(s)).transpose()?;
        if let Some(re) = &regexp {
            regex::Regex::new(re)?;
        }
        let line = self.line.as_deref().map(|s| r.text(s)).transpose()?;
        if line.as_deref().is_some_and(|l| l.contains('\n')) {
            return Err(RenderError::MultilineLine);
        }
        Ok(Box::new(Line {
            file: r.path(&self.file)?,
            regexp,
            line,
            absent: self.absent,
        }))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        needs.file(&self.file);
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        // The file's own problems (missing, a directory, not text) come
        // before the pattern's, as the user sees them in that order.
        cx.text_of(&self.file)?;
        let re = self.regexp.as_deref().map(regex::Regex::new).transpose()?;
        let exact = match (self.absent, &re, &self.line) {
            (false, None, Some(line)) => Some(
                regex::Regex::new(&format!("^{}$", regex::escape(line))).expect("an escaped line is a valid pattern"),
            ),
            _ => None,
        };
        let edit: Box<dyn Fn(&str) -> String + '_> = match (self.absent, &re, &self.line, &exact) {
            (true, Some(re), _, _) => Box::new(move |text| remove_line(text, re)),
            (false, Some(re), Some(line), _) => Box::new(move |text| set_line(text, re, line)),
            (false, None, Some(line), Some(exact)) => Box::new(move |text| set_line(text, exact, line)),
            _ => {
                return Err(PlanError::Step {
                    name: step.name.clone(),
                    why: "nothing to do".into(),
                })
            }
        };
        cx.edit_text(step, index, &self.file, edit)
    }
}
