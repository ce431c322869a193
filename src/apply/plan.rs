//! Planning one host's transaction: from the rendered steps and the facts
//! gathered from the host, what each file should become and which commands
//! must run. Pure: no I/O, so every rule here is unit-tested.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::conftext::edit::{remove_line, set_line, set_setting};
use crate::conftext::include::{follows_includes, locate, ConfigFiles, Located, Source};
use crate::conftext::setting::{find_setting, SettingDialect};
use crate::diff::unified;
use crate::playbook::{Meta, StepKind};
use crate::redact::Redactor;
use crate::report::Change;

/// What a host said about one path (`lstat`, not following symlinks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub kind: FileKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    /// The content of a regular file; `Err` says why it could not be read.
    pub content: Result<Vec<u8>, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Missing,
    Regular,
    Directory,
    Symlink,
    Other,
}

impl FileFacts {
    pub fn missing() -> FileFacts {
        FileFacts {
            kind: FileKind::Missing,
            mode: 0,
            uid: 0,
            gid: 0,
            owner: String::new(),
            group: String::new(),
            content: Err("missing".into()),
        }
    }
}

/// Everything gathered from a host before planning.
#[derive(Debug, Default)]
pub struct Facts {
    pub files: BTreeMap<String, FileFacts>,
    /// Live sysctl values by key.
    pub sysctl: BTreeMap<String, Result<String, String>>,
    /// Per command step: whether it is already satisfied (`unless`
    /// succeeded, or `creates` exists).
    pub satisfied: BTreeMap<usize, bool>,
    /// Per sshd configuration a `setting` step edits: what its `Include`s
    /// expanded to and the files read (each also in `files`).
    pub sshd: BTreeMap<String, ConfigFiles>,
}

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

/// What a step needs to know besides its kind.
pub struct StepInfo<'a> {
    pub name: &'a str,
    pub kind: &'a StepKind,
    pub notify: &'a [usize],
    pub sensitive: bool,
    pub validate: Option<&'a str>,
}

/// A path's state as the steps so far leave it.
struct Work {
    before: FileFacts,
    /// `None`: the file does not exist (yet, or any more).
    content: Option<Vec<u8>>,
    mode: u32,
    owner: Option<String>,
    group: Option<String>,
    content_changed: bool,
    meta_changed: bool,
    validate: Vec<String>,
    sensitive: bool,
    /// Index of the last step that changed it, where its op goes.
    last_step: Option<usize>,
}

pub const HIDDEN: &str = "(sensitive: content not shown)";

