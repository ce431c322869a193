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
mod config_file;
pub mod conventions;
pub mod defaults;
pub mod export;
pub mod history;
pub mod list;
pub mod list_rules;
pub mod progress;
pub mod report_dir;
pub mod rollback;
pub mod runs;
pub mod selection;
pub mod serve;
pub mod show;
pub mod survey;
pub mod targets;
pub mod unlock;
pub mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::report::human::HumanOptions;
use crate::report::{Format, RunReport};

/// Audit and repair the configuration of remote machines over SSH.
#[derive(Debug, Parser)]
#[command(
    name = "rectify",
    version,
    about,
    max_term_width = 100,
    after_long_help = "Defaults: every option can be set in the environment as RECTIFY_<OPTION> \
(RECTIFY_FORKS=20), or for one command as RECTIFY_<COMMAND>_<OPTION> (RECTIFY_AUDIT_FORMAT=json), \
and in a TOML config file: /etc/rectify/config.toml, then ~/.config/rectify/config.toml \
($XDG_CONFIG_HOME/rectify/config.toml), or only the file --config FILE or RECTIFY_CONFIG names. \
Keys are the long option names, at the top or in a [COMMAND] table. \
The command line wins over the environment, the environment over the files."
)]
pub struct Cli {
    /// Read defaults from FILE only (TOML; instead of /etc/rectify/config.toml and ~/.config/rectify/config.toml).
    #[arg(long, global = true, value_name = "FILE", env = "RECTIFY_CONFIG", hide_env = true)]
    pub config: Option<std::path::PathBuf>,

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
    /// Ask every host the same question (file, setting, sysctl, package,
    /// command) and group hosts by answer, outliers first (read-only).
    Survey(survey::SurveyArgs),
    /// Check inventories, baselines and waiver files offline; never connects.
    Validate(validate::ValidateArgs),
    /// List what a run would work on (hosts, playbook steps) and browse
    /// content (rules, profiles); never connects.
    List(list::ListArgs),
    /// List recorded runs, newest first.
    Runs(runs::RunsArgs),
    /// Show a recorded run again, in any format.
    Show(show::ShowArgs),
    /// Per rule and per host over time: failures, recurring drift, compliance.
    Stats(history::StatsArgs),
    /// How a host's audited files changed between audits, as unified diffs.
    Changes(history::ChangesArgs),
    /// Serve the run history as a read-only web view (HTML, no script).
    Serve(serve::ServeArgs),
    /// Write the knowledge behind the baselines as pages for a team wiki (never connects).
    Export(export::ExportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(conventions::CompletionsArgs),
    /// Print the manual page (roff), or write every page into a directory.
    Man(conventions::ManArgs),
}

pub use crate::error::{exit, Error};
pub use selection::SelectionArgs;

impl Command {
    /// The connection options of a command that contacts hosts.
    fn connection(&self) -> Option<&targets::ConnectionArgs> {
        match self {
            Command::Audit(a) => Some(&a.connection),
            Command::Apply(a) => Some(&a.connection),
            Command::Fix(a) => Some(&a.connection),
            Command::Rollback(a) => Some(&a.connection),
            Command::Capture(a) => Some(&a.connection),
            Command::Survey(a) => Some(&a.connection),
            Command::Unlock(a) => Some(&a.connection),
            _ => None,
        }
    }
}

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
    crate::log::set_debug(cli.command.connection().is_some_and(|c| c.verbose >= 3));
    let nagios = cli.command.format() == Some(Format::Nagios);
    let result = runtime.block_on(dispatch(cli.command));
    // Hosts still in flight after an interrupted audit change nothing:
    // they are dropped, not awaited.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report_error(&e);
            // A monitoring check always gets its one line: UNKNOWN, exit 3.
            if nagios && !matches!(e, Error::BrokenPipe) {
                let _ = emit(&crate::report::nagios::unknown(&e.to_string()));
                return ExitCode::from(crate::report::nagios::PluginState::Unknown as u8);
            }
            ExitCode::from(e.code())
        }
    }
}

impl Command {
    /// The stdout format a command was given, if it takes one.
    pub fn format(&self) -> Option<Format> {
        match self {
            Command::Audit(a) => Some(a.output.format),
            Command::Apply(a) => Some(a.output.format),
            Command::Fix(a) => Some(a.output.format),
            Command::Rollback(a) => Some(a.output.format),
            Command::Show(a) => Some(a.format),
            _ => None,
        }
    }
}

