//! Editing configuration text in place, for the playbook steps `setting`
//! and `line`. The reading rules are those of [`super::setting`]; an edit is
//! correct when reading its result gives the wanted value.
//!
//! Edits keep every other line byte for byte (comments, order, blank lines,
//! CRLF endings), and are idempotent: when the text already says what is
//! wanted, the same text comes back, so a second apply changes nothing.

use regex::Regex;

use super::setting::{locate_setting, SettingDialect};

/// Sets `key` to `value`.
///
/// * The effective occurrence (sshd: the first outside `Match` blocks;
///   other files: the last in the key's section) is rewritten, keeping its
///   indentation, the key as spelled in the file and its separator
///   (`Key value`, `key=value`, `key = value`). Earlier, ineffective
///   occurrences stay as they are.
/// * A missing key is added: in sshd files before the first `Match` line
///   (after it, it would only apply to the matched connections); for
///   `section.key` in a file with that `[section]`, at the end of the
///   section; otherwise at the end, as `key value` (sshd) or `key = value`.
///
/// `value` is written as given; a value that starts with a quote or holds
/// ` #` reads back differently, which the playbook loader cannot rule out,
/// so the apply's plan would simply keep proposing the change.
pub fn set_setting(content: &str, key: &str, value: &str, dialect: SettingDialect) -> String {
    let key = key.trim();
    let lines = split_lines(content);
    if let Some((index, current)) = locate_setting(content, key, dialect) {
        if current == value {
            return content.to_string();
        }
        let Some(line) = lines.get(index) else {
            return content.to_string();
        };
        let mut out = String::with_capacity(content.len() + value.len());
        for (i, l) in lines.iter().enumerate() {
            if i == index {
                out.push_str(&rewrite(line.text, value, dialect));
                out.push_str(line.ending);
            } else {
                out.push_str(l.text);
                out.push_str(l.ending);
            }
        }
        return out;
    }
    match dialect {
        SettingDialect::Sshd => {
            let new_line = format!("{key} {value}");
            let first_match = lines.iter().position(|l| {
                let t = l.text.trim_start();
                let word = t.split(|c: char| c.is_whitespace() || c == '=').next().unwrap_or("");
                word.eq_ignore_ascii_case("Match")
            });
            match first_match {
                Some(at) => insert_at(&lines, at, &new_line),
                None => append(content, &new_line),
            }
        }
        SettingDialect::Generic => {
            if let Some((section, name)) = section_of(&lines, key) {
                let new_line = format!("{name} = {value}");
                if let Some(at) = end_of_section(&lines, section) {
                    return insert_at(&lines, at, &new_line);
                }
            }
            // A key outside any section belongs before the first header.
            let new_line = format!("{key} = {value}");
            match lines.iter().position(|l| header(l.text).is_some()) {
                Some(at) => insert_at(&lines, at, &new_line),
                None => append(content, &new_line),
            }
        }
    }
}

/// lineinfile: the last line matching `regexp` becomes `line`; without a
/// match, `line` is appended unless an identical line is already there.
/// Idempotent when `line` itself matches `regexp` (the usual case); when it
/// does not, a second run finds the identical line and changes nothing.
pub fn set_line(content: &str, regexp: &Regex, line: &str) -> String {
    let lines = split_lines(content);
    let last = lines.iter().rposition(|l| regexp.is_match(strip_cr(l.text)));
    match last {
        Some(index) => {
            if strip_cr(lines[index].text) == line {
                return content.to_string();
            }
            let mut out = String::with_capacity(content.len() + line.len());
            for (i, l) in lines.iter().enumerate() {
                if i == index {
                    out.push_str(line);
                    if l.text.ends_with('\r') {
                        out.push('\r');
                    }
                } else {
                    out.push_str(l.text);
                }
                out.push_str(l.ending);
            }
            out
        }
        None if lines.iter().any(|l| strip_cr(l.text) == line) => content.to_string(),
        None => append(content, line),
    }
}

/// Removes every line matching `regexp`.
pub fn remove_line(content: &str, regexp: &Regex) -> String {
    split_lines(content)
        .iter()
        .filter(|l| !regexp.is_match(strip_cr(l.text)))
        .map(|l| format!("{}{}", l.text, l.ending))
        .collect()
}

struct Line<'a> {
    /// Without the `\n` (a CRLF line keeps its `\r` here).
    text: &'a str,
    /// `"\n"`, or `""` for a last line without one.
    ending: &'a str,
}

