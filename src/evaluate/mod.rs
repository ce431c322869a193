//! Evaluation: a rule and the facts collected from a host become a result.
//! Pure functions: nothing here does I/O.

pub mod capture;
pub mod expect;
pub mod package;

use std::time::Duration;

use crate::baseline::{Check, Metadata, Rule, ServiceState};
use crate::collect::{describe_status, sysctl_path, Probe, ProbeOutput, Probes};
use crate::conftext::include;
use crate::conftext::setting::{find_setting, SettingDialect};
use crate::template::{Renderer, Vars};
use expect::{compare, ValueSemantics};
use serde::{Deserialize, Serialize};

/// A rule's result on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    Pass,
    Fail,
    Error,
    Waived,
    Skipped,
}

impl RuleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::Error => "error",
            RuleStatus::Waived => "waived",
            RuleStatus::Skipped => "skipped",
        }
    }
}

/// Per-fact bounds on what a host may send back.
#[derive(Debug, Clone, Copy)]
pub struct CollectLimits {
    pub max_file: u64,
    pub max_command_output: u64,
    pub command_timeout: Duration,
}

impl Default for CollectLimits {
    fn default() -> Self {
        CollectLimits {
            max_file: 16 * 1024 * 1024,
            max_command_output: 64 * 1024,
            command_timeout: Duration::from_secs(30),
        }
    }
}

/// The fact a rule needs from a host.
pub fn probe_for(rule: &Rule, limits: &CollectLimits) -> Probe {
    match &rule.check {
        Check::Setting { file, .. } if include::follows_includes(file) => Probe::SshdConfig {
            path: file.clone(),
            max: limits.max_file,
            lstat: false,
        },
        Check::Setting { file, .. } | Check::Line { file, .. } | Check::Content { file, .. } => Probe::Read {
            path: file.clone(),
            max: limits.max_file,
        },
        Check::Metadata(m) => Probe::Stat { path: m.file.clone() },
        Check::Sysctl { key, .. } => Probe::Read {
            path: sysctl_path(key),
            max: 64 * 1024,
        },
        Check::Command { command, .. } => Probe::Command {
            command: command.clone(),
            timeout: limits.command_timeout,
            max: limits.max_command_output,
        },
        Check::Service { name, .. } => Probe::Service { name: name.clone() },
        Check::Package { name, .. } => Probe::Package { name: name.clone() },
    }
}

/// A rule's verdict on one host, before it is labelled with the rule's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: RuleStatus,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub diff: Option<String>,
    pub message: Option<String>,
}

impl Verdict {
    fn error(message: impl Into<String>) -> Verdict {
        Verdict {
            status: RuleStatus::Error,
            expected: None,
            actual: None,
            diff: None,
            message: Some(message.into()),
        }
    }

    fn compared(pass: bool, expected: String, actual: Option<String>) -> Verdict {
        Verdict {
            status: if pass { RuleStatus::Pass } else { RuleStatus::Fail },
            expected: Some(expected),
            actual,
            diff: None,
            message: None,
        }
    }
}

/// Each sshd configuration a host sent ([`Probe::SshdConfig`]), decoded
/// once for all the rules that read it, by probe index.
#[derive(Debug, Default)]
pub struct SshdTrees {
    trees: Vec<Option<Result<include::ConfigFiles, String>>>,
}

impl SshdTrees {
    pub fn decode(probes: &Probes, outputs: &[ProbeOutput]) -> SshdTrees {
        let trees = probes
            .as_slice()
            .iter()
            .zip(outputs)
            .map(|(probe, output)| match probe {
                Probe::SshdConfig { path, lstat, .. } => Some(include::ConfigFiles::decode(output, path, *lstat)),
                _ => None,
            })
            .collect();
        SshdTrees { trees }
    }

    /// The decoded configuration of probe `index`.
    pub fn get(&self, index: usize) -> Result<&include::ConfigFiles, String> {
        match self.trees.get(index) {
            Some(Some(Ok(tree))) => Ok(tree),
            Some(Some(Err(e))) => Err(e.clone()),
            _ => Err("internal: the sshd configuration was not decoded".into()),
        }
    }
}

