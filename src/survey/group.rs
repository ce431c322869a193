//! The grouped view of a survey, what every renderer shows: hosts with
//! identical answers together, hosts not reached grouped by their error
//! first, then the answer groups from the smallest (the outliers) to the
//! largest (the majority, last), each with the unified diff from the
//! majority's answer. Pure, and bounded: answers and diffs are cut at
//! [`MAX_SHOWN`] bytes.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{Answer, Survey};
use super::question::Question;

/// Most bytes of one answer, and of one diff, a view holds.
pub const MAX_SHOWN: usize = 64 * 1024;

/// A survey, grouped.
#[derive(Debug, Clone, Serialize)]
pub struct Grouped {
    pub run_id: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub question: Question,
    pub sensitive: bool,
    pub hosts: usize,
    pub answered: usize,
    pub unreachable: usize,
    /// Every host reached gave the same answer, and none was unreachable.
    pub agree: bool,
    pub exit_code: u8,
    pub groups: Vec<Group>,
}

/// What a group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Answer,
    Unreachable,
}

/// Hosts that answered the same (or failed the same way).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub kind: GroupKind,
    /// The largest answer group (ties: the one whose first host comes
    /// first in the inventory).
    pub majority: bool,
    pub count: usize,
    /// In inventory order.
    pub hosts: Vec<String>,
    /// The hosts folded as ClusterShell does: `web[01-03],db1`.
    pub compact: String,
    /// The answer's state (`value`, `missing`, `exit 1`, …); `None` for
    /// hosts not reached.
    pub state: Option<String>,
    pub hash: Option<String>,
    /// The answer as text (invalid UTF-8 replaced), cut at [`MAX_SHOWN`];
    /// `None` when withheld or not reached.
    pub answer: Option<String>,
    pub answer_bytes: u64,
    /// The answer is longer than `answer`.
    pub truncated: bool,
    /// The answer is not valid UTF-8.
    pub binary: bool,
    /// Unified diff from the majority's answer to this group's; `None`
    /// for the majority itself, withheld answers and hosts not reached.
    pub diff: Option<String>,
    /// Why the hosts were not reached.
    pub error: Option<String>,
}

/// Groups `survey`'s hosts by answer.
pub fn group(survey: &Survey) -> Grouped {
    let mut answers: Vec<(&Answer, Vec<usize>)> = Vec::new();
    let mut errors: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, h) in survey.hosts.iter().enumerate() {
        match (&h.answer, &h.error) {
            (Some(a), _) => match answers.iter_mut().find(|(b, _)| b.hash == a.hash) {
                Some((_, hosts)) => hosts.push(i),
                None => answers.push((a, vec![i])),
            },
            (None, error) => {
                let error = error.as_deref().unwrap_or("no answer");
                match errors.iter_mut().find(|(e, _)| *e == error) {
                    Some((_, hosts)) => hosts.push(i),
                    None => errors.push((error, vec![i])),
                }
            }
        }
    }
    // The majority: the largest group, and among the largest the one met
    // first in the inventory. The others: smallest first, inventory order
    // among equals; the majority last.
    let top = answers
        .iter()
        .enumerate()
        .max_by_key(|(_, (_, hosts))| (hosts.len(), std::cmp::Reverse(hosts[0])))
        .map(|(i, _)| i);
    let top = top.map(|i| answers.remove(i));
    let majority = top.as_ref().map(|(a, _)| *a);
    answers.sort_by_key(|(_, hosts)| (hosts.len(), hosts[0]));
    answers.extend(top);
    let rest = answers;
    let names = |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| survey.hosts[i].host.clone()).collect() };
    let mut groups = Vec::new();
    for (error, idx) in &errors {
        let hosts = names(idx);
        groups.push(Group {
            kind: GroupKind::Unreachable,
            majority: false,
            count: hosts.len(),
            compact: compact(&hosts),
            hosts,
            state: None,
            hash: None,
            answer: None,
            answer_bytes: 0,
            truncated: false,
            binary: false,
            diff: None,
            error: Some(cut(error, 2048).0),
        });
    }
    let answered: usize = rest.iter().map(|(_, idx)| idx.len()).sum();
    let distinct = rest.len();
    for (a, idx) in rest {
        let hosts = names(&idx);
        let is_majority = majority.is_some_and(|m| m.hash == a.hash);
        let text = a.text();
        let (answer, truncated) = match &text {
            Some(t) => {
                let (shown, cut_off) = cut(t, MAX_SHOWN);
                (Some(shown), cut_off)
            }
            None => (None, false),
        };
        let diff = match (majority, is_majority) {
            (Some(m), false) => diff(m, a, &compact_of(survey, m), &compact(&hosts)),
            _ => None,
        };
        groups.push(Group {
            kind: GroupKind::Answer,
            majority: is_majority,
            count: hosts.len(),
            compact: compact(&hosts),
            hosts,
            state: Some(a.state.clone()),
            hash: Some(a.hash.clone()),
            answer,
            answer_bytes: a.size,
            truncated,
            binary: a.value.as_ref().is_some_and(|v| std::str::from_utf8(v).is_err()),
            diff,
            error: None,
        });
    }
    let unreachable = survey.hosts.len() - answered;
    let exit_code = if unreachable > 0 {
        crate::error::exit::UNREACHABLE
    } else if distinct > 1 {
        1
    } else {
        crate::error::exit::OK
    };
    Grouped {
        run_id: survey.run_id.clone(),
        started: survey.started,
        finished: survey.finished,
        question: survey.question.clone(),
        sensitive: survey.sensitive,
        hosts: survey.hosts.len(),
        answered,
        unreachable,
        agree: exit_code == crate::error::exit::OK,
        exit_code,
        groups,
    }
}

