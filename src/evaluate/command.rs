//! The `command` subject: the command it runs, its verdict on the
//! command's stdout and exit status, and what `rectify capture` keeps.

use super::capture::literal;
use super::expect::{compare, ValueSemantics};
use super::EvalError;
use super::{CollectLimits, Verdict};
use crate::baseline::Expect;
use crate::collect::facts::command::CommandOutput;
use crate::collect::facts::command::Run;
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use crate::template::{Renderer, Vars};
use serde_yaml::{Mapping, Value};

/// The command, with the run's timeout and output limit.
pub(super) fn probe(command: &str, limits: &CollectLimits) -> Probe {
    Run {
        command: command.to_string(),
        timeout: limits.command_timeout,
        max: limits.max_command_output,
    }
    .into()
}

pub(super) fn verdict(
    output: &ProbeOutput,
    expect: Option<&crate::baseline::Expect>,
    exit_code: Option<i32>,
    limits: &CollectLimits,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let ProbeOutput::Ok(bytes) = output else {
        return Err(EvalError::CommandUnreadable);
    };
    // Without its exit status suffix the output was cut at the limit.
    let Some(CommandOutput { stdout, status }) = CommandOutput::parse(bytes) else {
        return Err(EvalError::OutputExceeded(limits.max_command_output));
    };
    if stdout.len() as u64 > limits.max_command_output {
        return Err(EvalError::OutputExceeded(limits.max_command_output));
    }
    match status {
        124 | 137 => return Err(EvalError::TimedOut(limits.command_timeout)),
        126 => return Err(EvalError::NotExecutable),
        127 => return Err(EvalError::CommandNotFound),
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

/// What `rectify capture` keeps of a command rule: its output and/or exit
/// status, as the rule checked them.
pub(super) fn capture(
    command: &str,
    expect: Option<&Expect>,
    exit_code: Option<i32>,
    output: &ProbeOutput,
) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let ProbeOutput::Ok(bytes) = output else {
        return Err(EvalError::CommandUnreadable);
    };
    let CommandOutput { stdout, status } = CommandOutput::parse(bytes).ok_or(EvalError::CutOff)?;
    put("command", command.into());
    if expect.is_some() || exit_code.is_none() {
        put("expect", literal(stdout.trim()));
    }
    if exit_code.is_some() {
        put("exit_code", status.into());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Expect;
    use crate::evaluate::RuleStatus;

    fn ok(text: &str) -> ProbeOutput {
        ProbeOutput::Ok(text.as_bytes().to_vec())
    }

    #[test]
    fn command_output_and_status() {
        let limits = CollectLimits::default();
        let (vars, r) = (Vars::new(), Renderer::default());
        let expect = Expect::Equals("yes".into());
        let v = verdict(&ok("  yes \n\n0"), Some(&expect), Some(0), &limits, &vars, &r).unwrap();
        assert_eq!(v.status, RuleStatus::Pass);
        assert_eq!(v.actual.as_deref(), Some("yes (exit 0)"));
        let v = verdict(&ok("\n1"), None, Some(0), &limits, &vars, &r).unwrap();
        assert_eq!((v.status, v.actual.as_deref()), (RuleStatus::Fail, Some("exit 1")));
        assert!(verdict(&ok("\n127"), None, Some(0), &limits, &vars, &r)
            .unwrap_err()
            .to_string()
            .contains("not found"));
        assert!(verdict(&ok("\n137"), None, Some(0), &limits, &vars, &r)
            .unwrap_err()
            .to_string()
            .contains("timed out"));
        assert!(
            verdict(&ok("truncated-without-status"), None, Some(0), &limits, &vars, &r)
                .unwrap_err()
                .to_string()
                .contains("exceeded")
        );
    }
}
