//! The `setting` subject's verdict: a key's value in a configuration file,
//! following `Include` as sshd does for an sshd configuration.

use super::expect::ValueSemantics;
use super::{expect_or_exists, file_text, Verdict};
use crate::collect::ProbeOutput;
use crate::conftext::include;
use crate::conftext::setting::{find_setting, SettingDialect};
use crate::template::{Renderer, Vars};

/// A setting of an sshd configuration, following its `Include`s: the
/// effective value, and where it is when it comes from an included file.
pub(super) fn sshd(
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

/// A setting of any other file: the first occurrence, read in the file's
/// dialect.
pub(super) fn plain(
    output: &ProbeOutput,
    file: &str,
    key: &str,
    expect: Option<&crate::baseline::Expect>,
    vars: &Vars,
    renderer: &Renderer,
) -> Result<Verdict, String> {
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
