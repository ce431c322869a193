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
  # status for a file over $2 bytes, toolarge by default. $5: a sed script
  # run over the bytes sent, its output in $r_scan (the sshd kind finds
  # Include lines with it): the file is opened and read once for both.
  r_scan=
  if [ ! -e "$3" ]; then frame "$1" missing 0; return 1; fi
  if [ -d "$3" ]; then frame "$1" isdir 0; return 1; fi
  # A FIFO, socket or device could block the read below (and the whole
  # script) for good: only regular files are read.
  if [ ! -f "$3" ]; then frame "$1" notfile 0; return 1; fi
  if [ ! -r "$3" ]; then frame "$1" denied 0; return 1; fi
  case $3 in
    */../*) ;;
    # The kernel's files under /proc/sys (every live sysctl value): no
    # local user can put a FIFO there, so neither the open below nor its
    # two processes per file are needed. One `head` reads the value into
    # the shell (a failed read, such as EIO, is `unreadable`; the dot
    # keeps trailing newlines), and ${#} counts its bytes where `emit`
    # does. The kernel's values are text: no NUL byte is lost.
    /proc/sys/*)
      if ! r_v=$(head -c "$(($2 + 1))" -- "$3" && echo .); then frame "$1" unreadable 0; return 1; fi
      r_v=${r_v%.}; bytes "$r_v"
      if [ "$n" -gt "$2" ]; then frame "$1" "${4:-toolarge}" 0; return 1; fi
      frame "$1" ok "$n"; printf '%s' "$r_v"
      if [ -n "${5-}" ]; then r_scan=$(printf '%s' "$r_v" | sed -n "$5"); fi
      return 0 ;;
  esac
  # The tests above name a path a local user may swap for a FIFO before
  # the read: r_open opens it once and reads size and bytes from that one
  # descriptor. The child prints the frame itself, its verdict on fd 4:
  # the length sent, then what the scan printed.
  { n=$(r_open "$3" 'n=$(head -c "$(($1 + 1))" /dev/fd/3 | wc -c); n=$((n))
    if [ "$n" -gt "$1" ]; then echo big >&4; exit; fi
    printf "RECTIFY:%s:%s:ok:%s\n" "$2" "$3" "$n"; head -c "$n" <&3; echo "$n" >&4
    if [ -n "$4" ]; then head -c "$n" /dev/fd/3 | sed -n "$4" >&4; fi' \
    "$2" "$N" "$1" "${5-}" 4>&1 >&5); } 5>&1
  case $n in
    [0-9]*) r_scan=${n#*"$r_nl"}; [ "$r_scan" != "$n" ] || r_scan=; n=${n%%"$r_nl"*}; return 0 ;;
    big) frame "$1" "${4:-toolarge}" 0 ;;
    unreadable) frame "$1" unreadable 0 ;;
    # Nothing: the open did not finish in time, a FIFO (or device) by then.
    *) frame "$1" notfile 0 ;;
  esac
  return 1
}
r_nl='
'
# r_open PATH CODE ARGS...: runs CODE (sh text; $1 $2 … are ARGS) in a
# child whose fd 3 is PATH opened for reading, once, and checked to be a
# regular file: the type is asked of the descriptor (/dev/fd/3 is the
# open file, not the path, which a local user may have swapped since).
# Else the child prints `unreadable` or `notfile` on fd 4. Opening a FIFO
# blocks until a writer comes: the child is signalled after 3 s (nothing
# printed: the caller says `notfile`); once the file is open it ignores
# that signal, so a slow read is never cut off mid-frame. `command exec`:
# a failed open must not end the child before it says so. Without a
# usable `timeout` (`bounded_by`), what bounds a blocked open is the
# controller's per-command timeout, which ends the session.
r_open() {
  r_p=$1; r_c=$2; shift 2
  bounded_by TERM 3 sh -c 'command exec 3<"$1" || { echo unreadable >&4; exit; }
    trap "" TERM
    [ -f /dev/fd/3 ] || { echo notfile >&4; exit; }
    shift; eval "$0"' "$r_c" "$r_p" "$@"
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

    /// Live sysctl values are read directly (no FIFO can be there), with
    /// the same answers as any other file: the bytes, or over the limit.
    #[test]
    fn proc_sys_files_are_read_as_the_kernel_answers() {
        let path = std::path::Path::new("/proc/sys/kernel/ostype");
        let kernel = std::fs::read(path).unwrap();
        // A value the kernel refuses to give (EIO until one is set), as
        // procps' `sysctl -n` fails on it.
        let refused = std::path::Path::new("/proc/sys/net/ipv6/conf/all/stable_secret");
        assert!(
            std::fs::read(refused).is_err(),
            "{} reads on this machine",
            refused.display()
        );
        let multi = std::path::Path::new("/proc/sys/net/ipv4/ip_local_port_range");
        let outputs = run_locally(&[read(path, 1 << 16), read(path, 2), read(refused, 100), read(multi, 100)]);
        assert_eq!(outputs[0], ProbeOutput::Ok(kernel));
        assert_eq!(outputs[1], ProbeOutput::Status(ProbeStatus::TooLarge));
        assert_eq!(outputs[2], ProbeOutput::Status(ProbeStatus::Unreadable));
        assert_eq!(outputs[3], ProbeOutput::Ok(std::fs::read(multi).unwrap()));
    }

    /// A path flipped between a regular file and a FIFO (atomic renames,
    /// as fast as a thread can) while it is read: every run ends within
    /// the open's bound with the file's bytes or `notfile`, never blocked.
    #[test]
    fn a_path_flipped_to_a_fifo_is_never_read_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.conf");
        std::fs::write(&path, "x = 1\n").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flipper = {
            let (dir, path, stop) = (dir.path().to_path_buf(), path.clone(), stop.clone());
            std::thread::spawn(move || {
                let (fifo, file) = (dir.join("p.tmp"), dir.join("f.tmp"));
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
                    assert!(made.success());
                    std::fs::rename(&fifo, &path).unwrap();
                    std::fs::write(&file, "x = 1\n").unwrap();
                    std::fs::rename(&file, &path).unwrap();
                }
            })
        };
        let mut seen = (0, 0);
        for _ in 0..30 {
            let started = std::time::Instant::now();
            match &run_locally(&[read(&path, 100)])[0] {
                ProbeOutput::Ok(bytes) => {
                    assert_eq!(bytes, b"x = 1\n");
                    seen.0 += 1;
                }
                ProbeOutput::Status(ProbeStatus::NotFile) => seen.1 += 1,
                other => panic!("{other:?}"),
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        flipper.join().unwrap();
        assert!(seen.0 > 0, "{seen:?}");
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
