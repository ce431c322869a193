//! The one error a command ends with, and the exit code it means. Lower
//! layers keep their own typed errors; this is where they meet, so the
//! exit code is decided in one place (docs/reports.md: 2 bad input, 3 a host could
//! not be reached or another run holds the lock, 141 stdout's reader gone,
//! 1 anything else).

use crate::config_error::ConfigErrors;
use crate::state::StateError;

/// The exit codes shared by every command (docs/reports.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const BAD_INPUT: u8 = 2;
    /// Some host could not be checked, or its outcome is not known.
    pub const UNREACHABLE: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
    /// stdout's reader went away (`rectify runs | head -1`): 128 + SIGPIPE,
    /// what the shell reports for a tool the signal ended.
    pub const BROKEN_PIPE: u8 = 141;
}

/// Errors that end a command before any host is contacted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    /// A `--report` or `--lock` path found unwritable before the run: bad
    /// input, like an unreadable baseline.
    #[error("cannot write {path}: {source}")]
    Unwritable { path: String, source: std::io::Error },
    #[error(transparent)]
    State(#[from] StateError),
    /// A run name (`rectify show NAME`) that names no run, or several.
    #[error(transparent)]
    Lookup(#[from] crate::state::LookupError),
    /// `holder`: what the run holding it wrote there (pid, command, start).
    #[error("another run holds the lock {path}{}; not starting", if holder.is_empty() { String::new() } else { format!(" ({holder})") })]
    Locked { path: String, holder: String },
    #[error("stdout was closed by its reader")]
    BrokenPipe,
    /// `rectify serve` could not listen or accept.
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
}

impl Error {
    /// The process exit code this error ends the command with.
    pub fn code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) | Error::Unwritable { .. } | Error::Lookup(_) => exit::BAD_INPUT,
            Error::Write { .. } | Error::State(_) | Error::Serve(_) => 1,
            Error::Locked { .. } => exit::UNREACHABLE,
            Error::BrokenPipe => exit::BROKEN_PIPE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_spec_ones() {
        assert_eq!(Error::Usage("x".into()).code(), 2);
        assert_eq!(Error::Config(ConfigErrors::default()).code(), 2);
        let locked = Error::Locked {
            path: "l".into(),
            holder: "pid 7, rectify audit, since 2026-11-29T02:30:00Z".into(),
        };
        assert_eq!(locked.code(), 3);
        assert_eq!(
            locked.to_string(),
            "another run holds the lock l (pid 7, rectify audit, since 2026-11-29T02:30:00Z); not starting"
        );
        assert_eq!(Error::BrokenPipe.code(), 141);
        let unwritable = Error::Unwritable {
            path: "r.xml".into(),
            source: std::io::Error::other("no such directory"),
        };
        assert_eq!(unwritable.code(), 2);
        assert_eq!(unwritable.to_string(), "cannot write r.xml: no such directory");
        let write = Error::Write {
            path: "p".into(),
            source: std::io::Error::other("full"),
        };
        assert_eq!(write.code(), 1);
        assert_eq!(write.to_string(), "cannot write p: full");
    }
}
