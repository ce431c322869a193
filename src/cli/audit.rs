//! `rectify audit -b BASELINE... [TARGETS]`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

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

    #[command(flatten)]
    pub select: super::selection::SelectArgs,

    /// Set a var for the baselines' expectations: KEY=VALUE (repeatable; wins over inventory and baseline vars).
    #[arg(short = 'e', long = "extra-var", value_name = "KEY=VALUE", value_parser = super::apply::parse_var)]
    pub extra: Vec<(String, String)>,

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

    /// Try a host whose connection timed out or was refused up to N more
    /// times, each round after every other host is done.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
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
    let (mut baselines, waivers) = match (
        args.selection
            .baselines(&args.baselines, crate::baseline::Remediations::Ignore),
        ops::audit::load_inputs(&[], args.waivers.as_deref()),
    ) {
        (Ok(b), Ok((_, w))) => (b, w),
        (Err(Error::Config(mut a)), Err(Error::Config(b))) => {
            a.0.extend(b.0);
            return Err(Error::Config(a));
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    args.select.narrow(&mut baselines)?;
    let mut hosts = args.targets.resolve()?;
    let extra = super::apply::extra_vars(&args.extra);
    for host in &mut hosts {
        host.override_vars(&extra);
    }
    let conn = &args.connection;
    args.output.check_writable()?;
    let _lock = conn.take_lock()?;
    let limits = CollectLimits {
        max_file: args.max_file_size,
        command_timeout: Duration::from_secs(conn.command_timeout),
        ..CollectLimits::default()
    };
    let Some(report) = run_audit_with(hosts, baselines, waivers, conn, limits, args.retries).await else {
        return Ok(exit::INTERRUPTED);
    };
    if report.summary.interrupted > 0 {
        // The finished hosts are reported and recorded; exit 130 (the
        // report's exit code), or UNKNOWN for a Nagios check.
        eprintln!(
            "interrupted: {} of {} hosts not audited; the report lists the hosts that finished",
            report.summary.interrupted, report.summary.hosts
        );
    }
    for warning in report.hosts.iter().flat_map(|h| &h.warnings) {
        eprintln!("warning: {warning}");
    }
    let view = crate::report::human::HumanOptions {
        fix_command: fix_command(&args),
        ..conn.view(false)
    };
    super::deliver(&report, &[], &args.output, view)?;
    Ok(args.output.exit_code(&report))
}

/// `rectify fix` with this audit's baselines, inventory and `-e`, for the
/// per-rule summary's suggestions (which add `--rule` and `--limit`).
/// Only for an inventory: `--limit` needs one. A secret `-e` value
/// (`*password*`, `*token*`, `*secret*`) is never printed: no suggestion.
fn fix_command(args: &AuditArgs) -> Option<String> {
    let inventory = args.targets.inventory.as_ref()?;
    if !args.targets.targets.is_empty() {
        return None;
    }
    let mut words = vec!["rectify".to_string(), "fix".into()];
    for b in &args.baselines {
        words.extend(["-b".into(), b.display().to_string()]);
    }
    words.extend(["-i".into(), inventory.display().to_string()]);
    for (k, v) in &args.extra {
        if crate::redact::secret_name(k) {
            return None;
        }
        words.extend(["-e".into(), format!("{k}={v}")]);
    }
    crate::shell::join(&words).ok()
}

/// Audits `hosts` with a progress bar; `None` when interrupted (`fix`
/// stops there: it repairs nothing on a partial audit).
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
    run_audit_with(hosts, baselines, waivers, conn, limits, 0)
        .await
        .filter(|report| report.summary.interrupted == 0)
}

/// The audit with a progress bar. Ctrl-C stops it ([`crate::audit::Stop`]):
/// the report then holds the hosts that finished and the others
/// `interrupted`. `None` only when the handler cannot be installed.
async fn run_audit_with(
    hosts: Vec<Host>,
    baselines: Vec<Baseline>,
    waivers: Vec<Waiver>,
    conn: &ConnectionArgs,
    limits: CollectLimits,
    retries: u32,
) -> Option<RunReport> {
    let plan = AuditPlan {
        hosts,
        baselines,
        limits,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
        forks: conn.forks as usize,
        waivers,
        retries,
    };
    let bar = progress::bar(plan.hosts.len(), conn.progress());
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
    let (stop, stopped) = watch::channel(false);
    let audit = ops::audit::audit(plan, Some(tx), Some(stopped));
    tokio::pin!(audit);
    let report = loop {
        tokio::select! {
            report = &mut audit => break report,
            _ = interrupt.recv(), if !*stop.borrow() => {
                let _ = stop.send(true);
            }
        }
    };
    let _ = follower.await;
    Some(report)
}

/// Writes next to the target, then renames: a reader (node_exporter, a CI
/// job, a web server) never sees half a report.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.rectify-{}", std::process::id()));
    // A new file, never an existing one: a symlink planted at the temporary
    // name in a shared directory is removed (not followed); so is a leftover
    // of a killed run that had the same pid.
    let create = || std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp);
    let mut file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&tmp)?;
            create()?
        }
        other => other?,
    };
    if let Err(e) = std::io::Write::write_all(&mut file, bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        audit: AuditArgs,
    }

    fn fix(args: &[&str]) -> Option<String> {
        let cli = Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).expect("valid args");
        fix_command(&cli.audit)
    }

    #[test]
    fn the_suggested_fix_command() {
        assert_eq!(
            fix(&["-b", "b 1.yaml", "-b", "c.yaml", "-i", "inv.yaml", "-e", "n=3", "--limit", "web"]).as_deref(),
            Some("rectify fix -b 'b 1.yaml' -b c.yaml -i inv.yaml -e 'n=3'")
        );
        assert_eq!(fix(&["-b", "b.yaml", "-t", "h"]), None, "--limit needs an inventory");
        assert_eq!(
            fix(&["-b", "b.yaml", "-i", "inv", "-e", "db_password=x"]),
            None,
            "no secret printed"
        );
    }
}
