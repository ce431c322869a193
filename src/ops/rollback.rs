//! `rectify rollback`: an apply run's record turned back into work — per
//! host, steps that restore what the run found, guarded against files
//! changed since — applied like any playbook.

use std::time::Duration;

use crate::apply::{ApplyPlan, Guard, HostWork, TxRecord};
use crate::error::Error;
use crate::inventory::Host;
use crate::redact::Redactor;
use crate::report::{RunKind, RunReport};
use crate::state::StateDb;
use crate::steps::copy::Copy;
use crate::steps::file::File;
use crate::steps::restore::Restore;
use crate::steps::sysctl::Sysctl;
use crate::steps::{Meta, Step, StepKind};
use crate::transport::ConnectOptions;

/// How a run is undone, as the command line says.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// Also restore files changed since the run.
    pub force: bool,
    /// Show what would be restored; change nothing.
    pub check: bool,
    pub connect: ConnectOptions,
    pub command_timeout: Duration,
    pub forks: usize,
}

/// A recorded change run, with the database it came from (its per-host
/// records are read once the hosts are known).
pub struct RecordedRun {
    db: StateDb,
    pub run: RunReport,
}

impl RecordedRun {
    /// The run `run_id`, which must be one that changed hosts.
    pub fn load(name: &str) -> Result<RecordedRun, Error> {
        let db = StateDb::open_default()?;
        let run_id = &super::history::resolve(&db, name)?;
        let Some(run) = db.load(run_id)? else {
            if db.load_survey(run_id)?.is_some() {
                return Err(Error::Usage(format!(
                    "run {run_id} is a survey; only apply runs change hosts"
                )));
            }
            return Err(Error::Usage(format!(
                "no run {run_id:?} in the state database (see `rectify runs`)"
            )));
        };
        if !matches!(run.kind, RunKind::Apply | RunKind::Rollback) {
            return Err(Error::Usage(format!(
                "run {} is a {} run; only apply runs change hosts (a fix run's changes are its runs {}.N)",
                run.run_id,
                serde_json::to_value(run.kind)
                    .unwrap_or_default()
                    .as_str()
                    .unwrap_or("?"),
                run.run_id
            )));
        }
        if run.check {
            return Err(Error::Usage(format!(
                "run {} was a --check run: it changed nothing, so there is nothing to roll back \
                 (`rectify runs` lists it as `(check)`; `last-apply` names the newest apply that changed hosts)",
                run.run_id
            )));
        }
        Ok(RecordedRun { db, run })
    }

    /// The hosts the run changed, reached as the run reached them.
    pub fn recorded_hosts(&self) -> Result<Vec<Host>, Error> {
        let run_id = &self.run.run_id;
        let mut hosts = Vec::new();
        let mut unknown = Vec::new();
        for (name, connection) in self.db.changed_hosts(run_id)? {
            match connection {
                Some(c) => hosts.push(c.into_host(name)),
                None => unknown.push(name),
            }
        }
        if !unknown.is_empty() {
            return Err(Error::Usage(format!(
                "run {run_id} was recorded before rectify kept how it reached its hosts ({}): \
                 name them with -i INVENTORY, -t HOST or --local",
                unknown.join(", ")
            )));
        }
        if hosts.is_empty() {
            return Err(Error::Usage(format!("run {run_id} changed no host")));
        }
        Ok(hosts)
    }

