//! The database's tables, and bringing an older file up to them.

use super::{StateDb, StateError};

/// Version of the schema: the last of [`STEPS`].
pub(super) const SCHEMA_VERSION: i64 = 6;

/// The migration steps, in order: each brings a database at a lower
/// version up to its own. Every step is idempotent (`IF NOT EXISTS`).
/// v6: the web view's summaries (`summary.rs`), filled once from the runs
/// already recorded when an older database reaches it.
const STEPS: &[(i64, &str)] = &[(4, SCHEMA), (5, SURVEYS), (6, super::summary::SCHEMA_V6)];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id        TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    started   TEXT NOT NULL,
    finished  TEXT NOT NULL,
    hosts     INTEGER NOT NULL,
    compliant INTEGER NOT NULL,
    drift     INTEGER NOT NULL,
    error     INTEGER NOT NULL,
    exit_code INTEGER NOT NULL,
    report    TEXT NOT NULL          -- the full JSON report, for `show`
);
CREATE TABLE IF NOT EXISTS host_runs (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host    TEXT NOT NULL,
    address TEXT NOT NULL,
    status  TEXT NOT NULL,
    error   TEXT,
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS results (
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host     TEXT NOT NULL,
    baseline TEXT NOT NULL,
    rule_id  TEXT NOT NULL,
    severity TEXT NOT NULL,
    status   TEXT NOT NULL,
    expected TEXT,
    actual   TEXT,
    message  TEXT,
    PRIMARY KEY (run_id, host, baseline, rule_id)
);
CREATE INDEX IF NOT EXISTS results_by_rule ON results (rule_id, host);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started);
-- v2: what apply runs changed, so `rollback` works later.
CREATE TABLE IF NOT EXISTS blobs (
    hash    TEXT PRIMARY KEY,      -- SHA-256 of content
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tx_hosts (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host       TEXT NOT NULL,
    backup_dir TEXT NOT NULL,      -- on the host
    handlers   TEXT NOT NULL,      -- JSON list of commands, secrets masked
    sysctl     TEXT NOT NULL,      -- JSON list of [key, value before]
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS backups (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host        TEXT NOT NULL,
    seq         INTEGER NOT NULL,  -- operation number; the host copy is backup_dir/seq
    path        TEXT NOT NULL,
    action      TEXT NOT NULL,     -- write | metadata | remove
    existed     INTEGER NOT NULL,
    mode        INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    gid         INTEGER NOT NULL,
    before_hash TEXT REFERENCES blobs(hash),   -- NULL: sensitive, or not a regular file
    after_exists INTEGER NOT NULL,
    after_hash  TEXT,              -- content in blobs unless sensitive
    after_mode  INTEGER,
    sensitive   INTEGER NOT NULL,
    PRIMARY KEY (run_id, host, seq)
);
-- v2: audited files as read, for `rectify changes`.
-- v3: what a change run has started, written as it goes, so a run whose
-- controller died before recording it is still known. Rows go when the
-- run is recorded.
CREATE TABLE IF NOT EXISTS journal (
    run_id  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    host    TEXT NOT NULL,
    status  TEXT NOT NULL,         -- started, or the host's final status
    at      TEXT NOT NULL,
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS observations (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host    TEXT NOT NULL,
    path    TEXT NOT NULL,
    hash    TEXT REFERENCES blobs(hash),   -- NULL: the file was missing
    PRIMARY KEY (run_id, host, path)
);
CREATE INDEX IF NOT EXISTS observations_by_host ON observations (host, path);
-- v4: how each host a change run changed was reached (address, port, user,
-- identity, jump…), so `rollback RUN` needs no inventory.
CREATE TABLE IF NOT EXISTS tx_connections (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host       TEXT NOT NULL,
    connection TEXT NOT NULL,      -- JSON of inventory::HostConnection
    PRIMARY KEY (run_id, host)
);
";

/// v5: surveys (`rectify survey`). Each distinct answer is kept once,
/// by its hash, like `blobs`; a withheld (sensitive) answer keeps no
/// value, and its hash is salted with the run id.
const SURVEYS: &str = "
CREATE TABLE IF NOT EXISTS survey_answers (
    hash  TEXT PRIMARY KEY,        -- SHA-256 of state and value (salted when withheld)
    state TEXT NOT NULL,           -- value | missing | not set | exit N | …
    value BLOB,                    -- NULL: withheld
    size  INTEGER NOT NULL         -- bytes of the value as the host sent it
);
CREATE TABLE IF NOT EXISTS surveys (
    run_id    TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,       -- file | setting | sysctl | package | command
    subject   TEXT NOT NULL,
    sensitive INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS survey_hosts (
    run_id  TEXT NOT NULL REFERENCES surveys(run_id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,      -- inventory order
    host    TEXT NOT NULL,
    address TEXT NOT NULL,
    answer  TEXT REFERENCES survey_answers(hash),  -- NULL: not reached
    error   TEXT,
    PRIMARY KEY (run_id, host)
);
";

impl StateDb {
    pub(super) fn migrate(&mut self) -> Result<(), StateError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.wrap(e))?;
        if version < SCHEMA_VERSION {
            let tx = self.conn.transaction().map_err(|e| StateError::Sqlite {
                path: self.path.display().to_string(),
                source: e,
            })?;
            for (_, step) in STEPS.iter().filter(|(v, _)| *v > version) {
                tx.execute_batch(step).map_err(|e| StateError::Sqlite {
                    path: self.path.display().to_string(),
                    source: e,
                })?;
            }
            if version < 6 {
                super::summary::backfill(&tx).map_err(|e| StateError::Sqlite {
                    path: self.path.display().to_string(),
                    source: e,
                })?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(|e| StateError::Sqlite {
                    path: self.path.display().to_string(),
                    source: e,
                })?;
            tx.commit().map_err(|e| StateError::Sqlite {
                path: self.path.display().to_string(),
                source: e,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by the version before surveys: its runs are
    /// kept, the survey tables added, the version raised.
    #[test]
    fn a_version_4_database_gains_the_survey_tables_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.pragma_update(None, "user_version", 4).unwrap();
            conn.execute(
                "INSERT INTO runs (id, kind, started, finished, hosts, compliant, drift, error, exit_code, report)
                 VALUES ('old-1', 'audit', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', 1, 1, 0, 0, 0, '{}')",
                [],
            )
            .unwrap();
        }
        let db = StateDb::open(dir.path()).unwrap();
        let version: i64 = db.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(db.runs(10).unwrap()[0].run_id, "old-1");
        assert!(db.surveys(10).unwrap().is_empty());
    }
}
