//! Evaluation: a rule and the facts collected from a host become a result.
//! Pure functions: nothing here does I/O.

pub mod capture;
mod command;
mod content;
mod error;
pub mod expect;
pub mod glob;
mod line;
mod metadata;
pub mod package;
mod service;
mod setting;
mod sshd;
mod sysctl;
pub mod when;

use std::time::Duration;

use crate::baseline::{Check, Rule, SshdSource};
use crate::collect::facts::file::{self, Read};
use crate::collect::facts::sshd_config::{ConfigFiles, DecodeError};
use crate::collect::{Probe, ProbeOutput, Probes};
use crate::conftext::include;
use crate::template::{Renderer, Vars};
pub use error::EvalError;
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
    if let Some(pattern) = glob::pattern(&rule.check) {
        return glob::probe(&rule.check, pattern, limits.max_file);
    }
    match &rule.check {
        Check::Setting { file, .. } => setting::probe(file, limits),
        Check::Line { file, .. } | Check::Content { file, .. } => file_probe(file, limits),
        Check::Metadata(m) => metadata::probe(m),
        Check::Sysctl { key, .. } => sysctl::probe(key),
        Check::Command { command, .. } => command::probe(command, limits),
        Check::Service { name, .. } => service::probe(name),
        Check::Package { name, .. } => package::probe(name),
    }
}

/// Every fact a rule needs: [`probe_for`]'s first, then any other (the
/// sysctl files for a rule that checks persisted values).
pub fn probes_for(rule: &Rule, limits: &CollectLimits) -> Vec<Probe> {
    let mut probes = vec![probe_for(rule, limits)];
    match &rule.check {
        Check::Sysctl { check, .. } => probes.extend(sysctl::extra_probe(*check)),
        Check::Setting {
            file,
            absent: false,
            connection,
            source,
            ..
        } if include::follows_includes(file) => {
            probes.extend(sshd::extra_probes(
                file,
                connection.as_ref(),
                *source == SshdSource::Daemon,
            ));
        }
        _ => {}
    }
    probes
}

/// A file's content, for the subjects that read a whole file.
fn file_probe(file: &str, limits: &CollectLimits) -> Probe {
    Read {
        path: file.to_string(),
        max: limits.max_file,
    }
    .into()
}

/// A rule's verdict on one host, before it is labelled with the rule's id.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: RuleStatus,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub diff: Option<String>,
    pub message: Option<String>,
    /// `actual` is sshd's compiled-in default: no line sets the key.
    pub actual_default: bool,
}

impl Verdict {
    pub(super) fn error(message: impl Into<String>) -> Verdict {
        Verdict {
            status: RuleStatus::Error,
            expected: None,
            actual: None,
            diff: None,
            message: Some(message.into()),
            actual_default: false,
        }
    }

    pub(super) fn compared(pass: bool, expected: String, actual: Option<String>) -> Verdict {
        Verdict {
            status: if pass { RuleStatus::Pass } else { RuleStatus::Fail },
            expected: Some(expected),
            actual,
            diff: None,
            message: None,
            actual_default: false,
        }
    }
}

/// Each sshd configuration a host sent ([`Probe::SshdConfig`]), decoded
/// once for all the rules that read it, by probe index.
#[derive(Debug, Default)]
pub struct SshdTrees {
    trees: Vec<Option<Result<ConfigFiles, DecodeError>>>,
}

impl SshdTrees {
    pub fn decode(probes: &Probes, outputs: &[ProbeOutput]) -> SshdTrees {
        let trees = probes
            .as_slice()
            .iter()
            .zip(outputs)
            .map(|(probe, output)| match probe {
                Probe::SshdConfig(request) => Some(ConfigFiles::decode(output, &request.path, request.lstat)),
                Probe::Read(_)
                | Probe::Stat(_)
                | Probe::Glob(_)
                | Probe::Lstat(_)
                | Probe::Command(_)
                | Probe::Service(_)
                | Probe::Package(_)
                | Probe::SysctlFiles(_)
                | Probe::OsRelease(_)
                | Probe::SshdVersion(_)
                | Probe::SshdDump(_) => None,
            })
            .collect();
        SshdTrees { trees }
    }

