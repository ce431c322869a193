//! File-name patterns (`/etc/ssh/ssh_host_*_key`) as shell words the host
//! expands itself. Only the pattern characters `*`, `?` and a bracket
//! expression of plain characters reach the shell unquoted; every literal
//! run between them goes through [`super::quote`], so a pattern cannot
//! carry anything the shell would run or expand (`$`, backticks, quotes,
//! blanks, braces, `~`) in a place where it is not quoted.

use super::quote;

/// Why a path cannot be used as a pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("`[` at byte {0} has no closing `]`")]
    Unclosed(usize),
    #[error("the bracket expression at byte {0} is empty")]
    Empty(usize),
    #[error(
        "the bracket expression at byte {at} holds {ch:?}: only letters, digits and . _ - + : @ , % = * ? (and a leading !) may be inside [...]"
    )]
    Bracket { at: usize, ch: char },
    #[error("a pattern cannot hold a NUL byte")]
    Nul,
}

/// Whether `path` is a pattern: it holds `*`, `?` or `[`.
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Characters a bracket expression may hold besides a leading `!`: none
/// of them means anything to the shell inside an unquoted word, and none
/// opens a character class (`[:alpha:]` needs `[`).
fn bracket_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-+:@,%=*?".contains(c)
}

/// Checks `pattern` and returns it as one shell word that expands to the
/// names it matches: `/etc/ssh/ssh_host_*_key` → `/etc/ssh/ssh_host_*_key`
/// with the literal runs quoted as needed (`'/srv/my dir/'*'.conf'`).
pub fn word(pattern: &str) -> Result<String, PatternError> {
    if pattern.contains('\0') {
        return Err(PatternError::Nul);
    }
    let mut out = String::new();
    let mut literal = String::new();
    let flush = |literal: &mut String, out: &mut String| -> Result<(), PatternError> {
        if !literal.is_empty() {
            out.push_str(&quote(literal).map_err(|_| PatternError::Nul)?);
            literal.clear();
        }
        Ok(())
    };
    let bytes: Vec<(usize, char)> = pattern.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        match c {
            '*' | '?' => {
                flush(&mut literal, &mut out)?;
                out.push(c);
                i += 1;
            }
            '[' => {
                flush(&mut literal, &mut out)?;
                let mut j = i + 1;
                let mut inside = String::new();
                if bytes.get(j).map(|b| b.1) == Some('!') {
                    inside.push('!');
                    j += 1;
                }
                let start = inside.len();
                loop {
                    match bytes.get(j) {
                        None => return Err(PatternError::Unclosed(at)),
                        Some((_, ']')) => break,
                        Some((_, ch)) if bracket_char(*ch) => inside.push(*ch),
                        Some((at, ch)) => return Err(PatternError::Bracket { at: *at, ch: *ch }),
                    }
                    j += 1;
                }
                if inside.len() == start {
                    return Err(PatternError::Empty(at));
                }
                out.push('[');
                out.push_str(&inside);
                out.push(']');
                i = j + 1;
            }
            _ => {
                literal.push(c);
                i += 1;
            }
        }
    }
    flush(&mut literal, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// What a real `sh` expands the word to in `dir` (one name a line),
    /// the `touch` markers a hostile word might have run staying absent.
    fn expand(dir: &std::path::Path, pattern: &str) -> Vec<String> {
        let line = format!(
            "cd {} && for f in {}; do [ -e \"$f\" ] && printf '%s\\n' \"$f\"; done; true",
            quote(dir.to_str().unwrap()).unwrap(),
            word(pattern).unwrap()
        );
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "{line}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn patterns_expand_as_written_and_literal_runs_stay_literal() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a_rsa_key",
            "a_ed25519_key",
            "a_rsa_key.pub",
            "my dir",
            "$(x)",
            "b1",
            "b2",
            "bx",
            "*",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        assert_eq!(expand(dir.path(), "a_*_key"), ["a_ed25519_key", "a_rsa_key"]);
        assert_eq!(expand(dir.path(), "b[0-9]"), ["b1", "b2"]);
        assert_eq!(expand(dir.path(), "b[!0-9]"), ["bx"]);
        assert_eq!(expand(dir.path(), "b?"), ["b1", "b2", "bx"]);
        assert_eq!(expand(dir.path(), "my d*"), ["my dir"]);
        assert_eq!(expand(dir.path(), "$(x)*"), ["$(x)"]);
        assert_eq!(expand(dir.path(), "[*]"), ["*"]);
    }

    #[test]
    fn nothing_but_the_pattern_characters_reaches_the_shell_unquoted() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pwned");
        let m = marker.to_str().unwrap();
        for hostile in [
            format!("$(touch {m})*"),
            format!("`touch {m}`?"),
            format!("*;touch {m}"),
            format!("x*\ntouch {m}"),
            "~root/*".to_string(),
            "{a,b}*".to_string(),
            "'\"*".to_string(),
        ] {
            expand(dir.path(), &hostile);
            assert!(!marker.exists(), "{hostile:?} ran");
        }
        for bad in [
            "a[$(x)]",
            "a[ ]",
            "a[`]",
            "a['b]",
            "a[/]",
            "a[[:alpha:]]",
            "a[{]",
            "a[;]",
        ] {
            assert!(matches!(word(bad), Err(PatternError::Bracket { .. })), "{bad}");
        }
        assert_eq!(word("a[b"), Err(PatternError::Unclosed(1)));
        assert_eq!(word("a[]"), Err(PatternError::Empty(1)));
        assert_eq!(word("a[!]"), Err(PatternError::Empty(1)));
        assert!(is_glob("/etc/ssh/ssh_host_*_key") && !is_glob("/etc/passwd"));
    }
}
