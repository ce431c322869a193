//! Summaries kept up to date as each run is recorded (schema v6), so that
//! the web view (`rectify serve`) answers from a few hundred rows instead
//! of scanning every result of every run: a history of 10,000 runs of 200
//! hosts holds millions of result rows.
//!
//! - `day_hosts`/`days`: per day (UTC date of the run's start), each host's
//!   last audit or fix that day and whether it was compliant, and the
//!   day's totals: the compliance chart.
//! - `host_now`: each host's latest audit or fix.
//! - `rule_now`: per rule and host, the latest result, the last pass not yet
//!   followed by a failure, and how often the rule came back.
//! - `recurrences`: each time a rule failed on a host where it had passed
//!   before — the definition of `history::stats`, kept row by row.
//! - `file_now`/`file_changes`: each audited file's latest content hash
//!   per host, and every change between two consecutive observations.
//!
//! Runs normally arrive in the order they started. One that arrives after
//! a newer run of the same host (two overlapping runs) has the affected
//! rule/host and file/host pairs replayed from the base tables in start
//! order, so the summaries always equal what a full scan would say.

use rusqlite::{params, Connection, OptionalExtension};

use crate::report::RunReport;

/// Tables and indexes of schema v6.
pub(super) const SCHEMA_V6: &str = "
CREATE TABLE IF NOT EXISTS day_hosts (
    day       TEXT NOT NULL,        -- YYYY-MM-DD of the run's start, UTC
    host      TEXT NOT NULL,
    started   TEXT NOT NULL,
    run_id    TEXT NOT NULL,
    compliant INTEGER NOT NULL,
    PRIMARY KEY (day, host)
);
CREATE TABLE IF NOT EXISTS days (
    day       TEXT PRIMARY KEY,
    hosts     INTEGER NOT NULL,
    compliant INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS host_now (
    host    TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL,
    started TEXT NOT NULL,
    status  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_now (
    rule_id      TEXT NOT NULL,
    baseline     TEXT NOT NULL,
    host         TEXT NOT NULL,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    status       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    started      TEXT NOT NULL,
    pass_run     TEXT,              -- last pass not yet followed by a failure
    pass_started TEXT,
    recurrences  INTEGER NOT NULL,
    PRIMARY KEY (rule_id, baseline, host)
);
CREATE INDEX IF NOT EXISTS rule_now_by_host ON rule_now (host);
CREATE TABLE IF NOT EXISTS recurrences (
    rule_id    TEXT NOT NULL,
    baseline   TEXT NOT NULL,
    host       TEXT NOT NULL,
    passed_run TEXT NOT NULL,
    passed     TEXT NOT NULL,
    failed_run TEXT NOT NULL,
    failed     TEXT NOT NULL,
    PRIMARY KEY (rule_id, baseline, host, failed_run)
);
CREATE INDEX IF NOT EXISTS recurrences_by_rule ON recurrences (rule_id, failed);
CREATE TABLE IF NOT EXISTS file_now (
    host    TEXT NOT NULL,
    path    TEXT NOT NULL,
    run_id  TEXT NOT NULL,
    started TEXT NOT NULL,
    hash    TEXT,
    PRIMARY KEY (host, path)
);
CREATE TABLE IF NOT EXISTS file_changes (
    host         TEXT NOT NULL,
    path         TEXT NOT NULL,
    from_run     TEXT NOT NULL,
    from_started TEXT NOT NULL,
    from_hash    TEXT,
    to_run       TEXT NOT NULL,
    to_started   TEXT NOT NULL,
    to_hash      TEXT,
    PRIMARY KEY (host, to_run, path)
);
CREATE INDEX IF NOT EXISTS file_changes_by_host ON file_changes (host, to_started);
CREATE INDEX IF NOT EXISTS host_runs_by_host ON host_runs (host);
";

/// `execute` with the statement cached: a run records hundreds of results.
fn exec(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(args)
}

fn row<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(args, f)
}

fn failed(status: &str) -> bool {
    status == "fail" || status == "error"
}

/// Whether a run's host results count as an audit (compliance, current
/// state, recurrences): audits and fixes, as in `rectify stats`.
fn audits(kind: &str) -> bool {
    kind == "audit" || kind == "fix"
}

/// One result as the summaries see it.
struct Seen<'a> {
    rule_id: &'a str,
    baseline: &'a str,
    host: &'a str,
    title: &'a str,
    severity: &'a str,
    status: &'a str,
    run_id: &'a str,
    started: &'a str,
}

