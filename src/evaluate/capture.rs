//! `rectify capture`: a rule's subject, with the golden host's live value as
//! its new expectation. Pure: it reads the facts the audit collected.

use serde_yaml::{Mapping, Value};

use super::file_text;
use crate::baseline::{Check, ServiceState};
use crate::collect::facts::command::CommandOutput;
use crate::collect::facts::package::PackageFacts;
use crate::collect::facts::service::{self, Init, ServiceError};
use crate::collect::facts::stat::{self, StatError};
use crate::collect::facts::sysctl;
use crate::collect::ProbeOutput;
use crate::conftext::setting::{find_setting, SettingDialect};

/// The fields that replace a rule's subject and checks, or why the rule
/// cannot be captured (kept out of the new baseline, with that reason).
pub fn capture(check: &Check, output: &ProbeOutput) -> Result<Mapping, String> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    match check {
        Check::Setting { file, key, .. } if crate::conftext::include::follows_includes(file) => {
            // The effective value, wherever the includes put it.
            let files =
                crate::conftext::include::ConfigFiles::decode(output, file, false).map_err(|e| e.to_string())?;
            if matches!(files.main(), ProbeOutput::Missing) {
                return Err(format!("{file} does not exist on the golden host"));
            }
            put("file", file.as_str().into());
            match crate::conftext::include::locate(&files, file, key)? {
                Some(found) => {
                    put("setting", key.as_str().into());
                    put("expect", literal(&found.value));
                }
                None => {
                    put("line", format!("(?i)^\\s*{}(\\s|=|$)", regex::escape(key)).into());
                    put("absent", true.into());
                }
            }
        }
        Check::Setting { file, key, .. } => {
            let text = file_text(output, file)?.ok_or(format!("{file} does not exist on the golden host"))?;
            put("file", file.as_str().into());
            match find_setting(&text, key, SettingDialect::for_path(file)) {
                Some(value) => {
                    put("setting", key.as_str().into());
                    put("expect", literal(&value));
                }
                None => {
                    // Not set there: capture that it stays unset.
                    put("line", format!("(?i)^\\s*{}(\\s|=|$)", regex::escape(key)).into());
                    put("absent", true.into());
                }
            }
        }
        Check::Line {
            file, pattern, expect, ..
        } => {
            let text = file_text(output, file)?.unwrap_or_default();
            let found = text.lines().find_map(|line| {
                pattern.captures(line).map(|c| {
                    c.get(1)
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default()
                })
            });
            put("file", file.as_str().into());
            put("line", pattern.as_str().into());
            match (found, expect) {
                (Some(captured), Some(_)) => put("expect", literal(&captured)),
                (Some(_), None) => {}
                (None, _) => put("absent", true.into()),
            }
        }
        Check::Content { file, .. } => {
            let text = file_text(output, file)?.ok_or(format!("{file} does not exist on the golden host"))?;
            put("file", file.as_str().into());
            put("content", literal(&text));
        }
        Check::Metadata(meta) => {
            put("file", meta.file.as_str().into());
            match stat::decode(output) {
                Ok(None) => put("exists", false.into()),
                Ok(Some(stat)) => {
                    put("mode", format!("{:04o}", stat.mode).into());
                    put("owner", stat.owner.into());
                    put("group", stat.group.into());
                }
                Err(StatError::Status(s)) => return Err(format!("cannot stat {}: {s}", meta.file)),
                Err(e @ StatError::Unparsed(_)) => return Err(e.to_string()),
            }
        }
        Check::Sysctl { key, .. } => {
            let Ok(Some(value)) = sysctl::decode(output) else {
                return Err(format!("cannot read sysctl {key}"));
            };
            let value = sysctl::normalize(&value);
            put("sysctl", key.as_str().into());
            put("expect", literal(&value));
        }
        Check::Command {
            command,
            expect,
            exit_code,
        } => {
            let ProbeOutput::Ok(bytes) = output else {
                return Err("the command's output could not be read".into());
            };
            let CommandOutput { stdout, status } =
                CommandOutput::parse(bytes).ok_or("the command's output was cut off")?;
            put("command", command.as_str().into());
            if expect.is_some() || exit_code.is_none() {
                put("expect", literal(stdout.trim()));
            }
            if exit_code.is_some() {
                put("exit_code", status.into());
            }
        }
        Check::Service { name, state } => {
            let facts = match service::decode(output) {
                Ok(facts) if facts.init == Init::Sysv && facts.running.is_none() => None,
                Ok(facts) => Some(facts),
                Err(ServiceError::UnknownInit) => None,
                Err(e @ ServiceError::Unreadable) => return Err(e.to_string()),
            };
            let Some(facts) = facts else {
                return Err(format!("service {name} not found on the golden host"));
            };
            let (running, enabled) = (facts.running == Some(true), facts.enabled == Some(true));
            put("service", name.as_str().into());
            let now = match state {
                ServiceState::Running | ServiceState::Stopped => {
                    if running {
                        "running"
                    } else {
                        "stopped"
                    }
                }
                ServiceState::Enabled | ServiceState::Disabled => {
                    if enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }
                }
            };
            put("state", now.into());
        }
        Check::Package { name, .. } => {
            let facts = PackageFacts::parse(name, output).map_err(|e| e.to_string())?;
            put("package", name.as_str().into());
            let versions = facts.versions();
            if versions.is_empty() {
                put("state", "absent".into());
            } else {
                put("state", "installed".into());
                // A constraint every instance there meets: the one version,
                // or at least the oldest of several (kernels, multiarch), so
                // an older instance elsewhere is drift.
                match versions.as_slice() {
                    [one] if !one.is_empty() => put("version", format!("= {one}").into()),
                    [oldest, _, ..] if !oldest.is_empty() => put("version", format!(">= {oldest}").into()),
                    _ => {}
                }
            }
        }
    }
    Ok(m)
}

/// A live value as an expectation: baselines render expectations as
/// templates, so a value that looks like template syntax is wrapped in a
/// raw block and stays literal.
fn literal(value: &str) -> Value {
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
