//! An sshd configuration with every file its `Include` lines name, read
//! on the host in one go by `p_sshd` (as sub-frames `<index>.<k>`), its
//! bounds, and [`ConfigFiles::decode`], which turns the sub-frames into the
//! files and pattern expansions `conftext::include` walks as sshd would.

use std::borrow::Cow;

use super::{Budget, FactKind};
use crate::collect::{Part, ProbeOutput, ProbeStatus};
use crate::conftext::include::{IncludeError, Source};
use crate::shell::{quote, QuoteError};

/// Most files an [`SshdConfig`] reads, the main one included.
pub const SSHD_MAX_FILES: usize = 32;
/// Most bytes of included files (all but the main one) that one
/// [`SshdConfig`] reads, together.
pub const SSHD_MAX_INCLUDED: u64 = 4 * 1024 * 1024;
/// Most `Include` patterns plus the names they expand to that one
/// [`SshdConfig`] reports.
pub const SSHD_MAX_NAMES: usize = 1024;

/// An sshd configuration and every file its `Include` directives name:
/// each file at most `max` bytes, at most [`SSHD_MAX_FILES`] files and
/// [`SSHD_MAX_NAMES`] patterns and names. With `lstat`, each file's
/// `lstat` too, for an apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshdConfig {
    pub path: String,
    pub max: u64,
    pub lstat: bool,
}

/// The `sed -n` script that prints the words of a file's `Include` lines
/// (the keyword in any case, then blanks or `=`), with quotes and carriage
/// returns removed and a trailing `#` comment cut, as `p_sshd` expands
/// them. Passed quoted on the call line: it holds a carriage return.
const INCLUDE_SED: &str = "/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]]*[=[:space:]]/{
s/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]]*[=[:space:]][[:space:]]*//
s/[\"'\r]//g
s/[[:space:]]#.*//
s/^#.*//
p
}";

