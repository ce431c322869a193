//! Editing configuration text in place, for the playbook steps `setting`
//! and `line`. Everything here is pure: text in, text out.
//!
//! The reading rules are those of [`super::setting`] (dialects, first/last
//! occurrence wins, `Match` blocks, INI sections, comments, quotes, CRLF);
//! an edit of a setting is correct when reading its result gives the wanted
//! value, and [`set_setting`] checks that it is before returning.
//!
//! Common guarantees:
//!
//! * Every line that is not the edited one is kept byte for byte: comments,
//!   blank lines, order, indentation, `\r\n` or `\n` endings. The only other
//!   change an edit can make is to add the missing final newline of the last
//!   line when a line is appended after it.
//! * A new line gets the file's line ending: `\r\n` when the file's first
//!   line ends with `\r\n`, `\n` otherwise. The result then ends with a line
//!   ending.
//! * Idempotence: when the text already says what is wanted, the very same
//!   text comes back, so a second apply changes nothing.
//! * Nothing panics, whatever the input, and the work is linear in the
//!   length of the text (a setting edit reads the text a few times).

use regex::Regex;

// The reader's own helpers, not copies of them: reading and editing must
// never disagree on where a comment starts or which section a key is in.
use super::setting::{find_setting, locate_setting, section_header, strip_inline_comment, target, SettingDialect};

/// Sets `key` to `value` in `content`, so that afterwards
/// [`find_setting`]`(result, key, dialect)` is `value` (trimmed).
///
/// `key` and `value` are trimmed first, as the reader trims them.
///
/// **When the key is present** (its effective occurrence: in the sshd
/// dialect the first one outside `Match` blocks, otherwise the last one in
/// the key's section), only that line changes. It keeps its indentation, the
/// key as spelled in the file (`permitrootlogin` stays lower case), its
/// separator (`Key value`, `key=value`, `key = value`, tabs) and its inline
/// comment (`Port 2222 # moved`), as long as the line still reads as
/// `value`; otherwise the comment is dropped. Other occurrences stay as they
/// are: they are ineffective (earlier ones in last-wins files, later ones in
/// sshd, and those inside `Match` blocks). If the effective value already is
/// `value`, `content` comes back unchanged.
///
/// **When the key is missing**, one line is added:
///
/// * Sshd dialect: `Key value`, placed where it applies to every
///   connection: before the first `Match` (or, in ssh_config, `Host`) line,
///   right after the last setting that precedes that line (so that comments
///   introducing the block stay with it), or right before the `Match` line
///   when no setting precedes it. Without `Match`/`Host` lines it is
///   appended at the end. A first `Match all` counts as a `Match` line
///   here: a line before it is global too, as the reader agrees.
/// * Generic dialect, `section.key` with a `[section]` header in the file
///   (the same resolution as the reader: longest section first): `key =
///   value` goes into the section (its last block when the header repeats),
///   after its last setting, or right after the header when the section has
///   none.
/// * Generic dialect, any other key: it belongs to the global section. With
///   no section headers in the file it is appended at the end; otherwise it
///   goes after the last setting before the first header (right before the
///   header when there is none): appending it at the end would put it inside
///   the last section, where it would not be read.
///
/// In the generic dialect the new line copies the indentation of the
/// setting it follows and the separator of a neighbouring setting (so a
/// `login.defs`-style `KEY<TAB>value` file stays in its style); `key = value`
/// is the default. Keys containing blanks always use `=`.
///
/// **Limits.** A value that cannot read back as itself, that is one with
/// surrounding quotes (`"a b"` reads `a b`) or an inline comment (`a # b`
/// reads `a`), is written verbatim after the separator, replacing the old
/// value and comment; the result is stable (a second call returns it
/// unchanged) but reading it gives the reader's interpretation. The text is
/// returned **unchanged** when the edit cannot be expressed at all: an empty
/// key, a key or value containing a line break, a key the reader could not
/// find again (such as one starting with `#` or containing `=`, or, in the
/// sshd dialect, containing blanks), and in the sshd dialect the block
/// keywords `Match` and `Host`, which are structure, not settings.
pub fn set_setting(content: &str, key: &str, value: &str, dialect: SettingDialect) -> String {
    let key = key.trim();
    let value = value.trim();
    let block_keyword = dialect == SettingDialect::Sshd && is_block_keyword(key);
    if key.is_empty() || key.contains('\n') || value.contains('\n') || block_keyword {
        return content.to_string();
    }
    let lines = split_lines(content);
    let edited = match locate_setting(content, key, dialect) {
        Some((_, current)) if current == value => return content.to_string(),
        Some((index, _)) => replace(content, &lines, index, key, value, dialect, None),
        None => insert(content, &lines, key, value, dialect),
    };
    edited.unwrap_or_else(|| content.to_string())
}

