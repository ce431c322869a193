//! A globbed file subject: `p_glob` expands the pattern on the host (the
//! shell's own pathname expansion, in the C locale's byte order) and sends,
//! per match, its name and then its stat (`p_stat`, following symlinks)
//! or its content (`p_read`), as sub-frames `<index>.<k>`.
//!
//! Bounded: at most [`GLOB_MAX_MATCHES`] names (a `limit` sub-frame says
//! there were more), each read at most `max` bytes and all of them
//! together at most `max` too, so a glob sends no more than one file rule
//! would. The first match that cannot be read (a FIFO, unreadable, over
//! the limit) ends the reading (`stopped`): a local user who fills a
//! directory with FIFOs costs one bounded open, not one per FIFO.

use super::{Budget, FactKind};
use crate::collect::{Part, ProbeOutput, ProbeStatus};
use crate::shell::glob::word;
use crate::shell::{quote, QuoteError};

/// Most names one glob reports.
pub const GLOB_MAX_MATCHES: usize = 1000;

/// What is asked of each match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Each {
    /// `stat -L`, as [`super::stat::Stat`].
    Stat,
    /// Content, as [`super::file::Read`]: each file and all together at
    /// most this many bytes.
    Read(u64),
}

/// The files matching `pattern` (checked by [`crate::shell::glob::word`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    pub pattern: String,
    pub each: Each,
}

impl FactKind for Glob {
    const SHELL: &'static str = r#"p_glob() {
  # $1 index, $2 stat|read, $3 most names, $4 bytes per file and in all;
  # then the shell's expansion of the pattern (the pattern itself, which
  # names nothing, when nothing matched).
  g_i=$1; g_w=$2; g_n=$3; g_max=$4; g_left=$4; shift 4; g_k=0
  # Too many names: said at once, before any per-name work (test is a
  # builtin: counting costs no process per name).
  for g_f do
    [ -e "$g_f" ] || [ -L "$g_f" ] || continue
    if [ "$g_n" -le 0 ]; then emit "$g_i.0" limit ''; frame "$g_i" ok 0; return; fi
    g_n=$((g_n - 1))
  done
  for g_f do
    [ -e "$g_f" ] || [ -L "$g_f" ] || continue
    emit "$g_i.$g_k" match "$g_f"; g_k=$((g_k + 1))
    if [ "$g_w" = stat ]; then p_stat "$g_i.$g_k" "$g_f"; g_k=$((g_k + 1)); continue; fi
    if p_read "$g_i.$g_k" "$g_left" "$g_f" overbudget; then
      g_left=$((g_left - n)); g_k=$((g_k + 1))
    else
      g_k=$((g_k + 1))
      # Missing (a dangling symlink) is an answer; anything else ends
      # the reading, so FIFOs cost one bounded open in all.
      if [ -e "$g_f" ]; then emit "$g_i.$g_k" stopped ''; break; fi
    fi
  done
  frame "$g_i" ok 0
}
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        let (what, max) = match self.each {
            Each::Stat => ("stat", 0),
            Each::Read(max) => ("read", max),
        };
        // An earlier function may have left globbing off (`set -f`): the
        // pattern on this line is expanded with it on.
        Ok(format!(
            "set +f; p_glob {index} {what} {} {} {}",
            quote(&GLOB_MAX_MATCHES.to_string())?,
            quote(&max.to_string())?,
            word(&self.pattern).map_err(|_| QuoteError)?
        ))
    }

    fn budget(&self) -> Budget {
        // Per name: the name (PATH_MAX), its frame and a stat line or a
        // read's frame; the bytes read are bounded together by `max`.
        let per_name = 4096 + 3 * 128;
        let read = match self.each {
            Each::Stat => 0,
            Each::Read(max) => max as usize,
        };
        Budget {
            max_stdout: (GLOB_MAX_MATCHES + 2) * per_name + read,
            ..Budget::SMALL
        }
    }
}

/// What the host sent for a [`Glob`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matches {
    /// Each match's name (bytes as the host has them) and its stat or
    /// content, in the host's expansion order.
    pub files: Vec<(Vec<u8>, ProbeOutput)>,
    /// More than [`GLOB_MAX_MATCHES`] names matched.
    pub limited: bool,
    /// The reading ended at the last file (it could not be read).
    pub stopped: bool,
}