    /// The decoded configuration of probe `index`.
    pub fn get(&self, index: usize) -> Result<&ConfigFiles, EvalError> {
        match self.trees.get(index) {
            Some(Some(Ok(tree))) => Ok(tree),
            Some(Some(Err(e))) => Err(e.clone().into()),
            _ => Err(EvalError::NotDecoded),
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
        return Verdict::error(EvalError::NoFact.to_string());
    };
    if let Some(pattern) = glob::pattern(&rule.check) {
        // Each match judged as the same rule on that one file.
        let one = |name: &str, output: &ProbeOutput| one_file(&with_file(&rule.check, name), output, vars, renderer);
        return glob::verdict(&rule.check, pattern, output, one).unwrap_or_else(|e| Verdict::error(e.to_string()));
    }
    let result = match &rule.check {
        Check::Setting {
            file,
            key,
            absent: true,
            ..
        } if include::follows_includes(file) => {
            sshd.get(index).and_then(|files| setting::sshd_absent(file, key, files))
        }
        Check::Setting {
            file,
            key,
            expect: Some(expect),
            connection,
            source: SshdSource::Daemon,
            default,
            ..
        } if include::follows_includes(file) => {
            let rule = sshd::DaemonRule {
                file,
                key,
                expect,
                connection: connection.as_ref(),
                policy: *default,
            };
            sshd.get(index)
                .and_then(|files| sshd::daemon(&rule, probes, outputs, files, vars, renderer))
        }
        Check::Setting {
            file,
            key,
            expect,
            connection,
            default,
            ..
        } if include::follows_includes(file) => {
            let rule = setting::SshdRule {
                file,
                key,
                expect: expect.as_ref(),
                policy: *default,
            };
            let defaults = sshd::defaults(probes, outputs);
            sshd.get(index).and_then(|files| match connection {
                Some(conn) => setting::sshd_for(&rule, conn, &defaults, files, vars, renderer),
                None => setting::sshd(&rule, &defaults, files, vars, renderer),
            })
        }
        Check::Setting { .. } | Check::Line { .. } | Check::Content { .. } | Check::Metadata(_) => {
            one_file(&rule.check, output, vars, renderer)
        }
        Check::Sysctl { key, expect, check } => {
            let files = sysctl::extra_probe(*check)
                .and_then(|p| probes.get(&p))
                .and_then(|i| outputs.get(i));
            let subject = sysctl::Subject {
                key,
                check: *check,
                expect: expect.as_ref(),
                live: output,
                files,
            };
            sysctl::verdict(&subject, vars, renderer)
        }
        Check::Command { expect, exit_code, .. } => {
            command::verdict(output, expect.as_ref(), *exit_code, limits, vars, renderer)
        }
        Check::Service { name, state } => service::verdict(name, *state, output),
        Check::Package { name, state, version } => package::verdict(name, *state, version.as_ref(), output),
    };
    result.unwrap_or_else(|e| Verdict::error(e.to_string()))
}

/// The verdict of a rule on one file that needs nothing but that file's
/// content or stat: plain `setting`, `line`, `content`, metadata.
fn one_file(check: &Check, output: &ProbeOutput, vars: &Vars, renderer: &Renderer) -> Result<Verdict, EvalError> {
    match check {
        Check::Setting {
            file,
            key,
            absent: true,
            ..
        } => setting::plain_absent(output, file, key),
        Check::Setting { file, key, expect, .. } => setting::plain(output, file, key, expect.as_ref(), vars, renderer),
        Check::Line {
            file,
            pattern,
            expect,
            absent,
        } => line::verdict(output, file, pattern, expect.as_ref(), *absent, vars, renderer),
        Check::Content { file, expected } => file_text(output, file).and_then(|actual| {
            let expected = renderer.render(expected, vars)?;
            Ok(content::verdict(file, &expected, actual.as_deref()))
        }),
        Check::Metadata(m) => metadata::verdict(m, output),
        Check::Sysctl { .. } | Check::Command { .. } | Check::Service { .. } | Check::Package { .. } => {
            Err(EvalError::NoFact)
        }
    }
}

/// `check` about the one file `name` (a match of its pattern).
fn with_file(check: &Check, name: &str) -> Check {
    let mut one = check.clone();
    match &mut one {
        Check::Setting { file, .. } | Check::Line { file, .. } | Check::Content { file, .. } => {
            *file = name.to_string()
        }
        Check::Metadata(m) => m.file = name.to_string(),
        Check::Sysctl { .. } | Check::Command { .. } | Check::Service { .. } | Check::Package { .. } => {}
    }
    one
}

/// The file's text, `None` when it does not exist. Non-UTF-8 bytes are
/// replaced, which is enough to compare settings and show diffs.
pub(super) fn file_text(output: &ProbeOutput, file: &str) -> Result<Option<String>, EvalError> {
    match output {
        ProbeOutput::Ok(_) | ProbeOutput::Missing | ProbeOutput::Status(_) | ProbeOutput::Parts(_) => {
            match file::decode(output) {
                Ok(bytes) => Ok(bytes.map(|b| String::from_utf8_lossy(b).into_owned())),
                Err(status) => Err(EvalError::Read {
                    file: file.to_string(),
                    status,
                }),
            }
        }
    }
}

pub(super) fn expect_or_exists(
    expect: Option<&crate::baseline::Expect>,
    actual: Option<String>,
    renderer: &Renderer,
    vars: &Vars,
    semantics: ValueSemantics,
) -> Result<Verdict, EvalError> {
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
