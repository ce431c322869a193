//! Reading a `service` rule: a plain name and a state.
use super::super::ServiceState;

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(in crate::baseline) fn service_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        self.no_expect(errors, "service");
        self.plain_name(errors, "service", r.service.as_deref().unwrap_or_default());
        let state = self.state::<ServiceState>(errors, "running, stopped, enabled or disabled")?;
        Some(Check::Service {
            name: r.service.clone().unwrap_or_default(),
            state,
        })
    }
}
