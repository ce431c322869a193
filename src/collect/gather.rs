//! Running the collection script on a host: one remote command, bounded in
//! time and output, its answer split into one output per probe.

use std::time::Duration;

use rand::Rng;

use super::facts::sshd_daemon;
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
    // What the connection itself answers is not asked of the host.
    let known: Vec<Option<ProbeOutput>> = probes.as_slice().iter().map(|p| answered_by(connection, p)).collect();
    if known.iter().all(Option::is_some) {
        return Ok(known.into_iter().flatten().collect());
    }
    let nonce = format!("{:032x}", rand::rng().random::<u128>());
    let script = script::build_asking(probes.as_slice(), &nonce, &|i| known[i].is_none())?;
    let asked: Vec<Probe> = probes
        .as_slice()
        .iter()
        .zip(&known)
        .filter(|(_, k)| k.is_none())
        .map(|(p, _)| p.clone())
        .collect();
    let limits = exec_limits(&asked, command_timeout);
    let output = connection
        .exec(&privileged(host.become_, &["sh", "-s"]), script.as_bytes(), limits)
        .await
        .map_err(|e| GatherError::Transport(one_line(&e)))?;

    let mut outputs = parse_output(&output.stdout, &nonce, probes.len()).map_err(|frame| {
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
    })?;
    for (out, k) in outputs.iter_mut().zip(known) {
        if let Some(k) = k {
            *out = k;
        }
    }
    Ok(outputs)
}

/// A fact the connection answers without asking the host: the sshd
/// version, from the identification string of the SSH server that
/// answered, when it names an OpenSSH release (that server is the host's
/// sshd, and `sshd -V` is the costliest process of an audit). Over
/// `--local`, or a server that does not say OpenSSH, the host is asked.
fn answered_by(connection: &dyn Transport, probe: &Probe) -> Option<ProbeOutput> {
    match probe {
        Probe::SshdVersion(_) => connection.server_id().and_then(sshd_daemon::version_from_server_id),
        _ => None,
    }
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
    use crate::collect::facts::sshd_daemon::{decode_version, Version};
    use crate::collect::facts::stat::Stat;
    use crate::transport::local::LocalTransport;
    use crate::transport::{ExecOutput, TransportError};
    use std::sync::Mutex;

    /// This machine behind an SSH server that said `id`: the scripts sent
    /// are kept.
    struct Identified {
        id: Option<&'static str>,
        scripts: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl Transport for Identified {
        async fn exec(&self, argv: &[String], stdin: &[u8], limits: ExecLimits) -> Result<ExecOutput, TransportError> {
            self.scripts
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(stdin).into_owned());
            LocalTransport.exec(argv, stdin, limits).await
        }

        fn server_id(&self) -> Option<&str> {
            self.id
        }

        async fn close(&self) {}
    }

    /// An OpenSSH server's identification string is the sshd version, and
    /// `sshd -V` is not run; any other server, or none, leaves the
    /// question to the host.
    #[tokio::test]
    async fn the_sshd_version_comes_from_an_openssh_servers_identification() {
        let mut probes = Probes::default();
        probes.add(Version);
        probes.add(Stat { path: "/".into() });
        let (host, probes) = (&Host::local_machine(), &probes);
        let ask = |id| async move {
            let conn = Identified {
                id,
                scripts: Mutex::new(Vec::new()),
            };
            let out = gather(&conn, host, probes, Duration::from_secs(30)).await.unwrap();
            let script = conn.scripts.lock().unwrap().concat();
            (out, script)
        };
        let (out, script) = ask(Some("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10")).await;
        assert_eq!(
            decode_version(&out[0]).unwrap().as_deref(),
            Some("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10")
        );
        assert!(!script.contains("\np_sshdv "), "{script}");
        assert!(matches!(out[1], ProbeOutput::Ok(_)), "{:?}", out[1]);
        let local = std::process::Command::new("sshd").arg("-V").output().unwrap();
        let local = String::from_utf8_lossy(&local.stderr).trim().to_string();
        for id in [Some("SSH-2.0-dropbear_2022.83"), None] {
            let (out, script) = ask(id).await;
            assert!(script.contains("\np_sshdv 0 "), "{script}");
            assert_eq!(
                decode_version(&out[0]).unwrap().as_deref(),
                Some(local.as_str()),
                "{id:?}"
            );
        }
    }

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
