//! Reading a whole-file rule: its `content`, or a `template` file beside
//! the baseline, checked as a template.

use super::super::{Check, RuleBuilder};
use crate::config_error::ConfigError;

impl RuleBuilder<'_> {
    pub(super) fn content_check(&self, file: String, errors: &mut Vec<ConfigError>) -> Option<Check> {
        let r = self.raw;
        if r.expect.is_some() {
            errors.push(self.error("expect", "", "`expect` does not apply to whole-file rules".into()));
        }
        let expected = match (&r.content, &r.template) {
            (Some(_), Some(_)) => {
                errors.push(self.error("template", "", "give `content` or `template`, not both".into()));
                return None;
            }
            (Some(text), None) => text.clone(),
            (None, Some(rel)) => match std::fs::read_to_string(self.source.sibling(rel)) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(self.error(
                        "template",
                        rel,
                        format!("cannot read template {}: {e}", self.source.sibling(rel).display()),
                    ));
                    return None;
                }
            },
            (None, None) => unreachable!("checked above"),
        };
        if let Err(e) = self.renderer.check_syntax(&expected) {
            errors.push(self.error(
                if r.template.is_some() { "template" } else { "content" },
                "",
                e.to_string(),
            ));
        }
        Some(Check::Content { file, expected })
    }
}
