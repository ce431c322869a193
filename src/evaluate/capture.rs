//! `rectify capture`: a rule's subject, with the golden host's live value as
//! its new expectation. Pure: it reads the facts the audit collected.

use super::EvalError;
use serde_yaml::{Mapping, Value};

use super::{command, content, line, metadata, package, service, setting, sysctl};
use crate::baseline::Check;
use crate::collect::ProbeOutput;
use crate::conftext::include;

/// The fields that replace a rule's subject and checks, or why the rule
/// cannot be captured (kept out of the new baseline, with that reason).
pub fn capture(check: &Check, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    if let Some(pattern) = super::glob::pattern(check) {
        return Err(EvalError::GlobNotCaptured(pattern.to_string()));
    }
    match check {
        Check::Setting { file, key, .. } if include::follows_includes(file) => setting::capture_sshd(file, key, output),
        Check::Setting { file, key, .. } => setting::capture_plain(file, key, output),
        Check::Line {
            file, pattern, expect, ..
        } => line::capture(file, pattern, expect.as_ref(), output),
        Check::Content { file, .. } => content::capture(file, output),
        Check::Metadata(meta) => metadata::capture(meta, output),
        Check::Sysctl { key, .. } => sysctl::capture(key, output),
        Check::Command {
            command,
            expect,
            exit_code,
        } => command::capture(command, expect.as_ref(), *exit_code, output),
        Check::Service { name, state } => service::capture(name, *state, output),
        Check::Package { name, .. } => package::capture(name, output),
    }
}

/// A live value as an expectation: baselines render expectations as
/// templates, so a value that looks like template syntax is wrapped in a
/// raw block and stays literal.
pub fn literal(value: &str) -> Value {
    if value.contains("{{") || value.contains("{%") || value.contains("{#") {
        Value::String(format!("{{% raw %}}{value}{{% endraw %}}"))
    } else {
        Value::String(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::PackageState;

    fn package(text: &str) -> Mapping {
        let check = Check::Package {
            name: "kernel".into(),
            state: PackageState::Installed,
            version: None,
        };
        capture(&check, &ProbeOutput::Ok(text.as_bytes().to_vec())).expect("captured")
    }

    fn field(m: &Mapping, key: &str) -> Option<String> {
        m.get(key).and_then(Value::as_str).map(String::from)
    }

    #[test]
    fn packages_capture_a_constraint_every_instance_meets() {
        let one = package("manager=rpm\nx86_64\t(none):5.14.0-427.el9\n");
        assert_eq!(field(&one, "state").as_deref(), Some("installed"));
        assert_eq!(field(&one, "version").as_deref(), Some("= 5.14.0-427.el9"));
        let several = package("manager=rpm\nx86_64\t(none):5.14.0-503.el9\nx86_64\t(none):5.14.0-427.el9\n");
        assert_eq!(field(&several, "version").as_deref(), Some(">= 5.14.0-427.el9"));
        let none = package("manager=rpm\n");
        assert_eq!(field(&none, "state").as_deref(), Some("absent"));
        assert_eq!(field(&none, "version"), None);
    }
}
