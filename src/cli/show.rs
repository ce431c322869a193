//! `rectify show RUN_ID [--format F]`: any past run, re-rendered offline.

use clap::Args;

use super::{exit, Error};
use crate::ops::history::Shown;
use crate::report::Format;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run: its id as `rectify runs` lists it, a unique prefix of it (or of its part after `-`), `last` or `last-KIND`.
    pub run_id: String,

    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Show passing and skipped rules too (-v), and each host's time (-vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

pub fn exec(args: ShowArgs) -> Result<u8, Error> {
    match crate::ops::history::show(&args.run_id)? {
        Shown::Recorded(report) => {
            let view = crate::report::human::HumanOptions {
                verbose: args.verbose,
                diff: true,
                ..Default::default()
            };
            super::print_report(args.format, &report, view)?;
            Ok(exit::OK)
        }
        Shown::Survey(survey) => {
            use super::survey::SurveyFormat;
            let format = match args.format {
                Format::Human => SurveyFormat::Human,
                Format::Json => SurveyFormat::Json,
                Format::Html => SurveyFormat::Html,
                other => {
                    let name = clap::ValueEnum::to_possible_value(&other)
                        .map(|v| v.get_name().to_string())
                        .unwrap_or_default();
                    return Err(Error::Usage(format!(
                        "run {} is a survey: it shows as human, json or html, not {name}",
                        survey.run_id
                    )));
                }
            };
            let grouped = crate::survey::group(&survey);
            super::survey::print(&grouped, format, args.verbose > 0)?;
            Ok(exit::OK)
        }
        Shown::Unfinished(run) => {
            super::emit(&super::runs::describe_unfinished(&run))?;
            Ok(exit::UNREACHABLE)
        }
    }
}