/// Sets the sshd setting on line `index` (0-based, as [`str::lines`]
/// counts) to `value`: the line sshd reads, found by following `Include`
/// and `Match all` blocks ([`super::include`]), whatever the spelling of
/// its keyword (`ChallengeResponseAuthentication` for
/// `KbdInteractiveAuthentication`: the line keeps its spelling). Only that
/// line changes, as [`set_setting`] changes a line; the text comes back
/// unchanged when the line already reads `value`, when it is not a setting
/// of `key` (or an alias of it), or when the edit cannot be expressed.
pub fn set_sshd_setting_at(content: &str, index: usize, key: &str, value: &str) -> String {
    let (key, value) = (key.trim(), value.trim());
    let dialect = SettingDialect::Sshd;
    let Some(line) = content.lines().nth(index) else {
        return content.to_string();
    };
    if key.is_empty() || value.contains('\n') || is_block_keyword(key) {
        return content.to_string();
    }
    match find_setting(line, key, dialect) {
        Some(current) if current == value => content.to_string(),
        Some(_) => replace(content, &split_lines(content), index, key, value, dialect, Some(index))
            .unwrap_or_else(|| content.to_string()),
        None => content.to_string(),
    }
}

/// Ansible `lineinfile` (without `backrefs`): makes `line` present.
///
/// Lines are matched without their line ending (a CRLF line's `\r` is not
/// seen by `regexp`).
///
/// * If some line matches `regexp`, the **last** matching line is replaced
///   by `line`, keeping that line's ending; the other lines, matching or
///   not, are untouched.
/// * Otherwise, if a line equal to `line` exists, nothing changes.
/// * Otherwise `line` is appended at the end (adding the missing final
///   newline first, and ending the result with the file's line ending).
///
/// When nothing needs to change the very same text comes back.
///
/// **Idempotence.** When `line` itself matches `regexp` (the usual case,
/// e.g. `^PermitRootLogin` and `PermitRootLogin no`), applying twice gives
/// the same text as applying once: after the first run the last matching
/// line is `line`. When `line` does not match `regexp`, the second run finds
/// no match (if the first replaced the only matching line, or appended) and
/// the exact line, and leaves the text alone; but if several lines matched,
/// each run replaces the last remaining one, as Ansible does.
///
/// A `line` containing a line break is refused: the text comes back
/// unchanged (the playbook loader rejects such lines earlier).
pub fn set_line(content: &str, regexp: &Regex, line: &str) -> String {
    if line.contains('\n') {
        return content.to_string();
    }
    let lines = split_lines(content);
    match lines.iter().rposition(|l| regexp.is_match(strip_cr(l.text))) {
        Some(index) if strip_cr(lines[index].text) == line => content.to_string(),
        Some(index) => {
            let cr = if lines[index].text.ends_with('\r') { "\r" } else { "" };
            let mut out = splice(&lines, index, &format!("{line}{cr}"));
            if line.is_empty() && index + 1 == lines.len() && lines[index].ending.is_empty() {
                // An empty last line exists only with its ending.
                out.push_str(eol(&lines));
            }
            out
        }
        None if lines.iter().any(|l| strip_cr(l.text) == line) => content.to_string(),
        None => append(content, &lines, line),
    }
}

/// Removes every line matching `regexp` (matched without its line ending,
/// as in [`set_line`]); the other lines are kept byte for byte. This is
/// `lineinfile` with `state: absent`. Without a matching line the same text
/// comes back; removing the last line of a file keeps the previous line's
/// ending.
pub fn remove_line(content: &str, regexp: &Regex) -> String {
    split_lines(content)
        .iter()
        .filter(|l| !regexp.is_match(strip_cr(l.text)))
        .flat_map(|l| [l.text, l.ending])
        .collect()
}

/// `Match`, and `Host` for ssh_config: lines that open a block.
fn is_block_keyword(word: &str) -> bool {
    word.eq_ignore_ascii_case("Match") || word.eq_ignore_ascii_case("Host")
}

