//! Surveys in the state database: a `runs` row (kind `survey`, so `runs`
//! lists it and run names find it), the question, each host's answer by
//! hash, and each distinct answer once.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, OptionalExtension};

use super::{StateDb, StateError};
use crate::survey::model::{Answer, HostAnswer, Survey, SurveyRow};
use crate::survey::{Grouped, Kind, Question};

impl StateDb {
    /// Records a survey, all of it or nothing.
    pub fn record_survey(&mut self, survey: &Survey, grouped: &Grouped) -> Result<(), StateError> {
        let path = self.path.display().to_string();
        let wrap = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let majority = grouped.majority().map_or(0, |g| g.count);
        let summary = serde_json::json!({ "survey": survey.question }).to_string();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute(
            "INSERT INTO runs (id, kind, started, finished, hosts, compliant, drift, error, exit_code, report)
             VALUES (?1, 'survey', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                survey.run_id,
                survey.started.to_rfc3339_opts(SecondsFormat::Millis, true),
                survey.finished.to_rfc3339_opts(SecondsFormat::Millis, true),
                grouped.hosts as i64,
                majority as i64,
                (grouped.answered - majority) as i64,
                grouped.unreachable as i64,
                grouped.exit_code as i64,
                summary,
            ],
        )
        .map_err(wrap)?;
        tx.execute(
            "INSERT INTO surveys (run_id, kind, subject, sensitive) VALUES (?1, ?2, ?3, ?4)",
            params![
                survey.run_id,
                survey.question.kind.as_str(),
                survey.question.subject,
                survey.sensitive
            ],
        )
        .map_err(wrap)?;
        {
            let mut answer = tx
                .prepare("INSERT OR IGNORE INTO survey_answers (hash, state, value, size) VALUES (?1, ?2, ?3, ?4)")
                .map_err(wrap)?;
            let mut host = tx
                .prepare(
                    "INSERT INTO survey_hosts (run_id, seq, host, address, answer, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(wrap)?;
            for (seq, h) in survey.hosts.iter().enumerate() {
                if let Some(a) = &h.answer {
                    answer
                        .execute(params![a.hash, a.state, a.value, a.size as i64])
                        .map_err(wrap)?;
                }
                host.execute(params![
                    survey.run_id,
                    seq as i64,
                    h.host,
                    h.address,
                    h.answer.as_ref().map(|a| &a.hash),
                    h.error
                ])
                .map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    /// A recorded survey, `None` when `run_id` is not one.
    pub fn load_survey(&self, run_id: &str) -> Result<Option<Survey>, StateError> {
        let head: Option<(String, String, bool, String, String)> = self
            .conn
            .query_row(
                "SELECT s.kind, s.subject, s.sensitive, r.started, r.finished
                 FROM surveys s JOIN runs r ON r.id = s.run_id WHERE s.run_id = ?1",
                params![run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.wrap(e))?;
        let Some((kind, subject, sensitive, started, finished)) = head else {
            return Ok(None);
        };
        let corrupt = |reason: String| StateError::Corrupt {
            path: self.path.display().to_string(),
            run_id: run_id.to_string(),
            reason,
        };
        let kind = Kind::parse(&kind).ok_or_else(|| corrupt(format!("unknown survey kind {kind:?}")))?;
        let time = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| corrupt(e.to_string()))
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT h.host, h.address, h.error, a.hash, a.state, a.value, a.size
                 FROM survey_hosts h LEFT JOIN survey_answers a ON a.hash = h.answer
                 WHERE h.run_id = ?1 ORDER BY h.seq",
            )
            .map_err(|e| self.wrap(e))?;
        let hosts = stmt
            .query_map(params![run_id], |r| {
                let hash: Option<String> = r.get(3)?;
                let answer = match hash {
                    Some(hash) => Some(Answer {
                        hash,
                        state: r.get(4)?,
                        value: r.get(5)?,
                        size: r.get::<_, i64>(6)? as u64,
                    }),
                    None => None,
                };
                Ok(HostAnswer {
                    host: r.get(0)?,
                    address: r.get(1)?,
                    error: r.get(2)?,
                    answer,
                })
            })
            .map_err(|e| self.wrap(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.wrap(e))?;
        Ok(Some(Survey {
            run_id: run_id.to_string(),
            started: time(&started)?,
            finished: time(&finished)?,
            question: Question { kind, subject },
            sensitive,
            hosts,
        }))
    }

    /// The newest `limit` surveys, newest first.
    pub fn surveys(&self, limit: usize) -> Result<Vec<SurveyRow>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id, r.started, s.kind, s.subject, r.hosts, r.compliant, r.drift, r.error, r.exit_code
                 FROM surveys s JOIN runs r ON r.id = s.run_id
                 ORDER BY r.started DESC, r.id DESC LIMIT ?1",
            )
            .map_err(|e| self.wrap(e))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                let kind: String = r.get(2)?;
                Ok(SurveyRow {
                    run_id: r.get(0)?,
                    started: r.get(1)?,
                    question: Question {
                        kind: Kind::parse(&kind).unwrap_or(Kind::Command),
                        subject: r.get(3)?,
                    },
                    hosts: r.get(4)?,
                    majority: r.get(5)?,
                    outliers: r.get(6)?,
                    unreachable: r.get(7)?,
                    exit_code: r.get(8)?,
                })
            })
            .map_err(|e| self.wrap(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.wrap(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(host: &str, text: Option<&str>) -> HostAnswer {
        HostAnswer {
            host: host.into(),
            address: format!("{host}.example"),
            answer: text.map(|t| Answer::new("value", t.as_bytes().to_vec())),
            error: text.is_none().then(|| "refused".into()),
        }
    }

    #[test]
    fn surveys_are_recorded_listed_and_reloaded_with_each_answer_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = StateDb::open(dir.path()).unwrap();
        let survey = Survey {
            run_id: "20261130T000000Z-abcdef".into(),
            started: DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            finished: DateTime::parse_from_rfc3339("2026-11-30T00:00:01Z")
                .unwrap()
                .with_timezone(&Utc),
            question: Question {
                kind: Kind::File,
                subject: "/etc/motd".into(),
            },
            sensitive: false,
            hosts: vec![
                answer("b", Some("x\n")),
                answer("a", Some("x\n")),
                answer("c", Some("y\n")),
                answer("d", None),
            ],
        };
        let grouped = crate::survey::group(&survey);
        db.record_survey(&survey, &grouped).unwrap();
        assert_eq!(db.load_survey(&survey.run_id).unwrap(), Some(survey.clone()));
        assert_eq!(db.load_survey("nope").unwrap(), None);
        let stored: i64 = db
            .conn
            .query_row("SELECT count(*) FROM survey_answers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 2, "two distinct answers, each once");
        let rows = db.surveys(10).unwrap();
        assert_eq!((rows[0].majority, rows[0].outliers, rows[0].unreachable), (2, 1, 1));
        let runs = db.runs(10).unwrap();
        assert_eq!((runs[0].kind.as_str(), runs[0].exit_code), ("survey", 3));
        assert_eq!(db.find_run("last-survey").unwrap().unwrap(), survey.run_id);
    }
}
