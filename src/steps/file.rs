//! `file:` — metadata (mode, `max_mode`, owner, group) of an existing file
//! or directory, or a file's removal (`state: absent`).

use serde::Deserialize;

use super::line::Presence;
use super::{Check, Meta, Render, RenderError, Step, StepKind, StepSyntax};
use crate::diff::unified;
use crate::report::Change;
use crate::steps::plan::{set_meta, shown};
use crate::steps::plan::{FileKind, Needs, PlanCx, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub absent: bool,
    pub meta: Meta,
}

impl File {
    /// Removes `path` (a file that did not exist before a run).
    pub fn remove(path: String) -> File {
        File {
            path,
            absent: true,
            meta: Meta::default(),
        }
    }

    /// Sets the metadata of an existing `path`.
    pub fn metadata(path: String, meta: Meta) -> File {
        File {
            path,
            absent: false,
            meta,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    path: String,
    state: Option<Presence>,
    mode: Option<serde_yaml::Value>,
    /// Extension: clear permission bits beyond these, keep stricter modes.
    max_mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
}

impl StepSyntax for File {
    const KEY: &'static str = "file";
    type Value = RawFile;
    type Extra = ();

    fn check(f: &RawFile, _: &(), cx: &mut Check<'_>) -> Option<Self> {
        cx.path("path", &f.path);
        let absent = f.state == Some(Presence::Absent);
        let mut meta = cx.meta(&f.mode, &f.owner, &f.group);
        if let Some(v) = &f.max_mode {
            meta.max_mode = cx.mode_value("max_mode", v);
            if f.mode.is_some() {
                cx.push("max_mode", "give `mode` or `max_mode`, not both");
            }
        }
        if absent && meta != Meta::default() {
            cx.push("state", "`state: absent` cannot be combined with mode, owner or group");
        }
        if !absent && f.mode.is_none() && f.max_mode.is_none() && f.owner.is_none() && f.group.is_none() {
            cx.push(
                "path",
                "a file step needs mode, max_mode, owner, group or `state: absent`",
            );
        }
        Some(File {
            path: f.path.clone(),
            absent,
            meta,
        })
    }
}

impl StepKind for File {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn target(&self) -> String {
        self.path.clone()
    }

    fn default_name(&self) -> String {
        if self.absent {
            format!("remove {}", self.path)
        } else {
            format!("metadata of {}", self.path)
        }
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        Ok(Box::new(File {
            path: r.path(&self.path)?,
            absent: self.absent,
            meta: r.meta(&self.meta)?,
        }))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        needs.file(&self.path);
    }

    fn writes(&self) -> Option<&str> {
        Some(&self.path)
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        let path = &self.path;
        let redactor = cx.redactor();
        let w = cx.work(path)?;
        let mut change = None;
        if self.absent {
            if w.before.kind == FileKind::Directory {
                return Err(PlanError::RemoveDirectory(path.clone()));
            }
            if let Some(old) = w.content.take() {
                w.content_changed = true;
                change = Some(Change {
                    step: step.name.clone(),
                    path: path.clone(),
                    diff: shown(step.sensitive || w.sensitive, redactor, || {
                        unified(path, Some(&old), None)
                    }),
                });
            }
        } else {
            let exists = w.content.is_some() || w.before.kind == FileKind::Directory;
            if !exists {
                return Err(PlanError::MetadataOfMissing(path.clone()));
            }
            if let Some(text) = set_meta(w, &self.meta) {
                change = Some(Change {
                    step: step.name.clone(),
                    path: path.clone(),
                    diff: text,
                });
            }
        }
        let Some(change) = change else { return Ok(false) };
        w.touched_by(step, index);
        cx.change_shown(change);
        Ok(true)
    }
}