/// Evaluates `rule` against what the host returned for its probe; `sshd`
/// is [`SshdTrees::decode`] of the same probes and outputs.
pub fn evaluate(
    rule: &Rule,
    probes: &Probes,
    outputs: &[ProbeOutput],
    sshd: &SshdTrees,
    limits: &CollectLimits,
    vars: &Vars,
    renderer: &Renderer,
) -> Verdict {
    let probe = probe_for(rule, limits);
    let Some((index, output)) = probes.get(&probe).and_then(|i| outputs.get(i).map(|o| (i, o))) else {
        return Verdict::error("internal: no collected fact for this rule");
    };
    let result = match &rule.check {
        Check::Setting { file, key, expect } if include::follows_includes(file) => sshd
            .get(index)
            .and_then(|files| sshd_setting(file, key, expect.as_ref(), files, vars, renderer)),
        Check::Setting { file, key, expect } => file_text(output, file).and_then(|text| {
            let dialect = SettingDialect::for_path(file);
            let actual = text.as_deref().and_then(|t| find_setting(t, key, dialect));
            let semantics = if dialect == SettingDialect::Sshd {
                ValueSemantics::Sshd
            } else {
                ValueSemantics::Exact
            };
            let mut v = expect_or_exists(expect.as_ref(), actual, renderer, vars, semantics)?;
            if text.is_none() {
                v.message = Some(format!("{file} does not exist"));
            }
            Ok(v)
        }),
        Check::Line {
            file,
            pattern,
            expect,
            absent,
        } => file_text(output, file).and_then(|text| {
            let found = text.as_deref().and_then(|t| {
                t.lines().find_map(|line| {
                    pattern.captures(line).map(|c| {
                        (
                            line.to_string(),
                            c.get(1)
                                .or_else(|| c.get(0))
                                .map(|m| m.as_str().to_string())
                                .unwrap_or_default(),
                        )
                    })
                })
            });
            if *absent {
                let pass = found.is_none();
                return Ok(Verdict::compared(
                    pass,
                    format!("no line matching /{}/", pattern.as_str()),
                    found.map(|(line, _)| line),
                ));
            }
            match expect {
                Some(e) => {
                    let actual = found.map(|(_, captured)| captured);
                    expect_or_exists(Some(e), actual, renderer, vars, ValueSemantics::Exact)
                }
                None => Ok(Verdict::compared(
                    found.is_some(),
                    format!("a line matching /{}/", pattern.as_str()),
                    found.map(|(line, _)| line),
                )),
            }
        }),
        Check::Content { file, expected } => file_text(output, file).and_then(|actual| {
            let expected = renderer.render(expected, vars).map_err(|e| e.to_string())?;
            Ok(content_verdict(file, &expected, actual.as_deref()))
        }),
        Check::Metadata(m) => metadata_verdict(m, output),
        Check::Sysctl { key, expect } => match output {
            ProbeOutput::Ok(bytes) => {
                let value = String::from_utf8_lossy(bytes)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                expect_or_exists(expect.as_ref(), Some(value), renderer, vars, ValueSemantics::Exact)
            }
            ProbeOutput::Missing => Err(format!("unknown sysctl key {key} (no {})", sysctl_path(key))),
            ProbeOutput::Status(s) => Err(format!("cannot read {}: {}", sysctl_path(key), describe_status(s))),
            ProbeOutput::Parts(_) => Err(format!("cannot read {}: malformed answer", sysctl_path(key))),
        },
        Check::Command { expect, exit_code, .. } => {
            command_verdict(output, expect.as_ref(), *exit_code, limits, vars, renderer)
        }
        Check::Service { name, state } => service_verdict(name, *state, output),
        Check::Package { name, state, version } => package::verdict(name, *state, version.as_ref(), output),
    };
    result.unwrap_or_else(Verdict::error)
}

