//! The terminal view of a survey, as `clush -b` prints: a header per
//! group naming its hosts, then the answer, then the diff from the
//! majority. Host text is made safe for a terminal (escape sequences shown,
//! not interpreted) and cut at a number of lines unless `-v`.

use super::group::{Group, GroupKind, Grouped};
use crate::report::human::count;
use crate::report::sanitize::for_terminal;

/// Lines of an answer, and of a diff, shown without `-v`.
const LINES: usize = 40;

pub fn render(g: &Grouped, verbose: bool) -> String {
    let answers = g.groups.iter().filter(|x| x.kind == GroupKind::Answer).count();
    let mut out = format!(
        "survey {}: {} {} on {}: {}{}\n",
        g.run_id,
        g.question.kind.as_str(),
        for_terminal(&g.question.subject),
        count(g.hosts, "host"),
        match answers {
            0 => "no answer".to_string(),
            1 => "all the same".to_string(),
            n => format!("{n} different answers"),
        },
        if g.unreachable > 0 {
            format!(", {} not reached", count(g.unreachable, "host"))
        } else {
            String::new()
        }
    );
    if g.sensitive {
        out.push_str("answers withheld (sensitive): hosts are grouped, nothing is shown or stored\n");
    }
    for group in &g.groups {
        out.push('\n');
        render_group(&mut out, group, verbose);
    }
    out
}

fn render_group(out: &mut String, group: &Group, verbose: bool) {
    let rule = "-".repeat(15);
    let what = match (group.kind, group.majority, group.state.as_deref()) {
        (GroupKind::Unreachable, ..) => "not reached".to_string(),
        (_, true, Some("value") | None) => "majority".to_string(),
        (_, true, Some(state)) => format!("majority, {state}"),
        (_, false, Some("value")) | (_, false, None) => "outlier".to_string(),
        (_, false, Some(state)) => format!("outlier, {state}"),
    };
    out.push_str(&format!(
        "{rule}\n{} ({}, {what})\n{rule}\n",
        for_terminal(&group.compact),
        count(group.count, "host")
    ));
    if let Some(error) = &group.error {
        out.push_str(&format!("{}\n", for_terminal(error)));
        return;
    }
    match &group.answer {
        None => out.push_str(&format!("(answer withheld: {} bytes)\n", group.answer_bytes)),
        Some(_) if group.binary => out.push_str(&format!("(binary content, {} bytes)\n", group.answer_bytes)),
        Some(text) if text.is_empty() => {}
        Some(text) => push_lines(out, text, verbose, group.truncated),
    }
    if let Some(diff) = &group.diff {
        out.push_str("diff from the majority:\n");
        push_lines(out, diff, verbose, false);
    }
}

fn push_lines(out: &mut String, text: &str, verbose: bool, truncated: bool) {
    let total = text.lines().count();
    let shown = if verbose { total } else { total.min(LINES) };
    for line in text.lines().take(shown) {
        out.push_str(&for_terminal(line));
        out.push('\n');
    }
    if shown < total {
        out.push_str(&format!("… {} more (-v shows them)\n", count(total - shown, "line")));
    } else if truncated {
        out.push_str("… (cut: the rest is not shown)\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::model::{Answer, HostAnswer, Survey};
    use crate::survey::question::{Kind, Question};

    #[test]
    fn escape_sequences_are_shown_not_interpreted() {
        let s = Survey {
            run_id: "r".into(),
            started: chrono::Utc::now(),
            finished: chrono::Utc::now(),
            question: Question {
                kind: Kind::Command,
                subject: "x".into(),
            },
            sensitive: false,
            hosts: vec![
                HostAnswer {
                    host: "a".into(),
                    address: "a".into(),
                    answer: Some(Answer::new("value", b"\x1b[2Jboom\n".to_vec())),
                    error: None,
                },
                HostAnswer {
                    host: "b".into(),
                    address: "b".into(),
                    answer: Some(Answer::new("value", "l\n".repeat(100).into_bytes())),
                    error: None,
                },
            ],
        };
        let text = render(&super::super::group(&s), false);
        assert!(!text.contains('\x1b') && text.contains("\\x1b[2Jboom"), "{text}");
        assert!(text.contains("more (-v shows them)"), "{text}");
    }
}
