//! What `rectify rollback` asks of the history: which hosts a change run
//! changed and how they were reached, and which of them a later rollback
//! already restored.

use rusqlite::{params, OptionalExtension};

use super::{StateDb, StateError};
use crate::inventory::HostConnection;

impl StateDb {
    /// The hosts change run `run_id` changed (those it has a backup record
    /// for), in name order, each with how it was reached (`None`: recorded
    /// by a version that did not keep it).
    pub fn changed_hosts(&self, run_id: &str) -> Result<Vec<(String, Option<HostConnection>)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT host FROM tx_hosts WHERE run_id = ?1 ORDER BY host")
            .map_err(|e| self.wrap(e))?;
        let hosts = stmt
            .query_map(params![run_id], |r| r.get::<_, String>(0))
            .map_err(|e| self.wrap(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.wrap(e))?;
        hosts
            .into_iter()
            .map(|host| Ok((host.clone(), self.connection(run_id, &host)?)))
            .collect()
    }

    /// How `host` was reached in run `run_id`, if that was recorded.
    pub(super) fn connection(&self, run_id: &str, host: &str) -> Result<Option<HostConnection>, StateError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT connection FROM tx_connections WHERE run_id = ?1 AND host = ?2",
                params![run_id, host],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.wrap(e))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StateError::Corrupt {
                path: self.path.display().to_string(),
                run_id: run_id.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// The hosts of run `run_id` that a recorded rollback (not a `--check`)
    /// restored, each with that rollback's id (the first one). A rollback
    /// run names what it undid in its report: `baselines` is
    /// `["rollback of RUN_ID"]` (docs/reports.md).
    pub fn rolled_back(&self, run_id: &str) -> Result<Vec<(String, String)>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT h.host, min(r.id) FROM runs r JOIN host_runs h ON h.run_id = r.id
                 WHERE r.kind = 'rollback'
                   AND coalesce(json_extract(r.report, '$.check'), 0) = 0
                   AND json_extract(r.report, '$.baselines[0]') = 'rollback of ' || ?1
                   AND h.status IN ('changed', 'unchanged')
                 GROUP BY h.host ORDER BY h.host",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map(params![run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.wrap(e))
    }
}
