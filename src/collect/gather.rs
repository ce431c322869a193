//! Running the collection script on a host: one remote command, bounded in
//! time and output, its answer split into one output per probe.

use std::time::Duration;

use rand::Rng;

use super::{parse_output, script, FrameError, Probe, ProbeOutput, Probes};
use crate::inventory::Host;
use crate::shell::QuoteError;
use crate::transport::{one_line, privileged, ExecLimits, Transport};

/// Why a host's facts could not be gathered. Callers report it as text.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("{0}")]
    Quote(#[from] QuoteError),
    /// The transport's error, on one line.
    #[error("{0}")]
    Transport(String),
    /// The script's output did not frame; `detail` is `(exit N)` or
    /// `(killed)`, then the first line of stderr if there was one.
    #[error("{frame} {detail}")]
    Output { frame: FrameError, detail: String },
}

/// Runs the collection script for `probes` once over `connection`, with the
/// host's privileges, and splits its output.
pub async fn gather(
    connection: &dyn Transport,
    host: &Host,
    probes: &Probes,
    command_timeout: Duration,
) -> Result<Vec<ProbeOutput>, GatherError> {
    let nonce = format!("{:032x}", rand::rng().random::<u128>());
    let script = script::build(probes.as_slice(), &nonce)?;
    let limits = exec_limits(probes.as_slice(), command_timeout);
    let output = connection
        .exec(&privileged(host.become_, &["sh", "-s"]), script.as_bytes(), limits)
        .await
        .map_err(|e| GatherError::Transport(one_line(&e)))?;

    parse_output(&output.stdout, &nonce, probes.len()).map_err(|frame| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A few lines, not the first only: a login without a home
        // directory says so first, and sudo's own reason (`a password is
        // required`) comes after it.
        let lines: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(3)
            .collect();
        let hint = lines.join(" | ");
        let status = output
            .exit_status
            .map(|s| format!("exit {s}"))
            .unwrap_or_else(|| "killed".into());
        let detail = if hint.is_empty() {
            format!("({status})")
        } else {
            format!("({status}): {}", hint.chars().take(300).collect::<String>())
        };
        GatherError::Output { frame, detail }
    })
}

/// The whole script may take the base timeout plus what each fact adds,
/// and may print each fact's maximum plus framing.
fn exec_limits(probes: &[Probe], base: Duration) -> ExecLimits {
    let mut timeout = base;
    let mut max_stdout: usize = 4096;
    for p in probes {
        let budget = p.budget();
        timeout += budget.timeout;
        max_stdout += budget.max_stdout;
    }
    ExecLimits {
        timeout,
        max_stdout,
        max_stderr: 64 * 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sshd_probe_may_send_its_main_file_and_4_mib_of_included_files() {
        let probe = Probe::from(crate::collect::facts::sshd_config::SshdConfig {
            path: "/etc/ssh/sshd_config".into(),
            max: 16 << 20,
            lstat: true,
        });
        let limits = exec_limits(&[probe], Duration::from_secs(1));
        // The main file, 4 MiB of included files, names and framing; not
        // 32 files of 16 MiB each.
        assert!(limits.max_stdout < (16 + 4 + 5) << 20, "{}", limits.max_stdout);
        assert!(limits.max_stdout > (16 + 4) << 20, "{}", limits.max_stdout);
    }
}
