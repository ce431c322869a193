//! The database's tables, and bringing an older file up to them.

use super::{StateDb, StateError};

/// Version of the schema below; bump it with a migration step in `migrate`.
pub(super) const SCHEMA_VERSION: i64 = 6;

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
            tx.execute_batch(SCHEMA).map_err(|e| StateError::Sqlite {
                path: self.path.display().to_string(),
                source: e,
            })?;
            // v6: the web view's summaries, filled from the runs already
            // recorded (none in a new database).
            tx.execute_batch(super::summary::SCHEMA_V6)
                .and_then(|()| {
                    if version < 6 {
                        super::summary::backfill(&tx)
                    } else {
                        Ok(())
                    }
                })
                .map_err(|e| StateError::Sqlite {
                    path: self.path.display().to_string(),
                    source: e,
                })?;
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
