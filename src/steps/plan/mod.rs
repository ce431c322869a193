//! Planning one host's transaction: from the rendered steps and the facts
//! gathered from the host, what each file should become and which commands
//! must run. Pure: no I/O, so every rule here is unit-tested.
//!
//! The loop lives here; what one step does lives with its kind in
//! [`crate::steps`], which works on the shared [`PlanCx`]. A submodule of
//! `steps`, not a layer above it: a step kind plans itself, so the planning
//! context sits below the kinds, inside their module.

mod cx;
mod facts;
#[cfg(test)]
mod tests;
pub mod trust;

pub use cx::{set_meta, shown, PlanCx, Work};
pub use facts::{Facts, FileFacts, FileKind, Need, Needs, Unreadable};

use crate::redact::Redactor;
use crate::report::Change;
use crate::steps::Step;

/// What the transaction does to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    /// New content, moved into place atomically with this metadata.
    Write {
        content: Vec<u8>,
        mode: u32,
        /// `None`: a new file keeps the connecting user's ownership.
        owner: Option<String>,
        group: Option<String>,
    },
    /// Metadata of an existing file or directory only.
    Chmod {
        mode: Option<u32>,
        owner: Option<String>,
        group: Option<String>,
    },
    Remove,
}

#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: String,
    pub before: FileFacts,
    pub action: FileAction,
    /// Validate commands (with `{path}`) for the candidate.
    pub validate: Vec<String>,
    pub sensitive: bool,
    /// Its steps allow a directory others can write (see the prelude's
    /// `trusted`).
    pub unsafe_writes: bool,
}

/// One committed operation, in step order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Index into [`HostPlan::files`].
    File(usize),
    Sysctl {
        key: String,
        value: String,
        old: String,
    },
    Command {
        command: String,
        rollback: Option<String>,
        sensitive: bool,
    },
}

#[derive(Debug, Clone, Default)]
pub struct HostPlan {
    pub files: Vec<FileChange>,
    pub ops: Vec<Op>,
    /// Handler indices, in order of first notification.
    pub handlers: Vec<usize>,
    /// For the report: one entry per step that changes something.
    pub changes: Vec<Change>,
}

impl HostPlan {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

pub const HIDDEN: &str = "(sensitive: content not shown)";

/// A reason a host cannot be changed safely; the texts are what users see.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("{0}: not gathered")]
    NotGathered(String),
    #[error("{0} is a symbolic link; rectify does not write through links (point the step at the real file)")]
    Symlink(String),
    #[error("{0} is not a regular file")]
    NotRegular(String),
    #[error("cannot read {path}: {why}")]
    Unreadable { path: String, why: Unreadable },
    #[error("{0} is a directory")]
    Directory(String),
    #[error("{0} does not exist; `setting` and `line` edit existing files")]
    EditMissing(String),
    #[error("{0} is not UTF-8 text; cannot edit it")]
    NotUtf8(String),
    #[error("cannot read the backup {from}: {why}")]
    BackupUnreadable { from: String, why: Unreadable },
    #[error("the backup copy {0} is gone from the host")]
    BackupGone(String),
    /// A step that cannot do what it says, named.
    #[error("step {name:?}: {why}")]
    Step { name: String, why: String },
    /// A step on an sshd configuration whose effective value cannot be
    /// known, named.
    #[error("step {name:?}: {source}")]
    Include {
        name: String,
        source: crate::collect::facts::sshd_config::SshdIncludeError,
    },
    #[error("invalid regex: {0}")]
    Regex(#[from] regex::Error),
    #[error("{0} is a directory; rectify removes files only")]
    RemoveDirectory(String),
    #[error("{0} does not exist (a file step sets metadata of an existing path)")]
    MetadataOfMissing(String),
    #[error("refusing to write {path}: {dir} {why}; a local user could swap files there while rectify works (set unsafe_writes: true on the step to write there anyway)")]
    UntrustedDir { path: String, dir: String, why: String },
    #[error("sysctl {key}: {why}")]
    Sysctl { key: String, why: Unreadable },
}

/// Plans a host. `Err` is a reason the host cannot be changed safely
/// (a symlink where a file should be, a file to edit that is missing…);
/// nothing has been changed when planning fails.
pub fn plan(steps: &[&Step], facts: &Facts, redactor: &Redactor) -> Result<HostPlan, PlanError> {
    let mut cx = PlanCx::new(facts, redactor);
    let mut notified: Vec<usize> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if step.kind.plan(step, i, &mut cx)? {
            for h in &step.notify {
                if !notified.contains(h) {
                    notified.push(*h);
                }
            }
        }
    }
    let (files, ops, changes) = cx.finish();
    for f in &files {
        trust::check(f, facts)?;
    }
    Ok(HostPlan {
        files,
        ops,
        handlers: notified,
        changes,
    })
}
