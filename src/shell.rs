//! The one place where text becomes shell syntax.
//!
//! Every value that ends up in a remote command line (paths, keys, user
//! commands, sudo prefixes) goes through [`quote`]. Nothing else in the
//! crate formats shell text around a value.

use std::borrow::Cow;

pub mod glob;

/// Quotes `value` as a single POSIX shell word.
///
/// `shlex::try_quote` gives the POSIX single-quote form (`'it'"'"'s'`);
/// it refuses only NUL bytes, which no shell word can carry, so those are
/// an error for the caller to report rather than something to paper over.
pub fn quote(value: &str) -> Result<Cow<'_, str>, QuoteError> {
    shlex::try_quote(value).map_err(|_| QuoteError)
}

/// Joins `words` into one command line, each word quoted.
pub fn join<S: AsRef<str>>(words: &[S]) -> Result<String, QuoteError> {
    let mut line = String::new();
    for word in words {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&quote(word.as_ref())?);
    }
    Ok(line)
}

/// Shell text, for the top of a remote script, that defines
/// `bounded SECS COMMAND [ARG...]`: COMMAND, killed (SIGKILL) after SECS
/// seconds, and `bounded_by SIGNAL SECS COMMAND [ARG...]`, the same with
/// another signal. `timeout` spells this `timeout SECS` in coreutils and
/// busybox 1.30 and later, but `timeout -t SECS` in older busybox (Alpine
/// before 3.9, many embedded systems), which takes `SECS` for the command.
/// Which form this host's `timeout` understands is tried once per script,
/// on `true` (two processes, so once for every user of either function).
/// Callers pass SECS through [`quote`], like every other value.
pub const BOUNDED: &str = r#"if timeout -s KILL 5 true </dev/null >/dev/null 2>&1; then rectify_tf=new
elif timeout -s KILL -t 5 true </dev/null >/dev/null 2>&1; then rectify_tf=old
else rectify_tf=; fi
bounded_by() {
  rectify_sig=$1; rectify_secs=$2; shift 2
  case $rectify_tf in
    new) timeout -s "$rectify_sig" "$rectify_secs" "$@" ;;
    old) timeout -s "$rectify_sig" -t "$rectify_secs" "$@" ;;
    # No usable timeout: the command runs unbounded on the host. What
    # bounds it then is the controller: its per-command exec timeout
    # (--command-timeout) ends the session; see each caller for more.
    *) "$@" ;;
  esac
}
bounded() { bounded_by KILL "$@"; }
"#;

