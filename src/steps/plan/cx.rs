//! The planning context every step kind works on: each path's state as the
//! steps so far leave it ([`Work`]), the report's changes, and the ops in
//! step order. The rules shared by kinds (no writing through symlinks, one
//! write per path, hidden diffs for sensitive steps) live here once.

use std::borrow::Cow;

use super::{Facts, FileAction, FileChange, FileKind, Op, PlanError, HIDDEN};
use crate::collect::facts::sshd_config::{ConfigFiles, Unread};
use crate::conftext::include::{locate, resolve, Effective, Located, Source};
use crate::diff::unified;
use crate::redact::Redactor;
use crate::report::Change;
use crate::steps::{Meta, Step};

/// A path's state as the steps so far leave it.
#[derive(Debug)]
pub struct Work {
    pub before: super::FileFacts,
    /// `None`: the file does not exist (yet, or any more).
    pub content: Option<Vec<u8>>,
    pub mode: u32,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub content_changed: bool,
    pub meta_changed: bool,
    pub validate: Vec<String>,
    pub sensitive: bool,
    /// A step that changed it allows a directory others can write.
    pub unsafe_writes: bool,
    /// Index of the last step that changed it, where its op goes.
    pub last_step: Option<usize>,
}

impl Work {
    /// Marks the path changed by step `i`.
    pub fn touched_by(&mut self, step: &Step, i: usize) {
        self.sensitive |= step.sensitive;
        self.unsafe_writes |= step.unsafe_writes;
        self.last_step = Some(i);
    }

    fn add_validate(&mut self, step: &Step) {
        if let Some(v) = &step.validate {
            if !self.validate.iter().any(|x| x == v) {
                self.validate.push(v.to_string());
            }
        }
    }
}

pub struct PlanCx<'a> {
    facts: &'a Facts,
    redactor: &'a Redactor,
    work: Vec<(String, Work)>,
    ops_at: Vec<(usize, Op)>,
    changes: Vec<Change>,
}

impl<'a> PlanCx<'a> {
    pub fn new(facts: &'a Facts, redactor: &'a Redactor) -> Self {
        PlanCx {
            facts,
            redactor,
            work: Vec::new(),
            ops_at: Vec::new(),
            changes: Vec::new(),
        }
    }

