//! One host as rectify reaches it: its settings as an inventory or `-t`
//! gives them, resolved (ssh config, jump hosts, defaults) into a [`Host`].

use std::path::PathBuf;

use serde::Deserialize;

use super::{resolved, SshConfig, TargetError, TargetSpec};
use crate::template::Vars;

/// How commands get root on the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Become {
    #[default]
    None,
    Sudo,
}

/// Connection settings that defaults, groups and hosts may each set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSettings {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<String>,
    pub known_hosts: Option<String>,
    #[serde(rename = "become")]
    pub become_: Option<Become>,
    pub jump: Option<String>,
    #[serde(default)]
    pub vars: Vars,
}

/// A host ready to connect to, with every setting resolved.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
    pub become_: Become,
    /// The host to tunnel through, itself fully resolved.
    pub jump: Option<Box<Host>>,
    pub groups: Vec<String>,
    pub vars: Vars,
    /// This machine itself, reached without SSH.
    pub local: bool,
}

impl Host {
    /// The machine running rectify, for `--local`.
    pub fn local_machine() -> Host {
        let name = local_hostname();
        let mut host = Host {
            name: name.clone(),
            address: "localhost".into(),
            port: 0,
            user: current_user(),
            identity_file: None,
            known_hosts: PathBuf::new(),
            become_: Become::None,
            jump: None,
            groups: Vec::new(),
            vars: Vars::new(),
            local: true,
        };
        host.set_identity_vars();
        host
    }

    /// An ad-hoc `-t` target: what the target says, then `~/.ssh/config`,
    /// then SSH defaults. A ProxyJump from the ssh config is followed.
    pub fn from_target(spec: &TargetSpec, defaults: &HostSettings, ssh: &SshConfig) -> Result<Host, TargetError> {
        Self::from_target_via(spec, defaults, ssh, 0)
    }

    fn from_target_via(
        spec: &TargetSpec,
        defaults: &HostSettings,
        ssh: &SshConfig,
        depth: usize,
    ) -> Result<Host, TargetError> {
        let (mut host, settings) = Self::target_alone(spec, defaults, ssh);
        if let Some(jump) = &settings.jump {
            let inherit = HostSettings {
                identity_file: settings.identity_file.clone(),
                known_hosts: settings.known_hosts.clone(),
                ..Default::default()
            };
            host.jump = Some(Box::new(Self::jump_chain(jump, &inherit, ssh, depth)?));
        }
        host.set_identity_vars();
        Ok(host)
    }

    /// A target resolved from its spec and the ssh config, without following
    /// its ProxyJump; also returns the settings it was resolved from.
    pub(super) fn target_alone(spec: &TargetSpec, defaults: &HostSettings, ssh: &SshConfig) -> (Host, HostSettings) {
        let mut settings = HostSettings {
            user: spec.user.clone().or_else(|| defaults.user.clone()),
            port: spec.port.or(defaults.port),
            ..defaults.clone()
        };
        let address = ssh.fill(&spec.host, &mut settings).unwrap_or_else(|| spec.host.clone());
        (resolved(spec.host.clone(), address, &settings, Vec::new()), settings)
    }

    /// The last hop of a ProxyJump list `a,b,…`, which reaches each hop
    /// through the one before it, as `ssh -J a,b` does: only the first hop's
    /// own ProxyJump is followed, the later hops' are overridden by the list.
    /// `depth` is how many jumps lead here already.
    fn jump_chain(jump: &str, inherit: &HostSettings, ssh: &SshConfig, depth: usize) -> Result<Host, TargetError> {
        let hops = split_hops(jump);
        let depth = depth + hops.len();
        if depth > MAX_JUMPS {
            return Err(TargetError(format!(
                "{jump} (more than {MAX_JUMPS} jump hosts: a ProxyJump loop?)"
            )));
        }
        let mut via = Self::from_target_via(&hops[0].parse()?, inherit, ssh, depth)?;
        for hop in &hops[1..] {
            let (mut next, _) = Self::target_alone(&hop.parse()?, inherit, ssh);
            next.jump = Some(Box::new(via));
            next.set_identity_vars();
            via = next;
        }
        Ok(via)
    }

    /// `host`, `address` and `groups` are vars too (docs/inventory.md), set last so
    /// nothing in a file can contradict them.
    pub(super) fn set_identity_vars(&mut self) {
        use serde_yaml::Value;
        self.vars.insert("host".into(), Value::String(self.name.clone()));
        self.vars.insert("address".into(), Value::String(self.address.clone()));
        let groups = self.groups.iter().cloned().map(Value::String).collect();
        self.vars.insert("groups".into(), Value::Sequence(groups));
    }

    /// `user@address:port`, for messages.
    pub fn endpoint(&self) -> String {
        if self.local {
            return "local".into();
        }
        if self.address.contains(':') {
            format!("{}@[{}]:{}", self.user, self.address, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.address, self.port)
        }
    }

    /// Applies `-e KEY=VALUE` overrides, the highest precedence.
    pub fn override_vars(&mut self, extra: &Vars) {
        for (k, v) in extra {
            self.vars.insert(k.clone(), v.clone());
        }
        self.set_identity_vars();
    }
}

/// ProxyJump chains in an ssh config can loop; ssh itself gives up too.
pub(super) const MAX_JUMPS: usize = 8;

/// The hops of a `jump:`/ProxyJump list `a,b,…`, first hop first. An empty
/// hop stays in, to be refused as an invalid target.
pub(super) fn split_hops(jump: &str) -> Vec<&str> {
    jump.split(',').map(str::trim).collect()
}

pub(super) fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into())
}

pub(super) fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Expands a leading `~/` to `$HOME`, as ssh does for key paths.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
