//! `rectify list hosts|steps`: what a run would work on, read from the
//! files alone. Nothing is contacted: the hosts are those TARGETS select
//! (inventory, `--limit`, `-t`, the user's ssh config), the steps those the
//! playbook holds. Each kind of listing is one variant of [`ListCommand`]
//! with its own `exec`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::targets::TargetArgs;
use super::{exit, Error};
use crate::inventory::Host;
use crate::playbook::{Playbook, Verify};
use crate::report::human::count;
use crate::report::sanitize::for_terminal;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(subcommand)]
    pub what: ListCommand,
}

#[derive(Debug, Subcommand)]
pub enum ListCommand {
    /// The hosts TARGETS select (-i with --limit, -t), with address, user, port, groups.
    Hosts(ListHostsArgs),
    /// The steps of a playbook: names, kinds, targets, the handlers they notify.
    Steps(ListStepsArgs),
    /// Rules of baselines or a profile, filtered; --show ID prints one whole.
    Rules(super::list_rules::ListRulesArgs),
    /// The profiles in a directory (default ./profiles).
    Profiles(super::list_rules::ListProfilesArgs),
}

/// How a listing is printed: a table for people, JSON for scripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ListHostsArgs {
    #[command(flatten)]
    pub targets: TargetArgs,

    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct ListStepsArgs {
    /// The playbook whose steps to list.
    #[arg(short = 'p', long = "playbook", value_name = "PLAYBOOK")]
    pub playbook: PathBuf,

    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

pub fn exec(args: ListArgs) -> Result<u8, Error> {
    match args.what {
        ListCommand::Hosts(a) => hosts(a),
        ListCommand::Steps(a) => steps(a),
        ListCommand::Rules(a) => super::list_rules::exec_rules(a),
        ListCommand::Profiles(a) => super::list_rules::exec_profiles(a),
    }
}

#[derive(Serialize)]
struct HostRow {
    name: String,
    address: String,
    user: String,
    port: u16,
    groups: Vec<String>,
    /// The jump host's endpoint, when the host is reached through one.
    via: Option<String>,
    identity_file: Option<String>,
    known_hosts: String,
    local: bool,
}

fn host_row(h: &Host) -> HostRow {
    HostRow {
        name: h.name.clone(),
        address: h.address.clone(),
        user: h.user.clone(),
        port: h.port,
        groups: h.groups.clone(),
        via: h.jump.as_ref().map(|j| j.endpoint()),
        identity_file: h.identity_file.as_ref().map(|p| p.display().to_string()),
        known_hosts: h.known_hosts.display().to_string(),
        local: h.local,
    }
}

fn hosts(args: ListHostsArgs) -> Result<u8, Error> {
    let rows: Vec<HostRow> = args.targets.resolve()?.iter().map(host_row).collect();
    if args.format == ListFormat::Json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                if r.local { "(local)".into() } else { r.address.clone() },
                r.user.clone(),
                if r.local { "-".into() } else { r.port.to_string() },
                if r.groups.is_empty() {
                    "-".into()
                } else {
                    r.groups.join(",")
                },
                r.via.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print_table(&["NAME", "ADDRESS", "USER", "PORT", "GROUPS", "VIA"], &table)?;
    Ok(exit::OK)
}

#[derive(Serialize)]
struct StepRow {
    name: String,
    kind: &'static str,
    target: String,
    notify: Vec<String>,
}

#[derive(Serialize)]
struct StepsListing {
    playbook: String,
    steps: Vec<StepRow>,
    handlers: Vec<(String, String)>,
    verify: Vec<String>,
}

fn steps(args: ListStepsArgs) -> Result<u8, Error> {
    let playbook = Playbook::load(&args.playbook)?;
    let listing = StepsListing {
        playbook: playbook.name.clone(),
        steps: playbook
            .steps
            .iter()
            .map(|s| StepRow {
                name: s.name.clone(),
                kind: s.kind.kind(),
                // A sensitive step's target may itself be a secret (a command line).
                target: if s.sensitive && s.kind.kind() == "command" {
                    "(sensitive)".into()
                } else {
                    s.kind.target()
                },
                notify: s.notify.iter().map(|&i| playbook.handlers[i].name.clone()).collect(),
            })
            .collect(),
        handlers: playbook
            .handlers
            .iter()
            .map(|h| (h.name.clone(), h.command.clone()))
            .collect(),
        verify: playbook
            .verify
            .iter()
            .map(|v| match v {
                Verify::Command(c) => format!("command: {c}"),
                Verify::Baseline(b) => format!("baseline: {} ({})", b.name, b.path.display()),
            })
            .collect(),
    };
    if args.format == ListFormat::Json {
        return print_json(&listing);
    }
    outln!(
        "{}: {} ({})",
        for_terminal(&listing.playbook),
        count(listing.steps.len(), "step"),
        args.playbook.display()
    );
    let table: Vec<Vec<String>> = listing
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.name.clone(),
                s.kind.to_string(),
                s.target.clone(),
                if s.notify.is_empty() {
                    "-".into()
                } else {
                    s.notify.join(", ")
                },
            ]
        })
        .collect();
    print_table(&["#", "NAME", "KIND", "TARGET", "NOTIFIES"], &table)?;
    if !listing.handlers.is_empty() {
        outln!("handlers:");
        for (name, command) in &listing.handlers {
            outln!("  {}: {}", for_terminal(name), for_terminal(command));
        }
    }
    if !listing.verify.is_empty() {
        outln!("verify:");
        for v in &listing.verify {
            outln!("  {}", for_terminal(v));
        }
    }
    Ok(exit::OK)
}

fn print_json<T: Serialize>(value: &T) -> Result<u8, Error> {
    let text = serde_json::to_string_pretty(value).expect("listings always serialise");
    outln!("{text}");
    Ok(exit::OK)
}

/// Columns padded to their widest cell; the last column is not padded.
fn print_table(header: &[&str], rows: &[Vec<String>]) -> Result<(), Error> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| for_terminal(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    outln!("{}", line(header.to_vec()));
    for row in &rows {
        outln!("{}", line(row.iter().map(String::as_str).collect()));
    }
    Ok(())
}
