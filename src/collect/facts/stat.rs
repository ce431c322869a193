//! A path's mode, owners and type: `p_stat` (following symlinks, for
//! `metadata` rules) and `p_lstat` (the link itself, so an apply can refuse
//! to write through one), and the one parser of their answer.

use super::{Budget, FactKind};
use crate::collect::{ProbeOutput, ProbeStatus};
use crate::shell::{quote, QuoteError};

/// `stat -L` of a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stat {
    pub path: String,
}

/// `stat` of a path itself, a symlink not followed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lstat {
    pub path: String,
}

/// Both functions, shared by [`Stat`] and [`Lstat`]: the sshd kind calls
/// `p_lstat` too.
const SHELL: &str = r#"p_stat() {
  if [ ! -e "$2" ]; then frame "$1" missing 0; return; fi
  s=$(stat -L -c '%a %u %g %U %G %F' -- "$2") || { frame "$1" denied 0; return; }
  emit "$1" ok "$s"
}
p_lstat() {
  if [ ! -e "$2" ] && [ ! -L "$2" ]; then frame "$1" missing 0; return; fi
  s=$(stat -c '%a %u %g %U %G %F' -- "$2") || { frame "$1" denied 0; return; }
  emit "$1" ok "$s"
}
"#;

impl FactKind for Stat {
    const SHELL: &'static str = SHELL;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!("p_stat {index} {}", quote(&self.path)?))
    }

    fn budget(&self) -> Budget {
        Budget::SMALL
    }
}

impl FactKind for Lstat {
    const SHELL: &'static str = SHELL;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!("p_lstat {index} {}", quote(&self.path)?))
    }

    fn budget(&self) -> Budget {
        Budget::SMALL
    }
}

/// `stat -c '%a %u %g %U %G %F'` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    pub mode: u32,
    pub uid: String,
    pub gid: String,
    pub owner: String,
    pub group: String,
    /// `%F`: `regular file`, `directory`, `symbolic link`…; `file` when
    /// the host left it out.
    pub kind: String,
}

impl FileStat {
    /// Parses one answer; `None` when it is not stat's.
    pub fn parse(text: &str) -> Option<FileStat> {
        // The type (%F) may contain blanks.
        let mut parts = text.trim().splitn(6, ' ');
        Some(FileStat {
            mode: u32::from_str_radix(parts.next()?, 8).ok()?,
            uid: parts.next()?.to_string(),
            gid: parts.next()?.to_string(),
            owner: parts.next()?.to_string(),
            group: parts.next()?.to_string(),
            kind: parts.next().unwrap_or("file").to_string(),
        })
    }
}

/// Why a stat answer gave no [`FileStat`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatError {
    #[error("{0}")]
    Status(ProbeStatus),
    /// The text that did not parse.
    #[error("cannot parse stat output")]
    Unparsed(String),
}

/// The path's stat, `None` when it does not exist.
pub fn decode(output: &ProbeOutput) -> Result<Option<FileStat>, StatError> {
    match output {
        ProbeOutput::Missing => Ok(None),
        ProbeOutput::Ok(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            FileStat::parse(&text)
                .map(Some)
                .ok_or_else(|| StatError::Unparsed(text.into_owned()))
        }
        ProbeOutput::Status(s) => Err(StatError::Status(s.clone())),
        ProbeOutput::Parts(_) => Err(StatError::Status(ProbeStatus::Malformed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::run_locally;

    #[test]
    fn stat_reports_mode_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let out = run_locally(&[Stat {
            path: f.to_str().unwrap().into(),
        }
        .into()]);
        let ProbeOutput::Ok(text) = &out[0] else {
            panic!("{out:?}")
        };
        assert!(
            String::from_utf8_lossy(text).starts_with("640 "),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        let stat = decode(&out[0]).unwrap().unwrap();
        assert_eq!((stat.mode, stat.kind.as_str()), (0o640, "regular file"));
    }
}