/// Plans a host. `Err` is a reason the host cannot be changed safely
/// (a symlink where a file should be, a file to edit that is missing…);
/// nothing has been changed when planning fails.
pub fn plan(steps: &[StepInfo<'_>], facts: &Facts, redactor: &Redactor) -> Result<HostPlan, String> {
    let mut work: Vec<(String, Work)> = Vec::new();
    let mut ops_at: Vec<(usize, Op)> = Vec::new();
    let mut changes = Vec::new();
    let mut notified: Vec<usize> = Vec::new();

    for (i, step) in steps.iter().enumerate() {
        let mut step_changed = false;
        let notify_step = |notified: &mut Vec<usize>| {
            for h in step.notify {
                if !notified.contains(h) {
                    notified.push(*h);
                }
            }
        };
        match step.kind {
            StepKind::Template { source, dest, meta } => {
                let w = work_for(&mut work, dest, facts)?;
                step_changed = write_whole(w, source.as_bytes(), meta, step, i, &mut changes, redactor, dest)?;
            }
            StepKind::Copy { content, dest, meta } => {
                let w = work_for(&mut work, dest, facts)?;
                step_changed = write_whole(w, content, meta, step, i, &mut changes, redactor, dest)?;
            }
            StepKind::Restore { from, dest, meta } => {
                let content = match facts.files.get(from) {
                    Some(f) if f.kind == FileKind::Regular => f
                        .content
                        .clone()
                        .map_err(|e| format!("cannot read the backup {from}: {e}"))?,
                    _ => return Err(format!("the backup copy {from} is gone from the host")),
                };
                let w = work_for(&mut work, dest, facts)?;
                step_changed = write_whole(w, &content, meta, step, i, &mut changes, redactor, dest)?;
            }
            StepKind::Setting { file, key, value } if follows_includes(file) => {
                // sshd reads the first occurrence, following `Include`:
                // edit the file that holds it, so the edit takes effect.
                let tree = facts.sshd.get(file).ok_or_else(|| format!("{file}: not gathered"))?;
                let refuse = |why: String| format!("step {:?}: {why}", step.name);
                let effective = |work: &[(String, Work)]| locate(&Planned { work, tree }, file, key).map_err(&refuse);
                let target = effective(&work)?.map_or_else(|| file.clone(), |found| found.file);
                let w = work_for(&mut work, &target, facts)?;
                let text = editable(w, &target)?;
                let new = set_setting(&text, key, value, SettingDialect::Sshd);
                step_changed = edit(w, text, new, step, i, &mut changes, redactor, &target);
                let after = effective(&work)?;
                let wanted = find_setting(&format!("{key} {value}"), key, SettingDialect::Sshd);
                if after.as_ref().map(|f| &f.value) != wanted.as_ref() {
                    return Err(refuse(format!(
                        "setting {key} in {target} would not make it {value:?}: sshd would read {}",
                        after.map_or("nothing".to_string(), |f: Located| format!(
                            "{:?} at {}:{}",
                            f.value,
                            f.file,
                            f.line + 1
                        ))
                    )));
                }
            }
            StepKind::Setting { file, key, value } => {
                let w = work_for(&mut work, file, facts)?;
                let text = editable(w, file)?;
                let new = set_setting(&text, key, value, SettingDialect::for_path(file));
                step_changed = edit(w, text, new, step, i, &mut changes, redactor, file);
            }
            StepKind::Line {
                file,
                regexp,
                line,
                absent,
            } => {
                let w = work_for(&mut work, file, facts)?;
                let text = editable(w, file)?;
                let re = match regexp {
                    Some(r) => Some(regex::Regex::new(r).map_err(|e| format!("invalid regex: {e}"))?),
                    None => None,
                };
                let new = match (*absent, &re, line) {
                    (true, Some(re), _) => remove_line(&text, re),
                    (false, Some(re), Some(line)) => set_line(&text, re, line),
                    (false, None, Some(line)) => {
                        let exact = regex::Regex::new(&format!("^{}$", regex::escape(line))).expect("escaped");
                        set_line(&text, &exact, line)
                    }
                    _ => return Err(format!("step {:?}: nothing to do", step.name)),
                };
                step_changed = edit(w, text, new, step, i, &mut changes, redactor, file);
            }
            StepKind::File { path, absent, meta } => {
                let w = work_for(&mut work, path, facts)?;
                if *absent {
                    if w.before.kind == FileKind::Directory {
                        return Err(format!("{path} is a directory; rectify removes files only"));
                    }
                    if let Some(old) = w.content.take() {
                        w.content_changed = true;
                        step_changed = true;
                        changes.push(Change {
                            step: step.name.to_string(),
                            path: path.clone(),
                            diff: shown(step.sensitive || w.sensitive, redactor, || {
                                unified(path, Some(&old), None)
                            }),
                        });
                    }
                } else {
                    let exists = w.content.is_some() || w.before.kind == FileKind::Directory;
                    if !exists {
                        return Err(format!(
                            "{path} does not exist (a file step sets metadata of an existing path)"
                        ));
                    }
                    if let Some(text) = set_meta(w, meta) {
                        step_changed = true;
                        changes.push(Change {
                            step: step.name.to_string(),
                            path: path.clone(),
                            diff: text,
                        });
                    }
                }
                if step_changed {
                    w.last_step = Some(i);
                    w.sensitive |= step.sensitive;
                }
            }
            StepKind::Sysctl { key, value, persist } => {
                let live = facts
                    .sysctl
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| Err("not gathered".into()))
                    .map_err(|e| format!("sysctl {key}: {e}"))?;
                if normalize(&live) != normalize(value) {
                    step_changed = true;
                    changes.push(Change {
                        step: step.name.to_string(),
                        path: crate::collect::sysctl_path(key),
                        diff: shown(step.sensitive, redactor, || {
                            format!("-{key} = {}\n+{key} = {value}\n", live.trim())
                        }),
                    });
                    ops_at.push((
                        i,
                        Op::Sysctl {
                            key: key.clone(),
                            value: value.clone(),
                            old: live.trim().to_string(),
                        },
                    ));
                }
                if let Some(file) = persist {
                    let w = work_for(&mut work, file, facts)?;
                    let text = match &w.content {
                        Some(_) => editable(w, file)?,
                        None => String::new(),
                    };
                    let new = set_setting(&text, key, value, SettingDialect::Generic);
                    if w.content.is_none() {
                        w.mode = 0o644;
                    }
                    step_changed |= edit(w, text, new, step, i, &mut changes, redactor, file);
                }
            }
            StepKind::Command { command, rollback, .. } => {
                if !facts.satisfied.get(&i).copied().unwrap_or(false) {
                    step_changed = true;
                    changes.push(Change {
                        step: step.name.to_string(),
                        path: String::new(),
                        diff: shown(step.sensitive, redactor, || format!("will run: {command}\n")),
                    });
                    ops_at.push((
                        i,
                        Op::Command {
                            command: command.clone(),
                            rollback: rollback.clone(),
                            sensitive: step.sensitive,
                        },
                    ));
                }
            }
        }
        if step_changed {
            notify_step(&mut notified);
        }
    }

    let mut files = Vec::new();
    for (path, w) in work {
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
        });
        ops_at.push((last, Op::File(files.len() - 1)));
    }
    // Stable: ops of one step keep their order (sysctl live value, then
    // its persisted file).
    ops_at.sort_by_key(|(step, _)| *step);
    Ok(HostPlan {
        files,
        ops: ops_at.into_iter().map(|(_, op)| op).collect(),
        handlers: notified,
        changes,
    })
}

