//! Why a fact has no usable answer: the statuses the collection script
//! sends instead of `ok` or `missing`, plus those the controller assigns
//! itself. Each has one text, used wherever a status reaches a person.

use std::fmt;

use super::facts::sshd_config::SSHD_MAX_INCLUDED;

/// A probe status other than `ok` and `missing`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProbeStatus {
    /// `denied`: no permission to read or stat it.
    Denied,
    /// `isdir`: a directory where a file was to be read.
    IsDir,
    /// `notfile`: a FIFO, socket or device, which could block a read.
    NotFile,
    /// `toolarge`: over the probe's byte limit.
    TooLarge,
    /// `overbudget`: an included sshd file past the total for included files.
    OverBudget,
    /// `unreadable`: a read error.
    Unreadable,
    /// `garbled`: the frame did not line up.
    Garbled,
    /// Sub-frames where none were expected, or none where they were.
    Malformed,
    /// A status this controller does not know.
    Other(String),
}

impl ProbeStatus {
    /// The status a frame header names (never `ok` or `missing`, which are
    /// not statuses of this kind).
    pub fn parse(status: &str) -> ProbeStatus {
        match status {
            "denied" => ProbeStatus::Denied,
            "isdir" => ProbeStatus::IsDir,
            "notfile" => ProbeStatus::NotFile,
            "toolarge" => ProbeStatus::TooLarge,
            "overbudget" => ProbeStatus::OverBudget,
            "unreadable" => ProbeStatus::Unreadable,
            "garbled" => ProbeStatus::Garbled,
            other => ProbeStatus::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ProbeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeStatus::Denied => f.write_str("permission denied (use become: sudo?)"),
            ProbeStatus::IsDir => f.write_str("is a directory"),
            ProbeStatus::NotFile => f.write_str("not a regular file (a FIFO, socket or device), not read"),
            // Not a number: the limit is the probe's (a configurable file
            // limit, 64 KiB for /proc/sys), which the status does not carry.
            ProbeStatus::TooLarge => f.write_str("larger than the file size limit"),
            ProbeStatus::OverBudget => write!(
                f,
                "not read: the files an sshd configuration includes may hold {} MiB in total, rectify's limit",
                SSHD_MAX_INCLUDED >> 20
            ),
            ProbeStatus::Unreadable => f.write_str("read error"),
            ProbeStatus::Garbled => {
                f.write_str("its content changed while it was read, or the host's output was malformed")
            }
            ProbeStatus::Malformed => f.write_str("the host's answer was malformed"),
            ProbeStatus::Other(other) => write!(f, "unexpected status {other:?}"),
        }
    }
}
