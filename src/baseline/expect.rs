//! `expect:` — what a rule's actual value must look like.

use serde::de::{self, Deserialize, Deserializer};
use serde_yaml::Value;

/// The forms docs/baseline.md lists. Strings may hold minijinja templates rendered
/// per host before comparison, so numbers are kept as text until then.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    Equals(String),
    AnyOf(Vec<String>),
    Regex(String),
    Min(String),
    Max(String),
    Not(String),
}

impl<'de> Deserialize<'de> for Expect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match value {
            Value::Sequence(items) => {
                if items.is_empty() {
                    return Err(de::Error::custom("expect: an empty list allows nothing"));
                }
                items
                    .iter()
                    .map(scalar_text)
                    .collect::<Result<Vec<_>, _>>()
                    .map(Expect::AnyOf)
                    .map_err(de::Error::custom)
            }
            Value::Mapping(map) => {
                if map.len() != 1 {
                    return Err(de::Error::custom(
                        "expect: a mapping takes exactly one of regex, min, max, not",
                    ));
                }
                let (k, v) = map.into_iter().next().expect("one entry");
                let text = scalar_text(&v).map_err(de::Error::custom)?;
                match k.as_str() {
                    Some("regex") => Ok(Expect::Regex(text)),
                    Some("min") => Ok(Expect::Min(text)),
                    Some("max") => Ok(Expect::Max(text)),
                    Some("not") => Ok(Expect::Not(text)),
                    _ => Err(de::Error::custom(format!(
                        "expect: unknown form {:?}, expected one of regex, min, max, not",
                        scalar_text(&k).unwrap_or_default()
                    ))),
                }
            }
            other => scalar_text(&other).map(Expect::Equals).map_err(de::Error::custom),
        }
    }
}

/// Why a YAML value is not a plain value an expectation can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotScalar {
    #[error("expect: null is not a value; use {{not: ...}} or absent: true")]
    Null,
    #[error("expect: expected a string, a list of strings, or {{regex|min|max|not: value}}")]
    Other,
}

/// YAML scalars as the text a config file would hold: `4` → "4", `no` → "no".
pub fn scalar_text(v: &Value) -> Result<String, NotScalar> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(NotScalar::Null),
        Value::Tagged(t) => scalar_text(&t.value),
        _ => Err(NotScalar::Other),
    }
}

impl Expect {
    /// Every template string inside, for validation.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Expect::AnyOf(v) => v.iter().map(String::as_str).collect(),
            Expect::Equals(s) | Expect::Regex(s) | Expect::Min(s) | Expect::Max(s) | Expect::Not(s) => vec![s],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(y: &str) -> Result<Expect, serde_yaml::Error> {
        serde_yaml::from_str(y)
    }

    #[test]
    fn every_form() {
        assert_eq!(e("no").unwrap(), Expect::Equals("no".into()));
        assert_eq!(e("4").unwrap(), Expect::Equals("4".into()));
        assert_eq!(
            e("[no, prohibit-password]").unwrap(),
            Expect::AnyOf(vec!["no".into(), "prohibit-password".into()])
        );
        assert_eq!(e("{regex: '^a'}").unwrap(), Expect::Regex("^a".into()));
        assert_eq!(e("{min: 1}").unwrap(), Expect::Min("1".into()));
        assert_eq!(e("{max: '{{ x }}'}").unwrap(), Expect::Max("{{ x }}".into()));
        assert_eq!(e("{not: yes}").unwrap(), Expect::Not("yes".into()));
    }

    #[test]
    fn bad_forms() {
        assert!(e("{between: 1}").is_err());
        assert!(e("{min: 1, max: 2}").is_err());
        assert!(e("[]").is_err());
        assert!(e("~").is_err());
        assert!(e("{min: [1]}").is_err());
    }
}
