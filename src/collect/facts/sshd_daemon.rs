//! Asking the host's own sshd, in the audit's one round trip: its version
//! ([`Version`], `sshd -V`, for the table of compiled-in defaults) and its
//! effective configuration ([`Dump`], `sshd -T -f FILE [-C SPEC]`, for
//! rules with `source: daemon`). Both answers are untrusted text: bounded
//! on the host, parsed here without interpreting anything.

use std::time::Duration;

use super::{Budget, FactKind};
use crate::collect::{ProbeOutput, ProbeStatus};
use crate::conftext::sshd_defaults::Release;
use crate::shell::{quote, QuoteError};

/// Most bytes of `sshd -T` output a host may send: a real dump is about
/// 5 KiB, lists of many `Match` users or ports make it longer.
pub const DUMP_MAX: u64 = 256 * 1024;
/// Most bytes of `sshd -T`'s stderr kept (only its first line is shown).
pub const ERR_MAX: u64 = 1024;
/// Most bytes of `sshd -V` output looked at.
pub const VERSION_MAX: u64 = 4096;
/// How long `sshd -T` may take: it only parses files, but an `Include`
/// naming a FIFO would block it.
pub const DUMP_TIMEOUT: Duration = Duration::from_secs(10);

/// The host's sshd version line (`OpenSSH_9.2p1 …`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version;

/// `sshd -T -f path`, with `-C spec` for one connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dump {
    pub path: String,
    /// `user=…,host=…,addr=…` as `-C` takes it.
    pub spec: Option<String>,
}

/// Both kinds' functions: `sshd` on the script's PATH (which has the sbin
/// directories), `missing` where there is none.
const SHELL: &str = r#"p_sshdv() {
  # sshd -V prints its version on stderr; releases before 7.x print it
  # inside their usage text, whose line naming OpenSSH the controller
  # picks. One pipe, no sed: this runs on every audit of an sshd rule.
  command -v sshd >/dev/null 2>&1 || { frame "$1" missing 0; return 0; }
  o=$(sshd -V 2>&1 </dev/null | head -c "$2")
  emit "$1" ok "$o"
}
p_sshdt() {
  # $1 index, $2 stdout limit, $3 seconds, $4 config, $5 -C spec or ''.
  # Sub-frame $1.0: stdout (cut at $2 + 16 bytes) then a newline and the
  # exit status; $1.1: the first $6 bytes of stderr. fd 4 is this
  # function's stdout, so the inner emit writes its frame there while the
  # outer command substitution captures sshd's stderr (fd 3) alone.
  command -v sshd >/dev/null 2>&1 || { frame "$1" missing 0; return 0; }
  { d_e=$( { d_o=$( { if [ -n "$5" ]; then bounded "$3" sshd -T -f "$4" -C "$5"; else bounded "$3" sshd -T -f "$4"; fi 2>&3 </dev/null; printf '\n%s' "$?"; } | head -c "$(($2 + 16))" )
    emit "$1.0" out "$d_o" >&4; } 3>&1 | head -c "$6" )
    emit "$1.1" err "$d_e"; } 4>&1
  frame "$1" ok 0
}
"#;

impl FactKind for Version {
    const SHELL: &'static str = SHELL;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!("p_sshdv {index} {}", quote(&VERSION_MAX.to_string())?))
    }

    fn budget(&self) -> Budget {
        Budget {
            max_stdout: VERSION_MAX as usize + 128,
            ..Budget::SMALL
        }
    }
}

impl FactKind for Dump {
    const SHELL: &'static str = SHELL;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!(
            "p_sshdt {index} {} {} {} {} {}",
            quote(&DUMP_MAX.to_string())?,
            quote(&DUMP_TIMEOUT.as_secs().to_string())?,
            quote(&self.path)?,
            quote(self.spec.as_deref().unwrap_or(""))?,
            quote(&ERR_MAX.to_string())?
        ))
    }

    fn budget(&self) -> Budget {
        Budget {
            max_stdout: (DUMP_MAX + ERR_MAX) as usize + 512,
            timeout: DUMP_TIMEOUT,
        }
    }
}

/// The version line `p_sshdv` sent (the first naming OpenSSH, at most 200
/// characters): `Ok(None)` when the host has no sshd or it printed none.
pub fn decode_version(output: &ProbeOutput) -> Result<Option<String>, ProbeStatus> {
    match output {
        ProbeOutput::Ok(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let line = text.lines().find(|l| l.contains("OpenSSH"));
            Ok(line.map(|l| l.trim().chars().filter(|c| !c.is_control()).take(200).collect()))
        }
        ProbeOutput::Missing => Ok(None),
        ProbeOutput::Status(s) => Err(s.clone()),
        ProbeOutput::Parts(_) => Err(ProbeStatus::Malformed),
    }
}

/// The answer [`Version`] gets from an SSH server's identification string
/// (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3`): the string, read as
/// [`decode_version`] reads `sshd -V`, when it names an OpenSSH release;
/// `None` for any other server (Dropbear, a patched-out version), which
/// leaves the question to `sshd -V` on the host.
pub fn version_from_server_id(id: &str) -> Option<ProbeOutput> {
    Release::parse(id).map(|_| ProbeOutput::Ok(id.as_bytes().to_vec()))
}

/// What `sshd -T` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpAnswer {
    /// The host has no `sshd` on its PATH.
    NoSshd,
    /// sshd refused: its exit status and the first line of its stderr.
    Failed { status: i32, stderr: String },
    /// The effective configuration, one `keyword value` per line.
    Config(String),
}