    /// The plan that restores, on each of `hosts` the run changed, what the
    /// run found there; hosts a recorded rollback already restored are left
    /// out (they are in [`Planned`]'s `done`).
    pub fn plan(&self, hosts: Vec<Host>, options: &RollbackOptions) -> Result<Planned, Error> {
        let run_id = &self.run.run_id;
        let rolled_back = self.db.rolled_back(run_id)?;
        let mut work = Vec::new();
        let mut done = Vec::new();
        for host in hosts {
            if let Some((_, by)) = rolled_back.iter().find(|(h, _)| *h == host.name) {
                done.push((host.name.clone(), by.clone()));
                continue;
            }
            let Some(record) = self.db.tx_record(run_id, &host.name)? else {
                continue;
            };
            if !options.check {
                refuse_masked_handlers(run_id, &host.name, &record)?;
            }
            work.push(restore_work(host, run_id, record));
        }
        if work.is_empty() && !done.is_empty() {
            return Ok(Planned { plan: None, done });
        }
        if work.is_empty() {
            return Err(Error::Usage(format!(
                "run {run_id} changed nothing on the selected hosts"
            )));
        }
        let plan = ApplyPlan {
            kind: RunKind::Rollback,
            work,
            verify_baselines: Vec::new(),
            check: options.check,
            confirm_timeout: Some(crate::apply::SAFETY_TIMEOUT),
            settle: crate::playbook::DEFAULT_SETTLE,
            serial: None,
            max_fail: None,
            connect: options.connect.clone(),
            command_timeout: options.command_timeout,
            forks: options.forks,
            label: format!("rollback of {run_id}"),
            force: options.force,
        };
        Ok(Planned { plan: Some(plan), done })
    }
}

/// What a rollback will do: the plan for hosts still to restore (`None`
/// when none is left), and the hosts an earlier rollback restored, each
/// with that rollback's run id.
pub struct Planned {
    pub plan: Option<ApplyPlan>,
    pub done: Vec<(String, String)>,
}

/// Handlers are recorded with their secrets masked (the database never
/// keeps a secret), so one that used a secret would rerun with `********`
/// in its place: write a wrong token, call an API with a wrong password.
/// Refusing is the honest answer; the user reruns it with the real vars.
fn refuse_masked_handlers(run_id: &str, host: &str, record: &TxRecord) -> Result<(), Error> {
    let masked: Vec<String> = record
        .handlers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.contains(crate::redact::MASK))
        .map(|(i, h)| format!("handler {} ({h})", i + 1))
        .collect();
    if masked.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "run {run_id} on {host}: {} used a secret, recorded masked; rollback would rerun it with \
         {} instead of the secret, so it refuses. Restore with `rectify apply` of the playbook \
         with the earlier content and the same -e/vars, or look first with `rectify rollback --check`",
        masked.join(", "),
        crate::redact::MASK
    )))
}

/// The steps that put back what `record` says the run found.
fn restore_work(host: crate::inventory::Host, run_id: &str, record: TxRecord) -> HostWork {
    let all_handlers: Vec<usize> = (0..record.handlers.len()).collect();
    let mut steps = Vec::new();
    let mut guards = Vec::new();
    for f in record.files.iter().rev() {
        let meta = Meta {
            mode: Some(f.mode),
            max_mode: None,
            owner: Some(f.uid.to_string()),
            group: Some(f.gid.to_string()),
        };
        let kind: Box<dyn StepKind> = match (f.action, f.existed, &f.before) {
            (_, false, _) => Box::new(File::remove(f.path.clone())),
            ("metadata", true, _) => Box::new(File::metadata(f.path.clone(), meta)),
            (_, true, Some(content)) => Box::new(Copy::new(content.clone(), f.path.clone(), meta)),
            (_, true, None) => Box::new(Restore::new(
                format!("{}/{}", record.backup_dir, f.seq),
                f.path.clone(),
                meta,
            )),
        };
        steps.push(Step::internal(
            format!("restore {}", f.path),
            kind,
            all_handlers.clone(),
            f.sensitive,
        ));
        guards.push(Guard {
            path: f.path.clone(),
            run_id: run_id.to_string(),
            exists: f.after_exists,
            hash: f.after_hash.clone(),
            mode: f.after_mode,
            content: f.after.clone(),
        });
    }
    for (key, old) in &record.sysctl {
        steps.push(Step::internal(
            format!("restore sysctl {key}"),
            Box::new(Sysctl::new(key.clone(), old.clone(), None)),
            all_handlers.clone(),
            false,
        ));
    }
    HostWork {
        become_: host.become_,
        host,
        steps,
        handlers: record
            .handlers
            .into_iter()
            .enumerate()
            .map(|(i, h)| (format!("handler {}", i + 1), h))
            .collect(),
        verify_commands: Vec::new(),
        redactor: Redactor::default(),
        guards,
    }
}
