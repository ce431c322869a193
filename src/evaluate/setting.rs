//! The `setting` subject: a key's value in a configuration file, following
//! `Include` as sshd does for an sshd configuration; its probe, verdict and
//! what `rectify capture` keeps.

use super::capture::literal;
use super::expect::ValueSemantics;
use super::sshd;
use super::EvalError;
use super::{expect_or_exists, file_text, Verdict};
use super::{file_probe, CollectLimits};
use crate::baseline::DefaultPolicy;
use crate::collect::facts::sshd_config::{ConfigFiles, SshdConfig};
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use crate::conftext::include;
use crate::conftext::setting::{find_setting, SettingDialect};
use crate::conftext::sshd_defaults::Defaults;
use crate::conftext::sshd_match::Connection;
use crate::template::{Renderer, Vars};
use serde_yaml::{Mapping, Value};

/// An sshd configuration with its includes, or the file alone.
pub(super) fn probe(file: &str, limits: &CollectLimits) -> Probe {
    if include::follows_includes(file) {
        SshdConfig {
            path: file.to_string(),
            max: limits.max_file,
            lstat: false,
        }
        .into()
    } else {
        file_probe(file, limits)
    }
}

/// An sshd `setting` rule's parts that the file reader needs.
pub(super) struct SshdRule<'a> {
    pub file: &'a str,
    pub key: &'a str,
    pub expect: Option<&'a crate::baseline::Expect>,
    pub policy: DefaultPolicy,
}

/// A setting of an sshd configuration, following its `Include`s: the
/// effective value (what `sshd -T` prints: the line's value, an algorithm
/// list's edits applied, or the release's default where no line sets it),
/// and where it is when it comes from an included file; with an
/// `expect:`, also the value of every conditional `Match` block that sets
/// the key (`conftext::include`).
pub(super) fn sshd(
    rule: &SshdRule<'_>,
    defaults: &Defaults,
    files: &ConfigFiles,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let (file, key) = (rule.file, rule.key);
    let exists = !matches!(files.main(), ProbeOutput::Missing);
    let effective = include::resolve(files, file, key)?;
    let value = effective_value(rule, effective.global.as_ref(), exists, defaults)?;
    let actual = value.as_ref().map(|v| v.text.clone());
    let mut v = expect_or_exists(rule.expect, actual, renderer, vars, sshd::semantics(key))?;
    sshd::show(&mut v, file, effective.global.as_ref(), value.as_ref(), rule.policy);
    // The rule holds only when every connection gets a right value: each
    // conditional Match block that sets the key is judged too, and the
    // failing ones are named.
    if let Some(expect) = rule.expect {
        sshd::judge_blocks(&mut v, key, expect, &effective.blocks, defaults, vars, renderer)?;
    }
    if !exists {
        v.message = Some(format!("{file} does not exist"));
    }
    Ok(v)
}

/// The value sshd uses: the line's, or with an `expect:` and an existing
/// configuration (sshd refuses to start without one) the default.
fn effective_value(
    rule: &SshdRule<'_>,
    found: Option<&include::Located>,
    exists: bool,
    defaults: &Defaults,
) -> Result<Option<sshd::Value>, EvalError> {
    if found.is_none() && (rule.expect.is_none() || !exists) {
        return Ok(None);
    }
    sshd::value(rule.key, found, defaults)
}

/// A setting of an sshd configuration for the one connection of the
/// rule's `match:`: what `sshd -T -C user=…,host=…,addr=…` prints
/// (`conftext::include::resolve_for`).
pub(super) fn sshd_for(
    rule: &SshdRule<'_>,
    conn: &Connection,
    defaults: &Defaults,
    files: &ConfigFiles,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let (file, key) = (rule.file, rule.key);
    let exists = !matches!(files.main(), ProbeOutput::Missing);
    let found = include::resolve_for(files, file, key, conn)?;
    let value = effective_value(rule, found.as_ref(), exists, defaults)?;
    let actual = value.as_ref().map(|v| v.text.clone());
    let mut v = expect_or_exists(rule.expect, actual, renderer, vars, sshd::semantics(key))?;
    sshd::show(&mut v, file, found.as_ref(), value.as_ref(), rule.policy);
    if !exists {
        v.message = Some(format!("{file} does not exist"));
    }
    Ok(v)
}

