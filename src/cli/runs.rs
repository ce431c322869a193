//! `rectify runs [--limit N]`: the run history, newest first.

use clap::Args;

use super::{exit, CliError};
use crate::state::StateDb;

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to list.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
}

pub fn exec(args: RunsArgs) -> Result<u8, CliError> {
    let db = StateDb::open_default().map_err(CliError::State)?;
    let rows = db.runs(args.limit).map_err(CliError::State)?;
    if rows.is_empty() {
        println!("no runs recorded yet");
        return Ok(exit::OK);
    }
    println!(
        "{:<24} {:<8} {:<24} {:>5} {:>9} {:>5} {:>5} {:>4}",
        "RUN", "KIND", "STARTED", "HOSTS", "COMPLIANT", "DRIFT", "ERROR", "EXIT"
    );
    for r in rows {
        println!(
            "{:<24} {:<8} {:<24} {:>5} {:>9} {:>5} {:>5} {:>4}",
            r.run_id, r.kind, r.started, r.hosts, r.compliant, r.drift, r.error, r.exit_code
        );
    }
    Ok(exit::OK)
}
