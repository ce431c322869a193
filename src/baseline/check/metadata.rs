//! Reading a metadata rule: existence, modes as quoted octal strings,
//! owner and group.

use super::super::{expect, parse_mode, Metadata};
use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(super) fn metadata_check(&self, file: String, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        if r.expect.is_some() {
            errors.push(self.error("expect", "", "`expect` does not apply to metadata checks".into()));
        }
        let mode = self.mode(errors, "mode", &r.mode);
        let max_mode = self.mode(errors, "max_mode", &r.max_mode);
        if r.exists == Some(false) && (mode.is_some() || max_mode.is_some() || r.owner.is_some() || r.group.is_some()) {
            errors.push(self.error(
                "exists",
                "",
                "`exists: false` cannot be combined with mode, owner or group".into(),
            ));
        }
        Some(Check::Metadata(Metadata {
            file,
            exists: r.exists,
            mode,
            max_mode,
            owner: r.owner.clone(),
            group: r.group.clone(),
        }))
    }

    /// Modes are octal strings ("0640"); an unquoted YAML number is refused
    /// because `0640` and `640` would silently mean different things.
    fn mode(&self, errors: &mut Vec<ConfigError>, key: &str, value: &Option<serde_yaml::Value>) -> Option<u32> {
        let value = value.as_ref()?;
        let text = match value {
            serde_yaml::Value::String(s) => s.clone(),
            other => {
                let shown = expect::scalar_text(other).unwrap_or_default();
                errors.push(self.error(
                    key,
                    &shown,
                    format!("{key} must be a quoted octal string, e.g. {key}: \"0640\""),
                ));
                return None;
            }
        };
        match parse_mode(&text) {
            Some(m) => Some(m),
            None => {
                errors.push(self.error(
                    key,
                    &text,
                    format!("invalid {key} {text:?}: expected an octal mode like \"0640\""),
                ));
                None
            }
        }
    }
}
