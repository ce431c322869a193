//! Reading a `sysctl` rule: a valid key, its expectation, and which value
//! is checked (`check: live | persisted | both`, `both` by default).

use super::super::{Check, RuleBuilder, SysctlCheck};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(in crate::baseline) fn sysctl_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        let key = r.sysctl.clone().unwrap_or_default();
        if !crate::collect::valid_sysctl_key(&key) {
            errors.push(self.error("sysctl", &key, format!("invalid sysctl key {key:?}")));
        }
        let check = match r.check.as_deref() {
            None | Some("both") => SysctlCheck::Both,
            Some("live") => SysctlCheck::Live,
            Some("persisted") => SysctlCheck::Persisted,
            Some(other) => {
                errors.push(self.error(
                    "check",
                    other,
                    format!("check must be live, persisted or both, not {other:?}"),
                ));
                SysctlCheck::Both
            }
        };
        Some(Check::Sysctl {
            key,
            expect: r.expect.clone(),
            check,
        })
    }
}
