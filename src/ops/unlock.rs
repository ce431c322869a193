//! `rectify unlock`: on each host, free the apply lock if no live run
//! holds it (the script and its rules are in `apply::remote::unlock`),
//! `forks` hosts at a time so that a dead one delays no other, reporting
//! per host what was found, in the order given.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use crate::apply::remote::unlock::{parse, unlock as script, Unlocked};
use crate::inventory::Host;
use crate::run_id::new_run_id;
use crate::transport::{one_line, privileged, ConnectOptions, Connector, ExecLimits};

#[derive(Clone)]
pub struct UnlockOptions {
    pub connect: ConnectOptions,
    /// Hosts worked on at once.
    pub forks: usize,
    pub command_timeout: Duration,
    /// Run the `restore.sh` of a run that changed the host and was never
    /// settled, instead of refusing.
    pub restore: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error("{0}")]
    Connect(String),
    #[error(transparent)]
    Quote(#[from] crate::shell::QuoteError),
    #[error("no answer from the unlock script ({0})")]
    NoAnswer(String),
}

/// What each host said, in the order given.
pub async fn unlock(hosts: &[Host], options: &UnlockOptions) -> Vec<(String, Result<Unlocked, UnlockError>)> {
    let connector = Arc::new(Connector::new(options.connect.clone()));
    let slots = Arc::new(tokio::sync::Semaphore::new(options.forks.max(1)));
    let tasks: Vec<_> = hosts
        .iter()
        .map(|host| {
            let (connector, slots, host, options) = (connector.clone(), slots.clone(), host.clone(), options.clone());
            tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                one(&connector, &host, &options).await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(hosts.len());
    for (host, task) in hosts.iter().zip(tasks) {
        let result = task
            .await
            .unwrap_or_else(|e| Err(UnlockError::Connect(format!("internal error: {e}"))));
        out.push((host.name.clone(), result));
    }
    out
}

async fn one(connector: &Connector, host: &Host, options: &UnlockOptions) -> Result<Unlocked, UnlockError> {
    let conn = connector
        .connect(host)
        .await
        .map_err(|e| UnlockError::Connect(one_line(&e)))?;
    let nonce = format!("{:032x}", rand::rng().random::<u128>());
    let text = script(&new_run_id(Utc::now()), &nonce, options.restore)?;
    let limits = ExecLimits {
        timeout: options.command_timeout,
        max_stdout: 64 * 1024,
        max_stderr: 64 * 1024,
    };
    let result = conn
        .exec(&privileged(host.become_, &["sh", "-s"]), text.as_bytes(), limits)
        .await;
    conn.close().await;
    let output = result.map_err(|e| UnlockError::Connect(one_line(&e)))?;
    parse(&output.stdout, &nonce).ok_or_else(|| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        UnlockError::NoAnswer(format!(
            "exit {}{}{}",
            output
                .exit_status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "killed".into()),
            if hint.is_empty() { "" } else { ": " },
            hint.chars().take(200).collect::<String>()
        ))
    })
}
