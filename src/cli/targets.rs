//! TARGETS, shared by every command that touches hosts: an inventory with
//! `--limit`, ad-hoc `-t` hosts, or `--local`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Error;
use crate::inventory::{Host, HostPattern, HostSettings, Inventory, SshConfig, TargetSpec};
use crate::transport::{ConnectOptions, HostKeyPolicy};

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Inventory file (YAML) listing hosts, groups and their vars.
    #[arg(short = 'i', long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,

    /// Only these hosts or groups, as Ansible patterns: names, globs, `all`,
    /// `~REGEX`; `a:b` or `a,b` union, `&x` intersects, `!x` excludes.
    #[arg(long, value_name = "PATTERN", requires = "inventory")]
    pub limit: Option<String>,

    /// An ad-hoc host, [USER@]HOST[:PORT]; repeatable.
    #[arg(short = 't', long = "target", value_name = "[USER@]HOST[:PORT]")]
    pub targets: Vec<TargetSpec>,

    /// Log in to -t targets as USER when the target names none
    /// (default: ~/.ssh/config's User, else the local user).
    #[arg(long, value_name = "USER", requires = "targets")]
    pub user: Option<String>,

    /// Private key for -t targets (default: ~/.ssh/config's IdentityFile,
    /// else ssh-agent, else ~/.ssh/id_*).
    #[arg(long, value_name = "FILE", requires = "targets")]
    pub identity: Option<PathBuf>,

    /// known_hosts file for -t targets (default: ~/.ssh/config's
    /// UserKnownHostsFile, else ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE", requires = "targets")]
    pub known_hosts: Option<PathBuf>,

    /// This machine itself, without SSH.
    #[arg(long, conflicts_with_all = ["inventory", "targets"])]
    pub local: bool,
}

#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Hosts worked on in parallel.
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub forks: u32,

    /// Seconds allowed for TCP connect, SSH handshake and authentication.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout: u64,

    /// Seconds allowed for each remote command (a `command:` rule gets its own budget on top).
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub command_timeout: u64,

    /// strict: only keys in known_hosts; accept-new: record unknown hosts' keys (a changed key still fails).
    #[arg(long, value_enum, default_value = "strict", value_name = "POLICY")]
    pub host_key_policy: HostKeyPolicy,

    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// More detail: -v passing rules and rationales, -vv each host's time,
    /// -vvv debug logs on stderr.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only what went wrong (nothing when all is well); no progress bar.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Hold an exclusive lock on FILE for the run; if another run holds it,
    /// exit 3 at once (scheduled runs that must not overlap).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<std::path::PathBuf>,
}

impl ConnectionArgs {
    /// Takes `--lock`; the lock lasts as long as the returned file is open
    /// (the kernel releases it when the process dies, however it dies). A
    /// lock file that cannot be opened is bad input (exit 2): every command
    /// takes it before contacting any host.
    pub fn take_lock(&self) -> Result<Option<std::fs::File>, Error> {
        let Some(path) = &self.lock else { return Ok(None) };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| Error::Unwritable {
                path: path.display().to_string(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for the run that finds it held. Best effort:
                // the lock itself is what excludes.
                if is_plain_file_at(&file, path) {
                    let _ = write_holder(&file);
                }
                Ok(Some(file))
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
                path: path.display().to_string(),
                holder: read_holder(&file),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Write {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// How the terminal report is shown (`-q`, `-v…`, `--diff`).
    pub fn view(&self, diff: bool) -> crate::report::human::HumanOptions {
        crate::report::human::HumanOptions {
            quiet: self.quiet,
            verbose: self.verbose,
            diff,
            ..Default::default()
        }
    }

    /// Whether a progress bar is drawn: not asked away, and not mixed with
    /// `-q`'s silence or `-vvv`'s debug lines.
    pub fn progress(&self) -> bool {
        !self.no_progress && !self.quiet && self.verbose < 3
    }

    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            connect_timeout: Duration::from_secs(self.connect_timeout),
            host_key_policy: self.host_key_policy,
            keepalive: Duration::from_secs(15),
        }
    }
}

impl TargetArgs {
    /// The hosts to work on. With no inventory and no target: this machine.
    pub fn resolve(&self) -> Result<Vec<Host>, Error> {
        let mut hosts = Vec::new();
        let ssh = if self.inventory.is_some() || !self.targets.is_empty() {
            SshConfig::load_user().map_err(|e| Error::Usage(format!("ssh config: {e}")))?
        } else {
            SshConfig::none()
        };
        if let Some(path) = &self.inventory {
            let inventory = Inventory::load(path, &ssh).map_err(|e| Error::Config(e.into()))?;
            let limit = self
                .limit
                .as_deref()
                .map(HostPattern::parse)
                .transpose()
                .map_err(|e| Error::Usage(format!("--limit: {e}")))?;
            let selected = inventory.select(limit.as_ref());
            if selected.is_empty() {
                return Err(Error::Usage(format!(
                    "--limit {:?} matches no host of {}",
                    self.limit.as_deref().unwrap_or(""),
                    path.display()
                )));
            }
            hosts.extend(selected);
        }
        // What the command line says wins over ~/.ssh/config, as with ssh.
        let given = HostSettings {
            user: self.user.clone(),
            identity_file: self.identity.as_ref().map(|p| p.display().to_string()),
            known_hosts: self.known_hosts.as_ref().map(|p| p.display().to_string()),
            ..HostSettings::default()
        };
        if let Some(key) = &self.identity {
            if !key.is_file() {
                return Err(Error::Usage(format!("--identity {}: no such file", key.display())));
            }
        }
        for spec in &self.targets {
            let host = Host::from_target(spec, &given, &ssh).map_err(|e| Error::Usage(format!("-t: {e}")))?;
            hosts.push(host);
        }
        if hosts.is_empty() {
            hosts.push(Host::local_machine());
        }
        let mut seen = std::collections::BTreeSet::new();
        for h in &hosts {
            crate::debug!("{}: {} groups [{}]", h.name, h.endpoint(), h.groups.join(","));
            if !seen.insert(h.name.clone()) {
                return Err(Error::Usage(format!("host {:?} is given twice", h.name)));
            }
        }
        Ok(hosts)
    }
}

/// Whether `file` is the regular file at `path` itself, not one a symlink
/// there led to: the lock file is rewritten, and a lock path in a shared
/// directory (`/run/lock` is world-writable) must not let another user
/// point that write at a file of root's. Checked after opening, so a
/// symlink swapped in meanwhile is seen too.
fn is_plain_file_at(file: &std::fs::File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(opened), Ok(at_path)) => {
            at_path.file_type().is_file() && opened.dev() == at_path.dev() && opened.ino() == at_path.ino()
        }
        _ => false,
    }
}

/// Writes "pid N, rectify COMMAND, since TIME" into a lock file just taken.
fn write_holder(mut file: &std::fs::File) -> std::io::Result<()> {
    use std::io::Write;
    let command = std::env::args().nth(1).unwrap_or_default();
    file.set_len(0)?;
    writeln!(
        file,
        "pid {}, rectify {}, since {}",
        std::process::id(),
        command.chars().filter(|c| !c.is_control()).take(32).collect::<String>(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// What the holder of a lock wrote there: its first line, at most 200
/// bytes, control characters dropped; "" if there is nothing readable.
fn read_holder(mut file: &std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut head = Vec::new();
    let _ = file.rewind();
    let _ = file.take(200).read_to_end(&mut head);
    let text = String::from_utf8_lossy(&head);
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}