impl Grouped {
    /// The majority's group, if any host answered.
    pub fn majority(&self) -> Option<&Group> {
        self.groups.iter().find(|g| g.majority)
    }
}

fn compact_of(survey: &Survey, answer: &Answer) -> String {
    let hosts: Vec<String> = survey
        .hosts
        .iter()
        .filter(|h| h.answer.as_ref().is_some_and(|a| a.hash == answer.hash))
        .map(|h| h.host.clone())
        .collect();
    compact(&hosts)
}

/// What a diff compares: the value, and a last line naming the state when
/// it is not a plain value (`[exit 1]`, `[missing]`).
fn diff_text(a: &Answer) -> Option<String> {
    let value = std::str::from_utf8(a.value.as_deref()?).ok()?;
    Some(if a.state == "value" {
        value.to_string()
    } else if value.is_empty() || value.ends_with('\n') {
        format!("{value}[{}]\n", a.state)
    } else {
        format!("{value}\n[{}]\n", a.state)
    })
}

/// The unified diff from the majority's answer to `other`, bounded;
/// `None` when either is withheld.
fn diff(majority: &Answer, other: &Answer, from: &str, to: &str) -> Option<String> {
    let (Some(a), Some(b)) = (&majority.value, &other.value) else {
        return None;
    };
    let text = match (diff_text(majority), diff_text(other)) {
        (Some(x), Some(y)) => similar::TextDiff::from_lines(&x, &y)
            .unified_diff()
            .context_radius(3)
            .header(from, to)
            .to_string(),
        _ => format!("binary content differs ({} → {} bytes)\n", a.len(), b.len()),
    };
    Some(cut(&text, MAX_SHOWN).0)
}

