//! Naming a recorded run without typing its whole id: `last`, `last-KIND`,
//! or a unique prefix (of the whole id, or of its random part after the
//! `-`), the way git takes short commit ids.

use rusqlite::params;

use super::{StateDb, StateError};

/// Shortest prefix taken: shorter ones would name a different run as soon
/// as one more is recorded (git's minimum too).
pub const MIN_PREFIX: usize = 4;

/// Kinds `last-KIND` accepts.
const KINDS: [&str; 5] = ["audit", "apply", "fix", "rollback", "survey"];

/// Why a name does not name exactly one run.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no run {0:?} in the state database (see `rectify runs`)")]
    NotFound(String),
    #[error("run id {query:?} is ambiguous: it starts {} (give more characters)", .candidates.join(", "))]
    Ambiguous { query: String, candidates: Vec<String> },
    #[error("run id {0:?} is too short: give at least {MIN_PREFIX} characters, the whole id, `last` or `last-KIND`")]
    TooShort(String),
    #[error("no {0} recorded yet")]
    NoneOfKind(String),
    #[error("{0:?}: `last-` takes one of audit, apply, fix, rollback, survey")]
    UnknownKind(String),
}

impl StateDb {
    /// The full id of the run `name` names: an id, `last` (the newest run),
    /// `last-KIND` (the newest run of that kind that was not a `--check`),
    /// or a unique prefix of an id or of its random part. Unfinished runs
    /// (in the journal only) count too.
    pub fn find_run(&self, name: &str) -> Result<Result<String, LookupError>, StateError> {
        if let Some(kind) = name.strip_prefix("last") {
            return self.newest(kind);
        }
        let ids = self.all_ids()?;
        if ids.iter().any(|id| id == name) {
            return Ok(Ok(name.to_string()));
        }
        if name.chars().count() < MIN_PREFIX {
            return Ok(Err(LookupError::TooShort(name.to_string())));
        }
        Ok(pick(name, &ids))
    }

    fn newest(&self, kind: &str) -> Result<Result<String, LookupError>, StateError> {
        let kind = match kind {
            "" => None,
            k => match k.strip_prefix('-').filter(|k| KINDS.contains(k)) {
                Some(k) => Some(k),
                None => return Ok(Err(LookupError::UnknownKind(format!("last{kind}")))),
            },
        };
        let id: Option<String> = match kind {
            None => self
                .conn
                .query_row("SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1", [], |r| {
                    r.get(0)
                }),
            Some(kind) => self.conn.query_row(
                "SELECT id FROM runs WHERE kind = ?1 AND coalesce(json_extract(report, '$.check'), 0) = 0
                 ORDER BY started DESC, id DESC LIMIT 1",
                params![kind],
                |r| r.get(0),
            ),
        }
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|e| self.wrap(e))?;
        Ok(id.ok_or_else(|| {
            LookupError::NoneOfKind(kind.map_or("run".to_string(), |k| format!("{k} run (other than --check)")))
        }))
    }

    /// Every recorded run's id, and those of unfinished runs.
    fn all_ids(&self) -> Result<Vec<String>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM runs UNION SELECT DISTINCT run_id FROM journal")
            .map_err(|e| self.wrap(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<String>, _>>().map_err(|e| self.wrap(e))
    }
}

