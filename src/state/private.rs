//! The state database holds every audited file's content and every apply's
//! backups: only its owner may read it, whatever the umask. The directory
//! rectify creates is 0700, the database 0600; SQLite gives its `-wal` and
//! `-shm` files the database file's mode (it copies it at creation, past
//! the umask), so those are 0600 too.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and its missing parents 0700. An existing directory is
/// left as it is: `RECTIFY_STATE_DIR` may name a shared one on purpose.
pub(super) fn create_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    // A umask can only remove bits; 0700 must hold even under umask 0777.
    std::fs::set_permissions(dir, Permissions::from_mode(0o700))
}

/// Creates the database file 0600 before SQLite opens it (SQLite would
/// create it 0644 under umask 022), and makes an existing one from an
/// earlier version, with any `-wal`/`-shm` left beside it, 0600 too.
pub(super) fn prepare_database(path: &Path) -> std::io::Result<()> {
    let file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    file.set_permissions(Permissions::from_mode(0o600))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::set_permissions(&side, Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}
