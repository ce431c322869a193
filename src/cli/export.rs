//! `rectify export knowledge --out DIR [--format md|html|both]
//! -b BASELINE... | --profile FILE`: the knowledge pages for a team wiki.

use std::path::PathBuf;

use chrono::{SecondsFormat, Utc};
use clap::{Args, Subcommand, ValueEnum};

use super::{exit, Error, SelectionArgs};
use crate::knowledge::export::{files, Formats};
use crate::state::StateDb;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Per rule what it protects, how to check it by hand, how it is fixed,
    /// and where and when it came back, as Markdown and HTML pages.
    Knowledge(KnowledgeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KnowledgeFormat {
    Md,
    Html,
    Both,
}

#[derive(Debug, Args)]
pub struct KnowledgeArgs {
    /// Directory the pages are written into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    #[arg(long, value_enum, default_value = "both")]
    pub format: KnowledgeFormat,

    /// Baseline files to document (with --profile: added to its baselines).
    #[arg(short = 'b', long = "baseline", num_args = 1.., value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// How far back the history is read: a duration (365d, 12w) or a date.
    #[arg(long, default_value = "365d")]
    pub since: String,

    /// The state directory whose history is read (default: RECTIFY_STATE_DIR, else the XDG state home).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Pages without history: no state database is read.
    #[arg(long, conflicts_with = "state_dir")]
    pub no_history: bool,
}

pub fn exec(args: ExportArgs) -> Result<u8, Error> {
    match args.what {
        ExportCommand::Knowledge(a) => knowledge(a),
    }
}

fn knowledge(args: KnowledgeArgs) -> Result<u8, Error> {
    if args.baselines.is_empty() && args.selection.profile.is_none() {
        return Err(Error::Usage(
            "name baselines with -b or a profile with --profile".into(),
        ));
    }
    let baselines = args
        .selection
        .baselines(&args.baselines, crate::baseline::Remediations::Check)?;
    let stats = if args.no_history {
        None
    } else {
        let since = crate::history::since(&args.since, Utc::now())
            .map_err(|e| Error::Usage(format!("--since: {e}")))?
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let db = match &args.state_dir {
            Some(dir) => StateDb::open(dir)?,
            None => StateDb::open_default()?,
        };
        Some(crate::history::stats(&db.rule_history(&since)?, &since))
    };
    let pages = crate::knowledge::pages(&baselines, stats.as_ref());
    let formats = Formats {
        markdown: args.format != KnowledgeFormat::Html,
        html: args.format != KnowledgeFormat::Md,
    };
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.display().to_string(),
        source,
    })?;
    let written = files(&pages, formats);
    for (name, text) in &written {
        let path = out.join(name);
        super::audit::write_atomically(&path, text.as_bytes()).map_err(|source| Error::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    outln!(
        "wrote {} files into {}: {} rules",
        written.len(),
        out.display(),
        pages.len()
    );
    Ok(exit::OK)
}
