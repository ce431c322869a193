//! Collection: everything a host's rules need, gathered in one remote
//! command. [`Probes`] lists the facts, [`script`] turns them into one POSIX
//! `sh` script sent on stdin, and [`framing`] reads the answer back.

pub mod framing;
pub mod gather;
pub mod script;

use std::time::Duration;

pub use framing::{parse_output, FrameError, Part, ProbeOutput};
pub use gather::gather;

/// One fact to fetch from a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Probe {
    /// File content, at most `max` bytes.
    Read { path: String, max: u64 },
    /// Mode, owner and group (following symlinks), or that it is missing.
    Stat { path: String },
    /// Like `Stat`, but about a symlink itself rather than its target, so
    /// an apply can refuse to write through one.
    Lstat { path: String },
    /// stdout and exit status of `sh -c command`.
    Command {
        command: String,
        timeout: Duration,
        max: u64,
    },
    /// Whether a service runs and starts at boot.
    Service { name: String },
    /// Whether a package is installed, and its version.
    Package { name: String },
    /// An sshd configuration and every file its `Include` directives name,
    /// read on the host in one go (see `script::build` for the sub-frames
    /// and `conftext::include` for how the controller reads them): each
    /// file at most `max` bytes, at most [`SSHD_MAX_FILES`] files and
    /// [`SSHD_MAX_NAMES`] patterns and names. With `lstat`, each file's
    /// `lstat` too, for an apply.
    SshdConfig { path: String, max: u64, lstat: bool },
}

/// Most files an [`Probe::SshdConfig`] reads, the main one included.
pub const SSHD_MAX_FILES: usize = 32;
/// Most bytes of included files (all but the main one) that one
/// [`Probe::SshdConfig`] reads, together.
pub const SSHD_MAX_INCLUDED: u64 = 4 * 1024 * 1024;
/// Most `Include` patterns plus the names they expand to that one
/// [`Probe::SshdConfig`] reports.
pub const SSHD_MAX_NAMES: usize = 1024;

/// The facts a host needs, each listed once however many rules use it.
#[derive(Debug, Default, Clone)]
pub struct Probes {
    list: Vec<Probe>,
}

impl Probes {
    /// Adds `probe` unless present; returns its index either way.
    pub fn add(&mut self, probe: Probe) -> usize {
        if let Some(i) = self.list.iter().position(|p| *p == probe) {
            return i;
        }
        self.list.push(probe);
        self.list.len() - 1
    }

    pub fn get(&self, probe: &Probe) -> Option<usize> {
        self.list.iter().position(|p| p == probe)
    }

    pub fn as_slice(&self) -> &[Probe] {
        &self.list
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Whether `key` may name a sysctl: non-empty ASCII letters, digits and
/// `._-/`, not starting with `.` and without `..`, so that
/// [`sysctl_path`] stays below `/proc/sys` and the key needs no quoting to
/// read as itself. The one check baselines, playbooks and rendered
/// playbook steps all use.
pub fn valid_sysctl_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && !key.contains("..")
        && key.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

/// `/proc/sys` path of a sysctl key: `net.ipv4.ip_forward` →
/// `/proc/sys/net/ipv4/ip_forward`. Keys may use `/` as the separator too.
pub fn sysctl_path(key: &str) -> String {
    let rel = if key.contains('/') {
        key.to_string()
    } else {
        key.replace('.', "/")
    };
    format!("/proc/sys/{rel}")
}

/// What a probe status other than `ok` and `missing` means, for people.
pub fn describe_status(status: &str) -> String {
    match status {
        "denied" => "permission denied (use become: sudo?)".into(),
        "isdir" => "is a directory".into(),
        "notfile" => "not a regular file (a FIFO, socket or device), not read".into(),
        "toolarge" => "larger than the file size limit".into(),
        "overbudget" => format!(
            "not read: the files an sshd configuration includes may hold {} MiB in total, rectify's limit",
            SSHD_MAX_INCLUDED >> 20
        ),
        "unreadable" => "read error".into(),
        "garbled" => "its content changed while it was read, or the host's output was malformed".into(),
        other => format!("unexpected status {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys() {
        for key in [
            "net.ipv4.ip_forward",
            "kernel/randomize_va_space",
            "net.ipv4.conf.eth-0.rp_filter",
            "a_b",
        ] {
            assert!(valid_sysctl_key(key), "{key}");
        }
        for key in ["", ".a", "a..b", "a/../b", "a b", "a;b", "a$b", "ä.b", "a\nb", "a\n"] {
            assert!(!valid_sysctl_key(key), "{key:?}");
        }
    }
}
