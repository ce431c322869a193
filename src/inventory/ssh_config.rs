//! The user's `~/.ssh/config`: HostName, User, Port, IdentityFile,
//! UserKnownHostsFile and ProxyJump fill in what the inventory or `-t` leave unset, so hosts reach
//! rectify the way they reach `ssh`. Explicit inventory settings win.

use std::io::BufReader;
use std::path::Path;

use ssh2_config::{ParseRule, SshConfig as Parsed};

use super::HostSettings;

/// An ssh config that cannot be read, or that ssh itself would reject.
#[derive(Debug, thiserror::Error)]
pub enum SshConfigError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: ssh2_config::SshParserError,
    },
}

#[derive(Default)]
pub struct SshConfig {
    parsed: Option<Parsed>,
}

impl SshConfig {
    /// No ssh config at all (for `validate`, which must not depend on the user's files).
    pub fn none() -> SshConfig {
        SshConfig::default()
    }

    /// `~/.ssh/config` when it exists. A file ssh itself would reject is an error.
    pub fn load_user() -> Result<SshConfig, SshConfigError> {
        let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
            return Ok(SshConfig::none());
        };
        Self::load(&Path::new(&home).join(".ssh/config"))
    }

    pub fn load(path: &Path) -> Result<SshConfig, SshConfigError> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SshConfig::none()),
            Err(source) => {
                return Err(SshConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let parsed = Parsed::default()
            .parse(
                &mut BufReader::new(file),
                ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
            )
            .map_err(|source| SshConfigError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        Ok(SshConfig { parsed: Some(parsed) })
    }

    /// Fills the unset fields of `settings` for the host called `name`;
    /// returns the HostName to connect to, if the config names one.
    pub fn fill(&self, name: &str, settings: &mut HostSettings) -> Option<String> {
        let params = self.parsed.as_ref()?.query(name);
        if settings.user.is_none() {
            settings.user = params.user;
        }
        if settings.port.is_none() {
            settings.port = params.port;
        }
        if settings.identity_file.is_none() {
            settings.identity_file = params
                .identity_file
                .and_then(|files| files.into_iter().find(|f| f.exists()))
                .map(|f| f.display().to_string());
        }
        if settings.known_hosts.is_none() {
            // ssh reads every file listed; rectify checks and records keys
            // in one, the first, as `ssh` records new keys in the first.
            settings.known_hosts = params
                .unsupported_fields
                .get("userknownhostsfile")
                .and_then(|files| files.first())
                .filter(|f| !f.eq_ignore_ascii_case("none"))
                .cloned();
        }
        if settings.jump.is_none() {
            // Every hop of `ProxyJump a,b`, kept as the list `jump:` takes.
            settings.jump = params
                .proxy_jump
                .filter(|hops| hops.first().is_some_and(|hop| !hop.eq_ignore_ascii_case("none")))
                .map(|hops| hops.join(","))
                .filter(|hops| !hops.is_empty());
        }
        params.host_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_only_what_is_unset() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_test");
        std::fs::write(&key, "x").unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            format!(
                "Host web*\n  HostName 192.0.2.7\n  User ops\n  Port 2200\n  IdentityFile {}\n  ProxyJump jump@gw:22\n  UserKnownHostsFile ~/.ssh/kh_web /etc/ssh/kh_other\nHost db*\n  ProxyJump a,ops@b:2200\n",
                key.display()
            ),
        )
        .unwrap();
        let cfg = SshConfig::load(&path).unwrap();
        let mut s = HostSettings {
            user: Some("root".into()),
            ..Default::default()
        };
        assert_eq!(cfg.fill("web01", &mut s).as_deref(), Some("192.0.2.7"));
        assert_eq!(s.user.as_deref(), Some("root"), "the inventory's user wins");
        assert_eq!(s.port, Some(2200));
        assert_eq!(s.identity_file.as_deref(), Some(key.to_str().unwrap()));
        assert_eq!(s.jump.as_deref(), Some("jump@gw:22"));
        assert_eq!(s.known_hosts.as_deref(), Some("~/.ssh/kh_web"), "the first file listed");
        let mut other = HostSettings::default();
        assert_eq!(cfg.fill("db01", &mut other), None);
        assert!(other.user.is_none());
        assert!(other.known_hosts.is_none());
        assert_eq!(other.jump.as_deref(), Some("a,ops@b:2200"), "every hop of a chain");
        assert!(SshConfig::load(&dir.path().join("absent")).unwrap().parsed.is_none());
    }
}
