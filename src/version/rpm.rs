//! rpm's version ordering: `rpmvercmp` on each part of
//! `[EPOCH:]VERSION[-RELEASE]`, as rpm 4.18's `rpm.vercmp` orders two
//! EVR strings (checked against the real tool in the tests below).
//!
//! Within a part, characters other than ASCII letters, digits, `~` and `^`
//! only separate segments. `~` sorts before everything (even the end),
//! `^` after the end but before any other segment (`1.0^git1` is later
//! than `1.0` and earlier than `1.0.1`). A numeric segment is newer than
//! an alphabetic one (`1.1` > `1.a`); numbers compare as numbers of any
//! length, letters as ASCII strings. When all segments agree, the string
//! with segments left over is newer.

use std::cmp::Ordering;

/// Compare two rpm `[EPOCH:]VERSION[-RELEASE]` strings.
pub fn compare(a: &str, b: &str) -> Ordering {
    let a = Evr::parse(a.trim().as_bytes());
    let b = Evr::parse(b.trim().as_bytes());
    // A missing epoch is 0; a missing release is empty (`1.0-1` > `1.0`,
    // as `rpm.vercmp` says).
    vercmp(a.epoch.unwrap_or(b"0"), b.epoch.unwrap_or(b"0"))
        .then_with(|| vercmp(a.version, b.version))
        .then_with(|| vercmp(a.release, b.release))
}

struct Evr<'a> {
    epoch: Option<&'a [u8]>,
    version: &'a [u8],
    release: &'a [u8],
}

impl<'a> Evr<'a> {
    /// rpm's `parseEVR`: leading digits then `:` are the epoch (an empty
    /// one is 0); the release follows the last `-`.
    fn parse(text: &'a [u8]) -> Self {
        let digits = text.iter().take_while(|c| c.is_ascii_digit()).count();
        let (epoch, rest) = if text.get(digits) == Some(&b':') {
            let epoch = &text[..digits];
            (
                Some(if epoch.is_empty() { &b"0"[..] } else { epoch }),
                &text[digits + 1..],
            )
        } else {
            (None, text)
        };
        let (version, release) = match rest.iter().rposition(|&c| c == b'-') {
            Some(dash) => (&rest[..dash], &rest[dash + 1..]),
            None => (rest, &b""[..]),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }
}

/// rpm's `rpmvercmp` on one part.
pub(super) fn vercmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        a = &a[a.iter().take_while(|c| separator(c)).count()..];
        b = &b[b.iter().take_while(|c| separator(c)).count()..];
        if a.is_empty() && b.is_empty() {
            return Ordering::Equal;
        }
        let (ca, cb) = (a.first().copied(), b.first().copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            // `^` is later than the end of the string, earlier than
            // anything else.
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            // One side ran out: the one with something left is newer.
            return if a.is_empty() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        };
        let numeric = ca.is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let la = a.iter().take_while(|c| class(c)).count();
        let lb = b.iter().take_while(|c| class(c)).count();
        if lb == 0 {
            // Different kinds of segment: numeric is newer than alpha.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let ordering = if numeric {
            super::compare_numbers(&a[..la], &b[..lb])
        } else {
            a[..la].cmp(&b[..lb])
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
        a = &a[la..];
        b = &b[lb..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    /// Pairs and rpm's answer (rpm's own `tests/rpmvercmp.at` style cases
    /// and the ones where Debian's order differs).
    const TABLE: &[(&str, &str, Ordering)] = &[
        ("1.0", "1.0", Equal),
        ("1.0", "2.0", Less),
        ("2.0.1", "2.0", Greater),
        ("2.0.1a", "2.0.1", Greater),
        ("5.5p1", "5.5p2", Less),
        ("5.5p10", "5.5p1", Greater),
        ("10xyz", "10.1xyz", Less),
        ("xyz10", "xyz10.1", Less),
        ("xyz.4", "8", Less),
        ("1.0a", "1.0", Greater),
        ("1.a", "1.1", Less),
        ("1.0.a", "1.0.1", Less),
        ("1.01", "1.1", Equal),
        ("1.0~rc1", "1.0", Less),
        ("1.0~rc1", "1.0~rc2", Less),
        ("1.0~rc1~git123", "1.0~rc1", Less),
        ("1.0^", "1.0", Greater),
        ("1.0^git1", "1.0", Greater),
        ("1.0^git1", "1.0.1", Less),
        ("1.0^git1", "1.0^git2", Less),
        ("1.0^git1", "1.01", Less),
        ("1.0^20160101^git1", "1.0^20160101", Greater),
        ("1.0~rc1^git1", "1.0~rc1", Greater),
        ("1.0^git1~pre", "1.0^git1", Less),
        ("a+", "a_", Equal),
        ("+a", "_a", Equal),
        ("1.0_1", "1.0.1", Equal),
        ("1:1.0", "2.0", Greater),
        ("0:1.0", "1.0", Equal),
        ("1.0-1", "1.0", Greater),
        ("1.0-2", "1.0-10", Less),
        ("2.0-1", "2.0-1.el9", Less),
        ("1.1.1k-12.el8_9", "1.1.1k-9.el8_7", Greater),
        ("8.7p1-38.el9", "8.7p1-34.el9_3.3", Greater),
        ("5.14.0-427.el9", "5.14.0-503.el9", Less),
        ("1.0.1-1.fc40", "1.0.1-1.fc39", Greater),
    ];

    /// What the real rpm says of each pair: `rpm.vercmp` in rpm's Lua,
    /// all pairs in one run (read from a file, so no version is quoted).
    fn real_rpm(pairs: &[(&str, &str)]) -> Vec<Ordering> {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("pairs");
        let text: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
        std::fs::write(&list, text).unwrap();
        let path = list.to_str().unwrap();
        assert!(!path.contains(['"', '\\', '}']), "{path}");
        let script = format!(
            "%{{lua: for l in io.lines(\"{path}\") do local a, b = l:match(\"^(.-)\\t(.*)$\"); \
             print(rpm.vercmp(a, b) .. \"\\n\") end}}"
        );
        let out = std::process::Command::new("rpm")
            .args(["--eval", &script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let answers: Vec<Ordering> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| match l.trim() {
                "-1" => Less,
                "0" => Equal,
                "1" => Greater,
                other => panic!("rpm.vercmp said {other:?}"),
            })
            .collect();
        assert_eq!(answers.len(), pairs.len());
        answers
    }

    #[test]
    fn agrees_with_the_real_rpm() {
        if !crate::version::tests::has_tool("rpm", &["--version"]) {
            return;
        }
        let tricky = crate::version::tests::TRICKY;
        let mut pairs: Vec<(&str, &str)> = TABLE.iter().map(|&(a, b, _)| (a, b)).collect();
        for a in tricky {
            for b in tricky {
                pairs.push((a, b));
            }
        }
        let truth = real_rpm(&pairs);
        for (&(a, b), want) in pairs.iter().zip(truth) {
            assert_eq!(compare(a, b), want, "{a} vs {b}, as rpm.vercmp says");
        }
        // The table's own answers are rpm's.
        for (&(a, b, table), real) in TABLE
            .iter()
            .zip(real_rpm(&TABLE.iter().map(|&(a, b, _)| (a, b)).collect::<Vec<_>>()))
        {
            assert_eq!(table, real, "{a} vs {b}: the table is wrong");
        }
    }

    #[test]
    fn table() {
        for &(a, b, want) in TABLE {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }
}
