//! The `content` subject: a whole file against its expected text (shown
//! as a unified diff), and what `rectify capture` keeps of it.

use super::capture::literal;
use super::file_text;
use super::EvalError;
use super::{RuleStatus, Verdict};
use crate::collect::ProbeOutput;
use serde_yaml::{Mapping, Value};

pub(super) fn verdict(file: &str, expected: &str, actual: Option<&str>) -> Verdict {
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
        actual_default: false,
    }
}

/// Whole files are shown as a diff; the expected/actual fields carry a
/// short description so reports stay readable.
fn summarize_text(text: &str) -> String {
    format!("{} lines, {} bytes", text.lines().count(), text.len())
}

/// What `rectify capture` keeps of a whole file: its text.
pub(super) fn capture(file: &str, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let text = file_text(output, file)?.ok_or_else(|| EvalError::GoneOnGolden(file.to_string()))?;
    put("file", file.into());
    put("content", literal(&text));
    Ok(m)
}
