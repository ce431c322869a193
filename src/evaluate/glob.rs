//! Globbed file subjects (`file: /etc/ssh/ssh_host_*_key`): the rule is
//! judged on every file the host's shell expands the pattern to, each as
//! the same rule on that one file would be, and passes only when every
//! match passes. The failing matches are named (at most
//! [`SHOWN`], then how many more).
//!
//! No match at all is `skipped` ("no file matches …"), not a pass and not
//! drift: "every host key is 0600" has nothing to say about a host
//! without keys, and the report still shows the surprise. A rule about
//! existence is the exception, as it asks exactly that: `exists: true`
//! fails and `exists: false` passes.

use super::{EvalError, RuleStatus, Verdict};
use crate::baseline::Check;
use crate::collect::facts::glob::{self, Each, Glob, Matches, GLOB_MAX_MATCHES};
use crate::collect::{Probe, ProbeOutput};
use crate::conftext::include;
use crate::shell::glob::is_glob;

/// Most failing matches named in `actual`.
pub const SHOWN: usize = 10;

/// The pattern of a file rule whose path is a glob (an sshd `setting`
/// rule follows `Include` instead and is never globbed).
pub(super) fn pattern(check: &Check) -> Option<&str> {
    let file = match check {
        Check::Setting { file, .. } if !include::follows_includes(file) => file,
        Check::Line { file, .. } | Check::Content { file, .. } => file,
        Check::Metadata(m) => &m.file,
        _ => return None,
    };
    is_glob(file).then_some(file.as_str())
}

/// The glob's fact: each match's stat for a metadata rule, else its content.
pub(super) fn probe(check: &Check, pattern: &str, max_file: u64) -> Probe {
    let each = match check {
        Check::Metadata(_) => Each::Stat,
        _ => Each::Read(max_file),
    };
    Glob {
        pattern: pattern.to_string(),
        each,
    }
    .into()
}

/// A name as reports show it: non-UTF-8 bytes replaced, control characters
/// (a newline in a name) escaped so that one name stays one line.
pub fn shown_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name)
        .chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_control() {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect()
}

/// Judges every match with `one` (the rule's verdict on one file, given
/// its name as shown and its stat or content) and combines them.
pub(super) fn verdict(
    check: &Check,
    pattern: &str,
    output: &ProbeOutput,
    one: impl Fn(&str, &ProbeOutput) -> Result<Verdict, EvalError>,
) -> Result<Verdict, EvalError> {
    let matches = glob::decode(output).map_err(|status| EvalError::Read {
        file: pattern.to_string(),
        status,
    })?;
    if matches.limited {
        return Err(EvalError::TooManyMatches {
            pattern: pattern.to_string(),
            max: GLOB_MAX_MATCHES,
        });
    }
    if matches.files.is_empty() {
        return Ok(none_match(check, pattern));
    }
    combine(pattern, &matches, one)
}

fn none_match(check: &Check, pattern: &str) -> Verdict {
    let actual = Some("no file matches".to_string());
    match check {
        Check::Metadata(m) if m.exists == Some(false) => Verdict::compared(true, "absent".into(), actual),
        Check::Metadata(m) if m.exists == Some(true) => Verdict::compared(false, "present".into(), actual),
        _ => Verdict {
            status: RuleStatus::Skipped,
            expected: None,
            actual,
            diff: None,
            message: Some(format!("no file matches {pattern}: nothing to judge")),
            actual_default: false,
        },
    }
}

