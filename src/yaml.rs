//! Reading YAML input files into typed models, with positions on errors.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::config_error::{ConfigError, Position};

/// A YAML file read from disk, kept so later semantic checks can point into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Input files larger than this are refused: nobody writes a 16 MiB baseline,
/// and a mistaken path to a huge file should fail fast.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

impl SourceFile {
    pub fn read(path: &Path) -> Result<SourceFile, ConfigError> {
        let meta = std::fs::metadata(path).map_err(|e| ConfigError::whole_file(path, format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(ConfigError::whole_file(path, "is a directory, expected a YAML file"));
        }
        if meta.len() > MAX_INPUT_BYTES {
            return Err(ConfigError::whole_file(path, "larger than 16 MiB, refusing to parse"));
        }
        let bytes = std::fs::read(path).map_err(|e| ConfigError::whole_file(path, format!("cannot read: {e}")))?;
        let text =
            String::from_utf8(bytes).map_err(|e| ConfigError::whole_file(path, format!("not UTF-8 text: {e}")))?;
        if let Some(position) = too_deep(&text) {
            return Err(ConfigError::at(
                path,
                &text,
                position,
                format!("collections nested more than {MAX_FLOW_DEPTH} deep"),
            ));
        }
        Ok(SourceFile {
            path: path.to_path_buf(),
            text,
        })
    }

    /// Parses the whole file as `T`; serde's error position becomes the
    /// error's position.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        if self.text.trim().is_empty() {
            return Err(ConfigError::whole_file(&self.path, "file is empty"));
        }
        serde_yaml::from_str(&self.text).map_err(|e| self.serde_error(&e))
    }

    pub fn error_at(&self, position: Position, message: impl Into<String>) -> ConfigError {
        ConfigError::at(&self.path, &self.text, position, message)
    }

    fn serde_error(&self, e: &serde_yaml::Error) -> ConfigError {
        // serde_yaml puts " at line L column C" into its message; the position
        // is reported separately, so drop it to avoid saying it twice.
        let located = regex::Regex::new(r" at line \d+ column \d+").expect("valid pattern");
        let message = located.replace_all(&e.to_string(), "").into_owned();
        match e.location() {
            Some(loc) => self.error_at(
                Position {
                    line: loc.line(),
                    column: loc.column(),
                },
                message,
            ),
            None => ConfigError::whole_file(&self.path, message),
        }
    }

    /// Resolves `relative` against this file's directory, as docs/baseline.md and docs/playbook.md say for
    /// `remediation:` and `template:` paths.
    pub fn sibling(&self, relative: &str) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        base.join(relative)
    }
}

/// Flow collections (`[`, `{`) deeper than this are refused before the YAML
/// parser sees them: serde refuses more than 128 nested levels anyway, but
/// only after libyaml has scanned the whole text, and its scanner takes time
/// quadratic in the nesting depth (100,000 nested `[` on one line took
/// ~52 s to be rejected).
const MAX_FLOW_DEPTH: usize = 128;