impl FactKind for SshdConfig {
    const SHELL: &'static str = r#"p_sshd() {
  # An sshd config and what its Include lines name, as sub-frames $1.K:
  # `path` (a file's name) then, with $5 = 1, its lstat, then its content
  # as p_read sends it; `glob` (an Include pattern, made absolute as sshd
  # does: relative to /etc/ssh) then one `match` per existing name it
  # expands to, in the shell's (C locale: byte) order, which is glob(3)'s;
  # `limit` when $3 files or $4 names would be exceeded, after which the
  # files already accepted are read but nothing more is expanded. Every
  # file is read once. The included files (all but the first) are read
  # while together they stay within $6 bytes; a file past that is sent as
  # status `overbudget`, not read. Which of these sshd reads, in which
  # order and how deep, the controller decides. $7 is the sed script that
  # finds a file's Include patterns, run by p_read on the bytes it sends.
  s_i=$1; s_max=$2; s_files=$(($3 - 1)); s_names=$4; s_st=$5; s_left=$6; s_sed=$7; shift 7
  s_k=0; s_nl='
'
  s_seen=$s_nl$1$s_nl; s_pats=$s_nl; s_stop=0; s_main=1
  while [ $# -gt 0 ]; do
    s_f=$1; shift
    s_sub path "$s_f"
    if [ "$s_st" = 1 ]; then p_lstat "$s_i.$s_k" "$s_f"; s_k=$((s_k + 1)); fi
    # The Include lines come from the same read (one open, as p_read's
    # FIFO-safe open has it), and only while more may be expanded.
    s_scan=$s_sed; [ "$s_stop" = 0 ] || s_scan=
    if [ "$s_main" = 1 ] || [ "$s_left" -ge "$s_max" ]; then
      p_read "$s_i.$s_k" "$s_max" "$s_f" toolarge "$s_scan"; s_ok=$?
    else
      p_read "$s_i.$s_k" "$s_left" "$s_f" overbudget "$s_scan"; s_ok=$?
    fi
    if [ "$s_ok" = 0 ] && [ "$s_main" = 0 ]; then s_left=$((s_left - n)); fi
    s_main=0; s_k=$((s_k + 1))
    [ "$s_ok" = 0 ] && [ "$s_stop" = 0 ] || continue
    s_words=$r_scan
    set -f
    for s_w in $s_words; do
      case $s_w in /*) s_p=$s_w ;; "~"*) continue ;; *) s_p=/etc/ssh/$s_w ;; esac
      [ "${#s_p}" -le 4096 ] || continue
      case $s_pats in *"$s_nl$s_p$s_nl"*) continue ;; esac
      s_pats=$s_pats$s_p$s_nl
      if [ "$s_names" -le 0 ]; then s_sub limit ''; s_stop=1; break; fi
      s_names=$((s_names - 1)); s_sub glob "$s_p"
      set +f
      for s_g in $s_p; do
        [ -e "$s_g" ] || [ -L "$s_g" ] || continue
        if [ "$s_names" -le 0 ]; then s_sub limit ''; s_stop=1; break 2; fi
        s_names=$((s_names - 1)); s_sub match "$s_g"
        case $s_seen in *"$s_nl$s_g$s_nl"*) continue ;; esac
        if [ "$s_files" -le 0 ]; then s_sub limit ''; s_stop=1; break 2; fi
        s_files=$((s_files - 1)); s_seen=$s_seen$s_g$s_nl
        set -- "$@" "$s_g"
      done
      set -f
    done
    set +f
  done
  frame "$s_i" ok 0
}
s_sub() { emit "$s_i.$s_k" "$1" "$2"; s_k=$((s_k + 1)); }
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!(
            "p_sshd {index} {} {} {} {} {} {} {}",
            quote(&self.max.to_string())?,
            quote(&SSHD_MAX_FILES.to_string())?,
            quote(&SSHD_MAX_NAMES.to_string())?,
            quote(&u8::from(self.lstat).to_string())?,
            quote(&SSHD_MAX_INCLUDED.to_string())?,
            quote(INCLUDE_SED)?,
            quote(&self.path)?
        ))
    }

    fn budget(&self) -> Budget {
        // The main file, then the included ones together within their own
        // limit; names, lstat and framing per file.
        let included = self
            .max
            .saturating_mul(SSHD_MAX_FILES as u64 - 1)
            .min(SSHD_MAX_INCLUDED);
        Budget {
            max_stdout: self.max as usize
                + included as usize
                + SSHD_MAX_FILES * (4096 + 256)
                + SSHD_MAX_NAMES * (4096 + 128),
            ..Budget::SMALL
        }
    }
}

/// Why an sshd configuration's answer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {main}: {status}")]
pub struct DecodeError {
    pub main: String,
    pub status: ProbeStatus,
}

impl DecodeError {
    fn new(main: &str, status: ProbeStatus) -> DecodeError {
        DecodeError {
            main: main.to_string(),
            status,
        }
    }
}

/// One file the host read for a [`crate::collect::Probe::SshdConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct CollectedFile {
    pub path: String,
    /// Its `lstat`, when the probe asked for it.
    pub lstat: Option<ProbeOutput>,
    pub content: ProbeOutput,
}

/// What the host sent for a [`crate::collect::Probe::SshdConfig`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigFiles {
    /// Every file read, the main one first.
    pub files: Vec<CollectedFile>,
    /// Every `Include` pattern seen (absolute) and what it matched.
    pub globs: Vec<(String, Vec<String>)>,
    /// The host stopped at its limits: what is missing was not read.
    pub limited: bool,
}

impl ConfigFiles {
    /// Reads the probe's sub-frames. `main` is the probe's path; `lstat`
    /// whether the probe asked for each file's lstat.
    pub fn decode(output: &ProbeOutput, main: &str, lstat: bool) -> Result<ConfigFiles, DecodeError> {
        let parts = match output {
            ProbeOutput::Parts(parts) => parts,
            ProbeOutput::Status(s) => return Err(DecodeError::new(main, s.clone())),
            _ => return Err(DecodeError::new(main, ProbeStatus::Malformed)),
        };
        let malformed = || DecodeError::new(main, ProbeStatus::Malformed);
        let text = |p: &Part| String::from_utf8_lossy(&p.body).into_owned();
        let as_output = |p: &Part| match p.status.as_str() {
            "ok" => ProbeOutput::Ok(p.body.clone()),
            "missing" => ProbeOutput::Missing,
            other => ProbeOutput::Status(ProbeStatus::parse(other)),
        };
        let mut out = ConfigFiles::default();
        // Bytes of included files so far: a host that sends more than the
        // script's limit is not believed past it.
        let mut included: u64 = 0;
        let mut it = parts.iter();
        while let Some(part) = it.next() {
            match part.status.as_str() {
                "path" => {
                    let stat = if lstat {
                        Some(as_output(it.next().ok_or_else(malformed)?))
                    } else {
                        None
                    };
                    let mut content = as_output(it.next().ok_or_else(malformed)?);
                    if let (false, ProbeOutput::Ok(bytes)) = (out.files.is_empty(), &content) {
                        included += bytes.len() as u64;
                        if included > SSHD_MAX_INCLUDED {
                            content = ProbeOutput::Status(ProbeStatus::OverBudget);
                        }
                    }
                    out.files.push(CollectedFile {
                        path: text(part),
                        lstat: stat,
                        content,
                    });
                }
                "glob" => out.globs.push((text(part), Vec::new())),
                "match" => out.globs.last_mut().ok_or_else(malformed)?.1.push(text(part)),
                "limit" => out.limited = true,
                _ => return Err(malformed()),
            }
        }
        if out.files.first().is_none_or(|f| f.path != main) {
            return Err(malformed());
        }
        Ok(out)
    }

    /// The main file's content as read.
    pub fn main(&self) -> &ProbeOutput {
        &self.files[0].content
    }

    /// Why a file or pattern the walk needs is not in the answer.
    pub fn why_not_read(&self) -> NotRead {
        if self.limited {
            NotRead::Limited
        } else {
            NotRead::NotSent
        }
    }
}

/// Why a file or pattern an sshd configuration's walk needs is not in the
/// host's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotRead {
    #[error("the configuration names more than {SSHD_MAX_FILES} files or {SSHD_MAX_NAMES} patterns and names, rectify's limit")]
    Limited,
    #[error("the host did not read it")]
    NotSent,
}

/// Why a file or expansion the `Include` walk needs is not known from the
/// host's answer ([`ConfigFiles`] as a [`Source`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unread {
    #[error("{path} was not read: {why}")]
    NotRead { path: String, why: NotRead },
    /// The host sent a status (or a malformed answer) instead of the text.
    #[error("cannot read {path}: {status}")]
    CannotRead { path: String, status: ProbeStatus },
    #[error("Include {pattern} was not expanded: {why}")]
    NotExpanded { pattern: String, why: NotRead },
    #[error(
        "Include {pattern} was not expanded on the host (patterns with quotes or backslashes inside them are not supported)"
    )]
    NotExpandedOnHost { pattern: String },
}

/// Following the `Include`s of a configuration the host read.
pub type SshdIncludeError = IncludeError<Unread>;

impl Source for ConfigFiles {
    type Error = Unread;

    fn text(&self, path: &str) -> Result<Option<Cow<'_, str>>, Unread> {
        let file = self
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| Unread::NotRead {
                path: path.to_string(),
                why: self.why_not_read(),
            })?;
        let status = match &file.content {
            ProbeOutput::Ok(bytes) => return Ok(Some(String::from_utf8_lossy(bytes))),
            ProbeOutput::Missing => return Ok(None),
            ProbeOutput::Status(s) => s.clone(),
            ProbeOutput::Parts(_) => ProbeStatus::Malformed,
        };
        Err(Unread::CannotRead {
            path: path.to_string(),
            status,
        })
    }

    fn expand(&self, pattern: &str) -> Result<Vec<String>, Unread> {
        match self.globs.iter().find(|(p, _)| p == pattern) {
            Some((_, matches)) => Ok(matches.clone()),
            None if self.limited => Err(Unread::NotExpanded {
                pattern: pattern.to_string(),
                why: self.why_not_read(),
            }),
            None => Err(Unread::NotExpandedOnHost {
                pattern: pattern.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::run_locally;
    use crate::conftext::include::locate;

    /// `p_sshd` on real files with a real `sh`: what it reads, and what the
    /// controller then makes of it.
    fn sshd_config(main: &std::path::Path, lstat: bool) -> ConfigFiles {
        let path = main.to_str().unwrap().to_string();
        let probes = [SshdConfig {
            path: path.clone(),
            max: 1 << 20,
            lstat,
        }
        .into()];
        let out = run_locally(&probes);
        ConfigFiles::decode(&out[0], &path, lstat).unwrap()
    }

    #[test]
    fn sshd_includes_are_expanded_on_the_host_in_lexical_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let write = |rel: &str, text: &str| std::fs::write(dir.path().join(rel), text).unwrap();
        std::fs::create_dir_all(dir.path().join("conf.d/nested")).unwrap();
        // Byte order: "1" < "5" < "A" < "a"; the shell must not sort
        // numerically or by locale.
        write(
            "conf.d/50-cloud-init.conf",
            "PasswordAuthentication yes\nLogLevel DEBUG\n",
        );
        write("conf.d/10-z.conf", &format!("Include {d}/conf.d/nested/*.conf\n"));
        write("conf.d/nested/x.conf", "LogLevel INFO\nMaxAuthTries 2\n");
        write("conf.d/A.conf", "MaxAuthTries 9\nX11Forwarding yes\n");
        write("conf.d/a.conf", "X11Forwarding no\nBanner /a\n");
        write("conf.d/.hidden.conf", "Banner /hidden\n");
        write("conf.d/skip.txt", "Banner /txt\n");
        write(
            "sshd_config",
            &format!(
                "Banner /main\nInclude {d}/missing/*.conf \"{d}/conf.d/*.conf\" # drop-ins\n\
                 PasswordAuthentication no\nInclude {d}/conf.d/*.conf\nPort 22\n"
            ),
        );
        let main = dir.path().join("sshd_config");
        let files = sshd_config(&main, false);
        let main = main.to_str().unwrap();
        let at = |key: &str| {
            let found = locate(&files, main, key).unwrap().expect(key);
            (
                found.value,
                found.file.rsplit('/').next().unwrap().to_string(),
                found.line + 1,
            )
        };
        assert_eq!(
            at("PasswordAuthentication"),
            ("yes".into(), "50-cloud-init.conf".into(), 1)
        );
        assert_eq!(at("LogLevel"), ("INFO".into(), "x.conf".into(), 1));
        assert_eq!(at("MaxAuthTries"), ("2".into(), "x.conf".into(), 2));
        assert_eq!(at("X11Forwarding"), ("yes".into(), "A.conf".into(), 2));
        assert_eq!(at("Banner"), ("/main".into(), "sshd_config".into(), 1));
        assert_eq!(at("Port"), ("22".into(), "sshd_config".into(), 5));
        // Each file is read once, however often it is included.
        assert_eq!(
            files.files.len(),
            6,
            "{:?}",
            files.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        );
        let expanded = &files
            .globs
            .iter()
            .find(|(p, _)| p.ends_with("conf.d/*.conf"))
            .unwrap()
            .1;
        let names: Vec<&str> = expanded.iter().map(|m| m.rsplit('/').next().unwrap()).collect();
        assert_eq!(names, ["10-z.conf", "50-cloud-init.conf", "A.conf", "a.conf"]);
    }

    /// The Include lines are found in the bytes read for the frame (one
    /// open per file) in every spelling sshd takes: any case, `=`, quotes,
    /// CRLF line ends, a trailing comment; a commented-out line names
    /// nothing. Checked against this machine's `sshd -T`, which reads the
    /// same files.
    #[test]
    fn include_lines_in_any_spelling_name_what_sshd_reads() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let write = |rel: &str, text: &str| std::fs::write(dir.path().join(rel), text).unwrap();
        write("a.conf", "MaxAuthTries 2\n");
        write("b.conf", "LoginGraceTime 33\n");
        write("c.conf", "MaxSessions 7\n");
        write("d.conf", "MaxStartups 3\n");
        write(
            "sshd_config",
            &format!("INCLUDE=\"{d}/a.conf\"\r\n  iNcLuDe {d}/b.conf # {d}/d.conf\r\n#Include {d}/c.conf\nPort 22\n"),
        );
        let main = dir.path().join("sshd_config");
        let files = sshd_config(&main, false);
        let globs: Vec<&str> = files.globs.iter().map(|(p, _)| p.rsplit('/').next().unwrap()).collect();
        assert_eq!(globs, ["a.conf", "b.conf"]);
        let main = main.to_str().unwrap();
        let value = |key: &str| locate(&files, main, key).unwrap().map(|f| f.value);
        let truth = std::process::Command::new("sshd")
            .args(["-T", "-f", main])
            .output()
            .unwrap();
        let truth = String::from_utf8_lossy(&truth.stdout);
        // The key, its value from the files (None: set nowhere), and the
        // line sshd -T prints for it.
        for (key, written, dumped) in [
            ("MaxAuthTries", Some("2"), "maxauthtries 2"),
            ("LoginGraceTime", Some("33"), "logingracetime 33"),
            ("MaxSessions", None, "maxsessions 10"),
            ("MaxStartups", None, "maxstartups 10:30:100"),
        ] {
            assert!(truth.lines().any(|l| l == dumped), "sshd -T: {dumped} not in\n{truth}");
            assert_eq!(value(key).as_deref(), written, "{key}");
        }
    }

    #[test]
    fn sshd_includes_are_bounded_and_hostile_names_stay_data() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        // A file including itself, and more files than the limit.
        std::fs::write(
            dir.path().join("loop_sshd_config"),
            format!("Include {d}/loop_sshd_config\nInclude {d}/loop_*\n"),
        )
        .unwrap();
        let looped = sshd_config(&dir.path().join("loop_sshd_config"), false);
        assert_eq!(looped.files.len(), 1);
        assert_eq!(looped.globs.len(), 2);
        let err = locate(&looped, &format!("{d}/loop_sshd_config"), "Port")
            .unwrap_err()
            .to_string();
        assert!(err.contains("16 levels"), "{err}");
        std::fs::create_dir(dir.path().join("many")).unwrap();
        for n in 0..(SSHD_MAX_FILES + 5) {
            std::fs::write(dir.path().join(format!("many/{n:03}.conf")), "Port 1\n").unwrap();
        }
        std::fs::write(
            dir.path().join("sshd_config"),
            format!("Include {d}/many/*.conf\nBanner /b\n"),
        )
        .unwrap();
        let many = sshd_config(&dir.path().join("sshd_config"), true);
        assert!(many.limited);
        assert_eq!(many.files.len(), SSHD_MAX_FILES);
        assert!(many.files.iter().all(|f| matches!(f.lstat, Some(ProbeOutput::Ok(_)))));
        // The value of any key is an error, not "not set" nor the value
        // of the files read: a file not read could add a `Port` or
        // override a key in a `Match` block.
        let err = locate(&many, &format!("{d}/sshd_config"), "Port")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limit"), "{err}");
        let err = locate(&many, &format!("{d}/sshd_config"), "Banner")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limit"), "{err}");
        // Names with quotes, `$(…)` and newlines are read as they are.
        let odd = dir.path().join("odd");
        std::fs::create_dir(&odd).unwrap();
        let hostile = "it's $(touch pwned) `id`\n.conf";
        std::fs::write(odd.join(hostile), "Banner /odd\n").unwrap();
        std::fs::write(dir.path().join("odd_sshd_config"), format!("Include {d}/odd/*\n")).unwrap();
        let files = sshd_config(&dir.path().join("odd_sshd_config"), false);
        let found = locate(&files, &format!("{d}/odd_sshd_config"), "Banner")
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.value.as_str(), found.file.as_str()),
            ("/odd", odd.join(hostile).to_str().unwrap())
        );
        assert!(!std::path::Path::new("pwned").exists() && !odd.join("pwned").exists());
    }

    #[test]
    fn sshd_included_files_are_bounded_in_total_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        std::fs::create_dir(dir.path().join("big")).unwrap();
        // Six drop-ins of 900 KiB each, each under the per-file limit
        // (1 MiB here), together over the 4 MiB for included files.
        let filler = format!("# {}\n", "x".repeat(900 * 1024));
        for n in 0..6 {
            std::fs::write(
                dir.path().join(format!("big/{n}.conf")),
                format!("{filler}LogLevel L{n}\n"),
            )
            .unwrap();
        }
        std::fs::write(
            dir.path().join("sshd_config"),
            (0..6)
                .map(|n| format!("Include {d}/big/{n}.conf\n"))
                .collect::<String>()
                + "Banner /b\n",
        )
        .unwrap();
        let main = format!("{d}/sshd_config");
        let files = sshd_config(&dir.path().join("sshd_config"), false);
        let included: usize = files.files[1..]
            .iter()
            .map(|f| match &f.content {
                ProbeOutput::Ok(b) => b.len(),
                _ => 0,
            })
            .sum();
        assert!(included as u64 <= SSHD_MAX_INCLUDED, "{included}");
        // What was not read is an error naming the limit, even for a key
        // set in the files read (a later `Match` block could override it).
        for key in ["LogLevel", "Banner"] {
            let err = locate(&files, &main, key).unwrap_err().to_string();
            assert!(err.contains("4 MiB") && err.contains("big/4.conf"), "{err}");
        }
    }

    const MAIN: &str = "/etc/ssh/sshd_config";
    const DROPINS: &str = "/etc/ssh/sshd_config.d/*.conf";
    const CLOUD: &str = "/etc/ssh/sshd_config.d/50-cloud-init.conf";

    #[test]
    fn included_files_over_the_total_byte_limit_are_not_read() {
        // A host that sends more than the limit anyway.
        let big = format!("# {}\nLogLevel INFO\n", "x".repeat(4 << 20));
        let (a, b) = ("/etc/ssh/a.conf", "/etc/ssh/b.conf");
        let output = ProbeOutput::Parts(
            [
                ("path", MAIN),
                ("ok", "Include a.conf b.conf\n"),
                ("glob", a),
                ("match", a),
                ("glob", b),
                ("match", b),
                ("path", a),
                ("ok", "Port 22\n"),
                ("path", b),
                ("ok", &big),
            ]
            .iter()
            .map(|(status, body)| Part {
                status: status.to_string(),
                body: body.as_bytes().to_vec(),
            })
            .collect(),
        );
        let files = ConfigFiles::decode(&output, MAIN, false).unwrap();
        for key in ["Port", "LogLevel"] {
            let err = locate(&files, MAIN, key).unwrap_err().to_string();
            assert!(err.contains(b) && err.contains("4 MiB"), "{err}");
        }
        let output = ProbeOutput::Parts(match output {
            ProbeOutput::Parts(mut parts) => {
                parts[9].body = big.as_bytes()[..(1 << 20)].to_vec();
                parts
            }
            _ => unreachable!(),
        });
        let files = ConfigFiles::decode(&output, MAIN, false).unwrap();
        assert_eq!(locate(&files, MAIN, "LogLevel").unwrap(), None);
    }

    #[test]
    fn decoding_the_hosts_answer() {
        let part = |status: &str, body: &str| Part {
            status: status.into(),
            body: body.as_bytes().to_vec(),
        };
        let output = ProbeOutput::Parts(vec![
            part("path", MAIN),
            part("ok", "Include sshd_config.d/*.conf\n"),
            part("glob", DROPINS),
            part("match", CLOUD),
            part("path", CLOUD),
            part("denied", ""),
        ]);
        let files = ConfigFiles::decode(&output, MAIN, false).unwrap();
        assert_eq!(files.globs, vec![(DROPINS.to_string(), vec![CLOUD.to_string()])]);
        let err = locate(&files, MAIN, "Port").unwrap_err().to_string();
        assert!(err.contains("permission denied") && err.contains(CLOUD), "{err}");
        // Malformed answers are errors.
        for bad in [
            vec![part("match", CLOUD)],
            vec![part("path", MAIN)],
            vec![part("path", CLOUD), part("ok", "")],
            vec![part("what", "")],
        ] {
            assert!(ConfigFiles::decode(&ProbeOutput::Parts(bad), MAIN, false).is_err());
        }
        assert!(ConfigFiles::decode(&ProbeOutput::Ok(Vec::new()), MAIN, false).is_err());
        // At the limit, what is missing says so.
        let limited = ProbeOutput::Parts(vec![
            part("path", MAIN),
            part("ok", "Include /x/*\n"),
            part("limit", ""),
        ]);
        let files = ConfigFiles::decode(&limited, MAIN, false).unwrap();
        assert!(locate(&files, MAIN, "Port").unwrap_err().to_string().contains("limit"));
    }
}
