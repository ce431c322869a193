//! `--local`: the same commands, run on this machine without SSH.

use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{ExecLimits, ExecOutput, Transport, TransportError};

pub struct LocalTransport;

#[async_trait]
impl Transport for LocalTransport {
    async fn exec(&self, argv: &[String], stdin: &[u8], limits: ExecLimits) -> Result<ExecOutput, TransportError> {
        let (program, args) = argv.split_first().expect("a command has a program");
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(TransportError::Local)?;
        let mut input = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdin = stdin.to_vec();
        let run = async move {
            let write = async move {
                // A script that exits early closes its stdin; that is not our error.
                let _ = input.write_all(&stdin).await;
                drop(input);
            };
            let (_, out, err) = tokio::join!(
                write,
                read_bounded(stdout, limits.max_stdout),
                read_bounded(stderr, limits.max_stderr)
            );
            let status = child.wait().await.map_err(TransportError::Local)?;
            Ok::<_, TransportError>(ExecOutput {
                stdout: out?,
                stderr: err?,
                exit_status: status.code().map(|c| c as u32),
            })
        };
        tokio::time::timeout(limits.timeout, run)
            .await
            .map_err(|_| TransportError::CommandTimeout(limits.timeout))?
    }

    async fn close(&self) {}
}

async fn read_bounded(mut reader: impl AsyncRead + Unpin, limit: usize) -> Result<Vec<u8>, TransportError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut chunk).await.map_err(TransportError::Local)?;
        if n == 0 {
            return Ok(buf);
        }
        if buf.len() + n > limit {
            return Err(TransportError::OutputTooLarge { limit });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
