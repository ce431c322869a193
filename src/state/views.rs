//! The read-only side of the state database for the web view: opening it
//! without ever writing (no migration, `query_only`), and the queries its
//! pages make. Every list is bounded (a `limit`, pages of rows) and every
//! query reads the v6 summaries or an index, never all results.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use super::{StateDb, StateError};

/// One day of the compliance chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub day: String,
    /// Hosts audited that day (audit or fix).
    pub hosts: i64,
    /// Of those, hosts whose last audit that day was compliant.
    pub compliant: i64,
}

/// A host's latest audit or fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostNow {
    pub host: String,
    pub run_id: String,
    pub started: String,
    pub status: String,
    /// Rules whose latest result on the host is fail or error.
    pub failing: i64,
}

/// One rule over the fleet, from its latest result on each host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleNow {
    pub rule_id: String,
    pub baseline: String,
    pub title: String,
    pub severity: String,
    pub hosts: i64,
    pub failing: i64,
    pub recurrences: i64,
}

/// The latest result of one rule on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOnHost {
    pub rule_id: String,
    pub baseline: String,
    pub host: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub run_id: String,
    pub started: String,
    pub recurrences: i64,
}

/// A failure after a pass (`history::stats`' recurring drift).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecurrenceRow {
    pub baseline: String,
    pub host: String,
    pub passed_run: String,
    pub passed: String,
    pub failed_run: String,
    pub failed: String,
}

/// One run of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRun {
    pub run_id: String,
    pub kind: String,
    pub started: String,
    pub status: String,
    pub error: Option<String>,
}

/// A change of one audited file between two consecutive observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChangeRow {
    pub path: String,
    pub from_run: String,
    pub from: String,
    pub to_run: String,
    pub to: String,
    #[serde(skip)]
    pub before: Option<Vec<u8>>,
    #[serde(skip)]
    pub after: Option<Vec<u8>>,
}

/// A file as observed in two runs of one host, where its content differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePair {
    pub path: String,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

/// Why the web view cannot read a database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no state database at {0} (nothing recorded yet, or another --state-dir)")]
    Missing(String),
    #[error(
        "state database {path} has schema v{found}, newer than this rectify's v{known}: serve it with the rectify that wrote it"
    )]
    Newer { path: String, found: i64, known: i64 },
    #[error(
        "state database {path} has schema v{found}, older than this rectify's v{known}: `serve` never writes, so run `rectify runs` once (it upgrades the database) and start serve again"
    )]
    Older { path: String, found: i64, known: i64 },
    #[error(transparent)]
    State(#[from] StateError),
}

impl StateDb {
    /// Opens `dir/state.db` for reading only: SQLite's read-only mode and
    /// `query_only`, no migration. A schema other than this binary's is
    /// refused with what to do about it. Readers never block a writer (WAL)
    /// and see only committed runs.
    pub fn open_read_only(dir: &Path) -> Result<StateDb, OpenError> {
        let path = dir.join("state.db");
        if !path.is_file() {
            return Err(OpenError::Missing(path.display().to_string()));
        }
        let wrap = |source| StateError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(wrap)?;
        conn.pragma_update(None, "query_only", "ON").map_err(wrap)?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(wrap)?;
        let known = super::schema::SCHEMA_VERSION;
        let shown = path.display().to_string();
        if found > known {
            return Err(OpenError::Newer {
                path: shown,
                found,
                known,
            });
        }
        if found < known {
            return Err(OpenError::Older {
                path: shown,
                found,
                known,
            });
        }
        Ok(StateDb { conn, path })
    }

