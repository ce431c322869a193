//! Reading a `command` rule: the command, with `expect`, `exit_code` or
//! both.

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(in crate::baseline) fn command_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        if r.expect.is_none() && r.exit_code.is_none() {
            errors.push(self.error(
                "command",
                "",
                "a command rule needs `expect`, `exit_code`, or both".into(),
            ));
        }
        Some(Check::Command {
            command: r.command.clone().unwrap_or_default(),
            expect: r.expect.clone(),
            exit_code: r.exit_code,
        })
    }
}
