//! The refusal of targets in directories a user other than root (or the
//! connecting user) can write: such a user can swap names there under any
//! command rectify runs. The change script checks the same on the host
//! right before writing (`trusted` in the apply prelude), where it cannot
//! be raced; this check, on the gathered `lstat`s, says it at plan time,
//! so `--check` shows it too and nothing is locked or uploaded.

use super::{Facts, FileChange, FileKind, PlanError};

/// What the host said about one directory above a target (`lstat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirFacts {
    pub kind: FileKind,
    pub mode: u32,
    pub uid: u32,
}

/// The directories above `path`, nearest first, ending with `/`.
pub fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = path;
    while let Some((dir, _)) = p.rsplit_once('/') {
        out.push(if dir.is_empty() {
            "/".to_string()
        } else {
            dir.to_string()
        });
        if dir.is_empty() {
            break;
        }
        p = dir;
    }
    out
}

/// The refusal for a change no step allowed into an untrusted directory.
/// Unknown facts (not gathered, the connecting uid unknown) and symbolic
/// links among the directories are left to the host's own check, which
/// resolves them.
pub fn check(change: &FileChange, facts: &Facts) -> Result<(), PlanError> {
    if change.unsafe_writes {
        return Ok(());
    }
    let Some(me) = facts.uid else { return Ok(()) };
    for (n, dir) in ancestors(&change.path).into_iter().enumerate() {
        let Some(d) = facts.dirs.get(&dir) else { return Ok(()) };
        if d.kind != FileKind::Directory {
            return Ok(());
        }
        let why = if d.uid != 0 && d.uid != me {
            format!("is owned by uid {}, not root", d.uid)
        } else if d.mode & 0o022 != 0 && (n == 0 || d.mode & 0o1000 == 0) {
            format!("is writable by group or others (mode {:o})", d.mode)
        } else {
            continue;
        };
        return Err(PlanError::UntrustedDir {
            path: change.path.clone(),
            dir,
            why,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::plan::{FileAction, FileFacts};

    fn facts(dirs: &[(&str, u32, u32)]) -> Facts {
        let mut f = Facts {
            uid: Some(0),
            ..Facts::default()
        };
        for (path, mode, uid) in dirs {
            f.dirs.insert(
                path.to_string(),
                DirFacts {
                    kind: FileKind::Directory,
                    mode: *mode,
                    uid: *uid,
                },
            );
        }
        f
    }

    fn change(path: &str, unsafe_writes: bool) -> FileChange {
        FileChange {
            path: path.into(),
            before: FileFacts::missing(),
            action: FileAction::Remove,
            validate: Vec::new(),
            sensitive: false,
            unsafe_writes,
        }
    }

    #[test]
    fn ancestors_run_up_to_the_root() {
        assert_eq!(ancestors("/etc/a/b.conf"), ["/etc/a", "/etc", "/"]);
        assert_eq!(ancestors("/x"), ["/"]);
    }

    #[test]
    fn a_user_owned_or_writable_directory_is_refused_unless_allowed() {
        let root = [("/", 0o755, 0), ("/etc", 0o755, 0)];
        let user = facts(&[root[0], root[1], ("/etc/userapp", 0o755, 1000)]);
        let err = check(&change("/etc/userapp/app.conf", false), &user).unwrap_err();
        assert!(err.to_string().contains("/etc/userapp is owned by uid 1000"), "{err}");
        assert!(err.to_string().contains("unsafe_writes: true"), "{err}");
        assert!(check(&change("/etc/userapp/app.conf", true), &user).is_ok());
        let group = facts(&[root[0], root[1], ("/etc/g", 0o775, 0)]);
        assert!(check(&change("/etc/g/x", false), &group).is_err());
        // Sticky and world-writable: fine above the target's directory, not as it.
        let tmp = facts(&[root[0], ("/tmp", 0o1777, 0), ("/tmp/app", 0o700, 0)]);
        assert!(check(&change("/tmp/app/x", false), &tmp).is_ok());
        assert!(check(&change("/tmp/x", false), &tmp).is_err());
        assert!(check(&change("/etc/x", false), &facts(&root)).is_ok());
    }
}
