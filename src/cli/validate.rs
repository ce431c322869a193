//! `rectify validate FILE...`

use std::path::PathBuf;

use clap::Args;

use super::{eprint_diagnostic, exit, Error};
use crate::validate::validate_file;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Inventories and baselines to check; the kind is detected from the content.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Checks every file and reports every problem; exit 2 if any.
pub fn exec(args: ValidateArgs) -> Result<u8, Error> {
    let mut failed = false;
    for path in &args.files {
        match validate_file(path) {
            Ok((kind, warnings)) => {
                // Warnings do not fail validation (exit 0): the file loads.
                for w in &warnings {
                    eprintln!("warning: {w}");
                }
                outln!("ok    {} ({})", path.display(), kind.as_str())
            }
            Err(errors) => {
                failed = true;
                for e in &errors.0 {
                    eprint_diagnostic(e);
                }
            }
        }
    }
    Ok(if failed { exit::BAD_INPUT } else { exit::OK })
}
