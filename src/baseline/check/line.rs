//! Reading a `line` rule: a valid regex, `absent` or an expectation.

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(super) fn line_check(&self, file: String, pattern: &str, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        let pattern = match regex::Regex::new(pattern) {
            Ok(p) => p,
            Err(e) => {
                errors.push(self.error("line", "", format!("invalid regex: {e}")));
                return None;
            }
        };
        let absent = r.absent.unwrap_or(false);
        if absent && r.expect.is_some() {
            errors.push(self.error("absent", "", "`absent: true` and `expect` contradict each other".into()));
        }
        Some(Check::Line {
            file,
            pattern,
            expect: r.expect.clone(),
            absent,
        })
    }
}
