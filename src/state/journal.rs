//! The journal: each host's start and end of a change run, committed as it
//! happens, so a run whose controller died still shows which hosts were in
//! flight.

use chrono::SecondsFormat;
use rusqlite::params;

use super::{kind_name, StateDb, StateError};
use crate::report::RunKind;

/// A change run that was never recorded: its controller stopped (killed,
/// crashed, lost power) while hosts were in flight. From the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedRun {
    pub run_id: String,
    pub kind: String,
    /// (host, status, when): `started` means the outcome is unknown here.
    pub hosts: Vec<(String, String, String)>,
}

impl StateDb {
    /// Notes, as it happens, that a change run started on `host` or what
    /// became of it. Small and committed at once, so it survives the
    /// controller being killed the next moment.
    pub fn journal(&mut self, run_id: &str, kind: RunKind, host: &str, status: &str) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO journal (run_id, kind, host, status, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    run_id,
                    kind_name(kind),
                    host,
                    status,
                    chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
                ],
            )
            .map_err(|e| self.wrap(e))?;
        Ok(())
    }

    /// Change runs that started but were never recorded, oldest first.
    pub fn unfinished(&self) -> Result<Vec<UnfinishedRun>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, kind, host, status, at FROM journal
                 WHERE run_id NOT IN (SELECT id FROM runs) ORDER BY run_id, host",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    (r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?),
                ))
            })
            .map_err(|e| self.wrap(e))?;
        let mut runs: Vec<UnfinishedRun> = Vec::new();
        for row in rows {
            let (run_id, kind, host) = row.map_err(|e| self.wrap(e))?;
            match runs.last_mut() {
                Some(last) if last.run_id == run_id => last.hosts.push(host),
                _ => runs.push(UnfinishedRun {
                    run_id,
                    kind,
                    hosts: vec![host],
                }),
            }
        }
        Ok(runs)
    }
}