/// Lines as [`str::lines`] counts them, with their endings.
fn split_lines(content: &str) -> Vec<Line<'_>> {
    content
        .split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(text) => Line { text, ending: "\n" },
            None => Line { text: l, ending: "" },
        })
        .collect()
}

fn strip_cr(text: &str) -> &str {
    text.strip_suffix('\r').unwrap_or(text)
}

/// The line with its value replaced: indentation, key and separator kept,
/// any inline comment dropped (it described the old value).
fn rewrite(line: &str, value: &str, dialect: SettingDialect) -> String {
    let cr = if line.ends_with('\r') { "\r" } else { "" };
    let text = strip_cr(line);
    let indent_len = text.len() - text.trim_start().len();
    let (indent, rest) = text.split_at(indent_len);
    let key_end = rest.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(rest.len());
    let (key, after) = rest.split_at(key_end);
    // The separator: blanks, optionally one `=` with blanks around it.
    let blanks = after.len() - after.trim_start().len();
    let mut sep_len = blanks;
    if after[blanks..].starts_with('=') {
        sep_len += 1;
        let after_eq = &after[sep_len..];
        sep_len += after_eq.len() - after_eq.trim_start().len();
    }
    let mut separator = after[..sep_len].to_string();
    if separator.is_empty() {
        separator = match dialect {
            SettingDialect::Sshd => " ".into(),
            SettingDialect::Generic => " = ".into(),
        };
    }
    format!("{indent}{key}{separator}{value}{cr}")
}

fn insert_at(lines: &[Line<'_>], at: usize, new_line: &str) -> String {
    let crlf = lines.first().is_some_and(|l| l.text.ends_with('\r'));
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == at {
            out.push_str(new_line);
            out.push_str(if crlf { "\r\n" } else { "\n" });
        }
        out.push_str(l.text);
        out.push_str(l.ending);
    }
    out
}

fn append(content: &str, new_line: &str) -> String {
    let crlf = content.contains("\r\n");
    let mut out = content.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(if crlf { "\r\n" } else { "\n" });
    }
    out.push_str(new_line);
    out.push_str(if crlf { "\r\n" } else { "\n" });
    out
}

/// `[name]` headers, as the reader sees them.
fn header(text: &str) -> Option<&str> {
    let t = strip_cr(text).trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    let after = inner[end + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
        return None;
    }
    Some(inner[..end].trim())
}

/// For `section.key` where the file has `[section]` (longest match first):
/// the section and the key within it.
fn section_of<'k>(lines: &[Line<'_>], key: &'k str) -> Option<(&'k str, &'k str)> {
    let headers: Vec<&str> = lines.iter().filter_map(|l| header(l.text)).collect();
    for (dot, _) in key.rmatch_indices('.') {
        let (section, name) = (&key[..dot], &key[dot + 1..]);
        if !section.is_empty() && !name.is_empty() && headers.contains(&section) {
            return Some((section, name));
        }
    }
    None
}