/// `text` cut at a character boundary at most `max` bytes in, and whether
/// it was cut.
fn cut(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

/// Host names folded as ClusterShell's `nodeset` folds them: names that
/// differ only in a trailing number of the same width become
/// `prefix[01-03,07]`; others are listed as they are. Sorted, joined
/// with `,`.
pub fn compact(hosts: &[String]) -> String {
    use std::collections::BTreeMap;
    let mut numbered: BTreeMap<(&str, usize), Vec<u64>> = BTreeMap::new();
    let mut plain: Vec<&str> = Vec::new();
    for h in hosts {
        let digits = h.len() - h.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        match h[h.len() - digits..].parse::<u64>() {
            Ok(n) if digits > 0 && digits < h.len() && digits <= 18 => {
                numbered.entry((&h[..h.len() - digits], digits)).or_default().push(n)
            }
            _ => plain.push(h),
        }
    }
    let mut parts: Vec<String> = plain.iter().map(|s| s.to_string()).collect();
    for ((prefix, width), mut numbers) in numbered {
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.len() == 1 {
            parts.push(format!("{prefix}{:0width$}", numbers[0]));
            continue;
        }
        let mut ranges: Vec<String> = Vec::new();
        let mut start = numbers[0];
        let mut prev = start;
        for &n in numbers[1..].iter().chain(std::iter::once(&u64::MAX)) {
            if n == prev + 1 && n != u64::MAX {
                prev = n;
                continue;
            }
            ranges.push(if start == prev {
                format!("{start:0width$}")
            } else {
                format!("{start:0width$}-{prev:0width$}")
            });
            start = n;
            prev = n;
        }
        parts.push(format!("{prefix}[{}]", ranges.join(",")));
    }
    parts.sort();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::model::HostAnswer;
    use crate::survey::question::Kind;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn host_names_fold_like_nodeset() {
        assert_eq!(compact(&names(&["web01", "web02", "web03", "web07"])), "web[01-03,07]");
        assert_eq!(compact(&names(&["db1", "web1", "web2", "gw"])), "db1,gw,web[1-2]");
        assert_eq!(compact(&names(&["n9", "n10", "n11"])), "n9,n[10-11]");
        assert_eq!(compact(&names(&["a", "1"])), "1,a");
    }

    fn survey(answers: &[(&str, Option<&str>)]) -> Survey {
        Survey {
            run_id: "r".into(),
            started: Utc::now(),
            finished: Utc::now(),
            question: Question {
                kind: Kind::Command,
                subject: "x".into(),
            },
            sensitive: false,
            hosts: answers
                .iter()
                .map(|(h, a)| HostAnswer {
                    host: h.to_string(),
                    address: "a".into(),
                    answer: a.map(|a| Answer::new("value", a.as_bytes().to_vec())),
                    error: a.is_none().then(|| "refused".to_string()),
                })
                .collect(),
        }
    }

    #[test]
    fn outliers_first_majority_last_with_diffs() {
        let s = survey(&[
            ("h1", Some("a\n")),
            ("h2", Some("b\n")),
            ("h3", Some("a\n")),
            ("h4", None),
            ("h5", Some("c\n")),
            ("h6", Some("a\n")),
            ("h7", Some("b\n")),
        ]);
        let g = group(&s);
        let order: Vec<&str> = g.groups.iter().map(|g| g.compact.as_str()).collect();
        assert_eq!(order, ["h4", "h5", "h[2,7]", "h[1,3,6]"]);
        assert_eq!(g.exit_code, 3);
        assert!(g.groups[3].majority && g.groups[3].diff.is_none());
        let d = g.groups[1].diff.as_deref().unwrap();
        assert!(
            d.contains("--- h[1,3,6]") && d.contains("+++ h5") && d.contains("-a\n+c\n"),
            "{d}"
        );
        assert_eq!(g.groups[0].error.as_deref(), Some("refused"));
        let same = group(&survey(&[("a", Some("x")), ("b", Some("x"))]));
        assert_eq!((same.exit_code, same.agree, same.groups.len()), (0, true, 1));
        let differ = group(&survey(&[("a", Some("x")), ("b", Some("y"))]));
        assert_eq!(differ.exit_code, 1);
        // A tie: the group met first in the inventory is the majority.
        assert_eq!(differ.majority().unwrap().hosts, ["a"]);
    }

    #[test]
    fn huge_answers_are_cut() {
        let big = "x".repeat(MAX_SHOWN * 3);
        let g = group(&survey(&[("a", Some(&big)), ("b", Some("y"))]));
        for group in &g.groups {
            assert!(group.answer.as_ref().unwrap().len() <= MAX_SHOWN);
            assert!(group.diff.as_ref().is_none_or(|d| d.len() <= MAX_SHOWN));
        }
        assert!(g.groups.iter().any(|g| g.truncated));
    }
}
