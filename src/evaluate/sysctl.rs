//! The `sysctl` subject's verdict: a kernel parameter's live value from
//! `/proc/sys`, blanks collapsed, against the rule's expectation.

use super::expect::ValueSemantics;
use super::{expect_or_exists, Verdict};
use crate::baseline::Expect;
use crate::collect::facts::sysctl::{self, sysctl_path};
use crate::collect::ProbeOutput;
use crate::template::{Renderer, Vars};

pub(super) fn verdict(
    output: &ProbeOutput,
    key: &str,
    expect: Option<&Expect>,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, String> {
    match sysctl::decode(output) {
        Ok(Some(value)) => expect_or_exists(
            expect,
            Some(sysctl::normalize(&value)),
            renderer,
            vars,
            ValueSemantics::Exact,
        ),
        Ok(None) => Err(format!("unknown sysctl key {key} (no {})", sysctl_path(key))),
        Err(status) => Err(format!("cannot read {}: {status}", sysctl_path(key))),
    }
}