/// Rewrites the value on line `index`, the key's effective occurrence.
fn replace(
    content: &str,
    lines: &[Line<'_>],
    index: usize,
    key: &str,
    value: &str,
    dialect: SettingDialect,
    at_line: Option<usize>,
) -> Option<String> {
    let line = lines.get(index)?;
    let (text, cr) = split_cr(line.text);
    let name = match dialect {
        SettingDialect::Sshd => key,
        SettingDialect::Generic => target(content, key).1,
    };
    let parts = EntryParts::parse(text, name, dialect)?;
    let sep = if parts.sep.is_empty() {
        default_separator(dialect)
    } else {
        parts.sep
    };
    let EntryParts {
        indent,
        key: spelled,
        gap,
        comment,
        ..
    } = parts;
    let mut candidates = Vec::with_capacity(3);
    if !comment.is_empty() {
        // A comment must follow whitespace to stay a comment.
        let gap = if gap.is_empty() { " " } else { gap };
        candidates.push(format!("{indent}{spelled}{sep}{value}{gap}{comment}{cr}"));
    }
    // Without a value, no trailing separator: `Key`, `key =`.
    let plain = format!("{indent}{spelled}{sep}{value}");
    candidates.push(format!("{}{cr}", plain.trim_end()));
    // A value starting with `=` needs a separator with its own `=`, or the
    // reader takes the value's `=` for the separator.
    let stable = format!("{indent}{spelled}{}{value}", stable_separator(sep, value));
    let stable = format!("{}{cr}", stable.trim_end());
    candidates.push(stable.clone());
    let build = |new_line: &str| splice(lines, index, new_line);
    let read = |text: &str| match at_line {
        // The edited line alone: it may sit where the file-level reader
        // does not look (a `Match all` block).
        Some(index) => text.lines().nth(index).and_then(|l| find_setting(l, key, dialect)),
        None => find_setting(text, key, dialect),
    };
    choose(value, &read, candidates.iter().map(|c| build(c)), build(&stable))
}

/// Adds the missing key; see [`set_setting`] for where.
fn insert(content: &str, lines: &[Line<'_>], key: &str, value: &str, dialect: SettingDialect) -> Option<String> {
    let kinds: Vec<Kind<'_>> = lines.iter().map(|l| Kind::of(strip_cr(l.text), dialect)).collect();
    let last_setting_in = |start: usize, end: usize| (start..end).rev().find(|&i| kinds[i] == Kind::Setting);
    // Where the new line goes (an index in `lines`, or `lines.len()` to
    // append) and the setting line it follows, if any, for style.
    let (at, after, name) = match dialect {
        SettingDialect::Sshd => match kinds.iter().position(|k| *k == Kind::Block) {
            Some(block) => match last_setting_in(0, block) {
                Some(i) => (i + 1, Some(i), key),
                None => (block, None, key),
            },
            None => (lines.len(), last_setting_in(0, lines.len()), key),
        },
        SettingDialect::Generic => {
            let first_header = kinds.iter().position(|k| matches!(k, Kind::Header(_)));
            let (section, name) = target(content, key);
            match (section, first_header) {
                (_, None) => (lines.len(), last_setting_in(0, lines.len()), name),
                (None, Some(header)) => match last_setting_in(0, header) {
                    Some(i) => (i + 1, Some(i), name),
                    None => (header, None, name),
                },
                (Some(section), Some(_)) => {
                    // The last block of the section: from its last header
                    // to the next header or the end.
                    let start = kinds.iter().rposition(|k| *k == Kind::Header(section))? + 1;
                    let end = (start..lines.len())
                        .find(|&i| matches!(kinds[i], Kind::Header(_)))
                        .unwrap_or(lines.len());
                    match last_setting_in(start, end) {
                        Some(i) => (i + 1, Some(i), name),
                        None => (start, None, name),
                    }
                }
            }
        }
    };
    let (indent, sep) = match dialect {
        SettingDialect::Sshd => ("", " "),
        SettingDialect::Generic => {
            // Style: the setting the new line follows, else the file's last
            // setting; `key = value` when neither has a separator.
            let reference = after.or_else(|| last_setting_in(0, lines.len()));
            let parts = reference.and_then(|i| EntryParts::first_word(split_cr(lines[i].text).0));
            let indent = match (after, &parts) {
                (Some(_), Some(p)) => p.indent,
                _ => "",
            };
            let sep = parts.map(|p| p.sep).filter(|s| !s.is_empty()).unwrap_or(" = ");
            // A key with blanks is only read with an `=` after it.
            let sep = if name.contains(char::is_whitespace) && !sep.contains('=') {
                " = "
            } else {
                sep
            };
            (indent, sep)
        }
    };
    let new_line = |sep: &str| format!("{indent}{name}{sep}{value}").trim_end().to_string();
    let build = |new_line: &str| {
        if at >= lines.len() {
            append(content, lines, new_line)
        } else {
            insert_before(lines, at, new_line)
        }
    };
    let styled = new_line(sep);
    let stable = new_line(stable_separator(sep, value));
    let candidates = [styled, new_line(default_separator(dialect)), new_line(" = ")];
    let read = |text: &str| find_setting(text, key, dialect);
    choose(value, &read, candidates.iter().map(|c| build(c)), build(&stable))
}

/// The first candidate text that reads `key` as `value`; failing that,
/// `fallback` if the key can at least be read from it (the value has quotes
/// or a comment the reader interprets); failing that, `None`.
fn choose(
    value: &str,
    read: &dyn Fn(&str) -> Option<String>,
    candidates: impl Iterator<Item = String>,
    fallback: String,
) -> Option<String> {
    for text in candidates {
        if read(&text).as_deref() == Some(value) {
            return Some(text);
        }
    }
    read(&fallback).map(|_| fallback)
}

fn default_separator(dialect: SettingDialect) -> &'static str {
    match dialect {
        SettingDialect::Sshd => " ",
        SettingDialect::Generic => " = ",
    }
}

/// `sep`, or ` = ` when `value` starts with `=` and `sep` has no `=` of its
/// own: the reader removes one `=` after the key.
fn stable_separator<'s>(sep: &'s str, value: &str) -> &'s str {
    if value.starts_with('=') && !sep.contains('=') {
        " = "
    } else {
        sep
    }
}

/// What a line means for placing a new setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// Blank or comment.
    Other,
    /// A `KEY VALUE` line.
    Setting,
    /// `[name]`, generic dialect.
    Header(&'a str),
    /// `Match` or `Host`, sshd dialect.
    Block,
}

