//! `rectify show RUN_ID [--format F]`: any past run, re-rendered offline.

use clap::Args;

use super::{exit, CliError};
use crate::report::Format;
use crate::state::StateDb;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run's id, as `rectify runs` lists it.
    pub run_id: String,

    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Show passing and skipped rules too.
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn exec(args: ShowArgs) -> Result<u8, CliError> {
    let db = StateDb::open_default().map_err(CliError::State)?;
    let Some(report) = db.load(&args.run_id).map_err(CliError::State)? else {
        let unfinished = db.unfinished().map_err(CliError::State)?;
        if let Some(run) = unfinished.iter().find(|r| r.run_id == args.run_id) {
            print!("{}", super::runs::describe_unfinished(run));
            return Ok(exit::UNREACHABLE);
        }
        return Err(CliError::Usage(format!(
            "no run {:?} in the state database (see `rectify runs`)",
            args.run_id
        )));
    };
    super::print_report(args.format, &report, args.verbose, true);
    Ok(exit::OK)
}