    pub fn facts(&self) -> &'a Facts {
        self.facts
    }

    pub fn redactor(&self) -> &'a Redactor {
        self.redactor
    }

    /// A report entry; the diff is hidden for sensitive steps.
    pub fn change(&mut self, step: &Step, path: &str, diff: impl FnOnce() -> String) {
        let diff = shown(step.sensitive, self.redactor, diff);
        self.changes.push(Change {
            step: step.name.clone(),
            path: path.to_string(),
            diff,
        });
    }

    /// A report entry whose text was already made safe to show.
    pub fn change_shown(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// An operation of step `i`, committed in step order.
    pub fn op(&mut self, i: usize, op: Op) {
        self.ops_at.push((i, op));
    }

    /// The state of `path` so far, from the host's facts the first time.
    pub fn work(&mut self, path: &str) -> Result<&mut Work, PlanError> {
        if let Some(i) = self.work.iter().position(|(p, _)| p == path) {
            return Ok(&mut self.work[i].1);
        }
        let before = self
            .facts
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| PlanError::NotGathered(path.to_string()))?;
        match before.kind {
            FileKind::Symlink => return Err(PlanError::Symlink(path.to_string())),
            FileKind::Other => return Err(PlanError::NotRegular(path.to_string())),
            _ => {}
        }
        let content = match before.kind {
            FileKind::Regular => Some(before.content.clone().map_err(|why| PlanError::Unreadable {
                path: path.to_string(),
                why,
            })?),
            _ => None,
        };
        self.work.push((
            path.to_string(),
            Work {
                mode: if before.kind == FileKind::Missing {
                    0o644
                } else {
                    before.mode
                },
                before,
                content,
                owner: None,
                group: None,
                content_changed: false,
                meta_changed: false,
                validate: Vec::new(),
                sensitive: false,
                unsafe_writes: false,
                last_step: None,
            },
        ));
        let last = self.work.len() - 1;
        Ok(&mut self.work[last].1)
    }

    /// Where sshd reads `key` of the configuration `main`, with the steps
    /// so far applied: planned content where a step changed a file. A
    /// place that cannot be known refuses `step`.
    pub fn effective(
        &self,
        step: &Step,
        tree: &ConfigFiles,
        main: &str,
        key: &str,
    ) -> Result<Option<Located>, PlanError> {
        locate(&Planned { work: &self.work, tree }, main, key).map_err(|source| PlanError::Include {
            name: step.name.clone(),
            source,
        })
    }

    /// [`PlanCx::effective`] with every conditional `Match` block that
    /// sets the key ([`resolve`]), as planned so far.
    pub fn resolved(&self, step: &Step, tree: &ConfigFiles, main: &str, key: &str) -> Result<Effective, PlanError> {
        resolve(&Planned { work: &self.work, tree }, main, key).map_err(|source| PlanError::Include {
            name: step.name.clone(),
            source,
        })
    }

    /// The text of an existing file as planned so far.
    pub fn text_of(&mut self, path: &str) -> Result<String, PlanError> {
        editable(self.work(path)?, path)
    }

    /// Edits an existing text file: `edit` gets its text as planned so far.
    pub fn edit_text(
        &mut self,
        step: &Step,
        i: usize,
        path: &str,
        edit: impl FnOnce(&str) -> String,
    ) -> Result<bool, PlanError> {
        let redactor = self.redactor;
        let w = self.work(path)?;
        let text = editable(w, path)?;
        let new = edit(&text);
        let change = apply_edit(w, text, new, step, i, redactor, path);
        Ok(self.record(change))
    }

    /// Like [`PlanCx::edit_text`], but a missing file is created (mode 0644).
    pub fn edit_or_create(
        &mut self,
        step: &Step,
        i: usize,
        path: &str,
        edit: impl FnOnce(&str) -> String,
    ) -> Result<bool, PlanError> {
        let redactor = self.redactor;
        let w = self.work(path)?;
        let text = match &w.content {
            Some(_) => editable(w, path)?,
            None => String::new(),
        };
        let new = edit(&text);
        if w.content.is_none() {
            w.mode = 0o644;
        }
        let change = apply_edit(w, text, new, step, i, redactor, path);
        Ok(self.record(change))
    }

    /// A whole file's content and metadata.
    pub fn write_whole(
        &mut self,
        step: &Step,
        i: usize,
        path: &str,
        content: &[u8],
        meta: &Meta,
    ) -> Result<bool, PlanError> {
        let redactor = self.redactor;
        let w = self.work(path)?;
        if w.before.kind == FileKind::Directory {
            return Err(PlanError::Directory(path.to_string()));
        }
        w.add_validate(step);
        let mut changed = false;
        let mut change = None;
        if w.content.as_deref() != Some(content) {
            change = Some(Change {
                step: step.name.clone(),
                path: path.to_string(),
                diff: shown(step.sensitive || w.sensitive, redactor, || {
                    unified(path, w.content.as_deref(), Some(content))
                }),
            });
            w.content = Some(content.to_vec());
            w.content_changed = true;
            changed = true;
        }
        if let Some(text) = set_meta(w, meta) {
            if !changed {
                change = Some(Change {
                    step: step.name.clone(),
                    path: path.to_string(),
                    diff: text,
                });
            }
            changed = true;
        }
        if changed {
            w.touched_by(step, i);
        }
        self.record(change);
        Ok(changed)
    }

    fn record(&mut self, change: Option<Change>) -> bool {
        match change {
            Some(c) => {
                self.changes.push(c);
                true
            }
            None => false,
        }
    }

    /// The files to change, the ops in step order, and the report's changes.
    pub fn finish(self) -> (Vec<FileChange>, Vec<Op>, Vec<Change>) {
        let mut ops_at = self.ops_at;
        let mut files = Vec::new();
        for (path, w) in self.work {
            let Some(last) = w.last_step else { continue };
            let action = if w.content_changed {
                match w.content {
                    None => FileAction::Remove,
                    Some(content) => FileAction::Write {
                        content,
                        mode: w.mode,
                        owner: w.owner.clone(),
                        group: w.group.clone(),
                    },
                }
            } else if w.meta_changed {
                FileAction::Chmod {
                    mode: (w.mode != w.before.mode).then_some(w.mode),
                    owner: w.owner.clone(),
                    group: w.group.clone(),
                }
            } else {
                continue;
            };
            files.push(FileChange {
                path,
                before: w.before,
                action,
                validate: w.validate,
                sensitive: w.sensitive,
                unsafe_writes: w.unsafe_writes,
            });
            ops_at.push((last, Op::File(files.len() - 1)));
        }
        // Stable: ops of one step keep their order (sysctl live value, then
        // its persisted file).
        ops_at.sort_by_key(|(step, _)| *step);
        (files, ops_at.into_iter().map(|(_, op)| op).collect(), self.changes)
    }
}

