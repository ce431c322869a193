//! The directory of a `--report` file. A scheduled job's first run on a
//! fresh machine must not fail because nobody made its reports directory,
//! so a missing one is created, with its missing parents, as `mkdir -p`
//! would, 0750 (reports hold values read from hosts: not for every local
//! user, but a group such as a web server's may be given them). An
//! existing directory is left as it is.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// The mode of a reports directory rectify creates.
pub const MODE: u32 = 0o750;

/// The directory `path` is written in ("." for a bare file name).
pub fn of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing parents [`MODE`] unless it exists.
pub fn create(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    DirBuilder::new().recursive(true).mode(MODE).create(dir)?;
    // A umask can only remove bits; only what rectify made is touched.
    for d in missing {
        std::fs::set_permissions(&d, Permissions::from_mode(MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn missing_directories_are_made_0750_and_existing_ones_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let dir = tmp.path().join("a/b");
        super::create(&dir).unwrap();
        for d in [tmp.path().join("a"), dir.clone()] {
            assert_eq!(std::fs::metadata(&d).unwrap().permissions().mode() & 0o7777, 0o750);
        }
        assert_eq!(
            std::fs::metadata(tmp.path()).unwrap().permissions().mode() & 0o7777,
            0o711
        );
        super::create(&dir).unwrap();
        assert_eq!(super::of(std::path::Path::new("r.json")), std::path::Path::new("."));
    }
}
