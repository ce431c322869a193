//! The local record of every run, in SQLite, so history can be read
//! without contacting any host.
//!
//! One database file in `$RECTIFY_STATE_DIR` (default
//! `$XDG_STATE_HOME/rectify`, else `~/.local/state/rectify`). WAL mode and a
//! busy timeout let concurrent invocations write safely; each run is
//! written in one transaction, so a killed process leaves either the whole
//! run or none of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::SecondsFormat;
use rusqlite::{params, Connection, OptionalExtension};

mod journal;
mod lookup;
mod private;
pub mod record;
mod rollbacks;
mod schema;
mod summary;
mod surveys;
pub mod views;

pub use journal::UnfinishedRun;
pub use lookup::LookupError;
pub use record::{sha256, FileRecord, TxRecord};

use crate::report::{RunKind, RunReport};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state database {path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("cannot create state directory {path}: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("cannot make state database {path} private (0600): {source}")]
    Private { path: String, source: std::io::Error },
    #[error("state database {path} holds run {run_id} in a form this version cannot read: {reason}")]
    Corrupt {
        path: String,
        run_id: String,
        reason: String,
    },
    #[error("no state directory: set RECTIFY_STATE_DIR or HOME")]
    NoHome,
}

/// One line of `rectify runs`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub kind: String,
    /// A `--check` run: it changed nothing.
    pub check: bool,
    pub started: String,
    pub hosts: i64,
    pub compliant: i64,
    pub drift: i64,
    pub error: i64,
    pub exit_code: i64,
}

impl RunRow {
    /// A row whose first columns are `id, kind, started, hosts, compliant,
    /// drift, error, exit_code`, in that order. `check` is passed in: reading
    /// it means parsing the run's JSON report, which a page of the web view
    /// over 10,000 runs does not do.
    pub(super) fn from_row(r: &rusqlite::Row, check: bool) -> rusqlite::Result<RunRow> {
        Ok(RunRow {
            run_id: r.get(0)?,
            kind: r.get(1)?,
            started: r.get(2)?,
            hosts: r.get(3)?,
            compliant: r.get(4)?,
            drift: r.get(5)?,
            error: r.get(6)?,
            exit_code: r.get(7)?,
            check,
        })
    }
}

/// One audited file in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    pub run_id: String,
    pub started: String,
    pub path: String,
    /// `None`: the file was missing.
    pub content: Option<Vec<u8>>,
}

/// One rule's result on one host in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub run_id: String,
    pub started: String,
    pub host: String,
    pub baseline: String,
    pub rule_id: String,
    pub severity: String,
    pub status: String,
}

pub struct StateDb {
    conn: Connection,
    path: PathBuf,
}

