//! Reading a `package` rule: a plain name, a state and, when installed, an
//! optional version constraint.
use super::super::PackageState;
use crate::version::VersionConstraint;

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(in crate::baseline) fn package_check(&self, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        self.no_expect(errors, "package");
        self.plain_name(errors, "package", r.package.as_deref().unwrap_or_default());
        let state = self.state::<PackageState>(errors, "installed or absent")?;
        let version = match r.version.as_deref().map(str::parse::<VersionConstraint>) {
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                errors.push(self.error("version", "", e.to_string()));
                None
            }
            None => None,
        };
        if version.is_some() && state == PackageState::Absent {
            errors.push(self.error("version", "", "`version` needs state: installed".into()));
        }
        Some(Check::Package {
            name: r.package.clone().unwrap_or_default(),
            state,
            version,
        })
    }
}
