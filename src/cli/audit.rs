//! `rectify audit -b BASELINE... [TARGETS]`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use super::targets::{ConnectionArgs, TargetArgs};
use super::{exit, progress, Error, Output};
use crate::audit::AuditPlan;
use crate::baseline::Baseline;
use crate::evaluate::CollectLimits;
use crate::inventory::Host;
use crate::ops;
use crate::report::{Format, RunReport};
use crate::waiver::Waiver;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Baseline files to check hosts against.
    #[arg(short = 'b', long = "baseline", required_unless_present = "profile", num_args = 1.., value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,

    #[command(flatten)]
    pub targets: TargetArgs,

    /// Waivers file: accepted exceptions, which count as compliant until they expire.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,

    #[command(flatten)]
    pub output: Output,

    /// Largest file read from a host, in bytes; a bigger one is an `error` result.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_file_size: u64,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub fn parse_report_target(text: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = text.split_once('=').ok_or("expected FORMAT=PATH, e.g. junit=out.xml")?;
    let format =
        <Format as clap::ValueEnum>::from_str(format, true).map_err(|_| format!("unknown report format {format:?}"))?;
    if path.is_empty() {
        return Err("empty PATH".into());
    }
    Ok((format, PathBuf::from(path)))
}

pub async fn exec(args: AuditArgs) -> Result<u8, Error> {
    // Problems in the baselines, the tailoring and the waivers are all
    // reported at once.
    let (baselines, waivers) = match (
        args.selection.baselines(&args.baselines),
        ops::audit::load_inputs(&[], args.waivers.as_deref()),
    ) {
        (Ok(b), Ok((_, w))) => (b, w),
        (Err(Error::Config(mut a)), Err(Error::Config(b))) => {
            a.0.extend(b.0);
            return Err(Error::Config(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let hosts = args.targets.resolve()?;
    let conn = &args.connection;
    args.output.check_writable()?;
    let _lock = conn.take_lock()?;
    let limits = CollectLimits {
        max_file: args.max_file_size,
        command_timeout: Duration::from_secs(conn.command_timeout),
        ..CollectLimits::default()
    };
    let Some(report) = run_audit_with(hosts, baselines, waivers, conn, limits).await else {
        eprintln!("interrupted: nothing was changed");
        return Ok(exit::INTERRUPTED);
    };
    for warning in report.hosts.iter().flat_map(|h| &h.warnings) {
        eprintln!("warning: {warning}");
    }
    super::deliver(&report, &[], &args.output, conn.verbose, false)?;
    Ok(args.output.exit_code(&report))
}

/// Audits `hosts` with a progress bar; `None` when interrupted.
pub async fn run_audit(
    hosts: Vec<Host>,
    baselines: Vec<Baseline>,
    waivers: Vec<Waiver>,
    conn: &ConnectionArgs,
) -> Option<RunReport> {
    let limits = CollectLimits {
        command_timeout: Duration::from_secs(conn.command_timeout),
        ..CollectLimits::default()
    };
    run_audit_with(hosts, baselines, waivers, conn, limits).await
}

async fn run_audit_with(
    hosts: Vec<Host>,
    baselines: Vec<Baseline>,
    waivers: Vec<Waiver>,
    conn: &ConnectionArgs,
    limits: CollectLimits,
) -> Option<RunReport> {
    let plan = AuditPlan {
        hosts,
        baselines,
        limits,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
        waivers,
    };
    let bar = progress::bar(plan.hosts.len(), !conn.no_progress && !conn.quiet);
    // Registered before any host task starts, so an early Ctrl-C is not lost.
    let mut interrupt = match signal(SignalKind::interrupt()) {
        Ok(interrupt) => interrupt,
        Err(e) => {
            eprintln!("error: cannot install the SIGINT handler: {e}");
            return None;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let follower = tokio::spawn(progress::follow(bar.clone(), rx));
    let report = tokio::select! {
        report = ops::audit::audit(plan, Some(tx)) => Some(report),
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
}

/// Writes next to the target, then renames: a reader (node_exporter, a CI
/// job, a web server) never sees half a report.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
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
