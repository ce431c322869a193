//! Running the collection script on a host: one remote command, bounded in
//! time and output, its answer split into one output per probe.

use std::time::Duration;

use rand::Rng;

use super::{parse_output, script, Probe, ProbeOutput, Probes};
use crate::inventory::Host;
use crate::transport::{one_line, privileged, ExecLimits, Transport};

/// Runs the collection script for `probes` once over `connection`, with the
/// host's privileges, and splits its output.
pub async fn gather(
    connection: &dyn Transport,
    host: &Host,
    probes: &Probes,
    command_timeout: Duration,
) -> Result<Vec<ProbeOutput>, String> {
    let nonce = format!("{:032x}", rand::rng().random::<u128>());
    let script = script::build(probes.as_slice(), &nonce).map_err(|e| e.to_string())?;
    let limits = exec_limits(probes.as_slice(), command_timeout);
    let output = connection
        .exec(&privileged(host.become_, &["sh", "-s"]), script.as_bytes(), limits)
        .await
        .map_err(|e| one_line(&e))?;

    match parse_output(&output.stdout, &nonce, probes.len()) {
        Ok(outputs) => Ok(outputs),
        Err(e) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let hint = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            let status = output
                .exit_status
                .map(|s| format!("exit {s}"))
                .unwrap_or_else(|| "killed".into());
            if hint.is_empty() {
                Err(format!("{e} ({status})"))
            } else {
                Err(format!(
                    "{e} ({status}): {}",
                    hint.chars().take(200).collect::<String>()
                ))
            }
        }
    }
}

/// The whole script may take the base timeout plus each command's own, and
/// may print each fact's maximum plus framing.
fn exec_limits(probes: &[Probe], base: Duration) -> ExecLimits {
    let mut timeout = base;
    let mut max_stdout: usize = 4096;
    for p in probes {
        match p {
            Probe::Read { max, .. } => max_stdout += *max as usize + 128,
            Probe::SshdConfig { max, .. } => {
                // The main file, then the included ones together within
                // their own limit; names, lstat and framing per file.
                use crate::collect::{SSHD_MAX_FILES, SSHD_MAX_INCLUDED, SSHD_MAX_NAMES};
                let included = (*max).saturating_mul(SSHD_MAX_FILES as u64 - 1).min(SSHD_MAX_INCLUDED);
                max_stdout +=
                    *max as usize + included as usize + SSHD_MAX_FILES * (4096 + 256) + SSHD_MAX_NAMES * (4096 + 128)
            }
            Probe::Command { timeout: t, max, .. } => {
                timeout += *t;
                max_stdout += *max as usize + 128;
            }
            _ => max_stdout += 4096,
        }
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
        let probe = Probe::SshdConfig {
            path: "/etc/ssh/sshd_config".into(),
            max: 16 << 20,
            lstat: true,
        };
        let limits = exec_limits(&[probe], Duration::from_secs(1));
        // The main file, 4 MiB of included files, names and framing; not
        // 32 files of 16 MiB each.
        assert!(limits.max_stdout < (16 + 4 + 5) << 20, "{}", limits.max_stdout);
        assert!(limits.max_stdout > (16 + 4) << 20, "{}", limits.max_stdout);
    }
}
