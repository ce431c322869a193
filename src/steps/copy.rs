//! `copy:` — a whole file from a local file next to the playbook, sent
//! byte for byte (never rendered). `rollback` also restores files whose
//! earlier content the state database kept through this kind.

use serde::Deserialize;

use super::{Check, Meta, Render, RenderError, Step, StepKind, StepSyntax};
use crate::steps::plan::{Needs, PlanCx, PlanError};

/// Files a `copy` step sends are read whole into memory; keep them small.
const MAX_COPY_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub content: Vec<u8>,
    pub dest: String,
    pub meta: Meta,
}

impl Copy {
    pub fn new(content: Vec<u8>, dest: String, meta: Meta) -> Copy {
        Copy { content, dest, meta }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCopy {
    src: String,
    dest: String,
    mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
}

impl StepSyntax for Copy {
    const KEY: &'static str = "copy";
    const TAKES_VALIDATE: bool = true;
    type Value = RawCopy;
    type Extra = ();

    fn check(c: &RawCopy, _: &(), cx: &mut Check<'_>) -> Option<Self> {
        cx.path("dest", &c.dest);
        let meta = cx.meta(&c.mode, &c.owner, &c.group);
        let src = cx.sibling(&c.src);
        let content = match std::fs::metadata(&src) {
            Ok(m) if m.len() > MAX_COPY_BYTES => {
                cx.push("src", format!("{} is larger than 16 MiB", src.display()));
                Vec::new()
            }
            Ok(m) if m.is_dir() => {
                cx.push("src", format!("{} is a directory", src.display()));
                Vec::new()
            }
            Ok(_) => std::fs::read(&src).unwrap_or_else(|e| {
                cx.push("src", format!("cannot read {}: {e}", src.display()));
                Vec::new()
            }),
            Err(e) => {
                cx.push("src", format!("cannot read {}: {e}", src.display()));
                Vec::new()
            }
        };
        Some(Copy {
            content,
            dest: c.dest.clone(),
            meta,
        })
    }
}

impl StepKind for Copy {
    fn kind(&self) -> &'static str {
        "copy"
    }

    fn target(&self) -> String {
        self.dest.clone()
    }

    fn default_name(&self) -> String {
        format!("copy {}", self.dest)
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        Ok(Box::new(Copy {
            content: self.content.clone(),
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
        cx.write_whole(step, index, &self.dest, &self.content, &self.meta)
    }
}
