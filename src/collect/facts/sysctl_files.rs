//! The sysctl configuration files `sysctl --system` may read at boot,
//! sent by `p_sysctl_files` as sub-frames `<index>.<k>` (each file's name,
//! then its content), bounded in number and in total bytes. Which of them
//! procps reads and in which order is decided on the controller
//! ([`crate::conftext::sysctl::load_order`]), not by the host's shell.

use std::borrow::Cow;

use super::{Budget, FactKind};
use crate::collect::{Part, ProbeOutput, ProbeStatus};
use crate::conftext::sysctl::{load_order, persisted, Persisted};
use crate::shell::{quote, QuoteError};

/// Most bytes of one sysctl file read.
pub const SYSCTL_MAX_FILE: u64 = 1024 * 1024;
/// Most bytes of all sysctl files together.
pub const SYSCTL_MAX_TOTAL: u64 = 4 * 1024 * 1024;
/// Most files named in one answer.
pub const SYSCTL_MAX_FILES: usize = 256;

/// Every `*.conf` in procps' drop-in directories and `/etc/sysctl.conf`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SysctlFiles;

impl FactKind for SysctlFiles {
    const SHELL: &'static str = r#"p_sysctl_files() {
  # Sub-frames $1.K: `path` (a file's name) then its content as p_read
  # sends it, for every name ending in .conf (hidden ones too: procps
  # lists the directory) in each drop-in directory, then /etc/sysctl.conf
  # when it is a regular file. Contents together within $3 bytes (past
  # that: status `overbudget`); at most $4 names, then `limit`.
  y_i=$1; y_max=$2; y_left=$3; y_names=$4; y_k=0
  for y_f in /etc/sysctl.d/*.conf /etc/sysctl.d/.*.conf /etc/sysctl.d/.conf \
    /run/sysctl.d/*.conf /run/sysctl.d/.*.conf /run/sysctl.d/.conf \
    /usr/local/lib/sysctl.d/*.conf /usr/local/lib/sysctl.d/.*.conf /usr/local/lib/sysctl.d/.conf \
    /usr/lib/sysctl.d/*.conf /usr/lib/sysctl.d/.*.conf /usr/lib/sysctl.d/.conf \
    /lib/sysctl.d/*.conf /lib/sysctl.d/.*.conf /lib/sysctl.d/.conf /etc/sysctl.conf; do
    [ -e "$y_f" ] || [ -L "$y_f" ] || continue
    if [ "$y_f" = /etc/sysctl.conf ] && [ ! -f "$y_f" ]; then continue; fi
    if [ "$y_names" -le 0 ]; then emit "$y_i.$y_k" limit ''; break; fi
    y_names=$((y_names - 1))
    emit "$y_i.$y_k" path "$y_f"; y_k=$((y_k + 1))
    if [ "$y_left" -ge "$y_max" ]; then
      p_read "$y_i.$y_k" "$y_max" "$y_f"
    else
      p_read "$y_i.$y_k" "$y_left" "$y_f" overbudget
    fi && y_left=$((y_left - n))
    y_k=$((y_k + 1))
  done
  frame "$y_i" ok 0
}
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!(
            "p_sysctl_files {index} {} {} {}",
            quote(&SYSCTL_MAX_FILE.to_string())?,
            quote(&SYSCTL_MAX_TOTAL.to_string())?,
            quote(&SYSCTL_MAX_FILES.to_string())?
        ))
    }

    fn budget(&self) -> Budget {
        Budget {
            max_stdout: SYSCTL_MAX_TOTAL as usize + SYSCTL_MAX_FILES * (4096 + 256),
            ..Budget::SMALL
        }
    }
}

/// Why the sysctl files' answer, or a file in it, cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SysctlFilesError {
    #[error("cannot list the sysctl files: {0}")]
    Answer(ProbeStatus),
    #[error("cannot read {path}: {status}")]
    File { path: String, status: ProbeStatus },
    #[error("more than {SYSCTL_MAX_FILES} sysctl files, rectify's limit")]
    Limited,
}

/// What the host sent: each file it found with its content, in the
/// host's order (not procps').
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SysctlFound {
    pub files: Vec<(String, ProbeOutput)>,
    pub limited: bool,
}

impl SysctlFound {
    /// Reads the probe's sub-frames. Contents past the total byte limit are
    /// not believed, whatever the host sent.
    pub fn decode(output: &ProbeOutput) -> Result<SysctlFound, SysctlFilesError> {
        let parts: &[Part] = match output {
            ProbeOutput::Parts(parts) => parts,
            ProbeOutput::Status(s) => return Err(SysctlFilesError::Answer(s.clone())),
            _ => return Err(SysctlFilesError::Answer(ProbeStatus::Malformed)),
        };
        let malformed = || SysctlFilesError::Answer(ProbeStatus::Malformed);
        let mut found = SysctlFound::default();
        let mut total: u64 = 0;
        let mut it = parts.iter();
        while let Some(part) = it.next() {
            match part.status.as_str() {
                "path" => {
                    let body = it.next().ok_or_else(malformed)?;
                    let mut content = match body.status.as_str() {
                        "ok" => ProbeOutput::Ok(body.body.clone()),
                        "missing" => ProbeOutput::Missing,
                        "path" | "limit" => return Err(malformed()),
                        other => ProbeOutput::Status(ProbeStatus::parse(other)),
                    };
                    if let ProbeOutput::Ok(bytes) = &content {
                        total += bytes.len() as u64;
                        if bytes.len() as u64 > SYSCTL_MAX_FILE || total > SYSCTL_MAX_TOTAL {
                            content = ProbeOutput::Status(ProbeStatus::OverBudget);
                        }
                    }
                    found
                        .files
                        .push((String::from_utf8_lossy(&part.body).into_owned(), content));
                }
                "limit" => found.limited = true,
                _ => return Err(malformed()),
            }
            if found.files.len() > SYSCTL_MAX_FILES {
                return Err(malformed());
            }
        }
        Ok(found)
    }

    /// The files `sysctl --system` reads, in its order, with their text;
    /// `replace` stands in for one file's content (an apply's planned
    /// edit; the file may not exist yet). A file that cannot be read is an
    /// error: what it sets is unknown.
    pub fn boot_files<'a>(
        &'a self,
        replace: Option<(&'a str, &'a str)>,
    ) -> Result<Vec<(&'a str, Cow<'a, str>)>, SysctlFilesError> {
        if self.limited {
            return Err(SysctlFilesError::Limited);
        }
        let mut paths: Vec<&str> = self.files.iter().map(|(p, _)| p.as_str()).collect();
        if let Some((path, _)) = replace {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        let mut out = Vec::new();
        for i in load_order(&paths) {
            let path = paths[i];
            if let Some((_, text)) = replace.filter(|(p, _)| *p == path) {
                out.push((path, Cow::Borrowed(text)));
                continue;
            }
            match &self.files[i].1 {
                ProbeOutput::Ok(bytes) => out.push((path, String::from_utf8_lossy(bytes))),
                // A dangling symlink: procps cannot open it and goes on.
                ProbeOutput::Missing => {}
                ProbeOutput::Status(status) => {
                    return Err(SysctlFilesError::File {
                        path: path.to_string(),
                        status: status.clone(),
                    })
                }
                ProbeOutput::Parts(_) => {
                    return Err(SysctlFilesError::File {
                        path: path.to_string(),
                        status: ProbeStatus::Malformed,
                    })
                }
            }
        }
        Ok(out)
    }

    /// The assignment of `key` the next boot loads; `None` when no file
    /// sets it.
    pub fn persisted(&self, key: &str) -> Result<Option<Persisted>, SysctlFilesError> {
        let files = self.boot_files(None)?;
        Ok(persisted(files.iter().map(|(p, t)| (*p, t.as_ref())), key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::run_locally;

    #[test]
    fn the_hosts_answer_is_bounded_and_malformed_answers_are_errors() {
        let part = |status: &str, body: &[u8]| Part {
            status: status.into(),
            body: body.to_vec(),
        };
        let big = vec![b'#'; SYSCTL_MAX_FILE as usize];
        let mut parts = Vec::new();
        for n in 0..5 {
            parts.push(part("path", format!("/etc/sysctl.d/{n}.conf").as_bytes()));
            parts.push(part("ok", &big));
        }
        parts.push(part("path", b"/etc/sysctl.conf"));
        parts.push(part("ok", b"kernel.x = 1\n"));
        let found = SysctlFound::decode(&ProbeOutput::Parts(parts)).unwrap();
        assert_eq!(found.files[3].1, ProbeOutput::Ok(big.clone()));
        assert_eq!(found.files[4].1, ProbeOutput::Status(ProbeStatus::OverBudget));
        let err = found.persisted("kernel.x").unwrap_err().to_string();
        assert!(err.contains("4.conf"), "{err}");
        for bad in [
            vec![part("path", b"/x")],
            vec![part("ok", b"")],
            vec![part("path", b"/x"), part("path", b"/y")],
        ] {
            assert!(SysctlFound::decode(&ProbeOutput::Parts(bad)).is_err());
        }
        let limited = SysctlFound::decode(&ProbeOutput::Parts(vec![part("limit", b"")])).unwrap();
        assert_eq!(limited.persisted("kernel.x"), Err(SysctlFilesError::Limited));
    }

    /// `p_sysctl_files` through a real `sh` on this machine's own files:
    /// every file it sends is one of procps' and comes back byte for byte.
    #[test]
    fn the_shell_sends_the_machines_sysctl_files() {
        let out = run_locally(&[SysctlFiles.into()]);
        let found = SysctlFound::decode(&out[0]).unwrap();
        assert!(!found.limited);
        for (path, content) in &found.files {
            assert!(
                path == "/etc/sysctl.conf" || crate::conftext::sysctl::DIRS.iter().any(|d| path.starts_with(d)),
                "{path}"
            );
            if let ProbeOutput::Ok(bytes) = content {
                assert_eq!(bytes, &std::fs::read(path).unwrap(), "{path}");
            }
        }
        let mut expected: Vec<String> = Vec::new();
        for dir in crate::conftext::sysctl::DIRS {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            for e in entries {
                let name = e.unwrap().file_name().into_string().unwrap();
                if name.len() >= 5 && name.ends_with(".conf") {
                    expected.push(format!("{dir}/{name}"));
                }
            }
        }
        if std::path::Path::new("/etc/sysctl.conf").is_file() {
            expected.push("/etc/sysctl.conf".into());
        }
        let mut sent: Vec<String> = found.files.iter().map(|(p, _)| p.clone()).collect();
        sent.sort();
        expected.sort();
        assert_eq!(sent, expected);
    }
}
