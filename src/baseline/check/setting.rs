//! Reading a `setting` rule: a key without blanks or `=`, and an
//! expectation or `absent: true`.

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(super) fn setting_check(&self, file: String, key: &str, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        if key.trim().is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
            errors.push(self.error("setting", key, format!("invalid setting key {key:?}")));
        }
        let absent = r.absent.unwrap_or(false);
        if absent && r.expect.is_some() {
            errors.push(self.error("absent", "", "`absent: true` and `expect` contradict each other".into()));
        }
        Some(Check::Setting {
            file,
            key: key.to_string(),
            expect: r.expect.clone(),
            absent,
        })
    }
}
