//! Knowledge pages as Markdown (CommonMark with GitHub tables): every text
//! from a baseline is escaped so it reads as itself (no markup, no HTML,
//! no table cell broken by a `|`), and text that is code (the rule, the
//! steps, the manual check) goes into fenced blocks longer than any run
//! of backticks inside them.

use super::{RuleHistory, RulePage};

/// Where the Markdown links go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Files beside each other: `FILE.md`.
    Files,
    /// The web view: `/knowledge/FILE`, hosts `/hosts/H`, runs `/runs/R`.
    Web,
}

/// `text` as Markdown inline text that renders as itself.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        if !out.is_empty() {
            out.push('\n');
        }
        // Leading blanks would make an indented code block.
        let trimmed = line.trim_start();
        let mut chars = trimmed.chars();
        let mut first = true;
        let mut digits = false;
        for c in chars.by_ref() {
            let at_start = first || digits;
            // A line starting with `#`, `-`, `+`, `=`, `>` or `1.`/`1)`
            // would be a heading, a list, a setext underline or a quote.
            let starts_block = (first && "#-+=>".contains(c)) || (digits && (c == '.' || c == ')'));
            if c.is_ascii_punctuation() && ("\\`*_[]<>&|~!".contains(c) || starts_block) {
                out.push('\\');
            }
            out.push(c);
            digits = at_start && c.is_ascii_digit();
            first = false;
        }
    }
    out
}

/// `text` as one table cell: escaped, on one line.
pub fn cell(value: &str) -> String {
    text(&value.replace(['\n', '\r'], " "))
}

/// A fenced code block holding `body` literally.
pub fn code(body: &str, info: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{fence}{info}\n{body}");
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn link(target: &str, label: &str) -> String {
    format!(
        "[{}]({})",
        text(label),
        target.replace(' ', "%20").replace(['(', ')'], "_")
    )
}

fn rule_href(p: &RulePage, links: Links) -> String {
    match links {
        Links::Files => format!("{}.md", p.file),
        Links::Web => format!("/knowledge/{}", p.file),
    }
}

fn host(h: &str, links: Links) -> String {
    match links {
        Links::Files => cell(h),
        Links::Web => link(&format!("/hosts/{}", crate::report::sanitize::url_segment(h)), h),
    }
}

fn run(date: &str, id: &str, links: Links) -> String {
    let label = format!("{} ({id})", date.get(..10).unwrap_or(date));
    match links {
        Links::Files => cell(&label),
        Links::Web => link(&format!("/runs/{}", crate::report::sanitize::url_segment(id)), &label),
    }
}

/// One rule's page.
pub fn rule_markdown(p: &RulePage, links: Links) -> String {
    let mut out = format!("# {}: {}\n\n", text(&p.id), cell(&p.title));
    out.push_str("| severity | level | baseline | tags |\n| --- | --- | --- | --- |\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} |\n\n",
        p.severity,
        p.level,
        cell(&p.baseline),
        cell(&p.tags.join(", "))
    ));
    out.push_str("## What it protects\n\n");
    match &p.rationale {
        Some(r) => out.push_str(&format!("{}\n\n", text(r.trim()))),
        None => out.push_str("No rationale given.\n\n"),
    }
    out.push_str("## How to check by hand\n\n");
    match &p.manual_check {
        Some(m) => out.push_str(&format!("{}\n", code(m, "sh"))),
        None => out.push_str("No manual check given.\n\n"),
    }
    out.push_str("## How rectify checks it\n\n");
    out.push_str(&format!("{}\n", code(&p.check, "yaml")));
    out.push_str("## How it is fixed\n\n");
    let r = &p.remediation;
    match r.kind {
        "playbook" => {
            out.push_str(&format!(
                "`rectify fix` runs {} of the playbook {}:\n\n",
                if r.whole { "every step" } else { "these steps" },
                cell(r.playbook.as_deref().unwrap_or(""))
            ));
            for s in &r.steps {
                out.push_str(&format!("### {}\n\n{}\n", cell(&s.name), code(&s.yaml, "yaml")));
            }
        }
        "manual" => out.push_str(&format!(
            "By hand (`rectify fix` runs nothing for this rule):\n\n{}\n",
            code(r.manual.as_deref().unwrap_or(""), "")
        )),
        _ => out.push_str("No remediation.\n\n"),
    }
    out.push_str("## References\n\n");
    if p.references.is_empty() {
        out.push_str("None.\n\n");
    } else {
        out.push_str("| catalogue | ids |\n| --- | --- |\n");
        for (c, ids) in &p.references {
            out.push_str(&format!("| {} | {} |\n", c, cell(&ids.join(", "))));
        }
        out.push('\n');
    }
    out.push_str("## Where and when it came back\n\n");
    match &p.history {
        None => out.push_str("No run history was read.\n"),
        Some(h) => history(&mut out, h, links),
    }
    out
}

fn history(out: &mut String, h: &RuleHistory, links: Links) {
    out.push_str(&format!(
        "Since {}: checked on {} host{}, {} failed result{}.\n\n",
        cell(&h.since),
        h.hosts,
        if h.hosts == 1 { "" } else { "s" },
        h.failures,
        if h.failures == 1 { "" } else { "s" }
    ));
    if h.failing_now.is_empty() {
        out.push_str("Failing now on no host.\n\n");
    } else {
        let hosts: Vec<String> = h.failing_now.iter().map(|x| host(x, links)).collect();
        out.push_str(&format!("Failing now on: {}\n\n", hosts.join(", ")));
    }
    if h.recurrences.is_empty() {
        out.push_str("It never came back after passing.\n");
        return;
    }
    out.push_str("| host | last passed | failed again |\n| --- | --- | --- |\n");
    for r in &h.recurrences {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            host(&r.host, links),
            run(&r.passed, &r.passed_run, links),
            run(&r.failed, &r.failed_run, links)
        ));
    }
}

/// The index: per baseline (area) a table of its rules, most severe first.
pub fn index_markdown(pages: &[RulePage], links: Links) -> String {
    let mut out = String::from("# Rule knowledge\n\n");
    out.push_str(&format!("{} rules. Most severe first in each area.\n\n", pages.len()));
    for (area, rules) in super::html::by_area(pages) {
        out.push_str(&format!("## {}\n\n", cell(area)));
        out.push_str("| rule | title | severity | failing now | came back |\n| --- | --- | --- | --- | --- |\n");
        for p in rules {
            let (now, back) = p.history.as_ref().map_or(("".to_string(), "".to_string()), |h| {
                (h.failing_now.len().to_string(), h.recurrences.len().to_string())
            });
            out.push_str(&format!(
                "| {} | {} | {} | {now} | {back} |\n",
                link(&rule_href(p, links), &p.id),
                cell(&p.title),
                p.severity
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_renders_as_itself() {
        assert_eq!(
            text("a|b <script> *x* [l](u) `c`"),
            "a\\|b \\<script\\> \\*x\\* \\[l\\](u) \\`c\\`"
        );
        assert_eq!(
            text("# not a heading\n- not a list\n1. not a list\n10) no"),
            "\\# not a heading\n\\- not a list\n1\\. not a list\n10\\) no"
        );
        assert_eq!(text("e.g. 3-4 hosts"), "e.g. 3-4 hosts");
        assert_eq!(cell("two\nlines"), "two lines");
    }

    #[test]
    fn code_fences_outlast_the_backticks_inside() {
        assert_eq!(code("a ``` b", ""), "````\na ``` b\n````\n");
        assert_eq!(code("plain\n", "sh"), "```sh\nplain\n```\n");
    }
}