fn combine(
    pattern: &str,
    matches: &Matches,
    one: impl Fn(&str, &ProbeOutput) -> Result<Verdict, EvalError>,
) -> Result<Verdict, EvalError> {
    let total = matches.files.len();
    let mut failing: Vec<(String, Verdict)> = Vec::new();
    let mut expected = None;
    for (name, output) in &matches.files {
        let name = shown_name(name);
        let v = match one(&name, output) {
            Ok(v) => v,
            // One file that cannot be judged leaves the rule without a
            // verdict; when it ended the reading, the later matches were
            // not judged either.
            Err(e) => {
                let later = if matches.stopped {
                    " (the matches after it were not read)"
                } else {
                    ""
                };
                return Err(EvalError::Match {
                    pattern: pattern.to_string(),
                    error: Box::new(e),
                    later,
                });
            }
        };
        if v.status == RuleStatus::Error {
            return Ok(Verdict::error(format!(
                "{name} (matching {pattern}): {}",
                v.message.unwrap_or_default()
            )));
        }
        expected.get_or_insert_with(|| v.expected.clone());
        if v.status != RuleStatus::Pass {
            failing.push((name, v));
        }
    }
    let expected = expected
        .flatten()
        .map(|e| format!("every file matching {pattern}: {e}"));
    if failing.is_empty() {
        let mut v = Verdict::compared(
            true,
            expected.unwrap_or_default(),
            Some(format!("{total} of {total} pass")),
        );
        v.message = Some(format!("{total} files match {pattern}; each passes"));
        return Ok(v);
    }
    let named: Vec<String> = failing
        .iter()
        .take(SHOWN)
        .map(|(name, v)| format!("{name}: {}", v.actual.as_deref().unwrap_or("(not set)")))
        .collect();
    let more = failing.len().saturating_sub(SHOWN);
    let mut actual = named.join("; ");
    if more > 0 {
        actual.push_str(&format!("; (+{more} more)"));
    }
    let diffs: Vec<&str> = failing
        .iter()
        .take(SHOWN)
        .filter_map(|(_, v)| v.diff.as_deref())
        .collect();
    let names: Vec<&str> = failing.iter().take(SHOWN).map(|(n, _)| n.as_str()).collect();
    Ok(Verdict {
        status: RuleStatus::Fail,
        expected,
        actual: Some(actual),
        diff: (!diffs.is_empty()).then(|| diffs.concat()),
        message: Some(format!(
            "{} of {total} files matching {pattern} fail: {}{}",
            failing.len(),
            names.join(", "),
            if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            }
        )),
        actual_default: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Metadata;
    use crate::collect::Part;

    fn parts(items: &[(&str, &[u8])]) -> ProbeOutput {
        ProbeOutput::Parts(
            items
                .iter()
                .map(|(s, b)| Part {
                    status: s.to_string(),
                    body: b.to_vec(),
                })
                .collect(),
        )
    }

    fn meta(exists: Option<bool>) -> Check {
        Check::Metadata(Metadata {
            file: "/k/*_key".into(),
            exists,
            mode: None,
            max_mode: Some(0o600),
            owner: Some("root".into()),
            group: None,
        })
    }

    fn judge(check: &Check, output: &ProbeOutput) -> Verdict {
        let Check::Metadata(m) = check else { unreachable!() };
        verdict(check, "/k/*_key", output, |_, o| super::super::metadata::verdict(m, o)).unwrap()
    }

    #[test]
    fn every_match_must_pass_and_the_failing_ones_are_named() {
        let check = meta(None);
        let good = &b"600 0 0 root root regular file"[..];
        let bad = &b"644 0 0 root root regular file"[..];
        let all = parts(&[
            ("match", b"/k/a_key"),
            ("ok", good),
            ("match", b"/k/b_key"),
            ("ok", good),
        ]);
        let v = judge(&check, &all);
        assert_eq!(v.status, RuleStatus::Pass, "{v:?}");
        assert_eq!(v.actual.as_deref(), Some("2 of 2 pass"));
        let one = parts(&[
            ("match", b"/k/a_key"),
            ("ok", good),
            ("match", b"/k/new\nline_key"),
            ("ok", bad),
        ]);
        let v = judge(&check, &one);
        assert_eq!(v.status, RuleStatus::Fail);
        assert_eq!(v.actual.as_deref(), Some("/k/new\\nline_key: mode 0644, owner root"));
        assert_eq!(
            v.message.as_deref(),
            Some("1 of 2 files matching /k/*_key fail: /k/new\\nline_key")
        );
        assert_eq!(
            v.expected.as_deref(),
            Some("every file matching /k/*_key: mode at most 0600, owner root")
        );
    }

    #[test]
    fn no_match_is_skipped_unless_the_rule_is_about_existence() {
        let none = parts(&[]);
        assert_eq!(judge(&meta(None), &none).status, RuleStatus::Skipped);
        assert_eq!(judge(&meta(Some(true)), &none).status, RuleStatus::Fail);
        assert_eq!(judge(&meta(Some(false)), &none).status, RuleStatus::Pass);
    }

    #[test]
    fn too_many_matches_or_an_unreadable_one_is_an_error() {
        let check = meta(None);
        let Check::Metadata(m) = &check else { unreachable!() };
        let limited = parts(&[("match", b"/k/a_key"), ("ok", b"600 0 0 root root f"), ("limit", b"")]);
        let e = verdict(&check, "/k/*_key", &limited, |_, o| {
            super::super::metadata::verdict(m, o)
        })
        .unwrap_err();
        assert!(e.to_string().contains("more than 1000 files"), "{e}");
        let denied = parts(&[("match", b"/k/a_key"), ("denied", b"")]);
        let e = verdict(&check, "/k/*_key", &denied, |name, o| {
            super::super::metadata::verdict(m, o).map_err(|e| match e {
                EvalError::Stat { status, .. } => EvalError::Stat {
                    file: name.to_string(),
                    status,
                },
                e => e,
            })
        })
        .unwrap_err();
        assert!(e.to_string().contains("/k/a_key"), "{e}");
    }
}
