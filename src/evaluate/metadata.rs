//! The `metadata` subject: a path's existence, mode and owners against
//! what `p_stat` found, and what `rectify capture` keeps of them.

use super::EvalError;
use super::Verdict;
use crate::baseline::Metadata;
use crate::collect::facts::stat::Stat;
use crate::collect::facts::stat::{self, StatError};
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use serde_yaml::{Mapping, Value};

/// The path's stat, following symlinks.
pub(super) fn probe(m: &Metadata) -> Probe {
    Stat { path: m.file.clone() }.into()
}

pub(super) fn verdict(m: &Metadata, output: &ProbeOutput) -> Result<Verdict, EvalError> {
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    let mut pass = true;
    let stat = match stat::decode(output) {
        Ok(stat) => stat,
        Err(StatError::Status(status)) => {
            return Err(EvalError::Stat {
                file: m.file.clone(),
                status,
            })
        }
        Err(StatError::Unparsed(_)) => return Err(EvalError::StatOutput),
    };
    let Some(stat) = stat else {
        let pass = m.exists == Some(false);
        let want = if pass {
            "absent".to_string()
        } else {
            "present".to_string()
        };
        return Ok(Verdict::compared(pass, want, Some("missing".into())));
    };
    if m.exists == Some(false) {
        return Ok(Verdict::compared(
            false,
            "absent".into(),
            Some(format!("present ({})", stat.kind)),
        ));
    }
    if m.exists == Some(true) {
        expected.push("present".to_string());
        actual.push("present".to_string());
    }
    if let Some(mode) = m.mode {
        pass &= stat.mode == mode;
        expected.push(format!("mode {mode:04o}"));
        actual.push(format!("mode {:04o}", stat.mode));
    }
    if let Some(max) = m.max_mode {
        pass &= stat.mode & !max == 0;
        expected.push(format!("mode at most {max:04o}"));
        if m.mode.is_none() {
            actual.push(format!("mode {:04o}", stat.mode));
        }
    }
    if let Some(owner) = &m.owner {
        pass &= *owner == stat.owner || *owner == stat.uid;
        expected.push(format!("owner {owner}"));
        actual.push(format!("owner {}", stat.owner));
    }
    if let Some(group) = &m.group {
        pass &= *group == stat.group || *group == stat.gid;
        expected.push(format!("group {group}"));
        actual.push(format!("group {}", stat.group));
    }
    Ok(Verdict::compared(pass, expected.join(", "), Some(actual.join(", "))))
}

/// What `rectify capture` keeps of a path's metadata: mode and owners, or
/// that it does not exist.
pub(super) fn capture(meta: &Metadata, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    put("file", meta.file.as_str().into());
    match stat::decode(output) {
        Ok(None) => put("exists", false.into()),
        Ok(Some(stat)) => {
            put("mode", format!("{:04o}", stat.mode).into());
            put("owner", stat.owner.into());
            put("group", stat.group.into());
        }
        Err(StatError::Status(status)) => {
            return Err(EvalError::Stat {
                file: meta.file.clone(),
                status,
            })
        }
        Err(StatError::Unparsed(_)) => return Err(EvalError::StatOutput),
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::RuleStatus;

    fn ok(text: &str) -> ProbeOutput {
        ProbeOutput::Ok(text.as_bytes().to_vec())
    }

    #[test]
    fn metadata_checks() {
        let m = Metadata {
            file: "/f".into(),
            exists: None,
            mode: None,
            max_mode: Some(0o640),
            owner: Some("root".into()),
            group: Some("0".into()),
        };
        let v = verdict(&m, &ok("600 0 0 root root regular file")).unwrap();
        assert_eq!(v.status, RuleStatus::Pass, "{v:?}");
        let v = verdict(&m, &ok("644 0 42 root shadow regular file")).unwrap();
        assert_eq!(v.status, RuleStatus::Fail);
        assert_eq!(v.actual.as_deref(), Some("mode 0644, owner root, group shadow"));
        let gone = Metadata {
            exists: Some(false),
            max_mode: None,
            owner: None,
            group: None,
            ..m
        };
        assert_eq!(verdict(&gone, &ProbeOutput::Missing).unwrap().status, RuleStatus::Pass);
        assert_eq!(
            verdict(&gone, &ok("644 0 0 root root regular file")).unwrap().status,
            RuleStatus::Fail
        );
        assert!(verdict(&gone, &ok("garbage")).is_err());
    }
}
