//! Host keys against `known_hosts`: what the SSH handler concluded about a
//! server key, the error that conclusion becomes, and the `@revoked` lines
//! russh's own reader skips.

use std::path::Path;

use russh::keys::{self, PublicKey};

use super::TransportError;
use crate::inventory::Host;

/// What the handler learned about the server key, reported after connect
/// fails, since russh only sees `false`.
#[derive(Debug)]
pub(super) enum HostKeyVerdict {
    Unknown { fingerprint: String },
    Changed { line: usize, fingerprint: String },
    Revoked { line: usize, fingerprint: String },
    LearnFailed(String),
    Unreadable(String),
}

pub(super) fn host_key_error(host: &Host, verdict: Option<HostKeyVerdict>) -> Option<TransportError> {
    let known_hosts = host.known_hosts.display().to_string();
    let name = if host.port == 22 {
        host.address.clone()
    } else {
        format!("[{}]:{}", host.address, host.port)
    };
    Some(match verdict? {
        HostKeyVerdict::Unknown { fingerprint } => TransportError::HostKeyUnknown {
            host: name,
            known_hosts,
            fingerprint,
        },
        HostKeyVerdict::Changed { line, fingerprint } => TransportError::HostKeyChanged {
            host: name,
            known_hosts,
            line,
            fingerprint,
        },
        HostKeyVerdict::Revoked { line, fingerprint } => TransportError::HostKeyRevoked {
            host: name,
            known_hosts,
            line,
            fingerprint,
        },
        HostKeyVerdict::LearnFailed(reason) => TransportError::HostKeyLearn { known_hosts, reason },
        HostKeyVerdict::Unreadable(reason) => TransportError::KnownHostsUnreadable { known_hosts, reason },
    })
}

/// The line of `known_hosts` that marks `key` `@revoked` for this host, if
/// any. russh's reader skips marker lines (`@revoked`, `@cert-authority`)
/// entirely, so they are read here; `@cert-authority` stays unsupported.
/// A missing file revokes nothing; one that cannot be read is an error, not
/// "nothing revoked". Bytes that are not UTF-8 do not hide the lines around
/// them.
pub(super) fn revoked_line(
    host: &str,
    port: u16,
    key: &PublicKey,
    known_hosts: &Path,
) -> std::io::Result<Option<usize>> {
    let bytes = match std::fs::read(known_hosts) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let text = String::from_utf8_lossy(&bytes);
    let name = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    Ok(text.lines().enumerate().find_map(|(i, line)| {
        let mut fields = line.split_whitespace();
        if fields.next() != Some("@revoked") {
            return None;
        }
        let (patterns, _type, blob) = (fields.next()?, fields.next()?, fields.next()?);
        let revoked = keys::parse_public_key_base64(blob).ok()?;
        (revoked.key_data() == key.key_data() && hosts_match(patterns, &name)).then_some(i + 1)
    }))
}

/// OpenSSH host-pattern lists: `*` and `?` wildcards, `!` negates. A
/// hashed name (`|1|…`) is taken as a match: for a revoked key, refusing
/// too much beats accepting it.
fn hosts_match(patterns: &str, name: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, _) => s.is_empty(),
            (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
            (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && glob(&p[1..], &s[1..]),
            (Some(_), None) => false,
        }
    }
    let mut matched = false;
    for pattern in patterns.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if glob(negated.as_bytes(), name.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= pattern.starts_with("|1|") || glob(pattern.as_bytes(), name.as_bytes()),
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use russh::keys::known_hosts::known_host_keys_path;

    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const OTHER: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G2sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn known(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn revoked_lines_are_found_by_key_and_host_pattern() {
        let key = keys::parse_public_key_base64(KEY).unwrap();
        let text = format!(
            "# comment\n\n10.0.0.1 ssh-ed25519 {KEY}\n@revoked 10.0.0.9 ssh-ed25519 {KEY}\n\
             @revoked * ssh-ed25519 {OTHER}\n@revoked\t*.example,!db.example  ssh-ed25519 {KEY} old\n\
             @revoked [10.0.0.?]:2222 ssh-ed25519 {KEY}\n"
        );
        let (_dir, path) = known(&text);
        assert_eq!(revoked_line("10.0.0.1", 22, &key, &path).unwrap(), None);
        assert_eq!(revoked_line("10.0.0.9", 22, &key, &path).unwrap(), Some(4));
        assert_eq!(revoked_line("web.EXAMPLE", 22, &key, &path).unwrap(), Some(6));
        assert_eq!(revoked_line("db.example", 22, &key, &path).unwrap(), None);
        assert_eq!(revoked_line("10.0.0.1", 2222, &key, &path).unwrap(), Some(7));
        let (_dir, path) = known(&format!("@revoked * ssh-ed25519 {KEY}\n"));
        assert_eq!(revoked_line("anything", 22, &key, &path).unwrap(), Some(1));
    }

    #[test]
    fn revocations_are_read_past_bad_bytes_and_an_unreadable_file_is_an_error() {
        let key = keys::parse_public_key_base64(KEY).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let mut text = b"# caf\xe9\n".to_vec();
        text.extend_from_slice(format!("@revoked * ssh-ed25519 {KEY}\n").as_bytes());
        std::fs::write(&path, text).unwrap();
        assert_eq!(revoked_line("h", 22, &key, &path).unwrap(), Some(2));
        assert_eq!(revoked_line("h", 22, &key, &dir.path().join("none")).unwrap(), None);
        // A directory where the file should be: reading fails.
        assert!(revoked_line("h", 22, &key, dir.path()).is_err());
    }

    #[test]
    fn cert_authority_lines_are_not_plain_entries() {
        let key = keys::parse_public_key_base64(KEY).unwrap();
        let (_dir, path) = known(&format!("@cert-authority 10.0.0.1 ssh-ed25519 {KEY}\n"));
        assert!(!keys::check_known_hosts_path("10.0.0.1", 22, &key, &path).unwrap());
        assert!(known_host_keys_path("10.0.0.1", 22, &path).unwrap().is_empty());
        assert_eq!(revoked_line("10.0.0.1", 22, &key, &path).unwrap(), None);
    }
}
