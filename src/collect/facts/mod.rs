//! The kinds of fact a host can be asked for, one module per kind. Each
//! module holds the kind's request type, its `sh` function (a fragment of
//! the collection script's prelude), the one quoted call line that asks
//! for it, the bounds on what the host may send back for it, and the typed
//! decoder of its answer. [`facts!`] below is the one list of kinds: the
//! prelude, the call dispatch and the script's budget all come from it, so
//! a new kind is one new module plus one line there.

pub mod command;
pub mod file;
pub mod glob;
pub mod os_release;
pub mod package;
pub mod service;
pub mod sshd_config;
pub mod sshd_daemon;
pub mod stat;
pub mod sysctl;
pub mod sysctl_files;

use std::time::Duration;

use crate::shell::QuoteError;

/// What one fact may add to the whole script's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most bytes of stdout its answer takes, framing included.
    pub max_stdout: usize,
    /// Time it may take beyond the script's base timeout.
    pub timeout: Duration,
}

impl Budget {
    /// A small, fixed-size answer (a stat line, a service's state).
    pub const SMALL: Budget = Budget {
        max_stdout: 4096,
        timeout: Duration::ZERO,
    };
}

/// One kind of fact: its shell function and how to ask for it.
pub trait FactKind {
    /// The `sh` functions the call line uses. Kinds that share functions
    /// return the same text; the prelude holds each text once.
    const SHELL: &'static str;
    /// The one line of the script's brace group asking for this fact as
    /// frame `index`; every value through [`crate::shell::quote`].
    fn call(&self, index: usize) -> Result<String, QuoteError>;
    /// What the fact may add to the script's bounds.
    fn budget(&self) -> Budget;
}

/// Declares the one list of fact kinds: the [`Probe`] enum (one variant per
/// kind), `From` each request type, and the dispatch of [`FactKind`]
/// without any wildcard arm, so a kind left out of a match cannot compile.
macro_rules! facts {
    ($($(#[$doc:meta])* $variant:ident($($module:ident)::+),)+) => {
        /// One fact to fetch from a host.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum Probe {
            $($(#[$doc])* $variant($($module)::+),)+
        }

        $(impl From<$($module)::+> for Probe {
            fn from(request: $($module)::+) -> Probe {
                Probe::$variant(request)
            }
        })+

        impl Probe {
            /// Every kind's shell functions, in list order (with repeats
            /// for kinds that share them).
            pub const SHELL: &'static [&'static str] = &[$(<$($module)::+ as FactKind>::SHELL,)+];

            /// The line asking for this fact as frame `index`.
            pub fn call(&self, index: usize) -> Result<String, QuoteError> {
                match self {
                    $(Probe::$variant(request) => request.call(index),)+
                }
            }

            /// What this fact may add to the script's bounds.
            pub fn budget(&self) -> Budget {
                match self {
                    $(Probe::$variant(request) => request.budget(),)+
                }
            }
        }
    };
}

facts! {
    /// File content, at most `max` bytes.
    Read(file::Read),
    /// Mode, owner and group (following symlinks), or that it is missing.
    Stat(stat::Stat),
    /// Every file a pattern matches, each with its stat or content.
    Glob(glob::Glob),
    /// Like `Stat`, but about a symlink itself rather than its target, so
    /// an apply can refuse to write through one.
    Lstat(stat::Lstat),
    /// stdout and exit status of `sh -c command`.
    Command(command::Run),
    /// Whether a service runs and starts at boot.
    Service(service::Service),
    /// Whether a package is installed, and its version.
    Package(package::Package),
    /// An sshd configuration and every file its `Include` directives name.
    SshdConfig(sshd_config::SshdConfig),
    /// The sysctl files `sysctl --system` may read at boot.
    SysctlFiles(sysctl_files::SysctlFiles),
    /// The host's `/etc/os-release` (or `/usr/lib/os-release`), for `when:`.
    OsRelease(os_release::OsRelease),
    /// The host's sshd version line (`sshd -V`), for its defaults.
    SshdVersion(sshd_daemon::Version),
    /// The host's own `sshd -T [-C …]`, for `source: daemon`.
    SshdDump(sshd_daemon::Dump),
}

/// The prelude's shell functions: each kind's text once, in list order.
pub fn shell_functions() -> String {
    let mut seen: Vec<&str> = Vec::new();
    for text in Probe::SHELL {
        if !seen.contains(text) {
            seen.push(text);
        }
    }
    seen.concat()
}
