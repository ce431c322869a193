//! apk's version ordering, as apk-tools 3 (`src/version.c`,
//! `apk_version_compare`) reads Alpine versions:
//! `DIGITS{.DIGITS}[letter]{_suffix[N]}[~hash][-rN]`.
//!
//! Tokens are compared in turn: numbers (a number after `.` with a leading
//! `0` compares as a string: `1.01` < `1.1`), one lowercase letter after
//! the digits (`1.0a` > `1.0`), suffixes (`_alpha` < `_beta` < `_pre` <
//! `_rc` < release < `_cvs` < `_svn` < `_git` < `_hg` < `_p`, each with an
//! optional number), a `~` commit hash (as a string), and the `-rN`
//! revision. When all shared tokens agree, the longer version is newer
//! unless what it has more is a pre-release suffix (`1.0_rc1` < `1.0`).
//! The comparison stops where a version stops being well formed, as apk's
//! does.
//!
//! No apk is installable on Debian, so the tests check each rule of this
//! order with cases written for this project.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffixes in order; `""` (index 4) is the release itself, which no
/// written suffix names.
const SUFFIXES: [&[u8]; 9] = [b"alpha", b"beta", b"pre", b"rc", b"", b"cvs", b"svn", b"git", b"hg"];
/// `_p` sorts after all of [`SUFFIXES`].
const SUFFIX_P: usize = SUFFIXES.len();
const SUFFIX_NONE: usize = 4;

struct Token<'a> {
    kind: Kind,
    suffix: usize,
    number: u64,
    value: &'a [u8],
}

fn span(s: &[u8], class: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&c| class(c)).count()
}

impl<'a> Token<'a> {
    /// The leading number.
    fn first(s: &mut &'a [u8]) -> Self {
        let mut t = Token {
            kind: Kind::InitialDigit,
            suffix: SUFFIX_NONE,
            number: 0,
            value: b"",
        };
        t.digits(s);
        t
    }

    fn digits(&mut self, s: &mut &'a [u8]) {
        let n = span(s, |c| c.is_ascii_digit());
        // apk reads a u64 that wraps; so does this.
        self.number = s[..n]
            .iter()
            .fold(0u64, |v, c| v.wrapping_mul(10).wrapping_add(u64::from(c - b'0')));
        self.value = &s[..n];
        *s = &s[n..];
        if n == 0 {
            self.kind = Kind::Invalid;
        }
    }

    /// Moves to the next token, checking that it may follow this one.
    fn next(&mut self, s: &mut &'a [u8]) {
        let Some(&c) = s.first() else {
            self.kind = Kind::End;
            return;
        };
        let k = self.kind;
        self.kind = match c {
            b'a'..=b'z' if k <= Kind::Digit => {
                self.value = &s[..1];
                *s = &s[1..];
                Kind::Letter
            }
            b'.' | b'0'..=b'9' if c != b'.' || k <= Kind::Digit => {
                if c == b'.' {
                    *s = &s[1..];
                }
                let kind = match k {
                    Kind::InitialDigit | Kind::Digit => Kind::Digit,
                    Kind::Suffix => Kind::SuffixNo,
                    _ => return self.kind = Kind::Invalid,
                };
                self.kind = kind;
                self.digits(s);
                return;
            }
            b'_' if k <= Kind::SuffixNo => {
                *s = &s[1..];
                let n = span(s, |c| c.is_ascii_lowercase());
                self.value = &s[..n];
                *s = &s[n..];
                self.suffix = match self.value {
                    b"p" => SUFFIX_P,
                    b"" => return self.kind = Kind::Invalid,
                    v => match SUFFIXES.iter().position(|x| *x == v) {
                        Some(i) => i,
                        None => return self.kind = Kind::Invalid,
                    },
                };
                Kind::Suffix
            }
            b'~' if k < Kind::CommitHash => {
                *s = &s[1..];
                let n = span(s, |c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
                self.value = &s[..n];
                *s = &s[n..];
                if n == 0 {
                    Kind::Invalid
                } else {
                    Kind::CommitHash
                }
            }
            b'-' if k < Kind::RevisionNo && s.starts_with(b"-r") => {
                *s = &s[2..];
                self.kind = Kind::RevisionNo;
                self.digits(s);
                return;
            }
            _ => Kind::Invalid,
        };
    }
}

/// Two tokens of the same kind.
fn token_cmp(a: &Token, b: &Token) -> Ordering {
    let string = || a.value.cmp(b.value);
    match a.kind {
        Kind::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => string(),
        Kind::Digit | Kind::InitialDigit | Kind::SuffixNo | Kind::RevisionNo => a.number.cmp(&b.number),
        Kind::Letter => a.value.first().cmp(&b.value.first()),
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        _ => string(),
    }
}

/// Compare two apk versions (`1.2.5-r0`, `9.7_p1-r4`).
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.trim().as_bytes(), b.trim().as_bytes());
    let mut ta = Token::first(&mut a);
    let mut tb = Token::first(&mut b);
    while ta.kind == tb.kind && ta.kind < Kind::End {
        let ordering = token_cmp(&ta, &tb);
        if ordering != Ordering::Equal {
            return ordering;
        }
        ta.next(&mut a);
        tb.next(&mut b);
    }
    if ta.kind == tb.kind {
        return Ordering::Equal;
    }
    // Equal so far: the longer one is newer, unless it goes on with a
    // pre-release suffix.
    if ta.kind == Kind::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.kind == Kind::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    tb.kind.cmp(&ta.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each rule of the order above, one case or more each, written for
    /// this project from apk's documented version format (no apk can be
    /// installed on Debian to ask).
    #[test]
    fn each_rule_of_the_order() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, want) in [
            // Numbers, dot by dot; more parts is newer.
            ("1.0", "1.1", Less),
            ("1.2", "1.10", Less),
            ("2.0", "1.99", Greater),
            ("1.0", "1.0.1", Less),
            ("1.0", "1.0", Equal),
            // A letter after the digits.
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0b", Less),
            ("1.0z", "1.1", Less),
            // Suffixes, pre-release before the release, post after it.
            ("1.0_alpha", "1.0_beta", Less),
            ("1.0_beta", "1.0_pre", Less),
            ("1.0_pre", "1.0_rc", Less),
            ("1.0_rc", "1.0", Less),
            ("1.0", "1.0_cvs", Less),
            ("1.0_cvs", "1.0_svn", Less),
            ("1.0_svn", "1.0_git", Less),
            ("1.0_git", "1.0_hg", Less),
            ("1.0_hg", "1.0_p", Less),
            ("1.0_rc1", "1.0_rc2", Less),
            ("1.0_rc9", "1.0_rc10", Less),
            ("1.0_p1", "1.0_p2", Less),
            // Revisions.
            ("1.0-r0", "1.0-r1", Less),
            ("1.0-r9", "1.0-r10", Less),
            ("1.0_p1-r1", "1.0_p2-r0", Less),
        ] {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn where_debian_order_differs() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, want) in [
            ("1.0_rc1", "1.0", Less),
            ("1.0_alpha", "1.0_beta", Less),
            ("1.0_p1", "1.0", Greater),
            ("1.0_git20240101", "1.0_p1", Less),
            ("9.7_p1-r4", "9.7_p1-r10", Less),
            ("1.36.1-r15", "1.36.1", Greater),
            ("1.01", "1.1", Less),
            ("1.0-r0", "1.0", Greater),
            ("1.2.5-r0", "1.2.4-r2", Greater),
            ("1.2_p1-r3", "1.2_p1-r3", Equal),
        ] {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