/// Whether raw arguments ask for `--format nagios`: a usage error happens
/// before there is a parsed [`Cli`], and a check still owes its one line.
pub fn nagios_requested<S: AsRef<str>>(args: &[S]) -> bool {
    args.iter()
        .zip(args.iter().skip(1).map(Some).chain([None]))
        .any(|(a, next)| {
            let a = a.as_ref();
            a == "--format=nagios" || (a == "--format" && next.is_some_and(|n| n.as_ref() == "nagios"))
        })
}

/// A usage error (clap's) as a Nagios check reports it: one UNKNOWN line
/// on stdout, clap's own message on stderr, exit 3.
pub fn nagios_usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("usage error");
    let _ = emit(&crate::report::nagios::unknown(&format!(
        "usage: {}",
        first.trim_start_matches("error: ")
    )));
    ExitCode::from(crate::report::nagios::PluginState::Unknown as u8)
}

async fn dispatch(command: Command) -> Result<u8, Error> {
    match command {
        Command::Audit(args) => audit::exec(args).await,
        Command::Apply(args) => apply::exec(args).await,
        Command::Fix(args) => apply::exec_fix(args).await,
        Command::Rollback(args) => rollback::exec(args).await,
        Command::Unlock(args) => unlock::exec(args).await,
        Command::Capture(args) => capture::exec(args).await,
        Command::Survey(args) => survey::exec(args).await,
        Command::Validate(args) => validate::exec(args),
        Command::List(args) => list::exec(args),
        Command::Runs(args) => runs::exec(args),
        Command::Show(args) => show::exec(args),
        Command::Stats(args) => history::exec_stats(args),
        Command::Changes(args) => history::exec_changes(args),
        Command::Serve(args) => serve::exec(args).await,
        Command::Export(args) => export::exec(args),
        Command::Completions(args) => conventions::exec_completions(args),
        Command::Man(args) => conventions::exec_man(args),
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

    /// The `schedule` label of Prometheus metrics (default: the
    /// `prometheus=` report file's name without `.prom`; `default` on stdout).
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
}

impl Output {
    /// Checks, before any host is contacted, that every `--report` file can
    /// be written where [`deliver`] will write it: its directory made if
    /// missing ([`report_dir`]), a file created and removed in it, as the
    /// atomic write does, and the path not a directory. A directory part
    /// with `{date}`, `{time}` or `{run_id}` is only known after the run
    /// and is not checked (it is made when the report is written).
    pub fn check_writable(&self) -> Result<(), Error> {
        for (_, path) in &self.reports {
            let unwritable = |source| Error::Unwritable {
                path: path.display().to_string(),
                source,
            };
            let parent = report_dir::of(path);
            if parent.to_string_lossy().contains('{') {
                continue;
            }
            report_dir::create(parent).map_err(unwritable)?;
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

    /// The `schedule` label of Prometheus output written to `path` (stdout
    /// when `None`).
    fn schedule(&self, path: Option<&std::path::Path>) -> String {
        match (&self.schedule, path) {
            (Some(name), _) => name.clone(),
            (None, Some(path)) => crate::report::prometheus::schedule_from_path(path),
            (None, None) => crate::report::prometheus::DEFAULT_SCHEDULE.to_string(),
        }
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
    view: HumanOptions,
) -> Result<(), Error> {
    record(report, records);
    for (format, written) in &output.reports {
        let path = &dated(written, report);
        let write_error = |source| Error::Write {
            path: path.display().to_string(),
            source,
        };
        report_dir::create(report_dir::of(path)).map_err(write_error)?;
        // A report file is read later, by someone who was not there: the
        // detail of -v and every diff, whatever the terminal got.
        let options = HumanOptions {
            color: false,
            quiet: false,
            verbose: view.verbose.max(1),
            diff: true,
            fix_command: view.fix_command.clone(),
        };
        let text = match format {
            Format::Prometheus => crate::report::prometheus::render(report, &output.schedule(Some(written))),
            _ => format.render(report, options),
        };
        audit::write_atomically(path, text.as_bytes()).map_err(write_error)?;
    }
    if output.format == Format::Prometheus {
        return emit(&crate::report::prometheus::render(report, &output.schedule(None)));
    }
    print_report(output.format, report, view)
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
pub fn print_report(format: Format, report: &RunReport, view: HumanOptions) -> Result<(), Error> {
    use std::io::IsTerminal;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    emit(&format.render(report, HumanOptions { color, ..view }))
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