impl StateDb {
    /// The state directory: `$RECTIFY_STATE_DIR`, else the XDG state home.
    pub fn default_dir() -> Result<PathBuf, StateError> {
        if let Some(dir) = std::env::var_os("RECTIFY_STATE_DIR").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(xdg).join("rectify"));
        }
        let home = std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .ok_or(StateError::NoHome)?;
        Ok(PathBuf::from(home).join(".local/state/rectify"))
    }

    pub fn open_default() -> Result<StateDb, StateError> {
        Self::open(&Self::default_dir()?)
    }

    pub fn open(dir: &Path) -> Result<StateDb, StateError> {
        let dir_error = |source| StateError::Dir {
            path: dir.display().to_string(),
            source,
        };
        private::create_dir(dir).map_err(dir_error)?;
        let path = dir.join("state.db");
        let wrap = |source| StateError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        private::prepare_database(&path).map_err(|source| StateError::Private {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(wrap)?;
        // Other rectify processes may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(30)).map_err(wrap)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(wrap)?;
        let mut db = StateDb { conn, path };
        db.migrate()?;
        Ok(db)
    }

    fn wrap(&self, source: rusqlite::Error) -> StateError {
        StateError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Records a finished run, all of it or nothing.
    pub fn record(&mut self, report: &RunReport) -> Result<(), StateError> {
        self.record_with(report, &[])
    }

    /// Records a run and, for apply runs, what each host's transaction
    /// changed — in one SQLite transaction, so a killed process leaves
    /// either the whole run or none of it.
    pub fn record_with(&mut self, report: &RunReport, txs: &[(String, TxRecord)]) -> Result<(), StateError> {
        let path = self.path.display().to_string();
        let wrap = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM journal WHERE run_id = ?1", params![report.run_id])
            .map_err(wrap)?;
        let s = &report.summary;
        let started = report.started.to_rfc3339_opts(SecondsFormat::Millis, true);
        tx.execute(
            "INSERT INTO runs (id, kind, started, finished, hosts, compliant, drift, error, exit_code, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                report.run_id,
                kind_name(report.kind),
                started,
                report.finished.to_rfc3339_opts(SecondsFormat::Millis, true),
                s.hosts as i64,
                s.compliant as i64,
                s.drift as i64,
                s.error as i64,
                report.exit_code() as i64,
                report.to_json(),
            ],
        )
        .map_err(wrap)?;
        {
            let mut host_stmt = tx
                .prepare("INSERT INTO host_runs (run_id, host, address, status, error) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(wrap)?;
            let mut result_stmt = tx
                .prepare(
                    "INSERT OR REPLACE INTO results (run_id, host, baseline, rule_id, severity, status, expected, actual, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(wrap)?;
            for h in &report.hosts {
                host_stmt
                    .execute(params![report.run_id, h.name, h.address, h.status.as_str(), h.error])
                    .map_err(wrap)?;
                for r in &h.results {
                    result_stmt
                        .execute(params![
                            report.run_id,
                            h.name,
                            r.baseline,
                            r.id,
                            r.severity.as_str(),
                            r.status.as_str(),
                            r.expected,
                            r.actual,
                            r.message
                        ])
                        .map_err(wrap)?;
                }
            }
            let mut blob = tx
                .prepare("INSERT OR IGNORE INTO blobs (hash, content) VALUES (?1, ?2)")
                .map_err(wrap)?;
            let mut tx_host = tx
                .prepare(
                    "INSERT INTO tx_hosts (run_id, host, backup_dir, handlers, sysctl) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(wrap)?;
            let mut backup = tx
                .prepare(
                    "INSERT INTO backups (run_id, host, seq, path, action, existed, mode, uid, gid, before_hash,
                                          after_exists, after_hash, after_mode, sensitive)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )
                .map_err(wrap)?;
            let mut tx_connection = tx
                .prepare("INSERT INTO tx_connections (run_id, host, connection) VALUES (?1, ?2, ?3)")
                .map_err(wrap)?;
            let mut observation = tx
                .prepare("INSERT OR REPLACE INTO observations (run_id, host, path, hash) VALUES (?1, ?2, ?3, ?4)")
                .map_err(wrap)?;
            for h in &report.hosts {
                for o in &h.observed {
                    let hash = match &o.content {
                        Some(content) => {
                            let hash = sha256(content);
                            blob.execute(params![hash, content]).map_err(wrap)?;
                            Some(hash)
                        }
                        None => None,
                    };
                    observation
                        .execute(params![report.run_id, h.name, o.path, hash])
                        .map_err(wrap)?;
                }
            }
            for (host, record) in txs {
                let handlers = serde_json::to_string(&record.handlers).expect("strings serialise");
                let sysctl = serde_json::to_string(&record.sysctl).expect("strings serialise");
                tx_host
                    .execute(params![report.run_id, host, record.backup_dir, handlers, sysctl])
                    .map_err(wrap)?;
                if let Some(connection) = &record.connection {
                    let connection = serde_json::to_string(connection).expect("connections serialise");
                    tx_connection
                        .execute(params![report.run_id, host, connection])
                        .map_err(wrap)?;
                }
                for f in &record.files {
                    if let (Some(content), Some(hash)) = (&f.after, &f.after_hash) {
                        blob.execute(params![hash, content]).map_err(wrap)?;
                    }
                    let before_hash = match &f.before {
                        Some(content) => {
                            let hash = sha256(content);
                            blob.execute(params![hash, content]).map_err(wrap)?;
                            Some(hash)
                        }
                        None => None,
                    };
                    backup
                        .execute(params![
                            report.run_id,
                            host,
                            f.seq as i64,
                            f.path,
                            f.action,
                            f.existed,
                            f.mode,
                            f.uid,
                            f.gid,
                            before_hash,
                            f.after_exists,
                            f.after_hash,
                            f.after_mode,
                            f.sensitive
                        ])
                        .map_err(wrap)?;
                }
            }
        }
        summary::on_record(&tx, report, &started).map_err(wrap)?;
        tx.commit().map_err(wrap)
    }

    /// How `host`'s audited files looked in each run since `since`
    /// (RFC 3339), oldest first.
    pub fn file_history(&self, host: &str, since: &str) -> Result<Vec<FileVersion>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.started, o.path, b.content
                 FROM observations o JOIN runs r ON r.id = o.run_id LEFT JOIN blobs b ON b.hash = o.hash
                 WHERE o.host = ?1 AND r.started >= ?2
                 ORDER BY o.path, r.started, r.id",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map(params![host, since], |r| {
                Ok(FileVersion {
                    run_id: r.get(0)?,
                    started: r.get(1)?,
                    path: r.get(2)?,
                    content: r.get(3)?,
                })
            })
            .map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.wrap(e))
    }

    /// Every rule result of audit and fix runs since `since` (RFC 3339),
    /// oldest run first.
    pub fn rule_history(&self, since: &str) -> Result<Vec<RuleRow>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.started, x.host, x.baseline, x.rule_id, x.severity, x.status
                 FROM results x JOIN runs r ON r.id = x.run_id
                 WHERE r.kind IN ('audit', 'fix') AND r.started >= ?1
                 ORDER BY r.started, r.id",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map(params![since], |r| {
                Ok(RuleRow {
                    run_id: r.get(0)?,
                    started: r.get(1)?,
                    host: r.get(2)?,
                    baseline: r.get(3)?,
                    rule_id: r.get(4)?,
                    severity: r.get(5)?,
                    status: r.get(6)?,
                })
            })
            .map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.wrap(e))
    }

    /// What an apply run changed on `host`, for `rectify rollback`.
    pub fn tx_record(&self, run_id: &str, host: &str) -> Result<Option<TxRecord>, StateError> {
        let head: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT backup_dir, handlers, sysctl FROM tx_hosts WHERE run_id = ?1 AND host = ?2",
                params![run_id, host],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.wrap(e))?;
        let Some((backup_dir, handlers, sysctl)) = head else {
            return Ok(None);
        };
        let corrupt = |e: serde_json::Error| StateError::Corrupt {
            path: self.path.display().to_string(),
            run_id: run_id.to_string(),
            reason: e.to_string(),
        };
        let handlers: Vec<String> = serde_json::from_str(&handlers).map_err(corrupt)?;
        let sysctl: Vec<(String, String)> = serde_json::from_str(&sysctl).map_err(corrupt)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT b.seq, b.path, b.action, b.existed, b.mode, b.uid, b.gid, c.content,
                        b.after_exists, b.after_hash, b.after_mode, b.sensitive, a.content
                 FROM backups b LEFT JOIN blobs c ON c.hash = b.before_hash
                      LEFT JOIN blobs a ON a.hash = b.after_hash AND b.sensitive = 0
                 WHERE b.run_id = ?1 AND b.host = ?2 ORDER BY b.seq",
            )
            .map_err(|e| self.wrap(e))?;
        let files = stmt
            .query_map(params![run_id, host], |r| {
                let action: String = r.get(2)?;
                Ok(FileRecord {
                    seq: r.get::<_, i64>(0)? as usize,
                    path: r.get(1)?,
                    action: match action.as_str() {
                        "write" => "write",
                        "metadata" => "metadata",
                        _ => "remove",
                    },
                    existed: r.get(3)?,
                    mode: r.get(4)?,
                    uid: r.get(5)?,
                    gid: r.get(6)?,
                    before: r.get(7)?,
                    after_exists: r.get(8)?,
                    after_hash: r.get(9)?,
                    after_mode: r.get(10)?,
                    sensitive: r.get(11)?,
                    after: r.get(12)?,
                })
            })
            .map_err(|e| self.wrap(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.wrap(e))?;
        let connection = self.connection(run_id, host)?;
        Ok(Some(TxRecord {
            backup_dir,
            handlers,
            files,
            sysctl,
            connection,
        }))
    }

    /// The newest `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, kind, started, hosts, compliant, drift, error, exit_code,
                        coalesce(json_extract(report, '$.check'), 0)
                 FROM runs ORDER BY started DESC, id DESC LIMIT ?1",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                let check = r.get(8)?;
                RunRow::from_row(r, check)
            })
            .map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.wrap(e))
    }

    /// The full report of a past run, exactly as it was produced; `None`
    /// for a survey, which has no run report (`load_survey`).
    pub fn load(&self, run_id: &str) -> Result<Option<RunReport>, StateError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT report FROM runs WHERE id = ?1 AND kind != 'survey'",
                params![run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.wrap(e))?;
        json.map(|text| {
            serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path: self.path.display().to_string(),
                run_id: run_id.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }
}

