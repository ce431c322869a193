//! `rectify survey [TARGETS] --file P | --setting FILE:KEY | --sysctl K |
//! --package N | --command CMD`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use super::targets::{ConnectionArgs, TargetArgs};
use super::{progress, Error};
use crate::evaluate::CollectLimits;
use crate::ops;
use crate::survey::ask::SurveyPlan;
use crate::survey::{Grouped, Kind, Question, Survey};

/// What a survey prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SurveyFormat {
    /// Groups as `clush -b` prints them: outliers first, majority last.
    Human,
    /// The grouped survey (docs/survey.md).
    Json,
    /// The web view's HTML fragment.
    Html,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("question").required(true).multiple(false)))]
pub struct SurveyArgs {
    /// Ask for a file's whole content.
    #[arg(long, value_name = "PATH", group = "question")]
    pub file: Option<String>,

    /// Ask for a setting's value, FILE:KEY (an sshd configuration is read as sshd reads it, Includes followed).
    #[arg(long, value_name = "FILE:KEY", group = "question")]
    pub setting: Option<String>,

    /// Ask for a sysctl's live value.
    #[arg(long, value_name = "KEY", group = "question")]
    pub sysctl: Option<String>,

    /// Ask for a package's installed versions.
    #[arg(long, value_name = "NAME", group = "question")]
    pub package: Option<String>,

    /// Ask for a command's output and exit status; the command is run as given (`sh -c`), with the host's privileges.
    #[arg(long, value_name = "COMMAND", group = "question")]
    pub command: Option<String>,

    /// Withhold the answers: group the hosts, but show and store no answer
    /// (always so for /etc/shadow, private keys and the like).
    #[arg(long)]
    pub sensitive: bool,

    #[command(flatten)]
    pub targets: TargetArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: SurveyFormat,

    /// Also write a baseline whose one rule expects the majority's answer.
    #[arg(long, value_name = "OUT.yaml")]
    pub capture_baseline: Option<PathBuf>,

    /// Largest file (or sshd configuration) read from a host, in bytes;
    /// a bigger one is the answer `too large`.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_file_size: u64,

    /// Most bytes of a command's output kept; longer output is the answer `cut`.
    #[arg(long, default_value_t = 64 * 1024, value_name = "BYTES")]
    pub max_output: u64,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

impl SurveyArgs {
    fn question(&self) -> Question {
        let (kind, subject) = [
            (Kind::File, &self.file),
            (Kind::Setting, &self.setting),
            (Kind::Sysctl, &self.sysctl),
            (Kind::Package, &self.package),
            (Kind::Command, &self.command),
        ]
        .into_iter()
        .find_map(|(k, s)| s.as_ref().map(|s| (k, s.clone())))
        .expect("clap requires one question");
        Question { kind, subject }
    }
}

pub async fn exec(args: SurveyArgs) -> Result<u8, Error> {
    let question = args.question();
    let rule = question.rule().map_err(|e| Error::Usage(e.to_string()))?;
    let sensitive = args.sensitive || Question::sensitive_path(&rule);
    if sensitive && args.capture_baseline.is_some() {
        return Err(Error::Usage(
            "--capture-baseline: the answers are withheld (sensitive), there is nothing to capture".into(),
        ));
    }
    if let Some(out) = &args.capture_baseline {
        check_writable(out)?;
    }
    let hosts = args.targets.resolve()?;
    let conn = &args.connection;
    let _lock = conn.take_lock()?;
    let limits = CollectLimits {
        max_file: args.max_file_size,
        max_command_output: args.max_output,
        command_timeout: Duration::from_secs(conn.command_timeout),
    };
    let plan = SurveyPlan {
        hosts,
        question,
        rule,
        sensitive,
        limits,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
    };
    let bar = progress::bar(plan.hosts.len(), conn.progress());
    // Registered before any host is asked, so an early Ctrl-C is not lost.
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| Error::Write {
        path: "the SIGINT handler".into(),
        source: e,
    })?;
    let (tx, rx) = mpsc::unbounded_channel();
    let follower = tokio::spawn(progress::follow(bar, rx));
    let (stop, stopped) = watch::channel(false);
    let asking = ops::survey::survey(plan, Some(tx), Some(stopped));
    tokio::pin!(asking);
    let survey = loop {
        tokio::select! {
            survey = &mut asking => break survey,
            _ = interrupt.recv(), if !*stop.borrow() => {
                let _ = stop.send(true);
            }
        }
    };
    let _ = follower.await;
    let interrupted = *stop.borrow();
    let grouped = crate::survey::group(&survey);
    // Recorded before it is shown, as runs are: `show` reproduces it.
    if let Err(e) = ops::survey::record(&survey, &grouped) {
        eprintln!("warning: survey {} not recorded: {e}", survey.run_id);
    }
    print(&grouped, args.format, conn.verbose > 0)?;
    if interrupted {
        // What was asked is shown and recorded; nothing is captured from
        // a partial survey.
        eprintln!("interrupted: the hosts not asked are shown as not reached");
        return Ok(super::exit::INTERRUPTED);
    }
    if let Some(out) = &args.capture_baseline {
        capture(&survey, &grouped, out)?;
    }
    Ok(grouped.exit_code)
}

/// Prints a grouped survey in `format`.
pub fn print(grouped: &Grouped, format: SurveyFormat, verbose: bool) -> Result<(), Error> {
    super::emit(&match format {
        SurveyFormat::Human => crate::survey::text::render(grouped, verbose),
        SurveyFormat::Json => serde_json::to_string_pretty(grouped).expect("a survey serializes") + "\n",
        SurveyFormat::Html => crate::survey::html::survey_html(grouped),
    })
}

/// Fails before any host is contacted when OUT cannot be written.
fn check_writable(out: &std::path::Path) -> Result<(), Error> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if out.is_dir() || !dir.is_dir() {
        return Err(Error::Unwritable {
            path: out.display().to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    Ok(())
}

fn capture(survey: &Survey, grouped: &Grouped, out: &std::path::Path) -> Result<(), Error> {
    let yaml = crate::survey::capture::majority_baseline(survey, grouped)
        .map_err(|e| Error::Usage(format!("--capture-baseline: {e}")))?;
    super::audit::write_atomically(out, yaml.as_bytes()).map_err(|source| Error::Write {
        path: out.display().to_string(),
        source,
    })?;
    // What was written must load: a captured value the loader refuses is a bug here.
    crate::baseline::Baseline::load(out)?;
    let majority = grouped.majority().map_or(0, |g| g.count);
    eprintln!(
        "wrote {}: the answer of {} of {} hosts",
        out.display(),
        majority,
        grouped.hosts
    );
    Ok(())
}