impl<'a> Kind<'a> {
    /// `text` is a line without its line ending.
    fn of(text: &'a str, dialect: SettingDialect) -> Kind<'a> {
        let body = text.trim_start();
        if body.is_empty() || body.starts_with('#') || body.starts_with(';') {
            return Kind::Other;
        }
        match dialect {
            SettingDialect::Sshd if is_block_keyword(first_word(body)) => Kind::Block,
            SettingDialect::Sshd => Kind::Setting,
            SettingDialect::Generic => section_header(body).map_or(Kind::Setting, Kind::Header),
        }
    }
}

/// The key of a trimmed setting line, as the reader sees it: up to the
/// first blank or `=`.
fn first_word(body: &str) -> &str {
    let end = body.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(body.len());
    &body[..end]
}

/// A setting line taken apart: `indent key sep value gap comment`.
struct EntryParts<'a> {
    indent: &'a str,
    key: &'a str,
    /// Blanks, optionally one `=` and blanks after it; may be empty.
    sep: &'a str,
    /// Blanks between the value and the comment.
    gap: &'a str,
    /// The inline comment, from its `#` (or `;`) to the end.
    comment: &'a str,
}

impl<'a> EntryParts<'a> {
    /// Parses `text` (without line ending), a line holding the setting
    /// `name`: a key with blanks spans up to the first `=`, as the reader
    /// matches it, any other key is the first word.
    fn parse(text: &'a str, name: &str, dialect: SettingDialect) -> Option<EntryParts<'a>> {
        let body = text.trim_start();
        let indent = &text[..text.len() - body.len()];
        let key_end = if name.contains(char::is_whitespace) {
            let eq = body.find('=')?;
            body[..eq].trim_end().len()
        } else {
            first_word(body).len()
        };
        let (key, after) = body.split_at(key_end);
        let mut sep_len = after.len() - after.trim_start().len();
        if after[sep_len..].starts_with('=') {
            sep_len += 1;
            let rest = &after[sep_len..];
            sep_len += rest.len() - rest.trim_start().len();
        }
        // A comment cannot start inside the separator (blanks and `=`).
        let comment_start = strip_inline_comment(after, dialect).len().max(sep_len);
        let before_comment = &after[sep_len..comment_start];
        let old_value = before_comment.trim_end();
        Some(EntryParts {
            indent,
            key,
            sep: &after[..sep_len],
            gap: &before_comment[old_value.len()..],
            comment: &after[comment_start..],
        })
    }

    /// Parses a setting line for its style, its key being the first word.
    fn first_word(text: &'a str) -> Option<EntryParts<'a>> {
        Self::parse(text, "", SettingDialect::Generic)
    }
}

/// One line of the text: as [`str::lines`] counts them, with its ending.
struct Line<'a> {
    /// Without the `\n`; a CRLF line keeps its `\r` here.
    text: &'a str,
    /// `"\n"`, or `""` for a last line without one.
    ending: &'a str,
}

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

/// `text` without, and the `\r` it ended with, if any.
fn split_cr(text: &str) -> (&str, &str) {
    match text.strip_suffix('\r') {
        Some(t) => (t, "\r"),
        None => (text, ""),
    }
}

/// The line ending new lines get: that of the first line (a lone line
/// ending in `\r` counts as CRLF).
fn eol(lines: &[Line<'_>]) -> &'static str {
    match lines.iter().find(|l| !l.ending.is_empty()).or(lines.first()) {
        Some(l) if l.text.ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// The text with line `index` replaced by `new_text` (which carries the
/// `\r` of a CRLF line), keeping its `\n`.
fn splice(lines: &[Line<'_>], index: usize, new_text: &str) -> String {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(if i == index { new_text } else { l.text });
        out.push_str(l.ending);
    }
    out
}

/// The text with `new_line` inserted before line `at`, which exists.
fn insert_before(lines: &[Line<'_>], at: usize, new_line: &str) -> String {
    let eol = eol(lines);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == at {
            out.push_str(new_line);
            out.push_str(eol);
        }
        out.push_str(l.text);
        out.push_str(l.ending);
    }
    out
}

/// The text with `new_line` added as its last line.
fn append(content: &str, lines: &[Line<'_>], new_line: &str) -> String {
    let eol = eol(lines);
    let mut out = String::with_capacity(content.len() + new_line.len() + 4);
    out.push_str(content);
    if !out.is_empty() && !out.ends_with('\n') {
        // A last line ending in `\r` only lacks the `\n` of its CRLF.
        out.push_str(if eol == "\r\n" && out.ends_with('\r') {
            "\n"
        } else {
            eol
        });
    }
    out.push_str(new_line);
    out.push_str(eol);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use SettingDialect::{Generic, Sshd};

    fn read(text: &str, key: &str, d: SettingDialect) -> Option<String> {
        find_setting(text, key, d)
    }

    /// Sets, checks the read-back and that a second call changes nothing.
    fn set(text: &str, key: &str, value: &str, d: SettingDialect) -> String {
        let out = set_setting(text, key, value, d);
        assert_eq!(read(&out, key, d).as_deref(), Some(value.trim()), "{out:?}");
        assert_eq!(set_setting(&out, key, value, d), out, "not idempotent");
        out
    }

    #[test]
    fn sshd_replace_keeps_comments_and_later_occurrences() {
        let text = "# Hardened\n#X11Forwarding yes\nX11Forwarding yes\nX11Forwarding no\nMatch User bob\n  X11Forwarding yes\n";
        assert_eq!(
            set(text, "X11Forwarding", "no", Sshd),
            "# Hardened\n#X11Forwarding yes\nX11Forwarding no\nX11Forwarding no\nMatch User bob\n  X11Forwarding yes\n"
        );
    }

    #[test]
    fn sshd_keys_are_case_insensitive_and_keep_their_spelling() {
        let text = "  permitrootlogin\tyes\nPermitRootLogin prohibit-password\n";
        assert_eq!(
            set(text, "PermitRootLogin", "no", Sshd),
            "  permitrootlogin\tno\nPermitRootLogin prohibit-password\n"
        );
    }

    #[test]
    fn separators_are_kept() {
        assert_eq!(set("Port=22\n", "Port", "2222", Sshd), "Port=2222\n");
        assert_eq!(set("Port = 22\n", "Port", "2222", Sshd), "Port = 2222\n");
        assert_eq!(set("a=1\nb = 2\n", "b", "7", Generic), "a=1\nb = 7\n");
        assert_eq!(set("K\t=  1\n", "K", "2", Generic), "K\t=  2\n");
        // A bare key gets the dialect's separator.
        assert_eq!(set("UseDNS\n", "UseDNS", "no", Sshd), "UseDNS no\n");
        assert_eq!(set("flag\n", "flag", "on", Generic), "flag = on\n");
    }

    #[test]
    fn inline_comments_are_kept_when_possible() {
        assert_eq!(set("Port 22 # moved\n", "Port", "2222", Sshd), "Port 2222 # moved\n");
        assert_eq!(set("k = v ; why\n", "k", "w", Generic), "k = w ; why\n");
        // The old value was empty: the comment needs a blank before it.
        assert_eq!(set("KEY = # c\n", "KEY", "v", Generic), "KEY = v # c\n");
        // `;` is no comment in sshd, so it is part of the old value.
        assert_eq!(set("Banner /a ;b\n", "Banner", "/c", Sshd), "Banner /c\n");
    }

    #[test]
    fn unchanged_when_the_value_is_already_there() {
        for (text, key, value, d) in [
            ("Port  22   # c\r\n", "port", "22", Sshd),
            ("k = \"v\"", "k", "v", Generic),
            ("k = v", "k", " v ", Generic),
            ("a=1\na=2\n", "a", "2", Generic),
        ] {
            assert_eq!(set_setting(text, key, value, d), text);
        }
    }

    #[test]
    fn sshd_missing_key_goes_before_the_first_match() {
        let text = "Port 22\n\n# Admins may forward\nMatch Group admins\n  X11Forwarding yes\n";
        assert_eq!(
            set(text, "X11Forwarding", "no", Sshd),
            "Port 22\nX11Forwarding no\n\n# Admins may forward\nMatch Group admins\n  X11Forwarding yes\n"
        );
        // Nothing before the Match: right before it; case of `match` ignored.
        assert_eq!(set("match all\n", "Port", "22", Sshd), "Port 22\nmatch all\n");
        // The occurrence inside the block does not count.
        assert_eq!(
            set("Match User x\nPort 1\n", "Port", "22", Sshd),
            "Port 22\nMatch User x\nPort 1\n"
        );
        // After `Match all` it does: that line is the one sshd reads.
        assert_eq!(
            set("Match User x\n  Port 1\nMatch all\nPort 2\n", "Port", "22", Sshd),
            "Match User x\n  Port 1\nMatch all\nPort 22\n"
        );
        // Missing: before the first Match, even when it is `Match all`.
        assert_eq!(
            set("Match all\nPort 2\n", "UseDNS", "no", Sshd),
            "UseDNS no\nMatch all\nPort 2\n"
        );
        // ssh_config: before the first Host, so it applies to every host.
        assert_eq!(
            set("# c\nHost a\n  User x\n", "ForwardAgent", "no", Sshd),
            "# c\nForwardAgent no\nHost a\n  User x\n"
        );
        // No block: appended.
        assert_eq!(
            set("Port 22\n#Match x\n", "UseDNS", "no", Sshd),
            "Port 22\n#Match x\nUseDNS no\n"
        );
    }

    #[test]
    fn block_keywords_and_unreadable_keys_are_refused() {
        let text = "Port 22\n";
        for (key, d) in [
            ("Match", Sshd),
            ("host", Sshd),
            ("", Sshd),
            ("  ", Generic),
            ("a b", Sshd),
            ("#k", Generic),
            ("a=b", Generic),
            ("k\nPort", Sshd),
        ] {
            assert_eq!(set_setting(text, key, "x", d), text, "{key:?}");
        }
        assert_eq!(set_setting(text, "Port", "1\nPermitRootLogin yes", Sshd), text);
    }

    #[test]
    fn generic_last_occurrence_wins() {
        let text = "PASS_MAX_DAYS 99999\n# note\nPASS_MAX_DAYS 120\nOTHER 1\n";
        assert_eq!(
            set(text, "PASS_MAX_DAYS", "90", Generic),
            "PASS_MAX_DAYS 99999\n# note\nPASS_MAX_DAYS 90\nOTHER 1\n"
        );
        // A new key follows the style of the file.
        assert_eq!(
            set("PASS_MAX_DAYS\t99999\n", "PASS_WARN_AGE", "7", Generic),
            "PASS_MAX_DAYS\t99999\nPASS_WARN_AGE\t7\n"
        );
        assert_eq!(set("a=1\n", "b", "2", Generic), "a=1\nb=2\n");
        assert_eq!(
            set("", "net.ipv4.ip_forward", "0", Generic),
            "net.ipv4.ip_forward = 0\n"
        );
    }

    #[test]
    fn ini_sections() {
        let text = "top = 1\n\n# main repo\n[main]\n  x = 1\n#y = 2\n\n[other]\ny = 2\n";
        assert_eq!(
            set(text, "main.z", "3", Generic),
            "top = 1\n\n# main repo\n[main]\n  x = 1\n  z = 3\n#y = 2\n\n[other]\ny = 2\n"
        );
        assert_eq!(
            set(text, "other.y", "5", Generic),
            "top = 1\n\n# main repo\n[main]\n  x = 1\n#y = 2\n\n[other]\ny = 5\n"
        );
        // A global key goes before the first header, not at the end.
        assert_eq!(
            set(text, "g", "9", Generic),
            "top = 1\ng = 9\n\n# main repo\n[main]\n  x = 1\n#y = 2\n\n[other]\ny = 2\n"
        );
        assert_eq!(set("[s]\n", "g", "1", Generic), "g = 1\n[s]\n");
        // An empty section: right after its header; repeated: the last block.
        assert_eq!(set("[a]\n[b]\nk=1\n", "a.k", "2", Generic), "[a]\nk=2\n[b]\nk=1\n");
        assert_eq!(
            set("[a]\nx=1\n[b]\n[a]\n\n", "a.y", "2", Generic),
            "[a]\nx=1\n[b]\n[a]\ny=2\n\n"
        );
        // Header forms as the reader sees them.
        assert_eq!(set("[a] # c\nx = 1\n", "a.x", "2", Generic), "[a] # c\nx = 2\n");
        assert_eq!(set("[a]#c\n", "a.x", "2", Generic), "[a]#c\na.x = 2\n");
    }

    #[test]
    fn keys_with_blanks() {
        assert_eq!(
            set("some key = 1 # c\n", "some key", "2", Generic),
            "some key = 2 # c\n"
        );
        assert_eq!(
            set("[s]\nlog level=info\n", "s.log level", "debug", Generic),
            "[s]\nlog level=debug\n"
        );
        assert_eq!(set("K v\n", "some key", "2", Generic), "K v\nsome key = 2\n");
    }

    #[test]
    fn values_that_do_not_read_back_as_themselves_are_stable() {
        for (text, key, value, d) in [
            ("KEY 1\n", "KEY", "=x", Generic),
            ("Banner /a # c\n", "Banner", "\"/b c\"", Sshd),
            ("k = 1\n", "k", "a # b", Generic),
            ("k = 1\n", "k", "'q", Generic),
            ("", "k", "\"x\"", Sshd),
        ] {
            let once = set_setting(text, key, value, d);
            assert_ne!(once, text);
            assert_eq!(set_setting(&once, key, value, d), once, "{once:?}");
        }
        // A leading `=` needs a separator with its own `=`.
        assert_eq!(set("KEY 1\n", "KEY", "=x", Generic), "KEY = =x\n");
        assert_eq!(set("KEY=1\n", "KEY", "=x", Generic), "KEY==x\n");
    }

    #[test]
    fn crlf_files() {
        assert_eq!(set("A 1\r\nB 2\r\n", "a", "3", Sshd), "A 3\r\nB 2\r\n");
        assert_eq!(set("A 1\r\n", "C", "3", Sshd), "A 1\r\nC 3\r\n");
        assert_eq!(
            set("A 1\r\nMatch all\r\n", "C", "3", Sshd),
            "A 1\r\nC 3\r\nMatch all\r\n"
        );
        assert_eq!(set("[s]\r\nk = 1 # c\r\n", "s.k", "2", Generic), "[s]\r\nk = 2 # c\r\n");
        assert_eq!(set("A 1\r\nB 2", "C", "3", Sshd), "A 1\r\nB 2\r\nC 3\r\n");
    }

    #[test]
    fn no_final_newline() {
        assert_eq!(set("A 1", "B", "2", Sshd), "A 1\nB 2\n");
        assert_eq!(set("A 1", "A", "2", Sshd), "A 2");
        assert_eq!(set("[s]\nx=1", "s.y", "2", Generic), "[s]\nx=1\ny=2\n");
        assert_eq!(set("", "A", "1", Sshd), "A 1\n");
        assert_eq!(set("\n", "A", "1", Sshd), "\nA 1\n");
    }

    #[test]
    fn empty_value() {
        assert_eq!(set("k = 1\n", "k", "", Generic), "k =\n");
        assert_eq!(set("Banner x\n", "Banner", "", Sshd), "Banner\n");
        assert_eq!(set("", "k", "", Generic), "k =\n");
    }

    #[test]
    fn lineinfile_replaces_the_last_match() {
        let re = Regex::new("^PASS_MAX_DAYS").unwrap();
        let text = "# PASS_MAX_DAYS is\nPASS_MAX_DAYS 99999\nPASS_MAX_DAYS 120\r\nPASS_MIN_DAYS 0";
        let once = set_line(text, &re, "PASS_MAX_DAYS 90");
        assert_eq!(
            once,
            "# PASS_MAX_DAYS is\nPASS_MAX_DAYS 99999\nPASS_MAX_DAYS 90\r\nPASS_MIN_DAYS 0"
        );
        assert_eq!(set_line(&once, &re, "PASS_MAX_DAYS 90"), once);
    }

    #[test]
    fn lineinfile_appends_unless_present() {
        let re = Regex::new("^nomatch").unwrap();
        assert_eq!(set_line("x", &re, "y"), "x\ny\n");
        assert_eq!(set_line("", &re, "y"), "y\n");
        assert_eq!(set_line("x\r\n", &re, "y"), "x\r\ny\r\n");
        assert_eq!(set_line("x\r", &re, "y"), "x\r\ny\r\n");
        // Replacing a last line without ending by an empty line.
        assert_eq!(set_line("a\nnomatch", &re, ""), "a\n\n");
        // The exact line is there: unchanged, even in a CRLF file.
        assert_eq!(set_line("y\r\nx\r\n", &re, "y"), "y\r\nx\r\n");
        // `line` not matching `regexp`: the second run finds the line.
        let re = Regex::new("^#?UseDNS").unwrap();
        let once = set_line("#UseDNS yes\n", &re, "usedns no");
        assert_eq!(once, "usedns no\n");
        assert_eq!(set_line(&once, &re, "usedns no"), once);
        // Multi-line `line`s are refused.
        assert_eq!(set_line("a\n", &re, "b\nc"), "a\n");
    }

    #[test]
    fn remove_every_matching_line() {
        let re = Regex::new("^PermitRootLogin").unwrap();
        let text = "PermitRootLogin yes\n# keep\r\nPermitRootLogin no\r\nPort 22\nPermitRootLogin x";
        assert_eq!(remove_line(text, &re), "# keep\r\nPort 22\n");
        assert_eq!(remove_line("Port 22", &re), "Port 22");
        assert_eq!(remove_line("", &re), "");
        // Matched without the `\r`.
        assert_eq!(remove_line("a\r\nb\r\n", &Regex::new("^a$").unwrap()), "b\r\n");
    }

    #[test]
    fn big_inputs_are_fast() {
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("# comment {i}\nKey{i} value{i}\n"));
        }
        text.push_str("Match all\n");
        let start = std::time::Instant::now();
        let out = set("", "x", "y", Sshd);
        assert_eq!(out, "x y\n");
        let out = set_setting(&text, "Key49999", "new", Sshd);
        assert_eq!(read(&out, "Key49999", Sshd).as_deref(), Some("new"));
        let out = set_setting(&text, "Missing", "new", Sshd);
        assert_eq!(read(&out, "Missing", Sshd).as_deref(), Some("new"));
        let out = set_setting(&text, "Missing", "new", Generic);
        assert_eq!(read(&out, "Missing", Generic).as_deref(), Some("new"));
        assert!(start.elapsed().as_secs() < 10);
    }

    // Properties, on texts from a small alphabet that hits the structure:
    // keys in several spellings, separators, comments, quotes, `Match`,
    // `Host`, section headers, CRLF, missing final newlines.

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "(Key|key|KEY|Other|x|a\\.b|sec\\.Key|#|;|=| |\t|\"|'|\\[sec\\]|\\[a\\]|\\[|\\]|1|v|\r){0,8}",
            1 => Just("# comment".to_string()),
            1 => Just(String::new()),
            1 => Just("Match User x".to_string()),
            1 => Just("Match all".to_string()),
            1 => Just("  host a".to_string()),
            1 => Just("[sec]".to_string()),
            2 => "  ?(Key|key|Other|a\\.b|some key)( |=| = |\t)[a-z0-9\"]{0,3}( #c| ;c)?",
        ]
    }

    fn config_text() -> impl Strategy<Value = String> {
        (prop::collection::vec(line(), 0..10), any::<bool>()).prop_map(|(lines, final_newline)| {
            let mut text = lines.join("\n");
            if final_newline && !text.is_empty() {
                text.push('\n');
            }
            text
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("Key".to_string()),
            Just("key".to_string()),
            Just("sec.Key".to_string()),
            Just("a.b".to_string()),
            "[A-Za-z][A-Za-z0-9]{0,5}",
        ]
    }

    fn dialect() -> impl Strategy<Value = SettingDialect> {
        prop_oneof![Just(Sshd), Just(Generic)]
    }

    fn comments(text: &str) -> Vec<&str> {
        // Appending after a last line `#\r` (no `\n`) turns its `\r` into
        // part of a CRLF ending: compare without trailing `\r`s.
        text.lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| {
                let t = l.trim_start();
                t.starts_with('#') || t.starts_with(';')
            })
            .collect()
    }

    /// `out` is `text` with one line replaced or inserted (and the last
    /// line's missing ending possibly added), every other line byte for byte.
    fn one_line_edit(text: &str, out: &str) -> bool {
        let mut variants = vec![text.to_string()];
        if !text.is_empty() && !text.ends_with('\n') {
            variants.push(format!("{text}\n"));
            variants.push(format!("{text}\r\n"));
        }
        let b: Vec<&str> = out.split_inclusive('\n').collect();
        variants.iter().any(|text| {
            let a: Vec<&str> = text.split_inclusive('\n').collect();
            let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
            let kept = (prefix + suffix).min(a.len());
            match b.len().checked_sub(a.len()) {
                Some(0) => kept + 1 >= a.len(),
                Some(1) => kept >= a.len(),
                _ => false,
            }
        })
    }

    proptest! {
        // No regression files: this crate does not keep them.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn set_reads_back_is_idempotent_and_minimal(
            text in config_text(),
            crlf in any::<bool>(),
            key in key(),
            value in "[A-Za-z0-9]{0,6}",
            d in dialect(),
        ) {
            prop_assume!(!(d == Sshd && is_block_keyword(&key)));
            let text = if crlf { text.replace('\n', "\r\n") } else { text };
            let out = set_setting(&text, &key, &value, d);
            // (a) it reads back
            prop_assert_eq!(read(&out, &key, d), Some(value.clone()), "{:?}", out);
            // (b) idempotent
            prop_assert_eq!(&set_setting(&out, &key, &value, d), &out);
            // (c) comments survive, in order
            prop_assert_eq!(comments(&text), comments(&out));
            // only one line changed or added
            prop_assert!(out == text || one_line_edit(&text, &out), "{:?} -> {:?}", text, out);
            // other settings read the same
            for other in ["Key", "key", "Other", "x", "a.b", "sec.Key", "some key"] {
                if other != key && !(d == Sshd && other.eq_ignore_ascii_case(&key)) {
                    prop_assert_eq!(read(&text, other, d), read(&out, other, d), "{}", other);
                }
            }
        }

        #[test]
        fn awkward_values_are_stable(
            text in config_text(),
            key in key(),
            value in "[a=#;\"' ]{0,5}",
            d in dialect(),
        ) {
            let once = set_setting(&text, &key, &value, d);
            prop_assert_eq!(&set_setting(&once, &key, &value, d), &once);
            prop_assert_eq!(comments(&text), comments(&once));
        }

        #[test]
        fn lineinfile_properties(text in config_text(), line in "(Key|x|#| |1){0,4}") {
            let re = Regex::new("^Key").unwrap();
            let once = set_line(&text, &re, &line);
            if re.is_match(&line) {
                prop_assert_eq!(&set_line(&once, &re, &line), &once);
            }
            prop_assert!(once.lines().any(|l| l.strip_suffix('\r').unwrap_or(l) == line));
            prop_assert!(once == text || one_line_edit(&text, &once));
            let removed = remove_line(&text, &re);
            prop_assert!(removed.lines().all(|l| !re.is_match(l)));
            prop_assert_eq!(remove_line(&removed, &re), removed.clone());
        }

        #[test]
        fn never_panics(text in "\\PC{0,200}", key in "\\PC{0,8}", value in "\\PC{0,8}", raw in ".{0,40}") {
            let re = Regex::new("a").unwrap();
            for text in [&text, &raw] {
                for d in [Sshd, Generic] {
                    let _ = set_setting(text, &key, &value, d);
                    let _ = set_setting(text, "a.b", &value, d);
                }
                let _ = set_line(text, &re, &value);
                let _ = remove_line(text, &re);
            }
        }
    }

    #[test]
    fn sshd_edit_at_a_line_keeps_the_alias_and_its_block() {
        let text = "Match User x\n  Port 1\nMatch all\n  challengeResponseAuthentication  yes # old\n";
        assert_eq!(
            set_sshd_setting_at(text, 3, "KbdInteractiveAuthentication", "no"),
            "Match User x\n  Port 1\nMatch all\n  challengeResponseAuthentication  no # old\n"
        );
        // Already right, not a line of that key, or out of range: unchanged.
        assert_eq!(
            set_sshd_setting_at(text, 3, "KbdInteractiveAuthentication", "yes"),
            text
        );
        assert_eq!(set_sshd_setting_at(text, 1, "KbdInteractiveAuthentication", "no"), text);
        assert_eq!(set_sshd_setting_at(text, 9, "Port", "2"), text);
        // The file-level edit finds the alias too.
        assert_eq!(
            set_setting("KeepAlive=no\n", "TCPKeepAlive", "yes", SettingDialect::Sshd),
            "KeepAlive=yes\n"
        );
    }
}