/// The sshd configuration as the steps so far leave it: planned content
/// where a step changed a file, the host's otherwise; patterns expand as
/// they did on the host.
struct Planned<'a> {
    work: &'a [(String, Work)],
    tree: &'a ConfigFiles,
}

impl Source for Planned<'_> {
    fn text(&self, path: &str) -> Result<Option<Cow<'_, str>>, String> {
        match self.work.iter().find(|(p, _)| p == path) {
            Some((_, w)) => Ok(w.content.as_ref().map(|c| String::from_utf8_lossy(c))),
            None => self.tree.text(path),
        }
    }

    fn expand(&self, pattern: &str) -> Result<Vec<String>, String> {
        self.tree.expand(pattern)
    }
}

fn work_for<'a>(work: &'a mut Vec<(String, Work)>, path: &str, facts: &Facts) -> Result<&'a mut Work, String> {
    if let Some(i) = work.iter().position(|(p, _)| p == path) {
        return Ok(&mut work[i].1);
    }
    let before = facts
        .files
        .get(path)
        .cloned()
        .ok_or_else(|| format!("{path}: not gathered"))?;
    match before.kind {
        FileKind::Symlink => {
            return Err(format!(
                "{path} is a symbolic link; rectify does not write through links (point the step at the real file)"
            ))
        }
        FileKind::Other => return Err(format!("{path} is not a regular file")),
        _ => {}
    }
    let content = match before.kind {
        FileKind::Regular => Some(before.content.clone().map_err(|e| format!("cannot read {path}: {e}"))?),
        _ => None,
    };
    work.push((
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
            last_step: None,
        },
    ));
    Ok(&mut work.last_mut().expect("just pushed").1)
}