/// Updates every summary for a run just inserted into the base tables.
pub(super) fn on_record(conn: &Connection, report: &RunReport, started: &str) -> rusqlite::Result<()> {
    let kind = super::kind_name(report.kind);
    if audits(kind) {
        for h in &report.hosts {
            host_seen(conn, &h.name, &report.run_id, started, h.status.as_str())?;
            for r in &h.results {
                rule_result(
                    conn,
                    &Seen {
                        rule_id: &r.id,
                        baseline: &r.baseline,
                        host: &h.name,
                        title: &r.title,
                        severity: r.severity.as_str(),
                        status: r.status.as_str(),
                        run_id: &report.run_id,
                        started,
                    },
                )?;
            }
        }
    }
    for h in &report.hosts {
        for o in &h.observed {
            let hash = o.content.as_deref().map(super::sha256);
            file_seen(conn, &h.name, &o.path, &report.run_id, started, hash.as_deref())?;
        }
    }
    Ok(())
}

/// A host's audit or fix: the day's compliance and the host's latest run.
fn host_seen(conn: &Connection, host: &str, run_id: &str, started: &str, status: &str) -> rusqlite::Result<()> {
    let day = &started[..started.len().min(10)];
    exec(
        conn,
        "INSERT INTO day_hosts (day, host, started, run_id, compliant) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (day, host) DO UPDATE SET started = excluded.started, run_id = excluded.run_id,
             compliant = excluded.compliant
         WHERE (excluded.started, excluded.run_id) >= (day_hosts.started, day_hosts.run_id)",
        params![day, host, started, run_id, status == "compliant"],
    )?;
    exec(
        conn,
        "INSERT OR REPLACE INTO days (day, hosts, compliant)
         SELECT day, count(*), sum(compliant) FROM day_hosts WHERE day = ?1 GROUP BY day",
        params![day],
    )?;
    exec(
        conn,
        "INSERT INTO host_now (host, run_id, started, status) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (host) DO UPDATE SET run_id = excluded.run_id, started = excluded.started,
             status = excluded.status
         WHERE (excluded.started, excluded.run_id) >= (host_now.started, host_now.run_id)",
        params![host, run_id, started, status],
    )?;
    Ok(())
}

/// The state of one rule on one host between two results.
#[derive(Default)]
struct Pair {
    /// The latest result's (start, run id): the order results count in.
    started: Option<(String, String)>,
    pass: Option<(String, String)>,
    recurrences: i64,
}

fn rule_result(conn: &Connection, r: &Seen) -> rusqlite::Result<()> {
    let now: Option<Pair> = conn
        .query_row(
            "SELECT started, pass_run, pass_started, recurrences, run_id FROM rule_now
             WHERE rule_id = ?1 AND baseline = ?2 AND host = ?3",
            params![r.rule_id, r.baseline, r.host],
            |row| {
                let pass_run: Option<String> = row.get(1)?;
                let pass_started: Option<String> = row.get(2)?;
                Ok(Pair {
                    started: Some((row.get(0)?, row.get(4)?)),
                    pass: pass_run.zip(pass_started),
                    recurrences: row.get(3)?,
                })
            },
        )
        .optional()?;
    match now {
        Some(p)
            if p.started
                .as_ref()
                .is_some_and(|(s, id)| (s.as_str(), id.as_str()) > (r.started, r.run_id)) =>
        {
            replay_rule(conn, r)
        }
        p => step_rule(conn, r, p.unwrap_or_default()).map(drop),
    }
}

/// One result after the pair's state `p`: `history::stats`' rule — a
/// failure after a pass is a recurrence, and only the first failure counts.
fn step_rule(conn: &Connection, r: &Seen, mut p: Pair) -> rusqlite::Result<Pair> {
    if failed(r.status) {
        if let Some((passed_run, passed)) = p.pass.take() {
            exec(
                conn,
                "INSERT OR REPLACE INTO recurrences (rule_id, baseline, host, passed_run, passed, failed_run, failed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.rule_id, r.baseline, r.host, passed_run, passed, r.run_id, r.started],
            )?;
            p.recurrences += 1;
        }
    } else if r.status == "pass" {
        p.pass = Some((r.run_id.to_string(), r.started.to_string()));
    }
    let (pass_run, pass_started) = p.pass.take().unzip();
    exec(
        conn,
        "INSERT OR REPLACE INTO rule_now (rule_id, baseline, host, title, severity, status, run_id, started,
                                         pass_run, pass_started, recurrences)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            r.rule_id,
            r.baseline,
            r.host,
            r.title,
            r.severity,
            r.status,
            r.run_id,
            r.started,
            pass_run,
            pass_started,
            p.recurrences
        ],
    )?;
    p.started = Some((r.started.to_string(), r.run_id.to_string()));
    p.pass = pass_run.zip(pass_started);
    Ok(p)
}