/// Shell text, for the top of a remote script, that defines
/// `run_cmd CMD [WRAPPER...]`: runs CMD (shell text) in a new `sh`, behind
/// WRAPPER words (`bounded SECS`) if any, without CMD appearing in any
/// process's arguments — `ps` on the host shows only the constant
/// `sh -c 'c=$RECTIFY_CMD; …'`. A command may carry a secret (a password
/// var rendered into it); a process's environment, unlike its arguments,
/// is readable only by its own user and root, and the variable is unset
/// before CMD runs, so CMD's own children do not inherit it.
///
/// The new shell holds the text in `c` only until `eval` has parsed it:
/// the evaluated text starts with `unset c`, so the command cannot see its
/// own text there either (`set` would print it).
pub const RUN_CMD: &str = r#"run_cmd() { ( RECTIFY_CMD=$1; export RECTIFY_CMD; shift; "$@" sh -c 'c=$RECTIFY_CMD; unset RECTIFY_CMD; eval "unset c
$c"' ) }
"#;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a NUL byte cannot be passed to a remote shell")]
pub struct QuoteError;

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `printf %s <quoted>` through a real `sh` and returns what it printed,
    /// so the tests prove the round trip rather than a particular spelling.
    fn through_sh(value: &str) -> String {
        let line = format!("printf %s {}", quote(value).unwrap());
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "sh failed for {line:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn hostile_values_survive_a_real_shell_unchanged() {
        let hostile = [
            "plain",
            "",
            "with space",
            "it's",
            "\"double\"",
            "$(touch /tmp/rectify-pwned)",
            "`id`",
            "a;b && c | d",
            "line1\nline2",
            "-rf",
            "--",
            "*",
            "~root",
            "$HOME",
            "back\\slash",
            "tab\there",
            "ünïcödé ✓",
            "'; rm -rf / #",
        ];
        for value in hostile {
            assert_eq!(through_sh(value), value, "value {value:?}");
        }
        assert!(!std::path::Path::new("/tmp/rectify-pwned").exists());
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert_eq!(quote("a\0b"), Err(QuoteError));
    }

    #[test]
    fn join_keeps_word_boundaries() {
        let line = join(&["printf", "%s|", "a b", "c'd"]).unwrap();
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "a b|c'd|");
    }

    #[test]
    fn run_cmd_runs_any_command_text_with_its_status_and_keeps_it_to_itself() {
        let cmd = "printf '%s|' \"it's\" \"$(echo sub)\" \"[$RECTIFY_CMD]\" \"[$c]\"; sh -c 'printf \"[%s]\" \"$RECTIFY_CMD\"'; exit 3";
        let script = format!(
            "{BOUNDED}{RUN_CMD}run_cmd {q}; echo \" rc=$?\"; run_cmd {q} bounded 5; echo \" rc=$?\"",
            q = quote(cmd).unwrap()
        );
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        // The text ran as written; neither it nor its children see it in
        // their environment; the exit status comes through, behind a
        // wrapper too.
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "it's|sub|[]|[]|[] rc=3\nit's|sub|[]|[]|[] rc=3\n"
        );
    }

    /// Runs `BOUNDED` then `body` with `sh` and `PATH=path`: stdout.
    fn with_bounded(path: &std::path::Path, body: &str) -> String {
        let script = format!("PATH={}\n{BOUNDED}{body}", quote(path.to_str().unwrap()).unwrap());
        let out = Command::new(test_support::which("sh"))
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    const BODY: &str =
        "bounded 5 echo hi; bounded 1 sleep 30; echo \"killed=$?\"; bounded 5 sh -c 'exit 3'; echo \"rc=$?\"\n";

    #[test]
    fn bounded_uses_a_modern_timeout() {
        let real = test_support::which("timeout");
        let out = with_bounded(real.parent().unwrap(), BODY);
        assert_eq!(out, "hi\nkilled=137\nrc=3\n");
    }

    #[test]
    fn bounded_falls_back_to_old_busybox_timeout_t() {
        let dir = tempfile::tempdir().unwrap();
        let log = test_support::old_busybox_timeout(dir.path());
        let path = format!("{}:/usr/bin:/bin", dir.path().display());
        let out = with_bounded(std::path::Path::new(&path), BODY);
        // `sleep 30` was killed after 1 s: the shim bounded it with `-t`.
        assert_eq!(out, "hi\nkilled=137\nrc=3\n");
        let calls = std::fs::read_to_string(log).unwrap();
        assert!(calls.contains("-s KILL -t 1 sleep 30"), "{calls}");
        assert!(calls.contains("-s KILL -t 5 echo hi"), "{calls}");
    }

    #[test]
    fn bounded_runs_the_command_without_any_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let bin = test_support::only_tools(dir.path(), &["sh"]);
        let out = with_bounded(&bin, "bounded 5 echo hi; bounded 5 sh -c 'exit 3'; echo \"rc=$?\"\n");
        assert_eq!(out, "hi\nrc=3\n");
    }
}

/// Stand-ins for a host's tools, for tests that run remote scripts locally.
#[cfg(test)]
pub(crate) mod test_support {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Where this machine's `sh` finds `name`.
    pub fn which(name: &str) -> PathBuf {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            .unwrap();
        let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(path.starts_with('/'), "no {name} on this machine");
        PathBuf::from(path)
    }

    /// Writes into `dir` a `timeout` that behaves like busybox's before
    /// 1.30, `timeout [-t SECS] [-s SIG] PROG ARGS...`: the first word that
    /// is not an option is the program, so `timeout 5 true` tries to run
    /// `5` and fails with 127. The bounding itself is done by this
    /// machine's real `timeout`. Every call's arguments are appended to the
    /// returned log file.
    pub fn old_busybox_timeout(dir: &Path) -> PathBuf {
        let log = dir.join("timeout.log");
        let real = which("timeout");
        let shim = format!(
            "#!/bin/sh\n\
             printf '%s\\n' \"$*\" >> {log}\n\
             secs=10 sig=TERM\n\
             while [ $# -gt 0 ]; do\n\
             \x20 case $1 in\n\
             \x20   -t) secs=$2; shift 2 ;;\n\
             \x20   -s) sig=$2; shift 2 ;;\n\
             \x20   -*) echo \"timeout: invalid option -- $1\" >&2; exit 1 ;;\n\
             \x20   *) break ;;\n\
             \x20 esac\n\
             done\n\
             exec {real} -s \"$sig\" \"$secs\" \"$@\"\n",
            log = super::quote(log.to_str().unwrap()).unwrap(),
            real = super::quote(real.to_str().unwrap()).unwrap(),
        );
        let path = dir.join("timeout");
        std::fs::write(&path, shim).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        log
    }

    /// A directory holding only links to `tools` of this machine: a PATH
    /// without `timeout`.
    pub fn only_tools(dir: &Path, tools: &[&str]) -> PathBuf {
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        for tool in tools {
            std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
        }
        bin
    }
}
