//! How commands reach a host: over SSH or on this machine.
//!
//! The audit engine talks only to [`Transport`]; it never knows whether it
//! runs over russh or a local process.

mod jump;
mod known_hosts;
pub mod local;
pub mod ssh;

use std::time::Duration;

use async_trait::async_trait;

use crate::inventory::{Become, Host};
use crate::shell::QuoteError;

/// What one remote command returned.
#[derive(Debug, Default)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None` when the command was killed by a signal.
    pub exit_status: Option<u32>,
}

/// Bounds for one command: what a host sends back is untrusted.
#[derive(Debug, Clone, Copy)]
pub struct ExecLimits {
    pub timeout: Duration,
    pub max_stdout: usize,
    pub max_stderr: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("connection timed out after {0:?}")]
    ConnectTimeout(Duration),
    #[error("cannot connect to {endpoint}: {source}")]
    Connect { endpoint: String, source: std::io::Error },
    #[error("host key for {host} is not in {known_hosts} (fingerprint {fingerprint}); add it or use --host-key-policy accept-new")]
    HostKeyUnknown {
        host: String,
        known_hosts: String,
        fingerprint: String,
    },
    #[error("HOST KEY CHANGED for {host}: {known_hosts} line {line} has a different key (fingerprint now {fingerprint}); possible man-in-the-middle, refusing to send credentials")]
    HostKeyChanged {
        host: String,
        known_hosts: String,
        line: usize,
        fingerprint: String,
    },
    #[error("HOST KEY REVOKED for {host}: {known_hosts}:{line} marks its key @revoked (fingerprint {fingerprint}); refusing to send credentials")]
    HostKeyRevoked {
        host: String,
        known_hosts: String,
        line: usize,
        fingerprint: String,
    },
    #[error("cannot record the host key in {known_hosts}: {reason}")]
    HostKeyLearn { known_hosts: String, reason: String },
    #[error("cannot read {known_hosts}: {reason}; refusing to connect without checking the host key")]
    KnownHostsUnreadable { known_hosts: String, reason: String },
    /// The session ended on an error during authentication (not a refused
    /// key): retrying cannot help.
    #[error("session ended during authentication: {0}")]
    SessionEnded(String),
    #[error("authentication failed for {user}: tried {tried}")]
    Auth { user: String, tried: String },
    #[error("cannot load key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("jump host {jump}: {source}")]
    Jump { jump: String, source: Box<TransportError> },
    /// A failure shared by every target waiting for the same jump host.
    #[error(transparent)]
    Shared(std::sync::Arc<TransportError>),
    #[error("ssh: {0}")]
    Ssh(String),
    #[error("command timed out after {0:?}")]
    CommandTimeout(Duration),
    #[error("host sent more than {limit} bytes of output")]
    OutputTooLarge { limit: usize },
    #[error("connection lost: {0}")]
    Disconnected(String),
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error("local command: {0}")]
    Local(std::io::Error),
}

impl TransportError {
    /// A connection that timed out or was refused: a busy or restarting
    /// server, which `--retries` tries again. Not a lost connection, a
    /// failed login or a refused host key (see [`Self::is_permanent`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            TransportError::ConnectTimeout(_) => true,
            TransportError::Connect { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
            ),
            TransportError::Jump { source, .. } => source.is_retryable(),
            TransportError::Shared(inner) => inner.is_retryable(),
            _ => false,
        }
    }

    /// An error that trying again will not cure and must not be retried: a
    /// host key refused, or our credentials (each retry would be another
    /// failed login, which fail2ban counts), here or at a jump host.
    pub fn is_permanent(&self) -> bool {
        match self {
            TransportError::HostKeyUnknown { .. }
            | TransportError::HostKeyChanged { .. }
            | TransportError::HostKeyRevoked { .. }
            | TransportError::HostKeyLearn { .. }
            | TransportError::KnownHostsUnreadable { .. }
            | TransportError::Auth { .. }
            | TransportError::SessionEnded(_)
            | TransportError::Key { .. } => true,
            TransportError::Jump { source, .. } => source.is_permanent(),
            TransportError::Shared(inner) => inner.is_permanent(),
            _ => false,
        }
    }
}

