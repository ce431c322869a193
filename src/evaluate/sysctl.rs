//! The `sysctl` subject: a kernel parameter's live value from `/proc/sys`,
//! blanks collapsed, against the rule's expectation, and what `rectify
//! capture` keeps.

use super::capture::literal;
use super::expect::ValueSemantics;
use super::EvalError;
use super::{expect_or_exists, Verdict};
use crate::baseline::Expect;
use crate::collect::facts::sysctl::{self, sysctl_path};
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use crate::template::{Renderer, Vars};
use serde_yaml::{Mapping, Value};

/// The key's file below `/proc/sys`.
pub(super) fn probe(key: &str) -> Probe {
    sysctl::read(key).into()
}

pub(super) fn verdict(
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

/// What `rectify capture` keeps of a sysctl: its live value.
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
    put("expect", literal(&value));
    Ok(m)
}
