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
    /// `{min: A, max: B}`: both bounds, inclusive.
    Range {
        min: String,
        max: String,
    },
    Not(String),
    /// The value, read as a list of words (split at blanks and commas),
    /// holds every one of these.
    Contains(Vec<String>),
    /// Every word of the value is one of these.
    SubsetOf(Vec<String>),
    /// No word of the value is one of these.
    NoneOf(Vec<String>),
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
                let key = |k: &Value| scalar_text(k).unwrap_or_default();
                let keys: Vec<String> = map.keys().map(key).collect();
                if keys.len() == 2 && keys.contains(&"min".to_string()) && keys.contains(&"max".to_string()) {
                    let bound = |name: &str| {
                        let v = map.get(name).expect("key listed above");
                        scalar_text(v).map_err(de::Error::custom)
                    };
                    return Ok(Expect::Range {
                        min: bound("min")?,
                        max: bound("max")?,
                    });
                }
                if map.len() != 1 {
                    return Err(de::Error::custom(format!(
                        "expect: a mapping takes exactly one of {FORMS} (or min and max together)"
                    )));
                }
                let (k, v) = map.into_iter().next().expect("one entry");
                let words = || -> Result<Vec<String>, D::Error> {
                    match &v {
                        Value::Sequence(items) if items.is_empty() => {
                            Err(de::Error::custom("expect: an empty list of words"))
                        }
                        Value::Sequence(items) => items
                            .iter()
                            .map(|i| scalar_text(i).map_err(de::Error::custom).and_then(one_word::<D::Error>))
                            .collect(),
                        other => Ok(vec![scalar_text(other)
                            .map_err(de::Error::custom)
                            .and_then(one_word::<D::Error>)?]),
                    }
                };
                match key(&k).as_str() {
                    "contains" => return words().map(Expect::Contains),
                    "subset_of" => return words().map(Expect::SubsetOf),
                    "none_of" => return words().map(Expect::NoneOf),
                    _ => {}
                }
                let text = scalar_text(&v).map_err(de::Error::custom)?;
                match key(&k).as_str() {
                    "regex" => Ok(Expect::Regex(text)),
                    "min" => Ok(Expect::Min(text)),
                    "max" => Ok(Expect::Max(text)),
                    "not" => Ok(Expect::Not(text)),
                    other => Err(de::Error::custom(format!(
                        "expect: unknown form {other:?}, expected one of {FORMS}"
                    ))),
                }
            }
            other => scalar_text(&other).map(Expect::Equals).map_err(de::Error::custom),
        }
    }
}

const FORMS: &str = "regex, min, max, not, contains, subset_of, none_of";

/// A list form's word: one word, as the value's split would give it, or
/// it could never match.
fn one_word<E: de::Error>(word: String) -> Result<String, E> {
    if word.is_empty() || word.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(E::custom(format!(
            "expect: {word:?} is not one word (the value is split at blanks and commas)"
        )));
    }
    Ok(word)
}

/// Why a YAML value is not a plain value an expectation can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotScalar {
    #[error("expect: null is not a value; use {{not: ...}} or absent: true")]
    Null,
    #[error(
        "expect: expected a string, a list of strings, or {{regex|min|max|not|contains|subset_of|none_of: value}}"
    )]
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
            Expect::AnyOf(v) | Expect::Contains(v) | Expect::SubsetOf(v) | Expect::NoneOf(v) => {
                v.iter().map(String::as_str).collect()
            }
            Expect::Range { min, max } => vec![min, max],
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
        assert_eq!(
            e("{max: 60, min: 1}").unwrap(),
            Expect::Range {
                min: "1".into(),
                max: "60".into()
            }
        );
        assert_eq!(e("{contains: alice}").unwrap(), Expect::Contains(vec!["alice".into()]));
        assert_eq!(
            e("{contains: [alice, bob]}").unwrap(),
            Expect::Contains(vec!["alice".into(), "bob".into()])
        );
        assert_eq!(
            e("{subset_of: [a, b]}").unwrap(),
            Expect::SubsetOf(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            e("{none_of: [3des-cbc]}").unwrap(),
            Expect::NoneOf(vec!["3des-cbc".into()])
        );
    }

    #[test]
    fn bad_forms() {
        assert!(e("{between: 1}").is_err());
        assert!(e("{min: 1, max: 2, not: 3}").is_err());
        assert!(e("{contains: 'a b'}").is_err());
        assert!(e("{subset_of: []}").is_err());
        assert!(e("{none_of: [a, {b: c}]}").is_err());
        assert!(e("[]").is_err());
        assert!(e("~").is_err());
        assert!(e("{min: [1]}").is_err());
    }
}