/// A setting of an sshd configuration, following its `Include`s: the
/// effective value, and where it is when it comes from an included file.
fn sshd_setting(
    file: &str,
    key: &str,
    expect: Option<&crate::baseline::Expect>,
    files: &include::ConfigFiles,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, String> {
    let exists = !matches!(files.main(), ProbeOutput::Missing);
    let found = include::locate(files, file, key)?;
    let actual = found.as_ref().map(|f| f.value.clone());
    let mut v = expect_or_exists(expect, actual, renderer, vars, ValueSemantics::Sshd)?;
    if let Some(found) = &found {
        v.actual = Some(found.describe(file));
    }
    if !exists {
        v.message = Some(format!("{file} does not exist"));
    }
    Ok(v)
}

/// The file's text, `None` when it does not exist. Non-UTF-8 bytes are
/// replaced, which is enough to compare settings and show diffs.
fn file_text(output: &ProbeOutput, file: &str) -> Result<Option<String>, String> {
    match output {
        ProbeOutput::Ok(bytes) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
        ProbeOutput::Missing => Ok(None),
        ProbeOutput::Status(s) => Err(format!("cannot read {file}: {}", describe_status(s))),
        ProbeOutput::Parts(_) => Err(format!("cannot read {file}: the host's answer was malformed")),
    }
}

fn expect_or_exists(
    expect: Option<&crate::baseline::Expect>,
    actual: Option<String>,
    renderer: &Renderer,
    vars: &Vars,
    semantics: ValueSemantics,
) -> Result<Verdict, String> {
    match expect {
        Some(e) => {
            let c = compare(e, actual.as_deref(), renderer, vars, semantics)?;
            let mut v = Verdict::compared(c.pass, c.expected, actual);
            v.message = c.note;
            Ok(v)
        }
        None => Ok(Verdict::compared(actual.is_some(), "present".into(), actual)),
    }
}

fn content_verdict(file: &str, expected: &str, actual: Option<&str>) -> Verdict {
    let pass = actual == Some(expected);
    let diff = (!pass).then(|| {
        let actual_text = actual.unwrap_or("");
        let actual_label = if actual.is_some() {
            format!("actual {file}")
        } else {
            format!("actual {file} (missing)")
        };
        similar::TextDiff::from_lines(expected, actual_text)
            .unified_diff()
            .context_radius(3)
            .header(&format!("expected {file}"), &actual_label)
            .to_string()
    });
    Verdict {
        status: if pass { RuleStatus::Pass } else { RuleStatus::Fail },
        expected: Some(summarize_text(expected)),
        actual: actual.map(summarize_text),
        diff,
        message: None,
    }
}

/// Whole files are shown as a diff; the expected/actual fields carry a
/// short description so reports stay readable.
fn summarize_text(text: &str) -> String {
    format!("{} lines, {} bytes", text.lines().count(), text.len())
}

fn metadata_verdict(m: &Metadata, output: &ProbeOutput) -> Result<Verdict, String> {
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    let mut pass = true;
    let stat = match output {
        ProbeOutput::Missing => None,
        ProbeOutput::Ok(bytes) => Some(Stat::parse(&String::from_utf8_lossy(bytes)).ok_or("cannot parse stat output")?),
        ProbeOutput::Status(s) => return Err(format!("cannot stat {}: {}", m.file, describe_status(s))),
        ProbeOutput::Parts(_) => return Err(format!("cannot stat {}: malformed answer", m.file)),
    };
    let Some(stat) = stat else {
        let pass = m.exists == Some(false);
        let want = if pass {
            "absent".to_string()
        } else {
            "present".to_string()
        };
        return Ok(Verdict::compared(pass, want, Some("missing".into())));
    };
    if m.exists == Some(false) {
        return Ok(Verdict::compared(
            false,
            "absent".into(),
            Some(format!("present ({})", stat.kind)),
        ));
    }
    if m.exists == Some(true) {
        expected.push("present".to_string());
        actual.push("present".to_string());
    }
    if let Some(mode) = m.mode {
        pass &= stat.mode == mode;
        expected.push(format!("mode {mode:04o}"));
        actual.push(format!("mode {:04o}", stat.mode));
    }
    if let Some(max) = m.max_mode {
        pass &= stat.mode & !max == 0;
        expected.push(format!("mode at most {max:04o}"));
        if m.mode.is_none() {
            actual.push(format!("mode {:04o}", stat.mode));
        }
    }
    if let Some(owner) = &m.owner {
        pass &= *owner == stat.owner || *owner == stat.uid;
        expected.push(format!("owner {owner}"));
        actual.push(format!("owner {}", stat.owner));
    }
    if let Some(group) = &m.group {
        pass &= *group == stat.group || *group == stat.gid;
        expected.push(format!("group {group}"));
        actual.push(format!("group {}", stat.group));
    }
    Ok(Verdict::compared(pass, expected.join(", "), Some(actual.join(", "))))
}

/// `stat -c '%a %u %g %U %G %F'` output.
struct Stat {
    mode: u32,
    uid: String,
    gid: String,
    owner: String,
    group: String,
    kind: String,
}

impl Stat {
    fn parse(text: &str) -> Option<Stat> {
        let mut parts = text.trim().splitn(6, ' ');
        Some(Stat {
            mode: u32::from_str_radix(parts.next()?, 8).ok()?,
            uid: parts.next()?.to_string(),
            gid: parts.next()?.to_string(),
            owner: parts.next()?.to_string(),
            group: parts.next()?.to_string(),
            kind: parts.next().unwrap_or("file").to_string(),
        })
    }
}

fn command_verdict(
    output: &ProbeOutput,
    expect: Option<&crate::baseline::Expect>,
    exit_code: Option<i32>,
    limits: &CollectLimits,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, String> {
    let ProbeOutput::Ok(bytes) = output else {
        return Err("the command's output could not be read".into());
    };
    let text = String::from_utf8_lossy(bytes);
    // The script appends "\n<exit status>"; if that is missing the output
    // was cut at the limit.
    let Some((stdout, status)) = text.rsplit_once('\n') else {
        return Err(format!("output exceeded {} bytes", limits.max_command_output));
    };
    let Ok(status) = status.parse::<i32>() else {
        return Err(format!("output exceeded {} bytes", limits.max_command_output));
    };
    if stdout.len() as u64 > limits.max_command_output {
        return Err(format!("output exceeded {} bytes", limits.max_command_output));
    }
    match status {
        124 | 137 => return Err(format!("command timed out after {:?}", limits.command_timeout)),
        126 => return Err("command not executable".into()),
        127 => return Err("command not found".into()),
        _ => {}
    }
    let stdout = stdout.trim().to_string();
    let mut expected = Vec::new();
    let mut pass = true;
    let mut note = None;
    if let Some(e) = expect {
        let c = compare(e, Some(&stdout), renderer, vars, ValueSemantics::Exact)?;
        pass &= c.pass;
        expected.push(c.expected);
        note = c.note;
    }
    let mut actual = stdout;
    if let Some(code) = exit_code {
        pass &= status == code;
        expected.push(format!("exit {code}"));
        actual = if expect.is_some() {
            format!("{actual} (exit {status})")
        } else {
            format!("exit {status}")
        };
    }
    let mut v = Verdict::compared(pass, expected.join(", "), Some(actual));
    v.message = note;
    Ok(v)
}

fn key_values(output: &ProbeOutput) -> Result<Vec<(String, String)>, String> {
    let ProbeOutput::Ok(bytes) = output else {
        return Err("the host's answer could not be read".into());
    };
    Ok(String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.trim().to_string())))
        .collect())
}

