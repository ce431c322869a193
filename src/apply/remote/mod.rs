//! The apply's remote protocol: the shell an apply runs on a host and the
//! answers it reads back, in one place. Like `collect/script.rs`, each
//! script is a prelude of shell functions ([`prelude`]) followed by one
//! call per operation, every value passed through [`crate::shell::quote`];
//! every answer is a line framed with the run's nonce ([`reply`]), so what
//! a login shell or a command prints is skipped, never parsed.
//!
//! On the host, a run keeps everything under `/var/backups/rectify/RUN_ID/`
//! (mode 0700):
//!
//! * `N` — a copy (`cp -p`: content, mode, owner, group, times) of the file
//!   operation N replaces or removes;
//! * `N.done` — operation N has started; only started operations are undone;
//! * `restore.sh` — undoes every started operation in reverse, runs the
//!   handlers, and checks each restored file byte for byte;
//! * `deadman.sh` — with a confirm timeout: sleeps, then runs `restore.sh`;
//! * `decided/` — created (atomically, by `mkdir`) by whoever settles the
//!   run: the controller confirming, the controller rolling back, or the
//!   dead-man timer. Exactly one of them wins; the others stand down;
//! * `committed`, `restored` or `restore-failed` — how it was settled.
//!
//! A per-host lock, the directory `/run/rectify.lock` holding the run id
//! (`run`), the change script's pid and start time (`pid`) and the names of
//! its candidates (`candidates`), keeps two transactions from interleaving
//! on one host. A later run takes over a lock whose holder is gone if that
//! run changed nothing (prelude's `stale`); the dead-man timer kills the
//! holder's process group before it restores.

mod change;
mod prelude;
pub mod reply;
mod restore;
mod settle;
pub mod unlock;

pub use change::change;
pub use reply::{Replies, Reply, Rollback, Settlement};
pub use settle::{rollback, settled, verify_and_confirm};

pub const LOCK_DIR: &str = "/run/rectify.lock";

pub fn backup_dir(run_id: &str) -> String {
    format!("/var/backups/rectify/{run_id}")
}

const HEADER: &str = "LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
umask 077
";

#[cfg(test)]
mod tests;
