//! A file's content: `p_read`, which sends a regular file's bytes, or why
//! it did not (missing, a directory, not a regular file, denied, over the
//! limit, a read error).

use super::{Budget, FactKind};
use crate::collect::{ProbeOutput, ProbeStatus};
use crate::shell::{quote, QuoteError};

/// File content, at most `max` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Read {
    pub path: String,
    pub max: u64,
}

impl FactKind for Read {
    const SHELL: &'static str = r#"p_read() {
  # Returns 0 only when the content was sent, its length in $n. $4: the
  # status for a file over $2 bytes, toolarge by default.
  if [ ! -e "$3" ]; then frame "$1" missing 0; return 1; fi
  if [ -d "$3" ]; then frame "$1" isdir 0; return 1; fi
  # A FIFO, socket or device could block the read below (and the whole
  # script) for good: only regular files are read.
  if [ ! -f "$3" ]; then frame "$1" notfile 0; return 1; fi
  if [ ! -r "$3" ]; then frame "$1" denied 0; return 1; fi
  if ! head -c 0 -- "$3" >/dev/null; then frame "$1" unreadable 0; return 1; fi
  n=$(head -c "$(($2 + 1))" -- "$3" | wc -c); n=$((n))
  if [ "$n" -gt "$2" ]; then frame "$1" "${4:-toolarge}" 0; return 1; fi
  frame "$1" ok "$n"; head -c "$n" -- "$3"
}
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!(
            "p_read {index} {} {}",
            quote(&self.max.to_string())?,
            quote(&self.path)?
        ))
    }

    fn budget(&self) -> Budget {
        Budget {
            max_stdout: self.max as usize + 128,
            ..Budget::SMALL
        }
    }
}

/// The file's bytes, `None` when it does not exist.
pub fn decode(output: &ProbeOutput) -> Result<Option<&[u8]>, ProbeStatus> {
    match output {
        ProbeOutput::Ok(bytes) => Ok(Some(bytes)),
        ProbeOutput::Missing => Ok(None),
        ProbeOutput::Status(s) => Err(s.clone()),
        ProbeOutput::Parts(_) => Err(ProbeStatus::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::run_locally;
    use crate::collect::Probe;

    fn read(path: &std::path::Path, max: u64) -> Probe {
        Read {
            path: path.to_str().unwrap().into(),
            max,
        }
        .into()
    }

    #[test]
    fn hostile_file_contents_come_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let forged = "RECTIFY:n0nce:1:ok:3\nabc\nRECTIFY:n0nce:end\n";
        let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("forged", forged.as_bytes().to_vec()),
            ("binary", binary),
            ("no-newline", b"last line".to_vec()),
            ("empty", Vec::new()),
            ("it's a \"path\" with $(spaces)", b"quoted\n".to_vec()),
        ];
        let mut probes = Vec::new();
        for (name, content) in &cases {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            probes.push(read(&p, 1 << 20));
        }
        let outputs = run_locally(&probes);
        for ((name, content), out) in cases.iter().zip(outputs) {
            assert_eq!(out, ProbeOutput::Ok(content.clone()), "case {name}");
        }
    }

    #[test]
    fn missing_directories_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; 2048]).unwrap();
        let probes = vec![
            read(&dir.path().join("nope"), 100),
            read(dir.path(), 100),
            read(&big, 1024),
            read(&big, 2048),
        ];
        let out = run_locally(&probes);
        assert_eq!(out[0], ProbeOutput::Missing);
        assert_eq!(out[1], ProbeOutput::Status(ProbeStatus::IsDir));
        assert_eq!(out[2], ProbeOutput::Status(ProbeStatus::TooLarge));
        assert_eq!(out[3], ProbeOutput::Ok(vec![b'x'; 2048]));
    }
}
