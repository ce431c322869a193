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