fn kind_name(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Audit => "audit",
        RunKind::Apply => "apply",
        RunKind::Fix => "fix",
        RunKind::Rollback => "rollback",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{HostReport, HostStatus, RunReport, Summary};

    fn report(id: &str, started: &str) -> RunReport {
        let hosts = vec![HostReport {
            name: "web01".into(),
            address: "192.0.2.1".into(),
            status: HostStatus::Error,
            error: Some("connection refused".into()),
            results: Vec::new(),
            changes: Vec::new(),
            duration_ms: 3,
            warnings: Vec::new(),
            attempts: 1,
            observed: Vec::new(),
        }];
        RunReport {
            run_id: id.into(),
            kind: RunKind::Audit,
            check: false,
            started: started.parse().unwrap(),
            finished: started.parse().unwrap(),
            summary: RunReport::summarize(&hosts),
            hosts,
            baselines: vec!["b".into()],
            rectify_version: "test".into(),
        }
    }

    #[test]
    fn the_journal_keeps_unrecorded_runs_until_they_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(dir.path()).unwrap();
        let report = report("20261129T100000Z-000001", "2026-11-29T10:00:00Z");
        db.journal(&report.run_id, RunKind::Apply, "web01", "started").unwrap();
        db.journal(&report.run_id, RunKind::Apply, "web02", "started").unwrap();
        db.journal(&report.run_id, RunKind::Apply, "web02", "changed").unwrap();
        let open = db.unfinished().unwrap();
        assert_eq!(open.len(), 1);
        let states: Vec<(&str, &str)> = open[0].hosts.iter().map(|(h, s, _)| (h.as_str(), s.as_str())).collect();
        assert_eq!(states, [("web01", "started"), ("web02", "changed")]);
        db.record(&report).unwrap();
        assert!(db.unfinished().unwrap().is_empty());
    }

    #[test]
    fn records_lists_and_reloads_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(dir.path()).unwrap();
        let a = report("a", "2026-01-01T00:00:00Z");
        let b = report("b", "2026-01-02T00:00:00Z");
        db.record(&a).unwrap();
        db.record(&b).unwrap();
        let rows = db.runs(10).unwrap();
        assert_eq!(rows.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!((rows[0].hosts, rows[0].error, rows[0].exit_code), (1, 1, 3));
        assert_eq!(db.load("a").unwrap(), Some(a.clone()));
        assert_eq!(db.load("zzz").unwrap(), None);
        // A duplicate id is refused and leaves the first record intact.
        assert!(db.record(&a).is_err());
        assert_eq!(db.runs(10).unwrap().len(), 2);
        // Reopening keeps everything (and does not re-run the schema).
        drop(db);
        let db = StateDb::open(dir.path()).unwrap();
        assert_eq!(db.runs(1).unwrap().len(), 1);
        assert_eq!(Summary::default().hosts, 0);
    }
}