/// A live connection to one host.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Runs `argv` (quoted word by word where a shell is involved) with
    /// `stdin` as its standard input.
    async fn exec(&self, argv: &[String], stdin: &[u8], limits: ExecLimits) -> Result<ExecOutput, TransportError>;

    /// The identification string the SSH server sent when the connection
    /// opened (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`), printable ASCII;
    /// `None` where no SSH server answered (`--local`).
    fn server_id(&self) -> Option<&str> {
        None
    }

    /// Ends the connection politely; dropping also ends it.
    async fn close(&self);
}

/// Connection settings that come from the command line, not the inventory.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    pub host_key_policy: HostKeyPolicy,
    pub keepalive: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HostKeyPolicy {
    /// Only keys already in known_hosts are accepted.
    Strict,
    /// Unknown hosts are trusted on first use and recorded; a changed key
    /// is still refused.
    AcceptNew,
}

/// How a run reaches its hosts: the connection settings with the run's
/// shared key store (a passphrase is asked for once) and jump-host pool (a
/// bastion sees one connection per run). Built once per run; engines only
/// ever ask it for a connection to a host.
pub struct Connector {
    options: ConnectOptions,
    keys: ssh::KeyStore,
    jumps: jump::JumpPool,
}

impl Connector {
    pub fn new(options: ConnectOptions) -> Connector {
        Connector {
            options,
            keys: ssh::KeyStore::default(),
            jumps: jump::JumpPool::default(),
        }
    }

    /// Opens a connection to `host` with the transport its settings call for.
    pub async fn connect(&self, host: &Host) -> Result<Box<dyn Transport>, TransportError> {
        if host.local {
            return Ok(Box::new(local::LocalTransport));
        }
        let clock = std::time::Instant::now();
        crate::debug!(
            "{}: connecting to {} (key {}, known_hosts {}{})",
            host.name,
            host.endpoint(),
            host.identity_file
                .as_ref()
                .map_or("from agent or ~/.ssh".into(), |p| p.display().to_string()),
            host.known_hosts.display(),
            host.jump
                .as_ref()
                .map_or(String::new(), |j| format!(", via {}", j.endpoint()))
        );
        let session = ssh::SshTransport::connect(host, &self.options, &self.keys, &self.jumps)
            .await
            .inspect_err(|e| crate::debug!("{}: connection failed after {:?}: {e}", host.name, clock.elapsed()))?;
        crate::debug!("{}: connected in {:?}", host.name, clock.elapsed());
        Ok(Box::new(session))
    }
}

/// Prefixes `argv` so it runs with the privileges the host asks for.
/// `sudo -n` never prompts: a host that wants a password fails clearly.
pub fn privileged(become_: Become, argv: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if become_ == Become::Sudo {
        out.extend(["sudo", "-n", "--"].map(String::from));
    }
    out.extend(argv.iter().map(|s| s.to_string()));
    out
}

/// A transport error on one line, as a host's error in a report.
pub fn one_line(e: &TransportError) -> String {
    e.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_keys_and_credentials_are_permanent_also_behind_a_jump_host() {
        let auth = || TransportError::Auth {
            user: "root".into(),
            tried: "key".into(),
        };
        assert!(auth().is_permanent());
        let behind = TransportError::Jump {
            jump: "bastion".into(),
            source: Box::new(TransportError::Shared(std::sync::Arc::new(auth()))),
        };
        assert!(behind.is_permanent());
        assert!(!TransportError::ConnectTimeout(Duration::from_secs(1)).is_permanent());
        let connect = |kind| TransportError::Connect {
            endpoint: "root@192.0.2.1:22".into(),
            source: std::io::Error::from(kind),
        };
        assert!(TransportError::ConnectTimeout(Duration::from_secs(1)).is_retryable());
        assert!(connect(std::io::ErrorKind::ConnectionRefused).is_retryable());
        assert!(connect(std::io::ErrorKind::TimedOut).is_retryable());
        assert!(!connect(std::io::ErrorKind::PermissionDenied).is_retryable());
        let auth = TransportError::Auth {
            user: "root".into(),
            tried: "publickey".into(),
        };
        assert!(!auth.is_retryable(), "a failed login is never tried again");
        assert!(!TransportError::Disconnected("eof".into()).is_retryable());
        assert!(!TransportError::Jump {
            jump: "bastion".into(),
            source: Box::new(TransportError::Ssh("refused".into())),
        }
        .is_permanent());
    }
}
