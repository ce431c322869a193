//! Why a rule has no verdict on a host (an `error` result) or cannot be
//! captured: one variant per reason, each with the text users see.

use std::time::Duration;

use crate::collect::facts::package::PackageError;
use crate::collect::facts::service::ServiceError;
use crate::collect::facts::sshd_config::{DecodeError, SshdIncludeError};
use crate::collect::facts::sshd_daemon::DumpError;
use crate::collect::facts::sysctl_files::SysctlFilesError;
use crate::collect::ProbeStatus;
use crate::conftext::sshd_values::ListError;
use crate::template::TemplateError;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {file}: {status}")]
    Read { file: String, status: ProbeStatus },
    #[error("cannot stat {file}: {status}")]
    Stat { file: String, status: ProbeStatus },
    #[error("cannot parse stat output")]
    StatOutput,
    #[error("unknown sysctl key {key} (no {path})")]
    UnknownSysctl { key: String, path: String },
    #[error("the command's output could not be read")]
    CommandUnreadable,
    #[error("output exceeded {0} bytes")]
    OutputExceeded(u64),
    #[error("command timed out after {0:?}")]
    TimedOut(Duration),
    #[error("command not executable")]
    NotExecutable,
    #[error("command not found")]
    CommandNotFound,
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    SshdAnswer(#[from] DecodeError),
    /// Following sshd's `Include`s (`conftext::include`; its errors name
    /// the file and line).
    #[error(transparent)]
    Include(#[from] SshdIncludeError),
    #[error("internal: the sshd configuration was not decoded")]
    NotDecoded,
    #[error("internal: no collected fact for this rule")]
    NoFact,
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("invalid regex {pattern:?}: {source}")]
    ExpectRegex { pattern: String, source: regex::Error },
    #[error("expect bound {0:?} is not a number")]
    ExpectBound(String),
    #[error("{0} does not exist on the golden host")]
    GoneOnGolden(String),
    /// The sysctl files' answer, or one of the files, cannot be used.
    #[error(transparent)]
    SysctlFiles(#[from] SysctlFilesError),
    /// The persisted side of a `check: both` sysctl rule has no verdict.
    #[error("persisted: {0}")]
    Persisted(Box<EvalError>),
    #[error("cannot read sysctl {0}")]
    SysctlUnread(String),
    #[error("the command's output was cut off")]
    CutOff,
    #[error("service {0} not found on the golden host")]
    ServiceNotFound(String),
    /// An algorithm list whose effective value cannot be computed.
    #[error("{key} at {at}: {error}")]
    SshdList { key: String, at: String, error: ListError },
    #[error("no sshd on the host: `source: daemon` asks the host's own sshd (`source: files` reads the files)")]
    NoSshd,
    /// `sshd -T` refused: its exit status and its own first line of stderr.
    #[error("sshd -T failed (exit {status}): {stderr}")]
    SshdRefused { status: i32, stderr: String },
    #[error(transparent)]
    SshdDump(#[from] DumpError),
    /// A globbed file subject matched more names than are judged.
    #[error("more than {max} files match {pattern}: narrow the pattern")]
    TooManyMatches { pattern: String, max: usize },
    #[error("a pattern ({0}) is not captured: its matches may differ from host to host")]
    GlobNotCaptured(String),
    /// One match of a globbed file subject has no verdict.
    #[error("{error} (matching {pattern}){later}")]
    Match {
        pattern: String,
        error: Box<EvalError>,
        later: &'static str,
    },
}
