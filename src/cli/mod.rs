//! The command line: parses arguments, calls the library, prints. It
//! decides nothing about hosts or rules itself.
//!
//! Everything for stdout goes through [`emit`] (or `outln!`), never
//! `println!`: `println!` panics (exit 101) when the reader of a pipe has
//! gone (`rectify runs | head -1`). A closed stdout ends the command
//! quietly with exit 141, what the shell reports for a tool SIGPIPE ended.
//! rectify does not restore SIGPIPE's default action instead: the signal
//! would also kill it on a write to any other closed pipe (a ProxyCommand
//! or a local command that exited early), mid-apply, before it could roll
//! hosts back or record the run.

/// `println!` for stdout through [`emit`]: returns `Err(Error::BrokenPipe)`
/// from the enclosing function when stdout's reader has gone.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::emit(&format!("{}\n", format_args!($($arg)*)))?
    };
}

pub mod apply;
pub mod audit;
pub mod capture;
pub mod history;
pub mod progress;
pub mod rollback;
pub mod runs;
pub mod show;
pub mod targets;
pub mod unlock;
pub mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::report::human::HumanOptions;
use crate::report::{Format, RunReport};

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
    /// Apply a playbook: per host one transaction with backup, verification and rollback.
    Apply(apply::ApplyArgs),
    /// Audit, apply the remediation playbooks of failing rules where they fail, audit again.
    Fix(apply::FixArgs),
    /// Undo what an apply run changed, from its recorded backups.
    Rollback(rollback::RollbackArgs),
    /// Free a host's apply lock that no live run holds; say who holds one that stays.
    Unlock(unlock::UnlockArgs),
    /// Write a baseline whose expectations are a golden host's live values.
    Capture(capture::CaptureArgs),
    /// Check inventories, baselines and waiver files offline; never connects.
    Validate(validate::ValidateArgs),
    /// List recorded runs, newest first.
    Runs(runs::RunsArgs),
    /// Show a recorded run again, in any format.
    Show(show::ShowArgs),
    /// Per rule and per host over time: failures, recurring drift, compliance.
    Stats(history::StatsArgs),
    /// How a host's audited files changed between audits, as unified diffs.
    Changes(history::ChangesArgs),
}

pub use crate::error::{exit, Error};

/// Runs the command on the one tokio runtime of the process; every command
/// below is async or plain.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(dispatch(cli.command));
    // Hosts still in flight after an interrupted audit change nothing:
    // they are dropped, not awaited.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report_error(&e);
            ExitCode::from(e.code())
        }
    }
}

async fn dispatch(command: Command) -> Result<u8, Error> {
    match command {
        Command::Audit(args) => audit::exec(args).await,
        Command::Apply(args) => apply::exec(args).await,
        Command::Fix(args) => apply::exec_fix(args).await,
        Command::Rollback(args) => rollback::exec(args).await,
        Command::Unlock(args) => unlock::exec(args).await,
        Command::Capture(args) => capture::exec(args).await,
        Command::Validate(args) => validate::exec(args),
        Command::Runs(args) => runs::exec(args),
        Command::Show(args) => show::exec(args),
        Command::Stats(args) => history::exec_stats(args),
        Command::Changes(args) => history::exec_changes(args),
    }
}

/// Report options shared by every command that produces a run.
#[derive(Debug, clap::Args)]
pub struct Output {
    /// Report format written to stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Also write a report file, FORMAT=PATH (e.g. junit=out.xml); repeatable.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = audit::parse_report_target)]
    pub reports: Vec<(Format, std::path::PathBuf)>,
}

impl Output {
    /// Checks, before any host is contacted, that every `--report` file can
    /// be written where [`deliver`] will write it: a file created and
    /// removed in its directory, as the atomic write does, and the path not
    /// a directory. A directory part with `{date}`, `{time}` or `{run_id}`
    /// is only known after the run and is not checked.
    pub fn check_writable(&self) -> Result<(), Error> {
        for (_, path) in &self.reports {
            let unwritable = |source| Error::Unwritable {
                path: path.display().to_string(),
                source,
            };
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            if parent.to_string_lossy().contains('{') {
                continue;
            }
            if path.is_dir() {
                return Err(unwritable(std::io::Error::from(std::io::ErrorKind::IsADirectory)));
            }
            let probe = parent.join(format!(".rectify-check-{}", std::process::id()));
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
                .map_err(unwritable)?;
            let _ = std::fs::remove_file(&probe);
        }
        Ok(())
    }

    /// The run's exit code; a Nagios plugin is judged by the plugin codes.
    pub fn exit_code(&self, report: &RunReport) -> u8 {
        if self.format == Format::Nagios {
            crate::report::nagios::state(report) as u8
        } else {
            report.exit_code() as u8
        }
    }
}

/// Records the run, then writes report files and prints the report: the
/// run is in the state database before anything is shown, so `show` can
/// always reproduce what the operator saw. A state problem is loud but does
/// not change the run's verdict.
pub fn deliver(
    report: &RunReport,
    records: &[(String, crate::apply::TxRecord)],
    output: &Output,
    verbose: bool,
    diff: bool,
) -> Result<(), Error> {
    record(report, records);
    for (format, path) in &output.reports {
        let path = &dated(path, report);
        let options = HumanOptions {
            color: false,
            verbose: true,
            diff: true,
        };
        audit::write_atomically(path, format.render(report, options).as_bytes()).map_err(|source| Error::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    print_report(output.format, report, verbose, diff)
}

/// `{date}`, `{time}` and `{run_id}` in a report path become the run's
/// start (UTC) and id, for dated report names without `%` (which cron
/// treats specially).
fn dated(path: &std::path::Path, report: &RunReport) -> std::path::PathBuf {
    let text = path.to_string_lossy();
    if !text.contains('{') {
        return path.to_path_buf();
    }
    std::path::PathBuf::from(
        text.replace("{date}", &report.started.format("%Y-%m-%d").to_string())
            .replace("{time}", &report.started.format("%H%M%S").to_string())
            .replace("{run_id}", &report.run_id),
    )
}

/// Records a run in the state database, warning when that fails.
pub fn record(report: &RunReport, records: &[(String, crate::apply::TxRecord)]) {
    if let Err(e) = crate::ops::record(report, records) {
        eprintln!("warning: run {} not recorded: {e}", report.run_id);
    }
}

/// Prints a report to stdout, in colour only on a terminal without NO_COLOR.
pub fn print_report(format: Format, report: &RunReport, verbose: bool, diff: bool) -> Result<(), Error> {
    use std::io::IsTerminal;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let options = HumanOptions { color, verbose, diff };
    emit(&format.render(report, options))
}

/// Writes `text` to stdout. A reader that has gone is `Error::BrokenPipe`
/// (a quiet exit 141), any other failure a write error naming stdout.
pub fn emit(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::BrokenPipe {
                Error::BrokenPipe
            } else {
                Error::Write {
                    path: "stdout".into(),
                    source,
                }
            }
        })
}

/// Prints an error once, as `error: file:line:col: message` followed by the
/// offending source line when there is one.
pub fn report_error(e: &Error) {
    match e {
        Error::Config(errors) => {
            for err in &errors.0 {
                eprint_diagnostic(err);
            }
        }
        // The reader of stdout has gone: nobody is left to tell.
        Error::BrokenPipe => {}
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
