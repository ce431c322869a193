//! What the state database keeps about a host's transaction, so that
//! `rectify rollback` can undo it later without the run that made it.

use sha2::{Digest, Sha256};

/// What the state database keeps about a host's transaction, so that
/// `rectify rollback` can undo it later.
#[derive(Debug, Clone)]
pub struct TxRecord {
    pub backup_dir: String,
    pub handlers: Vec<String>,
    pub files: Vec<FileRecord>,
    /// Live kernel values the run changed: (key, value before).
    pub sysctl: Vec<(String, String)>,
    /// How the host was reached, so a rollback can reach it again without
    /// the run's inventory; `None` in runs recorded before it was kept.
    pub connection: Option<crate::inventory::HostConnection>,
}

#[derive(Debug, Clone)]
pub struct FileRecord {
    pub seq: usize,
    pub path: String,
    pub action: &'static str,
    pub existed: bool,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// The original content; `None` for sensitive files (the host's backup
    /// copy is the only one) and for paths that were not regular files.
    pub before: Option<Vec<u8>>,
    pub after_exists: bool,
    /// SHA-256 of what the run left, to notice later edits.
    pub after_hash: Option<String>,
    /// What the run left, when it may be stored (not sensitive).
    pub after: Option<Vec<u8>>,
    pub after_mode: Option<u32>,
    pub sensitive: bool,
}

/// SHA-256 of `bytes`, in hex: how the state deduplicates file contents and
/// notices a file edited since a run.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