fn lookup<'a>(kv: &'a [(String, String)], key: &str) -> &'a str {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn service_verdict(name: &str, want: ServiceState, output: &ProbeOutput) -> Result<Verdict, String> {
    let kv = key_values(output)?;
    let (running, enabled) = match lookup(&kv, "init") {
        "systemd" => {
            let active = lookup(&kv, "active");
            let enabled = lookup(&kv, "enabled");
            let enabled = match enabled {
                "enabled" | "enabled-runtime" | "static" | "alias" | "indirect" | "generated" => Some(true),
                "disabled" | "masked" | "masked-runtime" => Some(false),
                _ => None,
            };
            (
                if active.is_empty() {
                    None
                } else {
                    Some(active == "active")
                },
                enabled,
            )
        }
        "sysv" => {
            let running = match lookup(&kv, "status") {
                "none" => None,
                "0" => Some(true),
                _ => Some(false),
            };
            let enabled = match lookup(&kv, "enabled") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            (running, enabled)
        }
        _ => return Err("cannot tell the init system".into()),
    };
    let (pass, actual) = match want {
        ServiceState::Running => (running == Some(true), running_text(running)),
        ServiceState::Stopped => (running != Some(true), running_text(running)),
        ServiceState::Enabled => (enabled == Some(true), enabled_text(enabled)),
        ServiceState::Disabled => (enabled != Some(true), enabled_text(enabled)),
    };
    let want = match want {
        ServiceState::Running => "running",
        ServiceState::Stopped => "stopped",
        ServiceState::Enabled => "enabled",
        ServiceState::Disabled => "disabled",
    };
    let mut v = Verdict::compared(pass, want.into(), Some(actual.into()));
    if running.is_none() && enabled.is_none() {
        v.message = Some(format!("service {name} not found"));
    }
    Ok(v)
}

