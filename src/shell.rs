//! The one place where text becomes shell syntax.
//!
//! Every value that ends up in a remote command line (paths, keys, user
//! commands, sudo prefixes) goes through [`quote`]. Nothing else in the
//! crate formats shell text around a value.

use std::borrow::Cow;

/// Quotes `value` as a single POSIX shell word.
///
/// `shlex::try_quote` gives the POSIX single-quote form (`'it'"'"'s'`);
/// it refuses only NUL bytes, which no shell word can carry, so those are
/// an error for the caller to report rather than something to paper over.
pub fn quote(value: &str) -> Result<Cow<'_, str>, QuoteError> {
    shlex::try_quote(value).map_err(|_| QuoteError)
}

/// Joins `words` into one command line, each word quoted.
pub fn join<S: AsRef<str>>(words: &[S]) -> Result<String, QuoteError> {
    let mut line = String::new();
    for word in words {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&quote(word.as_ref())?);
    }
    Ok(line)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a NUL byte cannot be passed to a remote shell")]
pub struct QuoteError;

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `printf %s <quoted>` through a real `sh` and returns what it printed,
    /// so the tests prove the round trip rather than a particular spelling.
    fn through_sh(value: &str) -> String {
        let line = format!("printf %s {}", quote(value).unwrap());
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "sh failed for {line:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn hostile_values_survive_a_real_shell_unchanged() {
        let hostile = [
            "plain",
            "",
            "with space",
            "it's",
            "\"double\"",
            "$(touch /tmp/rectify-pwned)",
            "`id`",
            "a;b && c | d",
            "line1\nline2",
            "-rf",
            "--",
            "*",
            "~root",
            "$HOME",
            "back\\slash",
            "tab\there",
            "ünïcödé ✓",
            "'; rm -rf / #",
        ];
        for value in hostile {
            assert_eq!(through_sh(value), value, "value {value:?}");
        }
        assert!(!std::path::Path::new("/tmp/rectify-pwned").exists());
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert_eq!(quote("a\0b"), Err(QuoteError));
    }

    #[test]
    fn join_keeps_word_boundaries() {
        let line = join(&["printf", "%s|", "a b", "c'd"]).unwrap();
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "a b|c'd|");
    }
}
