//! Internal to `rectify rollback`: a whole file from a copy the host keeps
//! (in a run's backup directory), for files whose content never left the
//! host (sensitive steps). Not a playbook key, so not in the registry.

use super::{Meta, Render, RenderError, Step, StepKind};
use crate::steps::plan::{FileKind, Needs, PlanCx, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// The backup copy on the host.
    pub from: String,
    pub dest: String,
    pub meta: Meta,
}

impl Restore {
    pub fn new(from: String, dest: String, meta: Meta) -> Restore {
        Restore { from, dest, meta }
    }
}

impl StepKind for Restore {
    fn kind(&self) -> &'static str {
        "restore"
    }

    fn target(&self) -> String {
        self.dest.clone()
    }

    fn default_name(&self) -> String {
        format!("restore {}", self.dest)
    }

    /// Built by rectify with host paths: nothing to render.
    fn render(&self, _r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        Ok(Box::new(self.clone()))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        needs.file(&self.from);
        needs.file(&self.dest);
    }

    fn writes(&self) -> Option<&str> {
        Some(&self.dest)
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        let from = &self.from;
        let content = match cx.facts().files.get(from) {
            Some(f) if f.kind == FileKind::Regular => f.content.clone().map_err(|why| PlanError::BackupUnreadable {
                from: from.clone(),
                why,
            })?,
            _ => return Err(PlanError::BackupGone(from.clone())),
        };
        cx.write_whole(step, index, &self.dest, &content, &self.meta)
    }
}