/// Why a dump's answer is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("sshd -T printed more than {DUMP_MAX} bytes")]
    TooLarge,
    #[error("{0}")]
    Status(ProbeStatus),
}

/// Reads `p_sshdt`'s sub-frames.
pub fn decode_dump(output: &ProbeOutput) -> Result<DumpAnswer, DumpError> {
    let parts = match output {
        ProbeOutput::Missing => return Ok(DumpAnswer::NoSshd),
        ProbeOutput::Parts(parts) => parts,
        ProbeOutput::Status(s) => return Err(DumpError::Status(s.clone())),
        ProbeOutput::Ok(_) => return Err(DumpError::Status(ProbeStatus::Malformed)),
    };
    let malformed = || DumpError::Status(ProbeStatus::Malformed);
    let (out, err) = match parts.as_slice() {
        [o, e] if o.status == "out" && e.status == "err" => (o, e),
        _ => return Err(malformed()),
    };
    let text = String::from_utf8_lossy(&out.body);
    // The status line is last; without it the output was cut.
    let (stdout, status) = text.rsplit_once('\n').ok_or(DumpError::TooLarge)?;
    let status: i32 = status.parse().map_err(|_| DumpError::TooLarge)?;
    if stdout.len() as u64 > DUMP_MAX {
        return Err(DumpError::TooLarge);
    }
    if status != 0 {
        let stderr = String::from_utf8_lossy(&err.body);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let first: String = first.chars().filter(|c| !c.is_control()).take(300).collect();
        return Ok(DumpAnswer::Failed { status, stderr: first });
    }
    Ok(DumpAnswer::Config(stdout.to_string()))
}

/// The value of `keyword` (lower case) in a dump: its lines' values
/// joined by one space (`port 22` and `port 2222` → `22 2222`), `None`
/// when sshd printed no such line.
pub fn dump_value(dump: &str, keyword: &str) -> Option<String> {
    let values: Vec<&str> = dump
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            k.eq_ignore_ascii_case(keyword).then_some(v.trim())
        })
        .collect();
    (!values.is_empty()).then(|| values.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::{run_script, with_path_first};
    use crate::collect::Probe;

    /// A fake `sshd` first on PATH: `-V` prints a version on stderr, `-T`
    /// prints a dump, or fails like sshd does for an invalid file.
    fn fake(dir: &std::path::Path) {
        let script = r#"#!/bin/sh
case "$1" in
  -V) echo "sshd: unknown option -- V" >&2; echo "OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13 30 Jan 2024" >&2; exit 1 ;;
esac
for a in "$@"; do case $a in */bad_config) echo "$a line 1: Bad configuration option: Foo" >&2; echo "$a: terminating, 1 bad configuration options" >&2; exit 255 ;; esac; done
echo "warning on stderr" >&2
echo "port 22"; echo "port 2222"; echo "permitrootlogin no"; echo "args $*"
"#;
        let path = dir.join("sshd");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn version_and_dumps_come_back_bounded_and_separated() {
        let dir = tempfile::tempdir().unwrap();
        fake(dir.path());
        let probes: Vec<Probe> = vec![
            Version.into(),
            Dump {
                path: "/etc/ssh/sshd_config".into(),
                spec: None,
            }
            .into(),
            Dump {
                path: "/x/bad_config".into(),
                spec: None,
            }
            .into(),
            Dump {
                path: "/etc/ssh/sshd_config".into(),
                spec: Some("user=root,host=a b,addr=10.0.0.1".into()),
            }
            .into(),
        ];
        let out = run_script(&with_path_first(&probes, dir.path()), probes.len(), &[]);
        assert_eq!(
            decode_version(&out[0]).unwrap().as_deref(),
            Some("OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13 30 Jan 2024")
        );
        let DumpAnswer::Config(dump) = decode_dump(&out[1]).unwrap() else {
            panic!("{:?}", out[1])
        };
        // stderr never mixes into the dump.
        assert!(!dump.contains("warning"), "{dump}");
        assert_eq!(dump_value(&dump, "port").as_deref(), Some("22 2222"));
        assert_eq!(dump_value(&dump, "permitrootlogin").as_deref(), Some("no"));
        assert_eq!(dump_value(&dump, "ciphers"), None);
        assert_eq!(dump_value(&dump, "args").as_deref(), Some("-T -f /etc/ssh/sshd_config"));
        assert_eq!(
            decode_dump(&out[2]).unwrap(),
            DumpAnswer::Failed {
                status: 255,
                stderr: "/x/bad_config line 1: Bad configuration option: Foo".into()
            }
        );
        let DumpAnswer::Config(dump) = decode_dump(&out[3]).unwrap() else {
            panic!("{:?}", out[3])
        };
        assert_eq!(
            dump_value(&dump, "args").as_deref(),
            Some("-T -f /etc/ssh/sshd_config -C user=root,host=a b,addr=10.0.0.1")
        );
    }

    #[test]
    fn a_host_without_sshd_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let bin = crate::shell::test_support::only_tools(dir.path(), &["sh", "head", "wc", "sed"]);
        let probes: Vec<Probe> = vec![
            Version.into(),
            Dump {
                path: "/etc/ssh/sshd_config".into(),
                spec: None,
            }
            .into(),
        ];
        let script = crate::collect::script::test_support::build_for_test(&probes).replacen(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin;",
            &format!("PATH={};", quote(bin.to_str().unwrap()).unwrap()),
            1,
        );
        let out = run_script(&script, probes.len(), &[]);
        assert_eq!(decode_version(&out[0]), Ok(None));
        assert_eq!(decode_dump(&out[1]), Ok(DumpAnswer::NoSshd));
    }
}
