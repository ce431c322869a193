//! `rectify completions SHELL` and `rectify man`: generated from the same
//! clap definition that parses the command line, so they never disagree
//! with it.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::{exit, Cli, Error};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page of this command (`rectify man audit` is rectify-audit(1)); default: rectify(1).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// Write rectify.1 and a page per command (rectify-audit.1, ...) into DIR instead of printing.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub dir: Option<PathBuf>,
}

pub fn exec_completions(args: CompletionsArgs) -> Result<u8, Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "rectify", &mut script);
    super::emit(&String::from_utf8_lossy(&script))?;
    Ok(exit::OK)
}

pub fn exec_man(args: ManArgs) -> Result<u8, Error> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = args.dir {
        return clap_mangen::generate_to(cmd, &dir)
            .map(|()| exit::OK)
            .map_err(|source| Error::Write {
                path: dir.display().to_string(),
                source,
            });
    }
    let page = match &args.command {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name).cloned() else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                return Err(Error::Usage(format!(
                    "no command {name:?}; one of: {}",
                    names.join(", ")
                )));
            };
            sub
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|source| Error::Write {
            path: "stdout".into(),
            source,
        })?;
    super::emit(&String::from_utf8_lossy(&roff))?;
    Ok(exit::OK)
}