fn editable(w: &Work, path: &str) -> Result<String, String> {
    match &w.content {
        None if w.before.kind == FileKind::Directory => Err(format!("{path} is a directory")),
        None => Err(format!(
            "{path} does not exist; `setting` and `line` edit existing files"
        )),
        Some(bytes) => {
            String::from_utf8(bytes.clone()).map_err(|_| format!("{path} is not UTF-8 text; cannot edit it"))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn edit(
    w: &mut Work,
    old: String,
    new: String,
    step: &StepInfo<'_>,
    i: usize,
    changes: &mut Vec<Change>,
    redactor: &Redactor,
    path: &str,
) -> bool {
    if let Some(v) = step.validate {
        if !w.validate.iter().any(|x| x == v) {
            w.validate.push(v.to_string());
        }
    }
    if new == old && w.content.is_some() {
        return false;
    }
    let existed = w.content.is_some();
    changes.push(Change {
        step: step.name.to_string(),
        path: path.to_string(),
        diff: shown(step.sensitive || w.sensitive, redactor, || {
            unified(path, existed.then_some(old.as_bytes()), Some(new.as_bytes()))
        }),
    });
    w.content = Some(new.into_bytes());
    w.content_changed = true;
    w.sensitive |= step.sensitive;
    w.last_step = Some(i);
    true
}

#[allow(clippy::too_many_arguments)]
fn write_whole(
    w: &mut Work,
    content: &[u8],
    meta: &Meta,
    step: &StepInfo<'_>,
    i: usize,
    changes: &mut Vec<Change>,
    redactor: &Redactor,
    path: &str,
) -> Result<bool, String> {
    if w.before.kind == FileKind::Directory {
        return Err(format!("{path} is a directory"));
    }
    if let Some(v) = step.validate {
        if !w.validate.iter().any(|x| x == v) {
            w.validate.push(v.to_string());
        }
    }
    let mut changed = false;
    if w.content.as_deref() != Some(content) {
        changes.push(Change {
            step: step.name.to_string(),
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
            changes.push(Change {
                step: step.name.to_string(),
                path: path.to_string(),
                diff: text,
            });
        }
        changed = true;
    }
    if changed {
        w.sensitive |= step.sensitive;
        w.last_step = Some(i);
    }
    Ok(changed)
}

/// Applies wanted metadata; returns a description of what differs.
fn set_meta(w: &mut Work, meta: &Meta) -> Option<String> {
    let mut text = String::new();
    let new_file = w.before.kind == FileKind::Missing;
    let wanted = meta.mode.or(meta.max_mode.map(|max| w.mode & max));
    if let Some(mode) = wanted {
        if mode != w.mode {
            text.push_str(&format!("mode {:04o} → {:04o}\n", w.mode, mode));
            w.mode = mode;
        }
    }
    let current_owner = w.owner.clone();
    if let Some(owner) = &meta.owner {
        let same = match &current_owner {
            Some(o) => o == owner,
            None => !new_file && (w.before.owner == *owner || w.before.uid.to_string() == *owner),
        };
        if !same {
            let was = current_owner.unwrap_or_else(|| w.before.owner.clone());
            text.push_str(&format!("owner {} → {owner}\n", if new_file { "(new)" } else { &was }));
            w.owner = Some(owner.clone());
        }
    }
    let current_group = w.group.clone();
    if let Some(group) = &meta.group {
        let same = match &current_group {
            Some(g) => g == group,
            None => !new_file && (w.before.group == *group || w.before.gid.to_string() == *group),
        };
        if !same {
            let was = current_group.unwrap_or_else(|| w.before.group.clone());
            text.push_str(&format!("group {} → {group}\n", if new_file { "(new)" } else { &was }));
            w.group = Some(group.clone());
        }
    }
    if text.is_empty() {
        None
    } else {
        w.meta_changed = true;
        Some(text)
    }
}

fn shown(hidden: bool, redactor: &Redactor, diff: impl FnOnce() -> String) -> String {
    if hidden {
        HIDDEN.to_string()
    } else {
        redactor.redact(&diff())
    }
}

/// Sysctl values compare by their words: /proc prints tabs between fields.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regular(content: &str, mode: u32) -> FileFacts {
        FileFacts {
            kind: FileKind::Regular,
            mode,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
            content: Ok(content.as_bytes().to_vec()),
        }
    }

    fn info<'a>(name: &'a str, kind: &'a StepKind, notify: &'a [usize]) -> StepInfo<'a> {
        StepInfo {
            name,
            kind,
            notify,
            sensitive: false,
            validate: None,
        }
    }

    const MAIN: &str = "/etc/ssh/sshd_config";
    const CLOUD: &str = "/etc/ssh/sshd_config.d/50-cloud-init.conf";

    /// Facts for an sshd configuration: its files (the main one first) and
    /// what each `Include` pattern expanded to on the host.
    fn sshd_facts(files: &[(&str, &str)], globs: &[(&str, &[&str])]) -> Facts {
        use crate::collect::ProbeOutput;
        use crate::conftext::include::CollectedFile;
        let mut facts = Facts::default();
        let mut tree = ConfigFiles::default();
        for (path, text) in files {
            facts.files.insert(path.to_string(), regular(text, 0o644));
            tree.files.push(CollectedFile {
                path: path.to_string(),
                lstat: None,
                content: ProbeOutput::Ok(text.as_bytes().to_vec()),
            });
        }
        for (pattern, matches) in globs {
            tree.globs
                .push((pattern.to_string(), matches.iter().map(|m| m.to_string()).collect()));
        }
        facts.sshd.insert(files[0].0.to_string(), tree);
        facts
    }

    fn set(key: &str, value: &str) -> StepKind {
        StepKind::Setting {
            file: MAIN.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    fn written(p: &HostPlan) -> Vec<(String, String)> {
        p.files
            .iter()
            .map(|f| match &f.action {
                FileAction::Write { content, .. } => (f.path.clone(), String::from_utf8_lossy(content).into_owned()),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_sshd_setting_is_edited_where_sshd_reads_it() {
        let top = "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nX11Forwarding yes\n";
        let globs: &[(&str, &[&str])] = &[("/etc/ssh/sshd_config.d/*.conf", &[CLOUD])];
        let facts = sshd_facts(
            &[(MAIN, top), (CLOUD, "# cloud-init\nPasswordAuthentication yes\n")],
            globs,
        );
        let (a, b, c) = (
            set("PasswordAuthentication", "no"),
            set("X11Forwarding", "no"),
            set("Banner", "/etc/issue.net"),
        );
        let p = plan(
            &[info("a", &a, &[0]), info("b", &b, &[0]), info("c", &c, &[0])],
            &facts,
            &Redactor::default(),
        )
        .unwrap();
        // The drop-in holds the effective PasswordAuthentication; the main
        // file the rest, and the key set nowhere goes into the main file.
        assert_eq!(
            written(&p),
            [
                (CLOUD.to_string(), "# cloud-init\nPasswordAuthentication no\n".to_string()),
                (
                    MAIN.to_string(),
                    "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nX11Forwarding no\nBanner /etc/issue.net\n".to_string()
                ),
            ]
        );
        assert_eq!(p.changes[0].path, CLOUD);
        // Set before the Include, the main file's line is the one sshd reads.
        let first = "PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n";
        let facts = sshd_facts(&[(MAIN, first), (CLOUD, "PasswordAuthentication yes\n")], globs);
        let p = plan(&[info("a", &a, &[])], &facts, &Redactor::default()).unwrap();
        assert_eq!(
            written(&p),
            [(
                MAIN.to_string(),
                "PasswordAuthentication no\nInclude /etc/ssh/sshd_config.d/*.conf\n".to_string()
            )]
        );
        // Already effective: nothing to do, even though the main file's own
        // line (never read by sshd) says otherwise.
        let facts = sshd_facts(
            &[
                (
                    MAIN,
                    "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n",
                ),
                (CLOUD, "PasswordAuthentication no\n"),
            ],
            globs,
        );
        assert!(plan(&[info("a", &a, &[])], &facts, &Redactor::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_sshd_setting_that_cannot_be_placed_is_refused_naming_the_line() {
        // The include's pattern was not expanded (here: not reported), so
        // where sshd reads the key is unknown: refuse, name file:line.
        let facts = sshd_facts(
            &[(
                MAIN,
                "Port 22\nInclude /etc/ssh/other/*.conf\nPasswordAuthentication yes\n",
            )],
            &[],
        );
        let a = set("PasswordAuthentication", "no");
        let err = plan(&[info("a", &a, &[])], &facts, &Redactor::default()).unwrap_err();
        assert!(
            err.contains("/etc/ssh/sshd_config:2") && err.contains("/etc/ssh/other/*.conf"),
            "{err}"
        );
        // A quoted pattern with a blank, which the host cannot expand:
        // refused, naming the line, nothing planned.
        let facts = sshd_facts(
            &[(MAIN, "Include \"/etc/ssh/sp dir/*.conf\"\nPasswordAuthentication yes\n")],
            &[("/etc/ssh/sp", &[]), ("/etc/ssh/dir/*.conf", &[])],
        );
        let err = plan(&[info("a", &a, &[])], &facts, &Redactor::default()).unwrap_err();
        assert!(
            err.contains("/etc/ssh/sshd_config:1") && err.contains("sp dir"),
            "{err}"
        );
        // A drop-in that is a symbolic link is not written through.
        let mut facts = sshd_facts(
            &[
                (MAIN, "Include /etc/ssh/sshd_config.d/*.conf\n"),
                (CLOUD, "PasswordAuthentication yes\n"),
            ],
            &[("/etc/ssh/sshd_config.d/*.conf", &[CLOUD])],
        );
        facts.files.get_mut(CLOUD).unwrap().kind = FileKind::Symlink;
        let err = plan(&[info("a", &a, &[])], &facts, &Redactor::default()).unwrap_err();
        assert!(err.contains(CLOUD) && err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn two_steps_on_one_file_make_one_write_with_both_edits() {
        let facts = sshd_facts(&[(MAIN, "# keep me\nX11Forwarding yes\nPermitRootLogin yes\n")], &[]);
        let a = StepKind::Setting {
            file: "/etc/ssh/sshd_config".into(),
            key: "X11Forwarding".into(),
            value: "no".into(),
        };
        let b = StepKind::Setting {
            file: "/etc/ssh/sshd_config".into(),
            key: "PermitRootLogin".into(),
            value: "no".into(),
        };
        let p = plan(
            &[info("a", &a, &[0]), info("b", &b, &[0])],
            &facts,
            &Redactor::default(),
        )
        .unwrap();
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.ops, vec![Op::File(0)]);
        assert_eq!(p.handlers, vec![0]);
        assert_eq!(p.changes.len(), 2);
        match &p.files[0].action {
            FileAction::Write { content, mode, .. } => {
                assert_eq!(
                    String::from_utf8_lossy(content),
                    "# keep me\nX11Forwarding no\nPermitRootLogin no\n"
                );
                assert_eq!(*mode, 0o644);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_to_do_is_an_empty_plan() {
        let mut facts = Facts::default();
        facts.files.insert("/etc/x".into(), regular("a 1\n", 0o600));
        let s = StepKind::Setting {
            file: "/etc/x".into(),
            key: "a".into(),
            value: "1".into(),
        };
        let f = StepKind::File {
            path: "/etc/x".into(),
            absent: false,
            meta: Meta {
                mode: Some(0o600),
                max_mode: None,
                owner: Some("root".into()),
                group: Some("0".into()),
            },
        };
        let p = plan(&[info("s", &s, &[0]), info("f", &f, &[])], &facts, &Redactor::default()).unwrap();
        assert!(p.is_empty(), "{p:?}");
        assert!(p.handlers.is_empty());
    }

    #[test]
    fn symlinks_and_missing_files_are_refused_before_anything_changes() {
        let mut facts = Facts::default();
        let mut link = regular("", 0o777);
        link.kind = FileKind::Symlink;
        facts.files.insert("/etc/link".into(), link);
        facts.files.insert("/etc/none".into(), FileFacts::missing());
        let t = StepKind::Template {
            source: "x".into(),
            dest: "/etc/link".into(),
            meta: Meta::default(),
        };
        assert!(plan(&[info("t", &t, &[])], &facts, &Redactor::default())
            .unwrap_err()
            .contains("symbolic link"));
        let s = StepKind::Setting {
            file: "/etc/none".into(),
            key: "a".into(),
            value: "1".into(),
        };
        assert!(plan(&[info("s", &s, &[])], &facts, &Redactor::default())
            .unwrap_err()
            .contains("does not exist"));
    }

    #[test]
    fn sysctl_sets_live_value_and_creates_the_persist_file() {
        let mut facts = Facts::default();
        facts.sysctl.insert("net.ipv4.ip_forward".into(), Ok("1\n".into()));
        facts.files.insert("/etc/sysctl.d/90.conf".into(), FileFacts::missing());
        let s = StepKind::Sysctl {
            key: "net.ipv4.ip_forward".into(),
            value: "0".into(),
            persist: Some("/etc/sysctl.d/90.conf".into()),
        };
        let p = plan(&[info("s", &s, &[])], &facts, &Redactor::default()).unwrap();
        assert_eq!(p.ops.len(), 2);
        assert!(matches!(&p.ops[0], Op::Sysctl { old, .. } if old == "1"));
        match &p.files[0].action {
            FileAction::Write { content, mode, .. } => {
                assert_eq!(String::from_utf8_lossy(content), "net.ipv4.ip_forward = 0\n");
                assert_eq!(*mode, 0o644);
            }
            other => panic!("{other:?}"),
        }
        assert!(p.changes[1].diff.starts_with("--- /dev/null"), "{}", p.changes[1].diff);
    }

    #[test]
    fn sensitive_steps_never_show_content() {
        let mut facts = Facts::default();
        facts.files.insert("/etc/secret".into(), regular("old-secret\n", 0o600));
        let t = StepKind::Template {
            source: "new-secret\n".into(),
            dest: "/etc/secret".into(),
            meta: Meta::default(),
        };
        let mut step = info("t", &t, &[]);
        step.sensitive = true;
        let p = plan(&[step], &facts, &Redactor::default()).unwrap();
        assert_eq!(p.changes[0].diff, HIDDEN);
        assert!(p.files[0].sensitive);
    }

    #[test]
    fn max_mode_only_takes_bits_away() {
        let mut facts = Facts::default();
        facts.files.insert("/etc/wide".into(), regular("", 0o644));
        facts.files.insert("/etc/strict".into(), regular("", 0o600));
        let step = |path: &str| StepKind::File {
            path: path.into(),
            absent: false,
            meta: Meta {
                max_mode: Some(0o640),
                ..Meta::default()
            },
        };
        let (wide, strict) = (step("/etc/wide"), step("/etc/strict"));
        let p = plan(
            &[info("w", &wide, &[]), info("s", &strict, &[])],
            &facts,
            &Redactor::default(),
        )
        .unwrap();
        assert_eq!(p.files.len(), 1);
        assert_eq!(
            p.files[0].action,
            FileAction::Chmod {
                mode: Some(0o640),
                owner: None,
                group: None
            }
        );
    }

    #[test]
    fn satisfied_commands_do_not_run() {
        let mut facts = Facts::default();
        facts.satisfied.insert(0, true);
        facts.satisfied.insert(1, false);
        let c = StepKind::Command {
            command: "x".into(),
            unless: Some("true".into()),
            creates: None,
            rollback: None,
        };
        let p = plan(&[info("a", &c, &[]), info("b", &c, &[])], &facts, &Redactor::default()).unwrap();
        assert_eq!(p.ops.len(), 1);
    }
}