/// The one id `query` is a prefix of (of the whole id or of its random
/// part). A random part equal to the query wins over longer ones, so that
/// `3fa9c2` names the fix run `…-3fa9c2` and not its remediations
/// `…-3fa9c2.1`.
fn pick(query: &str, ids: &[String]) -> Result<String, LookupError> {
    let random = |id: &str| id.split_once('-').map(|(_, r)| r.to_string());
    let mut found: Vec<&String> = ids
        .iter()
        .filter(|id| id.starts_with(query) || random(id).is_some_and(|r| r.starts_with(query)))
        .collect();
    if let Some(exact) = found.iter().find(|id| random(id).as_deref() == Some(query)) {
        return Ok((*exact).clone());
    }
    found.sort();
    match found.as_slice() {
        [] => Err(LookupError::NotFound(query.to_string())),
        [one] => Ok((*one).clone()),
        many => Err(LookupError::Ambiguous {
            query: query.to_string(),
            candidates: many.iter().take(5).map(|s| s.to_string()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        [
            "20261129T100000Z-3fa9c2",
            "20261129T100000Z-3fa9c2.1",
            "20261129T100000Z-3fa9c2.2",
            "20261129T110000Z-a1b2c3",
            "20261130T090000Z-a1ffff",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn a_unique_prefix_of_the_id_or_its_random_part_names_a_run() {
        assert_eq!(pick("20261130", &ids()).unwrap(), "20261130T090000Z-a1ffff");
        assert_eq!(pick("a1b2", &ids()).unwrap(), "20261129T110000Z-a1b2c3");
        assert_eq!(pick("3fa9c2.2", &ids()).unwrap(), "20261129T100000Z-3fa9c2.2");
        // The fix run itself, not its remediation runs.
        assert_eq!(pick("3fa9c2", &ids()).unwrap(), "20261129T100000Z-3fa9c2");
    }

    fn run(id: &str, kind: crate::report::RunKind, check: bool, started: &str) -> crate::report::RunReport {
        crate::report::RunReport {
            run_id: id.into(),
            kind,
            check,
            started: started.parse().unwrap(),
            finished: started.parse().unwrap(),
            summary: Default::default(),
            hosts: Vec::new(),
            baselines: Vec::new(),
            rectify_version: "test".into(),
        }
    }

    #[test]
    fn last_and_last_kind_name_the_newest_runs_and_skip_checks() {
        use crate::report::RunKind;
        let dir = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(dir.path()).unwrap();
        assert!(matches!(db.find_run("last").unwrap(), Err(LookupError::NoneOfKind(_))));
        db.record(&run(
            "20261129T100000Z-aaaaaa",
            RunKind::Apply,
            false,
            "2026-11-29T10:00:00Z",
        ))
        .unwrap();
        db.record(&run(
            "20261129T110000Z-bbbbbb",
            RunKind::Apply,
            true,
            "2026-11-29T11:00:00Z",
        ))
        .unwrap();
        db.record(&run(
            "20261129T120000Z-cccccc",
            RunKind::Audit,
            false,
            "2026-11-29T12:00:00Z",
        ))
        .unwrap();
        let found = |name: &str| db.find_run(name).unwrap();
        assert_eq!(found("last").unwrap(), "20261129T120000Z-cccccc");
        assert_eq!(found("last-apply").unwrap(), "20261129T100000Z-aaaaaa");
        assert!(matches!(found("last-fix"), Err(LookupError::NoneOfKind(k)) if k.starts_with("fix run")));
        assert!(matches!(found("last-aply"), Err(LookupError::UnknownKind(_))));
        assert_eq!(found("bbbb").unwrap(), "20261129T110000Z-bbbbbb");
        assert!(matches!(found("bbb"), Err(LookupError::TooShort(_))));
        assert_eq!(found("20261129T110000Z-bbbbbb").unwrap(), "20261129T110000Z-bbbbbb");
        // A run known only from the journal (its controller died) is found too.
        db.journal("20261129T130000Z-dddddd", RunKind::Apply, "web01", "started")
            .unwrap();
        assert_eq!(db.find_run("dddd").unwrap().unwrap(), "20261129T130000Z-dddddd");
    }

    #[test]
    fn an_ambiguous_or_unknown_prefix_is_refused() {
        let e = pick("a1ff", &ids()).unwrap();
        assert_eq!(e, "20261130T090000Z-a1ffff");
        match pick("2026112", &ids()) {
            Err(LookupError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 4),
            other => panic!("{other:?}"),
        }
        assert!(matches!(pick("ffff", &ids()), Err(LookupError::NotFound(_))));
        match pick("a1", &ids()) {
            Err(LookupError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
