//! `rectify audit -b BASELINE... [TARGETS]`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, progress, CliError};
use crate::audit::{self, AuditPlan};
use crate::baseline::Baseline;
use crate::config_error::ConfigErrors;
use crate::evaluate::CollectLimits;
use crate::report::human::HumanOptions;
use crate::report::Format;
use crate::state::StateDb;
use crate::waiver::Waiver;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Baseline files to check hosts against.
    #[arg(short = 'b', long = "baseline", required = true, num_args = 1.., value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub targets: TargetArgs,

    /// Waivers file: accepted exceptions, which count as compliant until they expire.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,

    /// Report format written to stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Also write a report file, FORMAT=PATH (e.g. junit=out.xml); repeatable.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report_target)]
    pub reports: Vec<(Format, PathBuf)>,

    /// Largest file read from a host, in bytes; a bigger one is an `error` result.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_file_size: u64,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

fn parse_report_target(text: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = text.split_once('=').ok_or("expected FORMAT=PATH, e.g. junit=out.xml")?;
    let format =
        <Format as clap::ValueEnum>::from_str(format, true).map_err(|_| format!("unknown report format {format:?}"))?;
    if path.is_empty() {
        return Err("empty PATH".into());
    }
    Ok((format, PathBuf::from(path)))
}

pub fn exec(args: AuditArgs) -> Result<u8, CliError> {
    // Everything that can be wrong with the input is found before any host
    // is contacted (SPEC: exit 2, nothing contacted).
    let mut errors = ConfigErrors::default();
    let mut baselines = Vec::new();
    for path in &args.baselines {
        match Baseline::load(path) {
            Ok(b) => baselines.push(b),
            Err(mut e) => errors.0.append(&mut e.0),
        }
    }
    let waivers = match &args.waivers {
        Some(path) => Waiver::load_file(path).unwrap_or_else(|mut e| {
            errors.0.append(&mut e.0);
            Vec::new()
        }),
        None => Vec::new(),
    };
    if !errors.0.is_empty() {
        return Err(CliError::Config(errors));
    }
    let hosts = args.targets.resolve()?;
    let conn = &args.connection;

    let plan = AuditPlan {
        hosts,
        baselines,
        limits: CollectLimits {
            max_file: args.max_file_size,
            command_timeout: Duration::from_secs(conn.command_timeout),
            ..CollectLimits::default()
        },
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
        waivers,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let bar = progress::bar(plan.hosts.len(), !conn.no_progress && !conn.quiet);
    let report = runtime.block_on(async {
        // Registered before any host task starts, so an early Ctrl-C is not lost.
        let mut interrupt = signal(SignalKind::interrupt()).expect("install SIGINT handler");
        let (tx, rx) = mpsc::unbounded_channel();
        let follower = tokio::spawn(progress::follow(bar.clone(), rx));
        let report = tokio::select! {
            report = audit::run(plan, Some(tx)) => Some(report),
            _ = interrupt.recv() => None,
        };
        if report.is_some() {
            let _ = follower.await;
        } else {
            // Hosts still in flight hold the event channel open; an audit
            // changes nothing, so there is nothing to wait for.
            follower.abort();
            bar.finish_and_clear();
        }
        report
    });
    runtime.shutdown_background();
    let Some(report) = report else {
        eprintln!("interrupted: nothing was changed");
        return Ok(exit::INTERRUPTED);
    };

    // The run is recorded before anything is printed, so `show` can always
    // reproduce what the operator saw. A state problem is loud but does not
    // change the audit's verdict.
    match StateDb::open_default().and_then(|mut db| db.record(&report)) {
        Ok(()) => {}
        Err(e) => eprintln!("warning: run {} not recorded: {e}", report.run_id),
    }
    for warning in report.hosts.iter().flat_map(|h| &h.warnings) {
        eprintln!("warning: {warning}");
    }
    for (format, path) in &args.reports {
        let text = format.render(
            &report,
            HumanOptions {
                color: false,
                verbose: true,
            },
        );
        write_atomically(path, text.as_bytes()).map_err(|source| CliError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    super::print_report(args.format, &report, conn.verbose);
    // A Nagios plugin is judged by its exit code: use the plugin's codes.
    if args.format == Format::Nagios {
        return Ok(crate::report::nagios::state(&report) as u8);
    }
    Ok(report.exit_code() as u8)
}

/// Writes next to the target, then renames: a reader (node_exporter, a CI
/// job, a web server) never sees half a report.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.rectify-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
