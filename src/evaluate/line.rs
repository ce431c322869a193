//! The `line` subject: the first line matching a pattern, its capture
//! against an expectation or that no line matches, and what `rectify
//! capture` keeps of it.

use super::capture::literal;
use super::expect::ValueSemantics;
use super::EvalError;
use super::{expect_or_exists, file_text, Verdict};
use crate::baseline::Expect;
use crate::collect::ProbeOutput;
use crate::template::{Renderer, Vars};
use regex::Regex;
use serde_yaml::{Mapping, Value};

pub(super) fn verdict(
    output: &ProbeOutput,
    file: &str,
    pattern: &Regex,
    expect: Option<&Expect>,
    absent: bool,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let text = file_text(output, file)?;
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
    if absent {
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
}

/// What `rectify capture` keeps of a line rule: the captured value, or
/// that no line matches.
pub(super) fn capture(
    file: &str,
    pattern: &Regex,
    expect: Option<&Expect>,
    output: &ProbeOutput,
) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let text = file_text(output, file)?.unwrap_or_default();
    let found = text.lines().find_map(|line| {
        pattern.captures(line).map(|c| {
            c.get(1)
                .or_else(|| c.get(0))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default()
        })
    });
    put("file", file.into());
    put("line", pattern.as_str().into());
    match (found, expect) {
        (Some(captured), Some(_)) => put("expect", literal(&captured)),
        (Some(_), None) => {}
        (None, _) => put("absent", true.into()),
    }
    Ok(m)
}
