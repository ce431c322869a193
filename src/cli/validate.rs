//! `rectify validate FILE...`

use std::path::PathBuf;

use clap::Args;

use super::{eprint_diagnostic, exit, Error};
use crate::validate::{validate_file, FileKind};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Inventories and baselines to check; the kind is detected from the content.
    #[arg(required_unless_present_any = ["profile", "tailoring"], value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// With --tailoring: checked against the profile's baselines and the baseline FILEs.
    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,
}

/// Checks every file and reports every problem; exit 2 if any.
pub fn exec(args: ValidateArgs) -> Result<u8, Error> {
    let mut failed = false;
    let mut baselines = Vec::new();
    for path in &args.files {
        match validate_file(path) {
            Ok((kind, warnings)) => {
                if kind == FileKind::Baseline {
                    baselines.push(path.clone());
                }
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
    // The profile and tailoring as a run would use them, against the
    // baselines that loaded: a tailoring naming an unknown rule fails here.
    let s = &args.selection;
    if s.profile.is_some() || s.tailoring.is_some() {
        match s.baselines(&baselines, crate::baseline::Remediations::Check) {
            Ok(loaded) => {
                let rules = loaded.iter().flat_map(|b| &b.rules);
                let out = rules.clone().filter(|r| r.excluded.is_some()).count();
                let what = [&s.profile, &s.tailoring]
                    .into_iter()
                    .flatten()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" + ");
                outln!("ok    {what} ({} rules run, {out} left out)", rules.count() - out);
            }
            Err(Error::Config(errors)) => {
                failed = true;
                for e in &errors.0 {
                    eprint_diagnostic(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if failed { exit::BAD_INPUT } else { exit::OK })
}
