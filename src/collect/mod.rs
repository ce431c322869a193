//! Collection: everything a host's rules need, gathered in one remote
//! command. [`Probes`] lists the facts (each kind in [`facts`]), [`script`]
//! turns them into one POSIX `sh` script sent on stdin, and [`framing`]
//! reads the answer back.

pub mod facts;
pub mod framing;
pub mod gather;
pub mod script;
pub mod status;

pub use facts::sshd_config::{SSHD_MAX_FILES, SSHD_MAX_INCLUDED, SSHD_MAX_NAMES};
pub use facts::sysctl::{sysctl_path, valid_sysctl_key};
pub use facts::{Budget, FactKind, Probe};
pub use framing::{parse_output, FrameError, Part, ProbeOutput};
pub use gather::{gather, GatherError};
pub use status::ProbeStatus;

/// The facts a host needs, each listed once however many rules use it.
#[derive(Debug, Default, Clone)]
pub struct Probes {
    list: Vec<Probe>,
}

impl Probes {
    /// Adds `probe` unless present; returns its index either way.
    pub fn add(&mut self, probe: impl Into<Probe>) -> usize {
        let probe = probe.into();
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