/// Rebuilds one rule/host pair from its results in start order: `r`
/// belongs to a run recorded after a newer one of the same host. The
/// title and severity shown are the newest recorded ones.
fn replay_rule(conn: &Connection, r: &Seen) -> rusqlite::Result<()> {
    let key = params![r.rule_id, r.baseline, r.host];
    exec(
        conn,
        "DELETE FROM recurrences WHERE rule_id = ?1 AND baseline = ?2 AND host = ?3",
        key,
    )?;
    let (title, severity): (String, String) = row(
        conn,
        "SELECT title, severity FROM rule_now WHERE rule_id = ?1 AND baseline = ?2 AND host = ?3",
        key,
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    exec(
        conn,
        "DELETE FROM rule_now WHERE rule_id = ?1 AND baseline = ?2 AND host = ?3",
        key,
    )?;
    let mut stmt = conn.prepare(
        "SELECT x.status, x.run_id, r.started FROM results x JOIN runs r ON r.id = x.run_id
         WHERE x.rule_id = ?1 AND x.baseline = ?2 AND x.host = ?3 AND r.kind IN ('audit', 'fix')
         ORDER BY r.started, r.id",
    )?;
    let rows: Vec<(String, String, String)> = stmt
        .query_map(key, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut p = Pair::default();
    for (status, run_id, started) in &rows {
        let step = Seen {
            title: &title,
            severity: &severity,
            status,
            run_id,
            started,
            ..*r
        };
        p = step_rule(conn, &step, p)?;
    }
    Ok(())
}

/// One observed file: a change against the host's previous observation of
/// the same path is a `file_changes` row.
fn file_seen(
    conn: &Connection,
    host: &str,
    path: &str,
    run_id: &str,
    started: &str,
    hash: Option<&str>,
) -> rusqlite::Result<()> {
    let now: Option<(String, String, Option<String>)> = conn
        .query_row(
            "SELECT run_id, started, hash FROM file_now WHERE host = ?1 AND path = ?2",
            params![host, path],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((prev_run, prev_started, _)) = &now {
        if (prev_started.as_str(), prev_run.as_str()) > (started, run_id) {
            return replay_file(conn, host, path);
        }
    }
    if let Some((prev_run, prev_started, prev_hash)) = now {
        if prev_hash.as_deref() != hash {
            exec(
                conn,
                "INSERT OR REPLACE INTO file_changes (host, path, from_run, from_started, from_hash,
                                                     to_run, to_started, to_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![host, path, prev_run, prev_started, prev_hash, run_id, started, hash],
            )?;
        }
    }
    exec(
        conn,
        "INSERT OR REPLACE INTO file_now (host, path, run_id, started, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![host, path, run_id, started, hash],
    )?;
    Ok(())
}

fn replay_file(conn: &Connection, host: &str, path: &str) -> rusqlite::Result<()> {
    exec(
        conn,
        "DELETE FROM file_changes WHERE host = ?1 AND path = ?2",
        params![host, path],
    )?;
    exec(
        conn,
        "DELETE FROM file_now WHERE host = ?1 AND path = ?2",
        params![host, path],
    )?;
    let mut stmt = conn.prepare(
        "SELECT o.run_id, r.started, o.hash FROM observations o JOIN runs r ON r.id = o.run_id
         WHERE o.host = ?1 AND o.path = ?2 ORDER BY r.started, r.id",
    )?;
    let rows: Vec<(String, String, Option<String>)> = stmt
        .query_map(params![host, path], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (run_id, started, hash) in rows {
        file_seen(conn, host, path, &run_id, &started, hash.as_deref())?;
    }
    Ok(())
}

/// Fills the v6 summaries from an older database's runs, oldest first.
pub(super) fn backfill(conn: &Connection) -> rusqlite::Result<()> {
    let mut runs = conn.prepare("SELECT id, started, report FROM runs ORDER BY started, id")?;
    let mut rows = runs.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let started: String = row.get(1)?;
        let text: String = row.get(2)?;
        // A report this version cannot read is left out of the summaries
        // (`show` names it); it must not stop the migration.
        let Ok(report) = serde_json::from_str::<RunReport>(&text) else {
            continue;
        };
        debug_assert_eq!(report.run_id, id);
        on_record_backfill(conn, &report, &started)?;
    }
    Ok(())
}

/// `on_record` for a stored run: its observed contents are not in the JSON
/// report, so the file summaries come from `observations`.
fn on_record_backfill(conn: &Connection, report: &RunReport, started: &str) -> rusqlite::Result<()> {
    let mut without_files = report.clone();
    for h in &mut without_files.hosts {
        h.observed.clear();
    }
    on_record(conn, &without_files, started)?;
    let mut stmt = conn.prepare("SELECT host, path, hash FROM observations WHERE run_id = ?1")?;
    let rows: Vec<(String, String, Option<String>)> = stmt
        .query_map(params![report.run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (host, path, hash) in rows {
        file_seen(conn, &host, &path, &report.run_id, started, hash.as_deref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::report::{HostReport, HostStatus, Observed, RunKind, RunReport};
    use crate::state::StateDb;

    /// A run of hosts `(name, status of rule R, content of /etc/f)`.
    fn run(id: &str, day: &str, hosts: &[(&str, &str, &str)]) -> RunReport {
        let hosts: Vec<HostReport> = hosts
            .iter()
            .map(|(name, status, content)| {
                let result = serde_json::json!({"id": "R", "title": "t", "severity": "high", "status": status,
                    "expected": null, "actual": null, "diff": null, "message": null, "baseline": "b"});
                HostReport {
                    name: name.to_string(),
                    address: "a".into(),
                    status: if *status == "pass" {
                        HostStatus::Compliant
                    } else {
                        HostStatus::Drift
                    },
                    error: None,
                    results: vec![serde_json::from_value(result).unwrap()],
                    changes: Vec::new(),
                    duration_ms: 1,
                    warnings: Vec::new(),
                    attempts: 1,
                    observed: vec![Observed {
                        path: "/etc/f".into(),
                        content: Some(content.as_bytes().to_vec()),
                    }],
                }
            })
            .collect();
        RunReport {
            run_id: id.into(),
            kind: RunKind::Audit,
            check: false,
            started: format!("{day}T10:00:00Z").parse().unwrap(),
            finished: format!("{day}T10:00:00Z").parse().unwrap(),
            summary: RunReport::summarize(&hosts),
            hosts,
            baselines: vec!["b".into()],
            rectify_version: "test".into(),
        }
    }

    /// Recurrences (host, passed, failed), days (day, hosts, compliant),
    /// file changes (host, run).
    type Summaries = (
        Vec<(String, String, String)>,
        Vec<(String, i64, i64)>,
        Vec<(String, String)>,
    );

    fn summaries(db: &StateDb) -> Summaries {
        let rec = db
            .rows(
                "SELECT host, passed_run, failed_run FROM recurrences ORDER BY host, failed_run",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let days = db
            .rows("SELECT day, hosts, compliant FROM days ORDER BY day", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        let changes = db
            .rows("SELECT host, to_run FROM file_changes ORDER BY host, to_run", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        (rec, days, changes)
    }

    #[test]
    fn summaries_match_the_stats_definition_whatever_the_recording_order() {
        let runs = [
            run("1", "2026-11-01", &[("a", "pass", "x"), ("b", "fail", "y")]),
            run("2", "2026-11-02", &[("a", "fail", "y"), ("b", "pass", "x")]),
            run("3", "2026-11-02", &[("a", "fail", "y"), ("b", "fail", "y")]),
            run("4", "2026-11-04", &[("a", "pass", "x"), ("b", "fail", "y")]),
            run("5", "2026-11-05", &[("a", "error", "z")]),
        ];
        let ordered = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(ordered.path()).unwrap();
        for r in &runs {
            db.record(r).unwrap();
        }
        let in_order = summaries(&db);
        // The stats definition, computed by `history::stats` from all rows.
        let stats = crate::history::stats(&db.rule_history("2000-01-01").unwrap(), "x");
        let mut expected: Vec<(String, String, String)> = stats.rules[0]
            .recurring
            .iter()
            .map(|r| (r.host.clone(), r.passed_run.clone(), r.failed_run.clone()))
            .collect();
        expected.sort();
        assert_eq!(in_order.0, expected);
        assert_eq!(
            in_order.0,
            [("a", "1", "2"), ("a", "4", "5"), ("b", "2", "3")].map(|(a, b, c)| (
                a.to_string(),
                b.to_string(),
                c.to_string()
            ))
        );
        // Day 2: both runs, the later one counts: a fail, b fail.
        assert_eq!(in_order.1[1], ("2026-11-02".to_string(), 2, 0));
        assert_eq!(in_order.1.len(), 4);

        // Recorded out of order (overlapping runs): the same summaries.
        let shuffled = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(shuffled.path()).unwrap();
        for i in [3, 0, 4, 2, 1] {
            db.record(&runs[i]).unwrap();
        }
        assert_eq!(summaries(&db), in_order);

        // A database from before v6: its runs fill the summaries once.
        drop(db);
        let db = StateDb::open(ordered.path()).unwrap();
        db.conn
            .execute_batch(
                "DELETE FROM day_hosts; DELETE FROM days; DELETE FROM host_now; DELETE FROM rule_now;
                 DELETE FROM recurrences; DELETE FROM file_now; DELETE FROM file_changes;
                 PRAGMA user_version = 4;",
            )
            .unwrap();
        drop(db);
        let db = StateDb::open(ordered.path()).unwrap();
        assert_eq!(summaries(&db), in_order);
    }
}
