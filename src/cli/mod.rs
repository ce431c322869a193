//! The command line: parses arguments, calls the library, prints. It
//! decides nothing about hosts or rules itself.

pub mod audit;
pub mod progress;
pub mod runs;
pub mod show;
pub mod targets;
pub mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config_error::ConfigErrors;

/// Audit and repair the configuration of remote machines over SSH.
#[derive(Debug, Parser)]
#[command(name = "rectify", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare hosts with baselines and report drift (read-only).
    Audit(audit::AuditArgs),
    /// Check inventories, baselines and waiver files offline; never connects.
    Validate(validate::ValidateArgs),
    /// List recorded runs, newest first.
    Runs(runs::RunsArgs),
    /// Show a recorded run again, in any format.
    Show(show::ShowArgs),
}

/// SPEC exit codes shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    pub const BAD_INPUT: u8 = 2;
    pub const INTERRUPTED: u8 = 130;
}

/// Errors that end a command before any host is contacted.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error(transparent)]
    State(crate::state::StateError),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => exit::BAD_INPUT,
            CliError::Write { .. } | CliError::State(_) => 1,
        }
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Audit(args) => audit::exec(args),
        Command::Validate(args) => validate::exec(args),
        Command::Runs(args) => runs::exec(args),
        Command::Show(args) => show::exec(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report_error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints a report to stdout, in colour only on a terminal without NO_COLOR.
pub fn print_report(format: crate::report::Format, report: &crate::report::RunReport, verbose: bool) {
    use std::io::IsTerminal;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let options = crate::report::human::HumanOptions { color, verbose };
    print!("{}", format.render(report, options));
}

/// Prints an error once, as `error: file:line:col: message` followed by the
/// offending source line when there is one.
pub fn report_error(e: &CliError) {
    match e {
        CliError::Config(errors) => {
            for err in &errors.0 {
                eprint_diagnostic(err);
            }
        }
        other => eprintln!("error: {other}"),
    }
}

fn eprint_diagnostic(err: &crate::config_error::ConfigError) {
    let handler = miette::GraphicalReportHandler::new_themed(if console::colors_enabled_stderr() {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    .with_context_lines(1);
    let mut out = String::new();
    if handler.render_report(&mut out, err).is_ok() {
        eprint!("error: {out}");
    } else {
        eprintln!("error: {err}");
    }
}
