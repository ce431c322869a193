//! The `sysctl` subject: a kernel parameter's live value from `/proc/sys`
//! and the value the next boot loads (the last assignment in the sysctl
//! files, read as procps `sysctl --system` reads them), blanks collapsed,
//! against the rule's expectation (`check:` says which, `both` by
//! default), and what `rectify capture` keeps.

use super::capture::literal;
use super::expect::ValueSemantics;
use super::EvalError;
use super::{expect_or_exists, RuleStatus, Verdict};
use crate::baseline::{Expect, SysctlCheck};
use crate::collect::facts::sysctl::{self, sysctl_path};
use crate::collect::facts::sysctl_files::{SysctlFiles, SysctlFound};
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use crate::template::{Renderer, Vars};
use serde_yaml::{Mapping, Value};

/// The key's file below `/proc/sys`.
pub(super) fn probe(key: &str) -> Probe {
    sysctl::read(key).into()
}

/// The facts besides the live value a rule needs: the sysctl files,
/// unless only the live value is checked.
pub(super) fn extra_probe(check: SysctlCheck) -> Option<Probe> {
    (check != SysctlCheck::Live).then(|| SysctlFiles.into())
}

/// What a rule compares, and with which facts: `live` is the `/proc/sys`
/// read, `files` the sysctl files (`None` when not gathered).
pub(super) struct Subject<'a> {
    pub key: &'a str,
    pub check: SysctlCheck,
    pub expect: Option<&'a Expect>,
    pub live: &'a ProbeOutput,
    pub files: Option<&'a ProbeOutput>,
}

pub(super) fn verdict(s: &Subject<'_>, vars: &Vars, renderer: &Renderer) -> Result<Verdict, EvalError> {
    let persisted = || -> Result<Verdict, EvalError> {
        let files = s.files.ok_or(EvalError::NoFact)?;
        persisted_verdict(files, s.key, s.expect, vars, renderer)
    };
    match s.check {
        SysctlCheck::Live => live_verdict(s.live, s.key, s.expect, vars, renderer),
        SysctlCheck::Persisted => persisted(),
        SysctlCheck::Both => {
            let live = live_verdict(s.live, s.key, s.expect, vars, renderer)?;
            let persisted = persisted().map_err(|e| EvalError::Persisted(Box::new(e)))?;
            Ok(both(live, persisted))
        }
    }
}

/// `both`: passes when each passes; otherwise fails naming which one does
/// not, with the failing value as `actual` (the live one first).
fn both(live: Verdict, persisted: Verdict) -> Verdict {
    let failed = |v: &Verdict| v.status != RuleStatus::Pass;
    let mut notes = Vec::new();
    if failed(&live) {
        notes.push(format!(
            "live: the running kernel has {}",
            live.actual.as_deref().unwrap_or("no value")
        ));
        notes.extend(live.message.clone());
    }
    if failed(&persisted) || !failed(&live) {
        let prefix = if failed(&persisted) { "persisted: " } else { "" };
        notes.extend(persisted.message.clone().map(|m| format!("{prefix}{m}")));
    }
    let message = Some(notes.join("; ")).filter(|m| !m.is_empty());
    let mut verdict = if failed(&live) { live } else { persisted };
    verdict.message = message;
    verdict
}

fn live_verdict(
    output: &ProbeOutput,
    key: &str,
    expect: Option<&Expect>,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    match sysctl::decode(output) {
        Ok(Some(value)) => expect_or_exists(
            expect,
            Some(sysctl::normalize(&value)),
            renderer,
            vars,
            ValueSemantics::Exact,
        ),
        Ok(None) => Err(EvalError::UnknownSysctl {
            key: key.to_string(),
            path: sysctl_path(key),
        }),
        Err(status) => Err(EvalError::Read {
            file: sysctl_path(key),
            status,
        }),
    }
}

/// The value the next boot loads against the expectation; a key no file
/// sets fails "not persisted", whatever the expectation.
fn persisted_verdict(
    output: &ProbeOutput,
    key: &str,
    expect: Option<&Expect>,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let found = SysctlFound::decode(output)?.persisted(key)?;
    let Some(p) = found else {
        let expected = match expect {
            Some(e) => super::expect::compare(e, None, renderer, vars, ValueSemantics::Exact)?.expected,
            None => "present".into(),
        };
        let mut v = Verdict::compared(false, expected, None);
        v.message = Some(format!("not persisted: no sysctl file sets {key}"));
        return Ok(v);
    };
    let mut v = expect_or_exists(expect, Some(p.value.clone()), renderer, vars, ValueSemantics::Exact)?;
    let at = format!("{}:{} sets {}", p.file, p.line, p.value);
    v.message = Some(match v.message.take() {
        Some(note) => format!("{at}; {note}"),
        None => at,
    });
    Ok(v)
}

/// What `rectify capture` keeps of a sysctl: its live value, checked live
/// only, so the captured rule holds on the host it was captured from.
pub(super) fn capture(key: &str, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let Ok(Some(value)) = sysctl::decode(output) else {
        return Err(EvalError::SysctlUnread(key.to_string()));
    };
    let value = sysctl::normalize(&value);
    put("sysctl", key.into());
    put("check", "live".into());
    put("expect", literal(&value));
    Ok(m)
}