/// `absent: true` on an sshd configuration: passes only when the key is set
/// nowhere sshd reads, neither globally (the main file or any included
/// drop-in) nor in a Match block; else the value found, and where.
pub(super) fn sshd_absent(file: &str, key: &str, files: &ConfigFiles) -> Result<Verdict, EvalError> {
    let effective = include::resolve(files, file, key)?;
    let mut found: Vec<String> = effective.global.iter().map(|f| f.describe(file)).collect();
    found.extend(effective.blocks.iter().map(|b| b.describe()));
    let actual = (!found.is_empty()).then(|| found.join("; "));
    let mut v = Verdict::compared(found.is_empty(), "not set".into(), actual);
    if matches!(files.main(), ProbeOutput::Missing) {
        v.message = Some(format!("{file} does not exist"));
    }
    Ok(v)
}

/// `absent: true` on any other file: the key has no occurrence.
pub(super) fn plain_absent(output: &ProbeOutput, file: &str, key: &str) -> Result<Verdict, EvalError> {
    let text = file_text(output, file)?;
    let actual = text
        .as_deref()
        .and_then(|t| find_setting(t, key, SettingDialect::for_path(file)));
    let mut v = Verdict::compared(actual.is_none(), "not set".into(), actual);
    if text.is_none() {
        v.message = Some(format!("{file} does not exist"));
    }
    Ok(v)
}

/// A setting of any other file: the first occurrence, read in the file's
/// dialect.
pub(super) fn plain(
    output: &ProbeOutput,
    file: &str,
    key: &str,
    expect: Option<&crate::baseline::Expect>,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, EvalError> {
    let text = file_text(output, file)?;
    let dialect = SettingDialect::for_path(file);
    let actual = text.as_deref().and_then(|t| find_setting(t, key, dialect));
    let semantics = if dialect == SettingDialect::Sshd {
        ValueSemantics::Sshd
    } else {
        ValueSemantics::Exact
    };
    let mut v = expect_or_exists(expect, actual, renderer, vars, semantics)?;
    if text.is_none() {
        v.message = Some(format!("{file} does not exist"));
    }
    Ok(v)
}

/// What `rectify capture` keeps of an sshd setting: the effective value,
/// wherever the includes put it, or that it stays unset.
pub(super) fn capture_sshd(file: &str, key: &str, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    // The effective value, wherever the includes put it.
    let files = ConfigFiles::decode(output, file, false)?;
    if matches!(files.main(), ProbeOutput::Missing) {
        return Err(EvalError::GoneOnGolden(file.to_string()));
    }
    put("file", file.into());
    match include::locate(&files, file, key)? {
        Some(found) => {
            put("setting", key.into());
            put("expect", literal(&found.value));
        }
        None => {
            // A `setting` rule, not a `line` one: judged through Include and
            // Match as sshd reads them, so a drop-in that sets the key later
            // fails it.
            put("setting", key.into());
            put("absent", true.into());
        }
    }
    Ok(m)
}

/// What `rectify capture` keeps of a setting: its value, or that it stays
/// unset.
pub(super) fn capture_plain(file: &str, key: &str, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let text = file_text(output, file)?.ok_or_else(|| EvalError::GoneOnGolden(file.to_string()))?;
    put("file", file.into());
    match find_setting(&text, key, SettingDialect::for_path(file)) {
        Some(value) => {
            put("setting", key.into());
            put("expect", literal(&value));
        }
        None => {
            // Not set there: capture that it stays unset.
            put("line", format!("(?i)^\\s*{}(\\s|=|$)", regex::escape(key)).into());
            put("absent", true.into());
        }
    }
    Ok(m)
}
