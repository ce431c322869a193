//! Reading a `sysctl` rule: a valid key, and its expectation.

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(in crate::baseline) fn sysctl_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        let key = r.sysctl.clone().unwrap_or_default();
        if !crate::collect::valid_sysctl_key(&key) {
            errors.push(self.error("sysctl", &key, format!("invalid sysctl key {key:?}")));
        }
        Some(Check::Sysctl {
            key,
            expect: r.expect.clone(),
        })
    }
}
