//! `rectify serve`: the read-only web view of the state database. Checks
//! everything (listen address, auth file, baselines, the database) before
//! binding, prints `serving http://ADDR:PORT/` once it listens, and stops
//! on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tokio::signal::unix::{signal, SignalKind};

use super::{exit, Error};
use crate::serve::{Credentials, Options};
use crate::state::StateDb;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The state directory to show (default: $RECTIFY_STATE_DIR, else the XDG state home).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Address and port to listen on; port 0 picks a free one. Anything but loopback needs --auth-file.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,

    /// Credentials every request must carry: lines `token: SECRET` and `basic: USER:PASSWORD` (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,

    /// Baselines whose rule texts (rationale, manual check, references, remediation) the rule pages show.
    #[arg(short = 'b', long = "baseline", value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,

    /// Waiver files whose waivers the rule pages list, with reason and expiry (repeatable).
    #[arg(long, value_name = "FILE")]
    pub waivers: Vec<PathBuf>,
}

/// Where a serve without `-b`/`--profile` looks for rule texts: the
/// directory the README's scheduled audit installs the shipped baselines in.
const DEFAULT_BASELINES: &str = "/etc/rectify/baselines";

fn default_baselines() -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(DEFAULT_BASELINES) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

pub async fn exec(args: ServeArgs) -> Result<u8, Error> {
    if !args.listen.ip().is_loopback() && args.auth_file.is_none() {
        return Err(Error::Usage(format!(
            "--listen {} is reachable from other machines: give --auth-file FILE with the credentials to ask for (or listen on 127.0.0.1)",
            args.listen
        )));
    }
    let credentials = args
        .auth_file
        .as_deref()
        .map(Credentials::load)
        .transpose()
        .map_err(|e| Error::Usage(e.to_string()))?;
    let explicit = !args.baselines.is_empty() || args.selection.profile.is_some();
    let paths = if explicit {
        args.baselines.clone()
    } else {
        default_baselines()
    };
    let baselines = if explicit || !paths.is_empty() {
        args.selection
            .baselines(&paths, crate::baseline::Remediations::Ignore)?
    } else {
        Vec::new()
    };
    let mut waivers = Vec::new();
    for path in &args.waivers {
        waivers.extend(crate::waiver::Waiver::load_file(path)?);
    }
    let state_dir = match args.state_dir {
        Some(dir) => dir,
        None => StateDb::default_dir()?,
    };
    let options = Options {
        state_dir,
        credentials,
        baselines,
        waivers,
    };
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| Error::Usage(format!("cannot watch SIGTERM: {e}")))?;
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| Error::Usage(format!("cannot watch SIGINT: {e}")))?;
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    let mut printed = Ok(());
    let served = crate::serve::serve(
        options,
        args.listen,
        |addr| printed = super::emit(&format!("serving http://{addr}/\n")),
        shutdown,
    )
    .await;
    printed?;
    match served {
        Ok(()) => Ok(exit::OK),
        Err(crate::serve::ServeError::Open(e)) => Err(Error::Usage(e.to_string())),
        Err(e) => Err(Error::Serve(e)),
    }
}
