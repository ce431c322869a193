//! Errors in input files (inventories, baselines, waivers), pointing at a
//! file, line and column so the operator can go straight to the problem.

use std::fmt;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};

/// A 1-based position in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One problem in one input file.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.headline())]
pub struct ConfigError {
    pub path: PathBuf,
    pub position: Option<Position>,
    pub message: String,
    /// The source around the problem, for the rendered diagnostic. Boxed:
    /// errors travel in `Result`s and should stay small.
    snippet: Option<Box<Snippet>>,
}

#[derive(Debug)]
struct Snippet {
    source: NamedSource<String>,
    span: SourceSpan,
    label: String,
}

impl miette::Diagnostic for ConfigError {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.snippet.as_ref().map(|s| &s.source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let s = self.snippet.as_ref()?;
        let label = miette::LabeledSpan::new_with_span(Some(s.label.clone()), s.span);
        Some(Box::new(std::iter::once(label)))
    }
}

impl ConfigError {
    /// An error about the file as a whole (unreadable, empty, wrong kind).
    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            position: None,
            message: message.into(),
            snippet: None,
        }
    }

    /// An error at `position` in `text`, the contents of `path`.
    pub fn at(path: &Path, text: &str, position: Position, message: impl Into<String>) -> Self {
        let message = message.into();
        let offset = offset_of(text, position);
        let snippet = Snippet {
            source: NamedSource::new(path.display().to_string(), text.to_string()),
            span: SourceSpan::new(offset.into(), 0),
            label: short_label(&message),
        };
        ConfigError {
            path: path.to_path_buf(),
            position: Some(position),
            message,
            snippet: Some(Box::new(snippet)),
        }
    }

    fn headline(&self) -> String {
        match self.position {
            Some(p) => format!("{}:{}:{}: {}", self.path.display(), p.line, p.column, self.message),
            None => format!("{}: {}", self.path.display(), self.message),
        }
    }
}

/// Several problems, all reported before giving up, so one `validate` run
/// shows everything that needs fixing.
#[derive(Debug, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

fn short_label(message: &str) -> String {
    message.lines().next().unwrap_or_default().chars().take(80).collect()
}

fn offset_of(text: &str, position: Position) -> usize {
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i + 1 == position.line {
            let col_bytes: usize = line
                .chars()
                .take(position.column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return offset + col_bytes;
        }
        offset += line.len();
    }
    text.len()
}

/// Finds where a semantic problem sits when the YAML parser cannot say:
/// the `nth` (0-based) line where `key:` is followed by `value`. Falls back to
/// the first line mentioning `value`, then to the start of the file.
///
/// Plain string search, no regex: `key` and `value` come from the user's
/// file, and a pattern built from a 1 MB value exceeds the regex engine's
/// size limit (it panicked).
pub fn find_key_value(text: &str, key: &str, value: &str, nth: usize) -> Position {
    let mut seen = 0;
    for (i, line) in text.lines().enumerate() {
        if let Some(start) = key_value_at(line, key, value) {
            if seen == nth {
                return Position {
                    line: i + 1,
                    column: line[..start].chars().count() + 1,
                };
            }
            seen += 1;
        }
    }
    if !value.is_empty() {
        for (i, line) in text.lines().enumerate() {
            if let Some(col) = line.find(value) {
                return Position {
                    line: i + 1,
                    column: line[..col].chars().count() + 1,
                };
            }
        }
    }
    Position { line: 1, column: 1 }
}

/// The byte offset of `key` in the first `key: value` pair on `line`: `key`
/// at the start or after whitespace, `{`, `,` or `-`, optionally in double
/// quotes, then `:` (spaces around it allowed), then `value`, optionally
/// after a quote.
fn key_value_at(line: &str, key: &str, value: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(found) = line[from..].find(key) {
        let start = from + found;
        from = start + key.len();
        let before = line[..start].strip_suffix('"').unwrap_or(&line[..start]);
        let boundary = before
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '{' | ',' | '-'));
        if !boundary {
            continue;
        }
        let after = &line[start + key.len()..];
        let after = after.strip_prefix('"').unwrap_or(after).trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let after = after.trim_start();
        let after = after
            .strip_prefix('"')
            .or_else(|| after.strip_prefix('\''))
            .unwrap_or(after);
        if after.starts_with(value) {
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_names_file_line_and_column() {
        let text = "a: 1\nb: 2\n";
        let e = ConfigError::at(Path::new("x.yaml"), text, Position { line: 2, column: 4 }, "bad b");
        assert_eq!(e.to_string(), "x.yaml:2:4: bad b");
    }

    #[test]
    fn finds_the_nth_key_value_pair() {
        let text = "rules:\n  - id: A\n    x: 1\n  - id: B\n  -   id: A\n";
        assert_eq!(find_key_value(text, "id", "A", 0), Position { line: 2, column: 5 });
        assert_eq!(find_key_value(text, "id", "A", 1), Position { line: 5, column: 7 });
        assert_eq!(find_key_value(text, "id", "Z", 0), Position { line: 1, column: 1 });
        let flow = "- {\"id\": 'A', x: 1}\nmode:\"B\"\n";
        assert_eq!(find_key_value(flow, "id", "A", 0), Position { line: 1, column: 5 });
        assert_eq!(find_key_value(flow, "mode", "B", 0), Position { line: 2, column: 1 });
        // `xid` is not `id`: only the fallback (the value itself) finds it.
        assert_eq!(
            find_key_value("xid: A\n", "id", "A", 0),
            Position { line: 1, column: 6 }
        );
    }

    /// A value far beyond any regex size limit is located, not a panic: no
    /// pattern is built from user text.
    #[test]
    fn a_huge_value_is_located_without_a_regex() {
        let huge = "7".repeat(1_000_000);
        let text = format!("rules:\n  - id: A\n    mode: '{huge}'\n");
        assert_eq!(find_key_value(&text, "mode", &huge, 0), Position { line: 3, column: 5 });
    }
}