/// The sshd configuration as the steps so far leave it: planned content
/// where a step changed a file, the host's otherwise; patterns expand as
/// they did on the host.
struct Planned<'a> {
    work: &'a [(String, Work)],
    tree: &'a ConfigFiles,
}

impl Source for Planned<'_> {
    type Error = Unread;

    fn text(&self, path: &str) -> Result<Option<Cow<'_, str>>, Unread> {
        match self.work.iter().find(|(p, _)| p == path) {
            Some((_, w)) => Ok(w.content.as_ref().map(|c| String::from_utf8_lossy(c))),
            None => self.tree.text(path),
        }
    }

    fn expand(&self, pattern: &str) -> Result<Vec<String>, Unread> {
        self.tree.expand(pattern)
    }
}

fn editable(w: &Work, path: &str) -> Result<String, PlanError> {
    match &w.content {
        None if w.before.kind == FileKind::Directory => Err(PlanError::Directory(path.to_string())),
        None => Err(PlanError::EditMissing(path.to_string())),
        Some(bytes) => String::from_utf8(bytes.clone()).map_err(|_| PlanError::NotUtf8(path.to_string())),
    }
}

/// Records an edit of `w` from `old` to `new`; the change for the report
/// when the content differs.
fn apply_edit(
    w: &mut Work,
    old: String,
    new: String,
    step: &Step,
    i: usize,
    redactor: &Redactor,
    path: &str,
) -> Option<Change> {
    w.add_validate(step);
    if new == old && w.content.is_some() {
        return None;
    }
    let existed = w.content.is_some();
    let change = Change {
        step: step.name.clone(),
        path: path.to_string(),
        diff: shown(step.sensitive || w.sensitive, redactor, || {
            unified(path, existed.then_some(old.as_bytes()), Some(new.as_bytes()))
        }),
    };
    w.content = Some(new.into_bytes());
    w.content_changed = true;
    w.touched_by(step, i);
    Some(change)
}

/// Applies wanted metadata; returns a description of what differs.
pub fn set_meta(w: &mut Work, meta: &Meta) -> Option<String> {
    let mut text = String::new();
    let new_file = w.before.kind == FileKind::Missing;
    let wanted = meta.mode.or(meta.max_mode.map(|max| w.mode & max));
    if let Some(mode) = wanted {
        if mode != w.mode {
            text.push_str(&format!("mode {:04o} → {:04o}\n", w.mode, mode));
            w.mode = mode;
        }
    }
    let (before_owner, before_uid) = (w.before.owner.clone(), w.before.uid);
    if let Some(line) = set_ident(
        "owner",
        &mut w.owner,
        meta.owner.as_deref(),
        new_file,
        &before_owner,
        before_uid,
    ) {
        text.push_str(&line);
    }
    let (before_group, before_gid) = (w.before.group.clone(), w.before.gid);
    if let Some(line) = set_ident(
        "group",
        &mut w.group,
        meta.group.as_deref(),
        new_file,
        &before_group,
        before_gid,
    ) {
        text.push_str(&line);
    }
    if text.is_empty() {
        None
    } else {
        w.meta_changed = true;
        Some(text)
    }
}

/// The diff, or a placeholder when the content must not be shown.
pub fn shown(hidden: bool, redactor: &Redactor, diff: impl FnOnce() -> String) -> String {
    if hidden {
        HIDDEN.to_string()
    } else {
        redactor.redact(&diff())
    }
}

/// Sets a wanted owner or group (`what`) unless the file already has it,
/// by name or number; returns the line describing the change.
fn set_ident(
    what: &str,
    current: &mut Option<String>,
    wanted: Option<&str>,
    new_file: bool,
    before_name: &str,
    before_id: u32,
) -> Option<String> {
    let wanted = wanted?;
    let same = match current.as_deref() {
        Some(c) => c == wanted,
        None => !new_file && (before_name == wanted || before_id.to_string() == wanted),
    };
    if same {
        return None;
    }
    let was = current.clone().unwrap_or_else(|| before_name.to_string());
    *current = Some(wanted.to_string());
    Some(format!("{what} {} → {wanted}\n", if new_file { "(new)" } else { &was }))
}
