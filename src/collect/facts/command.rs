//! A command's output and exit status: `p_cmd` runs `sh -c command` with
//! its own timeout and sends its stdout (cut at the limit) followed by
//! `\n<exit status>`; [`CommandOutput::parse`] is the one reader of that.

use std::time::Duration;

use super::{Budget, FactKind};
use crate::shell::{quote, QuoteError};

/// stdout and exit status of `sh -c command`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Run {
    pub command: String,
    pub timeout: Duration,
    pub max: u64,
}

impl FactKind for Run {
    const SHELL: &'static str = r#"p_cmd() {
  # `bounded` (defined below, before any probe runs): without a usable
  # `timeout` the controller's exec timeout for the whole script, the base
  # timeout plus every command's own, is what ends a command that hangs.
  o=$( { run_cmd "$3" bounded "$2"; printf '\n%s' "$?"; } | head -c "$(($4 + 16))" )
  emit "$1" ok "$o"
}
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        let secs = self.timeout.as_secs().max(1).to_string();
        Ok(format!(
            "p_cmd {index} {} {} {}",
            quote(&secs)?,
            quote(&self.command)?,
            quote(&self.max.to_string())?
        ))
    }

    fn budget(&self) -> Budget {
        Budget {
            max_stdout: self.max as usize + 128,
            timeout: self.timeout,
        }
    }
}

/// What `p_cmd` sent: the command's stdout and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: String,
    pub status: i32,
}

impl CommandOutput {
    /// `None` when the status suffix is missing: the output was cut at
    /// the limit.
    pub fn parse(bytes: &[u8]) -> Option<CommandOutput> {
        let text = String::from_utf8_lossy(bytes);
        let (stdout, status) = text.rsplit_once('\n')?;
        Some(CommandOutput {
            status: status.parse().ok()?,
            stdout: stdout.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::script::test_support::{build_for_test, run_locally, run_script, with_path_first};
    use crate::collect::{Probe, ProbeOutput};

    fn command(command: &str, secs: u64) -> Probe {
        Run {
            command: command.into(),
            timeout: Duration::from_secs(secs),
            max: 1024,
        }
        .into()
    }

    #[test]
    fn commands_report_output_and_exit_status_and_are_bounded() {
        let probes = vec![
            command("echo hello; exit 3", 5),
            command("yes", 5),
            command("echo '$(id)'; printf 'a\\0b'", 5),
            command("cat", 5),
        ];
        let out = run_locally(&probes);
        assert_eq!(out[0], ProbeOutput::Ok(b"hello\n\n3".to_vec()));
        match &out[1] {
            ProbeOutput::Ok(b) => assert!(b.len() <= 1024 + 16, "bounded, got {}", b.len()),
            other => panic!("{other:?}"),
        }
        match &out[2] {
            ProbeOutput::Ok(b) => assert!(b.starts_with(b"$(id)\n"), "{:?}", String::from_utf8_lossy(b)),
            other => panic!("{other:?}"),
        }
        // `cat` reads stdin: it must see nothing, not the rest of the script.
        assert_eq!(out[3], ProbeOutput::Ok(b"\n0".to_vec()));
        let ProbeOutput::Ok(first) = &out[0] else {
            unreachable!()
        };
        assert_eq!(
            CommandOutput::parse(first),
            Some(CommandOutput {
                stdout: "hello\n".into(),
                status: 3
            })
        );
        assert_eq!(CommandOutput::parse(b"cut-without-status"), None);
    }

    #[test]
    fn commands_are_bounded_by_an_old_busybox_timeout() {
        // busybox before 1.30 only knows `timeout -t SECS`.
        let dir = tempfile::tempdir().unwrap();
        let log = crate::shell::test_support::old_busybox_timeout(dir.path());
        let probes = [command("echo hello; exit 3", 5), command("sleep 30", 1)];
        let out = run_script(&with_path_first(&probes, dir.path()), probes.len(), &[]);
        assert_eq!(out[0], ProbeOutput::Ok(b"hello\n\n3".to_vec()));
        // Killed (128 + 9) after its one second, not run to its end.
        assert_eq!(out[1], ProbeOutput::Ok(b"\n137".to_vec()));
        let calls = std::fs::read_to_string(log).unwrap();
        assert!(calls.contains("-s KILL -t 1 sh -c "), "{calls}");
    }

    #[test]
    fn commands_still_run_where_there_is_no_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let bin = crate::shell::test_support::only_tools(dir.path(), &["sh", "head", "wc"]);
        let script = build_for_test(&[command("echo hello; exit 3", 5)]);
        let script = script.replacen(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin;",
            &format!("PATH={};", quote(bin.to_str().unwrap()).unwrap()),
            1,
        );
        assert!(script.contains(bin.to_str().unwrap()));
        let out = run_script(&script, 1, &[]);
        assert_eq!(out[0], ProbeOutput::Ok(b"hello\n\n3".to_vec()));
    }
}
