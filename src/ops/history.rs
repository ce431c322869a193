//! `rectify runs`, `show`, `stats` and `changes`: the run history, read
//! offline from the state database.

use crate::error::Error;
use crate::history::{self, FileChange, Stats};
use crate::report::RunReport;
use crate::state::{RunRow, StateDb, UnfinishedRun};

/// The newest `limit` recorded runs, and the change runs never recorded.
pub fn runs(limit: usize) -> Result<(Vec<RunRow>, Vec<UnfinishedRun>), Error> {
    let db = StateDb::open_default()?;
    let rows = db.runs(limit)?;
    let unfinished = db.unfinished()?;
    Ok((rows, unfinished))
}

/// What is known of one run.
pub enum Shown {
    Recorded(RunReport),
    /// A survey (`rectify survey`), which has no run report.
    Survey(crate::survey::Survey),
    /// Its controller stopped before recording it: the journal's view.
    Unfinished(UnfinishedRun),
}

/// The full id of the run `name` names (an id, `last`, `last-KIND`, or a
/// unique prefix; see [`StateDb::find_run`]).
pub fn resolve(db: &StateDb, name: &str) -> Result<String, Error> {
    Ok(db.find_run(name)??)
}

pub fn show(name: &str) -> Result<Shown, Error> {
    let db = StateDb::open_default()?;
    let run_id = &resolve(&db, name)?;
    if let Some(report) = db.load(run_id)? {
        return Ok(Shown::Recorded(report));
    }
    if let Some(survey) = db.load_survey(run_id)? {
        return Ok(Shown::Survey(survey));
    }
    let unfinished = db.unfinished()?;
    if let Some(run) = unfinished.into_iter().find(|r| &r.run_id == run_id) {
        return Ok(Shown::Unfinished(run));
    }
    Err(Error::Usage(format!(
        "no run {run_id:?} in the state database (see `rectify runs`)"
    )))
}

/// Per rule and per host since `since` (RFC 3339).
pub fn stats(since: &str) -> Result<Stats, Error> {
    let db = StateDb::open_default()?;
    let rows = db.rule_history(since)?;
    Ok(history::stats(&rows, since))
}

/// How `host`'s audited files changed since `since` (RFC 3339).
pub fn changes(host: &str, since: &str) -> Result<Vec<FileChange>, Error> {
    let db = StateDb::open_default()?;
    let versions = db.file_history(host, since)?;
    if versions.is_empty() {
        return Err(Error::Usage(format!(
            "no audited files recorded for host {host:?} since {since}"
        )));
    }
    Ok(history::changes(&versions))
}
