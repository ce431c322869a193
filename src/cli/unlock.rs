//! `rectify unlock [TARGETS] [--restore]`: free each host's apply lock
//! when no live run holds it; otherwise say who holds it and why it stays.

use std::time::Duration;

use clap::Args;

use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, Error};
use crate::apply::remote::unlock::Unlocked;
use crate::apply::remote::{backup_dir, LOCK_DIR};
use crate::ops::unlock::{unlock, UnlockOptions};

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub targets: TargetArgs,

    /// For a run that started changing the host and was never settled (no
    /// live process, no dead-man timer): run its restore.sh, which puts the
    /// host back as it was before that run and frees the lock.
    #[arg(long)]
    pub restore: bool,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub async fn exec(args: UnlockArgs) -> Result<u8, Error> {
    if args.targets.inventory.is_none() && args.targets.targets.is_empty() && !args.targets.local {
        return Err(Error::Usage(
            "which hosts? give -i INVENTORY (with --limit), -t HOST or --local".into(),
        ));
    }
    let hosts = args.targets.resolve()?;
    let options = UnlockOptions {
        connect: args.connection.connect_options(),
        forks: args.connection.forks as usize,
        command_timeout: Duration::from_secs(args.connection.command_timeout),
        restore: args.restore,
    };
    let mut code = exit::OK;
    for (host, result) in unlock(&hosts, &options).await {
        let (line, host_code) = match result {
            Ok(found) => describe(&found),
            Err(e) => (format!("error: {e}"), exit::UNREACHABLE),
        };
        outln!("{host}: {line}");
        code = code.max(host_code);
    }
    Ok(code)
}

/// One host's line, and the exit code it calls for: 0 the host is free, 1
/// its lock stays (or its restore failed).
fn describe(found: &Unlocked) -> (String, u8) {
    match found {
        Unlocked::Free => ("not locked".into(), exit::OK),
        Unlocked::TakenOver(run) => (
            format!("freed the lock of run {run}: its process is gone and it changed nothing (its temp files removed)"),
            exit::OK,
        ),
        Unlocked::Restored { run, rc: 0 } => (
            format!("ran run {run}'s restore.sh: the host is as before that run, the lock is free"),
            exit::OK,
        ),
        Unlocked::Restored { run, rc } => (
            format!(
                "run {run}'s restore.sh FAILED (exit {rc}); see {}/restore.log; the lock is left",
                backup_dir(run)
            ),
            1,
        ),
        Unlocked::Held { run, pid, command } => (
            format!("locked by run {run}, whose process {pid} is alive ({command}); not unlocking"),
            1,
        ),
        Unlocked::Timer(run) => (
            format!("locked by run {run}, whose dead-man timer is alive and will settle it; not unlocking"),
            1,
        ),
        Unlocked::Unsettled(run) => (
            format!(
                "locked by run {run}, which started changing the host and was never settled; not unlocking \
                 (--restore runs its {}/restore.sh)",
                backup_dir(run)
            ),
            1,
        ),
        Unlocked::Unknown(run) => {
            (
                format!(
                "{LOCK_DIR} names no run or no process{}; not unlocking (remove it by hand once no rectify runs there)",
                if run.is_empty() { String::new() } else { format!(" (run {run})") }
            ),
                1,
            )
        }
    }
}
