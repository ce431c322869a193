//! `rectify capture --host NAME -i INVENTORY --from BASELINE -o NEW [--file PATH]...`

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::targets::ConnectionArgs;
use super::{exit, Error};
use crate::baseline::Baseline;
use crate::capture::file_rule;
use crate::inventory::{HostPattern, Inventory, SshConfig};
use crate::ops::{self, capture::CaptureOptions};

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The golden host, by its inventory name.
    #[arg(long, value_name = "NAME")]
    pub host: String,

    /// Inventory file the host is in.
    #[arg(short = 'i', long, value_name = "FILE")]
    pub inventory: PathBuf,

    /// Baseline whose rules are captured (ids, titles, subjects are kept).
    #[arg(long, value_name = "BASELINE")]
    pub from: PathBuf,

    /// Where to write the new baseline.
    #[arg(short = 'o', long = "output", value_name = "NEW_BASELINE")]
    pub output: PathBuf,

    /// Also capture this whole file's content; repeatable.
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<String>,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub async fn exec(args: CaptureArgs) -> Result<u8, Error> {
    let from = Baseline::load(&args.from)?;
    for f in &args.files {
        crate::playbook::check_remote_path(f).map_err(|e| Error::Usage(format!("--file: {e}")))?;
    }
    let ssh = SshConfig::load_user().map_err(|e| Error::Usage(format!("ssh config: {e}")))?;
    let inventory = Inventory::load(&args.inventory, &ssh).map_err(|e| Error::Config(e.into()))?;
    let pattern = HostPattern::parse(&args.host).map_err(|e| Error::Usage(format!("--host: {e}")))?;
    let hosts = inventory.select(Some(&pattern));
    let [host] = hosts.as_slice() else {
        return Err(Error::Usage(format!(
            "--host {:?} must name exactly one host of {} (it matches {})",
            args.host,
            args.inventory.display(),
            hosts.len()
        )));
    };
    let extra: Vec<_> = args.files.iter().map(|f| file_rule(f)).collect();
    let conn = &args.connection;
    let captured = ops::capture::capture(CaptureOptions {
        host,
        from: &from,
        extra: &extra,
        connect: conn.connect_options(),
        command_timeout: Duration::from_secs(conn.command_timeout),
    })
    .await;
    let captured = match captured {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}: {e}", host.name);
            return Ok(3);
        }
    };
    super::audit::write_atomically(&args.output, captured.yaml.as_bytes()).map_err(|source| Error::Write {
        path: args.output.display().to_string(),
        source,
    })?;
    // What was written must load: a captured value the loader refuses is a bug here.
    let written = Baseline::load(&args.output)?;
    for (id, why) in &captured.skipped {
        eprintln!("warning: {id} not captured: {why}");
    }
    outln!(
        "wrote {}: {} from {} as they are on {}",
        args.output.display(),
        crate::report::human::count(written.rules.len(), "rule"),
        args.from.display(),
        host.name
    );
    Ok(exit::OK)
}
