//! How a host was reached, as a change run records it, so that `rectify
//! rollback RUN` can reach the same hosts later without the inventory or
//! the `-t` options the run was given.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Become, Host};
use crate::template::Vars;

/// A [`Host`]'s connection settings, fully resolved (ssh config, jump
/// hosts, defaults), without its vars: a rollback renders nothing, and
/// vars may hold secrets the state database must not keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostConnection {
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
    #[serde(rename = "become")]
    pub become_: Become,
    pub jump: Option<Box<(String, HostConnection)>>,
    pub local: bool,
}

impl HostConnection {
    pub fn of(host: &Host) -> HostConnection {
        HostConnection {
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            identity_file: host.identity_file.clone(),
            known_hosts: host.known_hosts.clone(),
            become_: host.become_,
            jump: host
                .jump
                .as_ref()
                .map(|j| Box::new((j.name.clone(), HostConnection::of(j)))),
            local: host.local,
        }
    }

    /// The host `name` reached as recorded; its vars are only its identity
    /// (`host`, `address`, `groups`).
    pub fn into_host(self, name: String) -> Host {
        let mut host = Host {
            name,
            address: self.address,
            port: self.port,
            user: self.user,
            identity_file: self.identity_file,
            known_hosts: self.known_hosts,
            become_: self.become_,
            jump: self.jump.map(|j| {
                let (name, connection) = *j;
                Box::new(connection.into_host(name))
            }),
            groups: Vec::new(),
            vars: Vars::new(),
            local: self.local,
        };
        host.set_identity_vars();
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_reached_through_a_jump_survives_the_round_trip() {
        let bastion = HostConnection {
            address: "198.51.100.5".into(),
            port: 22,
            user: "ops".into(),
            identity_file: Some("/k/id".into()),
            known_hosts: "/k/known".into(),
            become_: Become::None,
            jump: None,
            local: false,
        };
        let web = HostConnection {
            address: "192.0.2.11".into(),
            port: 2222,
            user: "deploy".into(),
            identity_file: None,
            known_hosts: "/k/known".into(),
            become_: Become::Sudo,
            jump: Some(Box::new(("bastion".into(), bastion))),
            local: false,
        };
        let json = serde_json::to_string(&web).unwrap();
        let back: HostConnection = serde_json::from_str(&json).unwrap();
        let host = back.into_host("web02".into());
        assert_eq!(
            (host.address.as_str(), host.port, host.user.as_str()),
            ("192.0.2.11", 2222, "deploy")
        );
        assert_eq!(host.jump.as_ref().unwrap().name, "bastion");
        assert_eq!(HostConnection::of(&host), web);
    }
}
