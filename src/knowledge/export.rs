//! The files of a knowledge export: `index.md`/`index.html` and one file
//! per rule, named by [`super::file_stem`]. Pure and deterministic (same
//! inputs, same names and bytes); the command line writes them.

use super::{html, markdown, RulePage};

/// Which formats an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    pub markdown: bool,
    pub html: bool,
}

/// `(file name, content)` of every file of the export, sorted by name.
pub fn files(pages: &[RulePage], formats: Formats) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    if formats.markdown {
        files.push((
            "index.md".into(),
            markdown::index_markdown(pages, markdown::Links::Files),
        ));
        for p in pages {
            files.push((
                format!("{}.md", p.file),
                markdown::rule_markdown(p, markdown::Links::Files),
            ));
        }
    }
    if formats.html {
        files.push((
            "index.html".into(),
            html::page("Rule knowledge", &html::index_html(pages, html::Links::Files), false),
        ));
        for p in pages {
            files.push((
                format!("{}.html", p.file),
                html::page(
                    &format!("{}: {}", p.id, p.title),
                    &html::rule_html(p, html::Links::Files),
                    true,
                ),
            ));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}
