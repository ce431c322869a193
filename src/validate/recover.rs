//! Every error of a file, not only the first: the YAML-to-model step stops
//! at the first field it cannot take, so after such an error the item that
//! holds it (a rule, step, waiver, or a host or group entry) is blanked
//! out, line for line so that later positions stay true, and the file is
//! checked again. Removing a list item shifts the later items' indices;
//! messages are given back their index in the file as written.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use crate::config_error::{ConfigError, ConfigErrors};
use crate::yaml::SourceFile;

/// More checks than this and the file is hopeless; what was found is shown.
const MAX_ROUNDS: usize = 50;

/// Runs `check` on `source` and, while it fails with one error inside one
/// item of a top-level collection, again without that item; all errors
/// found, in the order found, with the original indices.
pub fn every_error<T>(
    source: &SourceFile,
    check: impl Fn(SourceFile) -> Result<T, ConfigErrors>,
) -> Result<T, ConfigErrors> {
    let mut text = source.text.clone();
    let mut removed: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut found: Vec<ConfigError> = Vec::new();
    let mut blanked: Vec<(usize, usize)> = Vec::new();
    let mut emptied_keys: BTreeSet<usize> = BTreeSet::new();
    for _ in 0..MAX_ROUNDS {
        let attempt = SourceFile {
            path: source.path.clone(),
            text: text.clone(),
        };
        let errors = match check(attempt) {
            Ok(value) if found.is_empty() => return Ok(value),
            Ok(_) => break,
            Err(errors) => errors,
        };
        let item = match errors.0.as_slice() {
            [one] => locate(&text, one).filter(|i| !blanked.iter().any(|b| b.0 <= i.line && i.line < b.1)),
            _ => None,
        };
        let Some(item) = item else {
            // A collection emptied here ("the playbook has no steps") is
            // not a problem of the file as written: its items were.
            let emptied = |e: &ConfigError| e.position.is_some_and(|p| emptied_keys.contains(&(p.line - 1)));
            found.extend(
                errors
                    .0
                    .into_iter()
                    .filter(|e| !emptied(e))
                    .map(|e| renumber(source, e, &removed)),
            );
            break;
        };
        let error = errors.0.into_iter().next().expect("one error");
        found.push(renumber(source, error, &removed));
        if let Some(index) = item.index {
            let gone = removed.entry(item.key.clone()).or_default();
            let original = original_index(index, gone);
            gone.insert(original);
        }
        text = blank(&text, &item);
        blanked.push((item.start, item.end));
        emptied_keys.insert(item.key_line);
    }
    Err(ConfigErrors(found))
}

/// One item of a top-level collection: lines `start..end` (0-based), `key`
/// the collection, `index` its position in a list (`None` in a mapping).
#[derive(Debug)]
struct Item {
    key: String,
    /// The line of the collection's key (0-based).
    key_line: usize,
    index: Option<usize>,
    start: usize,
    end: usize,
    /// The error's own line (0-based).
    line: usize,
    /// For a mapping entry, the text kept on its first line (`web01: {}`).
    keep: Option<String>,
}

fn path_pattern() -> Regex {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_-]*)(?:\[(\d+)\]|\.([^:.\[\s]+))").expect("valid pattern")
}

/// The item holding `error`, from the path its message starts with
/// (`rules[1]: …`, `hosts.web01: …`) and its line. Mappings only for the
/// inventory's `hosts` and `groups`, whose entries stand alone.
fn locate(text: &str, error: &ConfigError) -> Option<Item> {
    let position = error.position?;
    let caps = path_pattern().captures(&error.message)?;
    let key = caps.get(1)?.as_str().to_string();
    let index = match caps.get(2) {
        Some(i) => Some(i.as_str().parse().ok()?),
        None if key == "hosts" || key == "groups" => None,
        None => return None,
    };
    let lines: Vec<&str> = text.lines().collect();
    let key_line = lines.iter().position(|l| {
        l.strip_prefix(key.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
    })?;
    let content = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let indent = |l: &str| l.len() - l.trim_start().len();
    let first = (key_line + 1..lines.len()).find(|&i| content(lines[i]))?;
    let item_indent = indent(lines[first]);
    let sequence = lines[first].trim_start().starts_with('-');
    if sequence != index.is_some() {
        return None;
    }
    // The collection ends at the next top-level key.
    let end_all = (first..lines.len())
        .find(|&i| content(lines[i]) && indent(lines[i]) == 0 && !(sequence && lines[i].starts_with('-')))
        .unwrap_or(lines.len());
    let starts: Vec<usize> = (first..end_all)
        .filter(|&i| {
            content(lines[i])
                && indent(lines[i]) == item_indent
                && (!sequence || lines[i].trim_start().starts_with('-'))
        })
        .collect();
    let line = position.line.checked_sub(1)?;
    let at = starts.iter().rposition(|&s| s <= line)?;
    let start = starts[at];
    let end = starts.get(at + 1).copied().unwrap_or(end_all);
    if line >= end {
        return None;
    }
    let keep = if sequence {
        None
    } else {
        let name = lines[start].trim_start().split(':').next()?.to_string();
        Some(format!("{}{name}: {{}}", " ".repeat(item_indent)))
    };
    Some(Item {
        key,
        key_line,
        index,
        start,
        end,
        line,
        keep,
    })
}

/// `text` with the item's lines emptied (a mapping entry kept as `name: {}`).
fn blank(text: &str, item: &Item) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i == item.start {
            if let Some(keep) = &item.keep {
                out.push_str(keep);
            }
        } else if !(item.start..item.end).contains(&i) {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The index in the file as written of the item now at `index`, with the
/// items in `gone` (original indices) removed.
fn original_index(index: usize, gone: &BTreeSet<usize>) -> usize {
    (0..).filter(|o| !gone.contains(o)).nth(index).expect("unbounded")
}

/// `error` against the file as written: its list index renumbered and
/// its snippet taken from the original text.
fn renumber(source: &SourceFile, error: ConfigError, removed: &BTreeMap<String, BTreeSet<usize>>) -> ConfigError {
    let mut message = error.message.clone();
    if let Some(caps) = path_pattern().captures(&error.message) {
        if let (Some(key), Some(index)) = (caps.get(1), caps.get(2)) {
            if let (Some(gone), Ok(i)) = (removed.get(key.as_str()), index.as_str().parse::<usize>()) {
                message = format!(
                    "{}[{}]{}",
                    key.as_str(),
                    original_index(i, gone),
                    &error.message[index.end() + 1..]
                );
            }
        }
    }
    match error.position {
        Some(p) => source.error_at(p, message),
        None => ConfigError::whole_file(&source.path, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_count_the_items_removed_before() {
        let gone: BTreeSet<usize> = [1, 3].into();
        assert_eq!(original_index(0, &gone), 0);
        assert_eq!(original_index(1, &gone), 2);
        assert_eq!(original_index(2, &gone), 4);
    }
}