/// Where flow collections first nest deeper than [`MAX_FLOW_DEPTH`], by a
/// linear scan that skips comments and quoted scalars. `[` and `{` count
/// where YAML reads them as collections: inside one, or where a value
/// starts (line start, after `:`, `-`, `?` or `,`); in the middle of a
/// block-context plain scalar (`command: test [ -f x`) they are text.
fn too_deep(text: &str) -> Option<Position> {
    let (mut line, mut column) = (1, 0);
    let mut depth = 0usize;
    // The last non-blank character on this line outside quotes and comments.
    let mut last: Option<char> = None;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut plain = false;
    let mut chars = text.chars().peekable();
    let mut blank_before = true;
    while let Some(c) = chars.next() {
        column += 1;
        if c == '\n' {
            (line, column, last, comment, plain, blank_before) = (line + 1, 0, None, false, false, true);
            continue;
        }
        let was_blank = std::mem::replace(&mut blank_before, c.is_whitespace());
        if comment {
            continue;
        }
        match quote {
            Some('"') => {
                if c == '\\' {
                    if chars.peek() != Some(&'\n') {
                        chars.next();
                        column += 1;
                    }
                } else if c == '"' {
                    quote = None;
                    last = Some(c);
                }
                continue;
            }
            Some(_) => {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        column += 1;
                    } else {
                        quote = None;
                        last = Some(c);
                    }
                }
                continue;
            }
            None => {}
        }
        let next_blank = chars.peek().is_none_or(|n| n.is_whitespace());
        if plain {
            // A plain scalar in block context runs to the end of the line,
            // a comment, or `: ` (its end as a key).
            if c == '#' && was_blank {
                comment = true;
            } else if c == ':' && next_blank {
                (plain, last) = (false, Some(c));
            }
            continue;
        }
        let value_starts = matches!(last, None | Some(':' | '-' | '?' | ',' | '[' | '{'));
        match c {
            '#' if was_blank => comment = true,
            '"' | '\'' if value_starts => quote = Some(c),
            '[' | '{' if depth > 0 || value_starts => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(Position { line, column });
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            '-' | '?' | ':' if next_blank => {}
            ',' if depth > 0 => {}
            _ if depth == 0 && !c.is_whitespace() => plain = true,
            _ => {}
        }
        if !c.is_whitespace() {
            last = Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: u32,
    }

    #[test]
    fn unknown_field_points_at_line_and_column() {
        let src = SourceFile {
            path: "t.yaml".into(),
            text: "a: 1\nbee: 2\n".into(),
        };
        let e = src.parse::<T>().unwrap_err();
        assert_eq!(e.position, Some(Position { line: 2, column: 1 }), "{e}");
        assert!(e.to_string().starts_with("t.yaml:2:1: unknown field `bee`"), "{e}");
    }

    /// 100,000 nested `[` on one line (libyaml alone needed ~52 s): refused
    /// by the linear scan at the first level too deep, before the parser
    /// runs. A regression shows as a hang the test runner reports.
    #[test]
    fn deep_nesting_is_refused_at_the_first_level_too_deep() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep.yaml");
        std::fs::write(&path, format!("name: b\nrules: {}\n", "[".repeat(100_000))).unwrap();
        let e = SourceFile::read(&path).unwrap_err();
        assert_eq!(
            e.position,
            Some(Position {
                line: 2,
                column: 8 + 128
            }),
            "{e}"
        );
        assert!(e.to_string().ends_with("collections nested more than 128 deep"), "{e}");
        std::fs::write(&path, format!("[{}", "{a: ".repeat(100_000))).unwrap();
        assert_eq!(
            SourceFile::read(&path).unwrap_err().position,
            Some(Position {
                line: 1,
                column: 2 + 4 * 127
            })
        );
    }

    /// Brackets that are text (quoted, commented, inside a plain scalar)
    /// or balanced do not count; files of realistic depth pass.
    #[test]
    fn brackets_that_are_text_do_not_count() {
        let many = "[".repeat(200);
        let text = format!(
            "a: \"{many}\"\nb: '{many}'\nc: # {many}\nd: echo {many}\ne: don't {many}\nf: {}\ng: 'it''s {many}'\nh: \"\\\" {many}\"\n",
            "[1, ".repeat(100) + &"]".repeat(100)
        );
        assert_eq!(too_deep(&text), None);
        assert_eq!(too_deep(&format!("x: {}", "[".repeat(128))), None);
        assert_eq!(
            too_deep(&format!("x: {}", "[".repeat(129))),
            Some(Position { line: 1, column: 132 })
        );
        // Flow collections span lines.
        assert!(too_deep(&format!("x:\n{}", "[\n".repeat(129))).is_some());
    }

    #[test]
    fn syntax_error_has_a_position() {
        let src = SourceFile {
            path: "t.yaml".into(),
            text: "a: [1, 2\n".into(),
        };
        let e = src.parse::<T>().unwrap_err();
        assert!(e.position.is_some(), "{e}");
    }
}