/// The index after the last non-blank line of the last `[section]` block.
fn end_of_section(lines: &[Line<'_>], section: &str) -> Option<usize> {
    let mut inside = false;
    let mut end = None;
    for (i, l) in lines.iter().enumerate() {
        if let Some(h) = header(l.text) {
            inside = h == section;
            if inside {
                end = Some(i + 1);
            }
            continue;
        }
        if inside && !strip_cr(l.text).trim().is_empty() {
            end = Some(i + 1);
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::setting::find_setting;
    use proptest::prelude::*;
    use SettingDialect::{Generic, Sshd};

    #[test]
    fn sshd_replaces_the_first_occurrence_and_keeps_the_rest() {
        let text =
            "# Hardened\nx11forwarding yes # vendor default\nX11Forwarding no\nMatch User bob\n  X11Forwarding yes\n";
        let out = set_setting(text, "X11Forwarding", "no", Sshd);
        assert_eq!(
            out,
            "# Hardened\nx11forwarding no\nX11Forwarding no\nMatch User bob\n  X11Forwarding yes\n"
        );
        assert_eq!(set_setting(&out, "X11Forwarding", "no", Sshd), out, "idempotent");
    }

    #[test]
    fn a_missing_sshd_key_goes_before_match() {
        let text = "Port 22\nMatch Address 10.0.0.0/8\n  PasswordAuthentication yes\n";
        let out = set_setting(text, "PasswordAuthentication", "no", Sshd);
        assert_eq!(
            out,
            "Port 22\nPasswordAuthentication no\nMatch Address 10.0.0.0/8\n  PasswordAuthentication yes\n"
        );
        assert_eq!(
            find_setting(&out, "PasswordAuthentication", Sshd).as_deref(),
            Some("no")
        );
    }

    #[test]
    fn generic_files_keep_their_separator_and_last_occurrence_wins() {
        let text = "a=1\nb = 2\na=3\n";
        assert_eq!(set_setting(text, "a", "9", Generic), "a=1\nb = 2\na=9\n");
        assert_eq!(set_setting(text, "b", "7", Generic), "a=1\nb = 7\na=3\n");
        assert_eq!(set_setting(text, "c", "x", Generic), "a=1\nb = 2\na=3\nc = x\n");
        assert_eq!(
            set_setting("", "net.ipv4.ip_forward", "0", Generic),
            "net.ipv4.ip_forward = 0\n"
        );
    }

    #[test]
    fn ini_sections() {
        let text = "[main]\nx = 1\n\n[other]\ny = 2\n";
        let out = set_setting(text, "main.z", "3", Generic);
        assert_eq!(out, "[main]\nx = 1\nz = 3\n\n[other]\ny = 2\n");
        assert_eq!(find_setting(&out, "main.z", Generic).as_deref(), Some("3"));
        assert_eq!(
            set_setting(text, "other.y", "5", Generic),
            "[main]\nx = 1\n\n[other]\ny = 5\n"
        );
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        assert_eq!(set_setting("A 1\r\nB 2\r\n", "a", "3", Sshd), "A 3\r\nB 2\r\n");
        assert_eq!(set_setting("A 1\r\n", "C", "3", Sshd), "A 1\r\nC 3\r\n");
        assert_eq!(set_setting("A 1", "B", "2", Sshd), "A 1\nB 2\n");
    }

    #[test]
    fn lineinfile() {
        let re = Regex::new("^PASS_MAX_DAYS").unwrap();
        let text = "# PASS_MAX_DAYS is\nPASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\n";
        let out = set_line(text, &re, "PASS_MAX_DAYS 90");
        assert_eq!(out, "# PASS_MAX_DAYS is\nPASS_MAX_DAYS 90\nPASS_MIN_DAYS 0\n");
        assert_eq!(set_line(&out, &re, "PASS_MAX_DAYS 90"), out);
        assert_eq!(set_line("x\n", &re, "PASS_MAX_DAYS 90"), "x\nPASS_MAX_DAYS 90\n");
        let other = Regex::new("^nomatch").unwrap();
        let once = set_line("x\n", &other, "y");
        assert_eq!(set_line(&once, &other, "y"), once);
        assert_eq!(remove_line(text, &re), "# PASS_MAX_DAYS is\nPASS_MIN_DAYS 0\n");
    }

    fn config_text() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("# comment".to_string()),
            Just("".to_string()),
            Just("Match User x".to_string()),
            Just("[sec]".to_string()),
            "[A-Za-z]{1,4}( |=| = )[a-z0-9]{0,4}( #c)?",
            "  [A-Za-z]{1,4} [a-z0-9]{1,3}",
            "[ -~]{0,12}",
        ];
        (prop::collection::vec(line, 0..12), prop::bool::ANY, prop::bool::ANY).prop_map(
            |(lines, crlf, final_newline)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = lines.join(eol);
                if final_newline && !text.is_empty() {
                    text.push_str(eol);
                }
                text
            },
        )
    }

    proptest! {
        #[test]
        fn set_then_read_gives_the_value(
            text in config_text(),
            key in "[A-Za-z]{1,4}",
            value in "[a-z0-9]{1,5}",
            sshd in prop::bool::ANY,
        ) {
            let d = if sshd { Sshd } else { Generic };
            let out = set_setting(&text, &key, &value, d);
            prop_assert_eq!(find_setting(&out, &key, d), Some(value.clone()));
            prop_assert_eq!(set_setting(&out, &key, &value, d), out.clone(), "idempotent");
            // Comments survive, in order.
            let comments = |t: &str| t.lines().filter(|l| l.trim_start().starts_with('#')).map(str::to_string).collect::<Vec<_>>();
            prop_assert_eq!(comments(&text), comments(&out));
        }

        #[test]
        fn never_panics(text in "\\PC{0,200}", key in "\\PC{0,8}", value in "\\PC{0,8}") {
            let _ = set_setting(&text, &key, &value, Sshd);
            let _ = set_setting(&text, &key, &value, Generic);
            let re = Regex::new("a").unwrap();
            let _ = set_line(&text, &re, &value);
            let _ = remove_line(&text, &re);
        }
    }
}