    pub(super) fn rows<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StateError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map(args, map).map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.wrap(e))
    }

    /// The newest `limit` days with audits, oldest first.
    pub fn days(&self, limit: usize) -> Result<Vec<Day>, StateError> {
        let mut days = self.rows(
            "SELECT day, hosts, compliant FROM days ORDER BY day DESC LIMIT ?1",
            params![limit as i64],
            |r| {
                Ok(Day {
                    day: r.get(0)?,
                    hosts: r.get(1)?,
                    compliant: r.get(2)?,
                })
            },
        )?;
        days.reverse();
        Ok(days)
    }

    /// Every host's latest audit, failing hosts first, then by name.
    pub fn hosts_now(&self, limit: usize, offset: usize) -> Result<Vec<HostNow>, StateError> {
        self.rows(
            "SELECT h.host, h.run_id, h.started, h.status,
                    (SELECT count(*) FROM rule_now n WHERE n.host = h.host AND n.status IN ('fail', 'error'))
             FROM host_now h ORDER BY h.status = 'compliant', h.host LIMIT ?1 OFFSET ?2",
            params![limit as i64, offset as i64],
            host_now,
        )
    }

    pub fn host_count(&self) -> Result<i64, StateError> {
        self.conn
            .query_row("SELECT count(*) FROM host_now", [], |r| r.get(0))
            .map_err(|e| self.wrap(e))
    }

    /// One host's latest audit; `None` for a host never audited.
    pub fn host_now(&self, host: &str) -> Result<Option<HostNow>, StateError> {
        self.conn
            .query_row(
                "SELECT h.host, h.run_id, h.started, h.status,
                        (SELECT count(*) FROM rule_now n WHERE n.host = h.host AND n.status IN ('fail', 'error'))
                 FROM host_now h WHERE h.host = ?1",
                params![host],
                host_now,
            )
            .optional()
            .map_err(|e| self.wrap(e))
    }

    /// Whether any run touched `host` (an apply-only host has no audit).
    pub fn host_known(&self, host: &str) -> Result<bool, StateError> {
        self.conn
            .query_row("SELECT 1 FROM host_runs WHERE host = ?1 LIMIT 1", params![host], |_| {
                Ok(())
            })
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.wrap(e))
    }

    /// Every rule over the fleet: critical first, then most failing hosts.
    pub fn rules_now(&self, limit: usize) -> Result<Vec<RuleNow>, StateError> {
        self.rows(
            "SELECT rule_id, baseline, max(title),
                    min(CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                        WHEN 'low' THEN 3 ELSE 4 END) AS rank,
                    count(*), sum(status IN ('fail', 'error')) AS failing, sum(recurrences) AS recurrences
             FROM rule_now GROUP BY rule_id, baseline
             ORDER BY rank, failing DESC, recurrences DESC, rule_id
             LIMIT ?1",
            params![limit as i64],
            |r| {
                Ok(RuleNow {
                    rule_id: r.get(0)?,
                    baseline: r.get(1)?,
                    title: r.get(2)?,
                    severity: SEVERITIES[r.get::<_, i64>(3)?.clamp(0, 4) as usize].to_string(),
                    hosts: r.get(4)?,
                    failing: r.get(5)?,
                    recurrences: r.get(6)?,
                })
            },
        )
    }

    /// The latest result of rule `rule_id` on each host (any baseline).
    pub fn rule_hosts(&self, rule_id: &str, limit: usize) -> Result<Vec<RuleOnHost>, StateError> {
        self.rows(
            "SELECT rule_id, baseline, host, title, severity, status, run_id, started, recurrences
             FROM rule_now WHERE rule_id = ?1
             ORDER BY status NOT IN ('fail', 'error'), host LIMIT ?2",
            params![rule_id, limit as i64],
            rule_on_host,
        )
    }

    /// The rules whose latest result on `host` is fail or error.
    pub fn host_failing(&self, host: &str, limit: usize) -> Result<Vec<RuleOnHost>, StateError> {
        self.rows(
            "SELECT rule_id, baseline, host, title, severity, status, run_id, started, recurrences
             FROM rule_now WHERE host = ?1 AND status IN ('fail', 'error')
             ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                      WHEN 'low' THEN 3 ELSE 4 END, rule_id LIMIT ?2",
            params![host, limit as i64],
            rule_on_host,
        )
    }

    /// The rules that came back most often, over the fleet.
    pub fn top_recurring(&self, limit: usize) -> Result<Vec<RuleNow>, StateError> {
        let mut rules = self.rules_now(10_000)?;
        rules.retain(|r| r.recurrences > 0);
        rules.sort_by(|a, b| b.recurrences.cmp(&a.recurrences).then(a.rule_id.cmp(&b.rule_id)));
        rules.truncate(limit);
        Ok(rules)
    }

    /// Recurrences of a rule, newest failure first, and how many there are.
    pub fn recurrences(
        &self,
        rule_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<RecurrenceRow>, i64), StateError> {
        let rows = self.rows(
            "SELECT baseline, host, passed_run, passed, failed_run, failed FROM recurrences
             WHERE rule_id = ?1 ORDER BY failed DESC, host LIMIT ?2 OFFSET ?3",
            params![rule_id, limit as i64, offset as i64],
            |r| {
                Ok(RecurrenceRow {
                    baseline: r.get(0)?,
                    host: r.get(1)?,
                    passed_run: r.get(2)?,
                    passed: r.get(3)?,
                    failed_run: r.get(4)?,
                    failed: r.get(5)?,
                })
            },
        )?;
        let total = self
            .conn
            .query_row(
                "SELECT count(*) FROM recurrences WHERE rule_id = ?1",
                params![rule_id],
                |r| r.get(0),
            )
            .map_err(|e| self.wrap(e))?;
        Ok((rows, total))
    }

    /// The files whose content differs between two runs' observations of
    /// `host` (a file missing in one of them counts as differing).
    pub fn changed_between(&self, host: &str, before: &str, after: &str) -> Result<Vec<FilePair>, StateError> {
        self.rows(
            "SELECT a.path, ca.content, cb.content
             FROM observations a JOIN observations b ON b.run_id = ?3 AND b.host = ?1 AND b.path = a.path
                  LEFT JOIN blobs ca ON ca.hash = a.hash LEFT JOIN blobs cb ON cb.hash = b.hash
             WHERE a.run_id = ?2 AND a.host = ?1 AND a.hash IS NOT b.hash
             ORDER BY a.path LIMIT 20",
            params![host, before, after],
            |r| {
                Ok(FilePair {
                    path: r.get(0)?,
                    before: r.get(1)?,
                    after: r.get(2)?,
                })
            },
        )
    }

    /// A host's runs, newest first.
    pub fn host_runs(
        &self,
        host: &str,
        kinds: &[&str],
        limit: usize,
        offset: usize,
    ) -> Result<Vec<HostRun>, StateError> {
        let kinds = serde_json::to_string(kinds).expect("strings serialise");
        self.rows(
            "SELECT r.id, r.kind, r.started, h.status, h.error
             FROM host_runs h JOIN runs r ON r.id = h.run_id
             WHERE h.host = ?1 AND r.kind IN (SELECT value FROM json_each(?2))
             ORDER BY r.started DESC, r.id DESC LIMIT ?3 OFFSET ?4",
            params![host, kinds, limit as i64, offset as i64],
            |r| {
                Ok(HostRun {
                    run_id: r.get(0)?,
                    kind: r.get(1)?,
                    started: r.get(2)?,
                    status: r.get(3)?,
                    error: r.get(4)?,
                })
            },
        )
    }

    /// How many runs touched `host`.
    pub fn host_run_count(&self, host: &str) -> Result<i64, StateError> {
        self.conn
            .query_row("SELECT count(*) FROM host_runs WHERE host = ?1", params![host], |r| {
                r.get(0)
            })
            .map_err(|e| self.wrap(e))
    }

    /// A host's file changes between audits, newest first, with contents.
    pub fn host_changes(&self, host: &str, limit: usize) -> Result<Vec<FileChangeRow>, StateError> {
        self.rows(
            "SELECT c.path, c.from_run, c.from_started, c.to_run, c.to_started, a.content, b.content
             FROM file_changes c LEFT JOIN blobs a ON a.hash = c.from_hash LEFT JOIN blobs b ON b.hash = c.to_hash
             WHERE c.host = ?1 ORDER BY c.to_started DESC, c.path LIMIT ?2",
            params![host, limit as i64],
            |r| {
                Ok(FileChangeRow {
                    path: r.get(0)?,
                    from_run: r.get(1)?,
                    from: r.get(2)?,
                    to_run: r.get(3)?,
                    to: r.get(4)?,
                    before: r.get(5)?,
                    after: r.get(6)?,
                })
            },
        )
    }

    /// One page of runs, newest first, and the number of runs.
    pub fn runs_page(&self, limit: usize, offset: usize) -> Result<(Vec<super::RunRow>, i64), StateError> {
        let rows = self.rows(
            "SELECT id, kind, started, hosts, compliant, drift, error, exit_code
             FROM runs ORDER BY started DESC, id DESC LIMIT ?1 OFFSET ?2",
            params![limit as i64, offset as i64],
            |r| super::RunRow::from_row(r, false),
        )?;
        let total = self
            .conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .map_err(|e| self.wrap(e))?;
        Ok((rows, total))
    }

    /// Hosts whose name contains `q` (case-insensitive).
    pub fn search_hosts(&self, q: &str, limit: usize) -> Result<Vec<String>, StateError> {
        self.rows(
            "SELECT host FROM host_now WHERE instr(lower(host), lower(?1)) > 0 ORDER BY host LIMIT ?2",
            params![q, limit as i64],
            |r| r.get(0),
        )
    }

    /// Rules whose id or title contains `q`: (id, title).
    pub fn search_rules(&self, q: &str, limit: usize) -> Result<Vec<(String, String)>, StateError> {
        self.rows(
            "SELECT rule_id, max(title) FROM rule_now
             WHERE instr(lower(rule_id), lower(?1)) > 0 OR instr(lower(title), lower(?1)) > 0
             GROUP BY rule_id ORDER BY rule_id LIMIT ?2",
            params![q, limit as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Runs whose id, or its random part, starts with `q`, newest first.
    pub fn search_runs(&self, q: &str, limit: usize) -> Result<Vec<(String, String, String)>, StateError> {
        self.rows(
            // The inner query reads only the id index, not the rows with
            // their reports.
            "SELECT id, kind, started FROM runs WHERE id IN (
                 SELECT id FROM runs
                 WHERE substr(id, 1, length(?1)) = ?1 OR substr(id, instr(id, '-') + 1, length(?1)) = ?1
                 LIMIT ?2)
             ORDER BY started DESC",
            params![q, limit as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}

/// Severities by rank, as the queries order them.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

fn host_now(r: &rusqlite::Row) -> rusqlite::Result<HostNow> {
    Ok(HostNow {
        host: r.get(0)?,
        run_id: r.get(1)?,
        started: r.get(2)?,
        status: r.get(3)?,
        failing: r.get(4)?,
    })
}

fn rule_on_host(r: &rusqlite::Row) -> rusqlite::Result<RuleOnHost> {
    Ok(RuleOnHost {
        rule_id: r.get(0)?,
        baseline: r.get(1)?,
        host: r.get(2)?,
        title: r.get(3)?,
        severity: r.get(4)?,
        status: r.get(5)?,
        run_id: r.get(6)?,
        started: r.get(7)?,
        recurrences: r.get(8)?,
    })
}
