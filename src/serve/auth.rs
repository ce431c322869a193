//! Who may read the web view: the `--auth-file` (lines `token: SECRET` and
//! `basic: USER:PASSWORD`), and checking a request's credentials against
//! it — `Authorization: Bearer`, `Authorization: Basic`, `?token=`, or the
//! cookie a `?token=` sets so that links keep working.
//!
//! Comparisons are constant-time: both sides are hashed (SHA-256) and the
//! digests compared without an early exit, so neither a secret's content
//! nor its length shows in the response time.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

/// The cookie a valid `?token=` sets.
pub const COOKIE: &str = "rectify_session";

/// Why an auth file cannot be used (exit 2, before anything is bound).
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    #[error("cannot read auth file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "auth file {path} is readable or writable by group or others (mode {mode:04o}): it holds secrets; chmod 600 it"
    )]
    Open { path: String, mode: u32 },
    #[error("auth file {path}:{line}: expected `token: SECRET` or `basic: USER:PASSWORD`")]
    Syntax { path: String, line: usize },
    #[error("auth file {path} holds no credentials")]
    Empty { path: String },
}

/// The credentials the auth file accepts, kept as SHA-256 digests.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    tokens: Vec<[u8; 32]>,
    /// Digests of `USER:PASSWORD`.
    basic: Vec<[u8; 32]>,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal digests, compared without an early exit.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `candidate` is one of `known`, looking at every one of them.
fn any_of(known: &[[u8; 32]], candidate: &[u8]) -> bool {
    let d = digest(candidate);
    known.iter().fold(false, |found, k| found | same(k, &d))
}

impl Credentials {
    /// Whether a user name and password are accepted. Only then is a 401
    /// a Basic challenge: a browser answers that with a login prompt, which
    /// a token-only view has no user or password for.
    pub fn has_basic(&self) -> bool {
        !self.basic.is_empty()
    }

    /// Reads an auth file; one that group or others may read or write is
    /// refused, as is one with no credentials or an unknown line.
    pub fn load(path: &Path) -> Result<Credentials, AuthFileError> {
        let shown = path.display().to_string();
        let read = |source| AuthFileError::Read {
            path: shown.clone(),
            source,
        };
        let mode = std::fs::metadata(path).map_err(read)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(AuthFileError::Open { path: shown, mode });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Self::parse(&text, &shown)
    }

    fn parse(text: &str, path: &str) -> Result<Credentials, AuthFileError> {
        let mut c = Credentials::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = || AuthFileError::Syntax {
                path: path.to_string(),
                line: n + 1,
            };
            let (key, value) = line.split_once(':').ok_or_else(syntax)?;
            let value = value.trim();
            match key.trim() {
                "token" if !value.is_empty() => c.tokens.push(digest(value.as_bytes())),
                "basic"
                    if value
                        .split_once(':')
                        .is_some_and(|(u, p)| !u.is_empty() && !p.is_empty()) =>
                {
                    c.basic.push(digest(value.as_bytes()))
                }
                _ => return Err(syntax()),
            }
        }
        if c.tokens.is_empty() && c.basic.is_empty() {
            return Err(AuthFileError::Empty { path: path.to_string() });
        }
        Ok(c)
    }

    /// Whether an `Authorization` header value is accepted.
    pub fn header(&self, value: &str) -> bool {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return any_of(&self.tokens, token.trim().as_bytes());
        }
        if let Some(encoded) = value.strip_prefix("Basic ") {
            return base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .is_ok_and(|pair| any_of(&self.basic, &pair));
        }
        false
    }

    /// Whether a `?token=` value is accepted.
    pub fn token(&self, token: &str) -> bool {
        any_of(&self.tokens, token.as_bytes())
    }

    /// The cookie value a valid `token` earns: a digest of it, so the
    /// secret itself is not kept in the browser's cookie store.
    pub fn cookie_for(token: &str) -> String {
        Self::cookie_of_digest(&digest(token.as_bytes()))
    }

    /// Whether a session cookie value is one a valid token earned.
    pub fn cookie(&self, value: &str) -> bool {
        self.tokens.iter().fold(false, |found, t| {
            found | same(&digest(Self::cookie_of_digest(t).as_bytes()), &digest(value.as_bytes()))
        })
    }

    fn cookie_of_digest(token_digest: &[u8; 32]) -> String {
        let d = digest([b"rectify-session:".as_slice(), token_digest].concat().as_slice());
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_basic_pairs_and_cookies_are_checked() {
        let c = Credentials::parse("# team\ntoken: s3cret\nbasic: ops:pa:ss\n\n", "f").unwrap();
        assert!(c.header("Bearer s3cret"));
        assert!(!c.header("Bearer s3cre"));
        assert!(!c.header("Bearer s3cret2"));
        let basic = base64::engine::general_purpose::STANDARD.encode("ops:pa:ss");
        assert!(c.header(&format!("Basic {basic}")));
        assert!(!c.header("Basic b3BzOnBh"));
        assert!(!c.header("Basic ###"));
        assert!(c.token("s3cret") && !c.token("ops:pa:ss"));
        assert!(c.cookie(&Credentials::cookie_for("s3cret")));
        assert!(!c.cookie(&Credentials::cookie_for("other")));
        assert!(!c.cookie("s3cret"));
    }

    #[test]
    fn bad_lines_and_empty_files_are_refused_with_the_line() {
        let e = Credentials::parse("token: a\npassword: b\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "auth file f:2: expected `token: SECRET` or `basic: USER:PASSWORD`"
        );
        assert!(Credentials::parse("basic: nopassword\n", "f").is_err());
        assert!(matches!(
            Credentials::parse("# nothing\n", "f"),
            Err(AuthFileError::Empty { .. })
        ));
    }
}