fn running_text(r: Option<bool>) -> &'static str {
    match r {
        Some(true) => "running",
        Some(false) => "stopped",
        None => "not found",
    }
}

fn enabled_text(e: Option<bool>) -> &'static str {
    match e {
        Some(true) => "enabled",
        Some(false) => "disabled",
        None => "not found",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Expect;

    fn ok(text: &str) -> ProbeOutput {
        ProbeOutput::Ok(text.as_bytes().to_vec())
    }

    #[test]
    fn services_under_systemd_and_sysv() {
        let systemd = ok("init=systemd\nactive=active\nenabled=enabled\n");
        assert_eq!(
            service_verdict("x", ServiceState::Running, &systemd).unwrap().status,
            RuleStatus::Pass
        );
        assert_eq!(
            service_verdict("x", ServiceState::Disabled, &systemd).unwrap().status,
            RuleStatus::Fail
        );
        let masked = ok("init=systemd\nactive=inactive\nenabled=masked\n");
        assert_eq!(
            service_verdict("x", ServiceState::Stopped, &masked).unwrap().status,
            RuleStatus::Pass
        );
        assert_eq!(
            service_verdict("x", ServiceState::Disabled, &masked).unwrap().status,
            RuleStatus::Pass
        );
        let sysv_stopped = ok("init=sysv\nstatus=3\nenabled=yes\n");
        let v = service_verdict("x", ServiceState::Running, &sysv_stopped).unwrap();
        assert_eq!((v.status, v.actual.as_deref()), (RuleStatus::Fail, Some("stopped")));
        let missing = ok("init=sysv\nstatus=none\nenabled=none\n");
        let v = service_verdict("x", ServiceState::Running, &missing).unwrap();
        assert_eq!(v.actual.as_deref(), Some("not found"));
        assert!(v.message.unwrap().contains("not found"));
    }

    #[test]
    fn metadata_checks() {
        let m = Metadata {
            file: "/f".into(),
            exists: None,
            mode: None,
            max_mode: Some(0o640),
            owner: Some("root".into()),
            group: Some("0".into()),
        };
        let v = metadata_verdict(&m, &ok("600 0 0 root root regular file")).unwrap();
        assert_eq!(v.status, RuleStatus::Pass, "{v:?}");
        let v = metadata_verdict(&m, &ok("644 0 42 root shadow regular file")).unwrap();
        assert_eq!(v.status, RuleStatus::Fail);
        assert_eq!(v.actual.as_deref(), Some("mode 0644, owner root, group shadow"));
        let gone = Metadata {
            exists: Some(false),
            max_mode: None,
            owner: None,
            group: None,
            ..m
        };
        assert_eq!(
            metadata_verdict(&gone, &ProbeOutput::Missing).unwrap().status,
            RuleStatus::Pass
        );
        assert_eq!(
            metadata_verdict(&gone, &ok("644 0 0 root root regular file"))
                .unwrap()
                .status,
            RuleStatus::Fail
        );
        assert!(metadata_verdict(&gone, &ok("garbage")).is_err());
    }

    #[test]
    fn command_output_and_status() {
        let limits = CollectLimits::default();
        let (vars, r) = (Vars::new(), Renderer::default());
        let expect = Expect::Equals("yes".into());
        let v = command_verdict(&ok("  yes \n\n0"), Some(&expect), Some(0), &limits, &vars, &r).unwrap();
        assert_eq!(v.status, RuleStatus::Pass);
        assert_eq!(v.actual.as_deref(), Some("yes (exit 0)"));
        let v = command_verdict(&ok("\n1"), None, Some(0), &limits, &vars, &r).unwrap();
        assert_eq!((v.status, v.actual.as_deref()), (RuleStatus::Fail, Some("exit 1")));
        assert!(command_verdict(&ok("\n127"), None, Some(0), &limits, &vars, &r)
            .unwrap_err()
            .contains("not found"));
        assert!(command_verdict(&ok("\n137"), None, Some(0), &limits, &vars, &r)
            .unwrap_err()
            .contains("timed out"));
        assert!(
            command_verdict(&ok("truncated-without-status"), None, Some(0), &limits, &vars, &r)
                .unwrap_err()
                .contains("exceeded")
        );
    }
}
