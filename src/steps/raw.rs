//! A step as written in YAML, read straight from serde_yaml's deserializer
//! so its errors keep their position and path (`steps[2].setting: …`).
//! Keys other than the common ones go to the registered kinds.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::{read_kind_key, step_fields, RawKinds};

/// Keys every step may have, whatever its kind.
pub(super) const COMMON: &[&str] = &["name", "notify", "sensitive", "validate", "unsafe_writes"];

#[derive(Default)]
pub(crate) struct RawStep {
    pub name: Option<String>,
    pub notify: Vec<String>,
    pub sensitive: bool,
    pub validate: Option<String>,
    pub unsafe_writes: bool,
    /// Kind keys and their extra keys that are set (not null), in order.
    pub set: Vec<&'static str>,
    pub kinds: RawKinds,
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("RawStep", step_fields(), StepVisitor)
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = RawStep;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct RawStep")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStep, A::Error> {
        let mut raw = RawStep::default();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(field) = map.next_key_seed(Field)? {
            if seen.contains(&field) {
                return Err(de::Error::duplicate_field(field));
            }
            seen.push(field);
            match field {
                "name" => raw.name = map.next_value()?,
                "notify" => raw.notify = map.next_value()?,
                "sensitive" => raw.sensitive = map.next_value()?,
                "validate" => raw.validate = map.next_value()?,
                "unsafe_writes" => raw.unsafe_writes = map.next_value()?,
                kind_key => {
                    if read_kind_key(&mut raw.kinds, kind_key, &mut map)? {
                        raw.set.push(kind_key);
                    }
                }
            }
        }
        Ok(raw)
    }
}

/// A step key, refused while it is read (as serde's derive does) so the
/// error points at the key itself.
struct Field;

impl<'de> DeserializeSeed<'de> for Field {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Field {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<&'static str, E> {
        step_fields()
            .iter()
            .copied()
            .find(|f| *f == key)
            .ok_or_else(|| E::unknown_field(key, step_fields()))
    }
}
