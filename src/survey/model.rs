//! A survey as it is kept: the question, and per host its answer or why
//! there is none. Pure data, shared by the engine, the renderers and the
//! state database; the grouped view is computed from it ([`super::group`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::question::Question;

/// One survey run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub run_id: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub question: Question,
    /// The answers are withheld (a sensitive path, or `--sensitive`): hosts
    /// are still grouped, by a hash salted with the run id, but no answer
    /// is shown, diffed or stored.
    pub sensitive: bool,
    /// In inventory order.
    pub hosts: Vec<HostAnswer>,
}

/// One host's answer, or why it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostAnswer {
    pub host: String,
    pub address: String,
    /// `None` when the host was not reached (`error` says why).
    pub answer: Option<Answer>,
    pub error: Option<String>,
}

/// What a host answered. Two hosts answered the same when their hashes
/// are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// `value` when there is content to show; else what stood in for it:
    /// `missing`, `not set`, `not installed`, `exit N` (a command's
    /// non-zero status, with its output as the value), `cut` (a command's
    /// output cut at the limit), or the read's status (`denied`,
    /// `toolarge`, `notfile`, …).
    pub state: String,
    /// The content (secret vars masked); `None` when withheld.
    pub value: Option<Vec<u8>>,
    /// SHA-256 of state and value (salted with the run id when withheld).
    pub hash: String,
    /// Bytes of the value as the host sent it.
    pub size: u64,
}

impl Answer {
    /// An answer from its parts, hashed.
    pub fn new(state: &str, value: Vec<u8>) -> Answer {
        Answer {
            hash: hash(state, &value, None),
            size: value.len() as u64,
            state: state.to_string(),
            value: Some(value),
        }
    }

    /// The same answer withheld: the hash salted with `salt` (the run
    /// id), so equal answers still group within the run, but a stored hash
    /// cannot be matched against guesses of a secret file or across runs.
    pub fn withheld(self, salt: &str) -> Answer {
        let value = self.value.unwrap_or_default();
        Answer {
            hash: hash(&self.state, &value, Some(salt)),
            size: value.len() as u64,
            state: self.state,
            value: None,
        }
    }

    /// The value as text (invalid UTF-8 replaced), `None` when withheld.
    pub fn text(&self) -> Option<String> {
        self.value.as_ref().map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

fn hash(state: &str, value: &[u8], salt: Option<&str>) -> String {
    let mut bytes = Vec::with_capacity(state.len() + value.len() + 2);
    if let Some(salt) = salt {
        bytes.extend_from_slice(salt.as_bytes());
        bytes.push(0);
    }
    bytes.extend_from_slice(state.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(value);
    crate::state::sha256(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_part_of_an_answer() {
        assert_ne!(
            Answer::new("value", b"".to_vec()).hash,
            Answer::new("missing", b"".to_vec()).hash
        );
        assert_eq!(
            Answer::new("value", b"x".to_vec()).hash,
            Answer::new("value", b"x".to_vec()).hash
        );
        let a = Answer::new("value", b"secret".to_vec());
        let w = a.clone().withheld("run-1");
        assert_eq!(w.value, None);
        assert_ne!(w.hash, a.hash);
        assert_eq!(w.hash, a.clone().withheld("run-1").hash);
        assert_ne!(w.hash, a.withheld("run-2").hash);
    }
}

/// One survey in a list (`/surveys`), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyRow {
    pub run_id: String,
    pub started: String,
    pub question: Question,
    pub hosts: i64,
    /// Hosts in the majority's group.
    pub majority: i64,
    /// Hosts that answered otherwise.
    pub outliers: i64,
    pub unreachable: i64,
    pub exit_code: i64,
}