/// Decodes a [`Glob`]'s sub-frames.
pub fn decode(output: &ProbeOutput) -> Result<Matches, ProbeStatus> {
    let parts = match output {
        ProbeOutput::Parts(parts) => parts,
        // No sub-frame at all: nothing matched.
        ProbeOutput::Ok(bytes) if bytes.is_empty() => return Ok(Matches::default()),
        ProbeOutput::Status(s) => return Err(s.clone()),
        _ => return Err(ProbeStatus::Malformed),
    };
    let as_output = |p: &Part| match p.status.as_str() {
        "ok" => ProbeOutput::Ok(p.body.clone()),
        "missing" => ProbeOutput::Missing,
        other => ProbeOutput::Status(ProbeStatus::parse(other)),
    };
    let mut out = Matches::default();
    let mut it = parts.iter();
    while let Some(part) = it.next() {
        match part.status.as_str() {
            "match" => {
                let answer = it.next().ok_or(ProbeStatus::Malformed)?;
                // A host that sends more than it was asked is not believed.
                if out.files.len() < GLOB_MAX_MATCHES {
                    out.files.push((part.body.clone(), as_output(answer)));
                } else {
                    out.limited = true;
                }
            }
            "limit" => out.limited = true,
            "stopped" => out.stopped = true,
            _ => return Err(ProbeStatus::Malformed),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::run_locally;

    fn glob(pattern: &str, each: Each) -> Matches {
        let out = run_locally(&[Glob {
            pattern: pattern.into(),
            each,
        }
        .into()]);
        decode(&out[0]).unwrap()
    }

    fn names(m: &Matches) -> Vec<String> {
        m.files
            .iter()
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .collect()
    }

    #[test]
    fn each_match_comes_with_its_stat_or_content_and_awkward_names_survive() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let odd = [
            &b"k_a_key"[..],
            b"k_new\nline_key",
            b"k_\xff_key",
            b"k_sp ace_key",
            b"k_$(x)_key",
        ];
        for name in odd {
            std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(name)), name).unwrap();
        }
        std::os::unix::fs::symlink("/nonexistent", dir.path().join("k_dangling_key")).unwrap();
        let m = glob(&format!("{d}/k_*_key"), Each::Stat);
        assert_eq!(m.files.len(), 6, "{:?}", names(&m));
        assert!(!m.limited && !m.stopped);
        let dangling = m.files.iter().find(|(n, _)| n.ends_with(b"k_dangling_key")).unwrap();
        assert_eq!(dangling.1, ProbeOutput::Missing);
        let m = glob(&format!("{d}/k_*_key"), Each::Read(1 << 20));
        for (name, content) in &m.files {
            if !name.ends_with(b"k_dangling_key") {
                let base = std::path::Path::new(std::ffi::OsStr::from_bytes(name))
                    .file_name()
                    .unwrap();
                assert_eq!(*content, ProbeOutput::Ok(base.as_bytes().to_vec()));
            }
        }
        assert_eq!(glob(&format!("{d}/none_*"), Each::Stat), Matches::default());
    }

    #[test]
    fn fifos_end_the_reading_and_names_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        for i in 0..5 {
            let made = std::process::Command::new("mkfifo")
                .arg(dir.path().join(format!("f{i}.log")))
                .status()
                .unwrap();
            assert!(made.success());
        }
        let started = std::time::Instant::now();
        let m = glob(&format!("{d}/*.log"), Each::Read(1024));
        assert!(started.elapsed() < std::time::Duration::from_secs(4));
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].1, ProbeOutput::Status(ProbeStatus::NotFile));
        assert!(m.stopped);
        let m = glob(&format!("{d}/*.log"), Each::Stat);
        assert_eq!(m.files.len(), 5);

        for i in 0..GLOB_MAX_MATCHES + 5 {
            std::fs::write(dir.path().join(format!("n{i:05}")), "").unwrap();
        }
        // Said before any name is stat'ed.
        let m = glob(&format!("{d}/n*"), Each::Stat);
        assert_eq!((m.files.len(), m.limited), (0, true));
        std::fs::remove_file(dir.path().join("n00000")).unwrap();
        for i in 1..=5 {
            std::fs::remove_file(dir.path().join(format!("n{i:05}"))).unwrap();
        }
        let m = glob(&format!("{d}/n*"), Each::Stat);
        assert_eq!((m.files.len(), m.limited), (GLOB_MAX_MATCHES - 1, false));
    }

    #[test]
    fn the_bytes_read_are_bounded_together() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        for i in 0..3 {
            std::fs::write(dir.path().join(format!("{i}.conf")), vec![b'x'; 400]).unwrap();
        }
        let m = glob(&format!("{d}/*.conf"), Each::Read(1000));
        assert_eq!(m.files.len(), 3);
        assert!(matches!(m.files[1].1, ProbeOutput::Ok(_)));
        assert_eq!(m.files[2].1, ProbeOutput::Status(ProbeStatus::OverBudget));
        assert!(m.stopped);
    }
}
