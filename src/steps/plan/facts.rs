//! What planning knows about a host: the facts gathered before it, and the
//! requests ([`Need`]) steps make so the transaction gathers just those.

use std::collections::BTreeMap;

use crate::collect::facts::sshd_config::ConfigFiles;
use crate::collect::facts::sysctl_files::{SysctlFilesError, SysctlFound};
use crate::collect::ProbeStatus;
use crate::conftext::sshd_defaults::Defaults;

/// Why a file's content or a live sysctl value is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// The file does not exist.
    #[error("missing")]
    Missing,
    /// The host answered with a status instead of the value.
    #[error("{0}")]
    Status(ProbeStatus),
    /// The kernel has no such parameter.
    #[error("no such kernel parameter")]
    NoSuchKey,
    /// No step asked for it, so it was not gathered.
    #[error("not gathered")]
    NotGathered,
}

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
    pub content: Result<Vec<u8>, Unreadable>,
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
            content: Err(Unreadable::Missing),
        }
    }
}

/// Everything gathered from a host before planning.
#[derive(Debug, Default)]
pub struct Facts {
    pub files: BTreeMap<String, FileFacts>,
    /// Live sysctl values by key.
    pub sysctl: BTreeMap<String, Result<String, Unreadable>>,
    /// Per command step: whether it is already satisfied (`unless`
    /// succeeded, or `creates` exists).
    pub satisfied: BTreeMap<usize, bool>,
    /// Per sshd configuration a `setting` step edits: what its `Include`s
    /// expanded to and the files read (each also in `files`).
    pub sshd: BTreeMap<String, ConfigFiles>,
    /// The sysctl files `sysctl --system` may read, when a step persists a
    /// sysctl value; `None` when no step asked for them.
    pub sysctl_files: Option<Result<SysctlFound, SysctlFilesError>>,
    /// `lstat` of every directory above a needed path (see [`super::trust`]).
    pub dirs: BTreeMap<String, super::trust::DirFacts>,
    /// The uid the apply runs as on the host, when gathered.
    pub uid: Option<u32>,
    /// sshd's compiled-in defaults for the host's release (`sshd -V`),
    /// when a step asked for them.
    pub sshd_defaults: Option<Defaults>,
}

/// One fact a step needs before it can be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// `lstat` and content of a path, into [`Facts::files`].
    File(String),
    /// An sshd configuration with its includes, into [`Facts::sshd`] (and
    /// each file read into [`Facts::files`]).
    SshdConfig(String),
    /// A live kernel value, into [`Facts::sysctl`].
    Sysctl(String),
    /// The sysctl files, into [`Facts::sysctl_files`].
    SysctlFiles,
    /// The host's sshd release, into [`Facts::sshd_defaults`].
    SshdVersion,
    /// Step `step` is satisfied when `command` succeeds.
    Unless { step: usize, command: String },
    /// Step `step` is satisfied when `path` exists.
    Creates { step: usize, path: String },
}

/// The facts a host's steps need, in step order, so the probes go out in
/// the order the steps ask for them.
#[derive(Debug, Default)]
pub struct Needs(pub Vec<Need>);

impl Needs {
    pub fn file(&mut self, path: &str) {
        self.0.push(Need::File(path.to_string()));
    }

    pub fn push(&mut self, need: Need) {
        self.0.push(need);
    }
}
