//! Reading one setting's value from a configuration file's text.
//!
//! This implements the baseline's `file:` + `setting:` subject (docs/baseline.md,
//! "Baseline"): the value of a `KEY VALUE`, `KEY=VALUE` or `KEY = VALUE`
//! line. Everything here is pure: the caller fetches the file's text.
//!
//! Rules, in the order they are applied to each line:
//!
//! * A trailing `\r` is dropped (CRLF files), then leading whitespace.
//! * Empty lines and lines whose first non-blank character is `#` or `;`
//!   are comments.
//! * The key is the first word, ending at whitespace or `=`. The value is
//!   the rest of the line, with at most one `=` separator (surrounded by any
//!   blanks) removed, so `KEY=a=b` is `a=b` and `ENV_PATH PATH=/bin` (as in
//!   login.defs) is `PATH=/bin`. In the generic dialect a key that itself
//!   contains blanks (`some key = v`) matches the trimmed text before the
//!   first `=`.
//! * An inline comment starts at a `#` that follows whitespace and is not
//!   inside a quoted word, like OpenSSH does: `PermitRootLogin no # why`
//!   is `no`, while `Banner /etc/issue#x` and `color=#fff` keep their `#`.
//!   In the generic dialect a `;` that follows whitespace starts an inline
//!   comment too (`key = value ; note`, as php.ini and friends allow); sshd
//!   has no `;` comments, so there it is part of the value.
//! * The value is trimmed, and one pair of matching surrounding quotes
//!   (`"…"` or `'…'`) is removed. `KEY=` gives an empty value.
//!
//! The two dialects ([`SettingDialect`]):
//!
//! * **Sshd** (`sshd_config`, `ssh_config`): keys compare ASCII
//!   case-insensitively, aliases of one keyword are the same key
//!   (`ChallengeResponseAuthentication` is `KbdInteractiveAuthentication`,
//!   see [`super::sshd_keywords`]), and the first occurrence wins, as in
//!   sshd. A `Match`
//!   line starts a conditional block whose keys are ignored; in sshd the
//!   block lasts to the next `Match` line or the end of the file. `Match
//!   all` (the only criterion, any case, maybe quoted or followed by a
//!   comment) matches every connection, so keys after it count again, as
//!   `sshd -T` shows for keywords not allowed in `Match` (for sshd_config,
//!   [`super::include`] reads blocks fully as sshd does: there a `Match
//!   all` block overrides the lines outside blocks, and conditional blocks
//!   are judged). In ssh_config a `Host` line ends a
//!   `Match` block, so keys after it count again (sshd_config cannot
//!   contain `Host`, so this is harmless there). `Host` blocks themselves
//!   are read like the rest of the file.
//! * **Generic** (everything else): keys are case-sensitive and the last
//!   occurrence wins. Lines `[name]` are INI section headers; lines before
//!   the first header are in the global section. A key without a `.` is
//!   looked up in the global section only. A key with a `.` is read as
//!   `section.key` when the file has a header `[section]` (compared
//!   case-sensitively; the section may itself contain dots, the longest one
//!   present wins, e.g. `a.b.c` prefers `[a.b]` key `c` over `[a]` key
//!   `b.c`); otherwise the whole key is looked up literally in the global
//!   section, so sysctl-style `net.ipv4.ip_forward = 1` works.
//!
//! Following `Include` and judging `Match` blocks and keywords that add up
//! across lines is [`super::include`]'s work, for sshd_config.
//!
//! Nothing here panics, whatever the input: slicing only happens at
//! character boundaries found by searching, and the work is linear in the
//! length of the text.

use super::sshd_keywords::same_keyword;

/// How a file's settings are read; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingDialect {
    /// OpenSSH server/client configuration: case-insensitive keys, first
    /// occurrence wins, `Match` blocks ignored.
    Sshd,
    /// Anything else: case-sensitive keys, last occurrence wins, INI
    /// sections.
    Generic,
}

impl SettingDialect {
    /// The dialect for a file, from its name: [`SettingDialect::Sshd`] when
    /// the file name (the part after the last `/`) ends in `sshd_config` or
    /// `ssh_config`, as docs/baseline.md says. Drop-in files such as
    /// `/etc/ssh/sshd_config.d/50-cloud.conf` therefore read as
    /// [`SettingDialect::Generic`].
    pub fn for_path(path: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.ends_with("sshd_config") || name.ends_with("ssh_config") {
            SettingDialect::Sshd
        } else {
            SettingDialect::Generic
        }
    }
}

/// The effective value of `key` in `content`: trimmed, with surrounding
/// matching quotes removed, or `None` when the key is absent.
pub fn find_setting(content: &str, key: &str, dialect: SettingDialect) -> Option<String> {
    locate_setting(content, key, dialect).map(|(_, value)| value)
}

/// Like [`find_setting`], and also the 0-based index of the line holding
/// the effective occurrence, as counted by [`str::lines`] (lines end at
/// `\n` or `\r\n`).
pub fn locate_setting(content: &str, key: &str, dialect: SettingDialect) -> Option<(usize, String)> {
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    match dialect {
        SettingDialect::Sshd => locate_sshd(content, key),
        SettingDialect::Generic => locate_generic(content, key),
    }
}

/// A line that is neither blank nor a comment, split into key and the raw
/// text after it (starting with whitespace, `=`, or empty). Shared with
/// the `Include` walk.
pub(super) struct Entry<'a> {
    pub(super) key: &'a str,
    pub(super) rest: &'a str,
    /// The whole line, trimmed at the start, for section headers and keys
    /// containing blanks.
    text: &'a str,
}

pub(super) fn entry(line: &str) -> Option<Entry<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let text = line.trim_start();
    if text.is_empty() || text.starts_with('#') || text.starts_with(';') {
        return None;
    }
    let end = text.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(text.len());
    Some(Entry {
        key: &text[..end],
        rest: &text[end..],
        text,
    })
}

fn locate_sshd(content: &str, key: &str) -> Option<(usize, String)> {
    let mut in_match = false;
    for (index, line) in content.lines().enumerate() {
        let Some(entry) = entry(line) else { continue };
        if let Some(block) = sshd_block(entry.key, entry.rest) {
            in_match = block;
            if entry.key.eq_ignore_ascii_case("Match") {
                continue;
            }
        }
        if !in_match && same_keyword(entry.key, key) {
            return Some((index, value_of(entry.rest, SettingDialect::Sshd)));
        }
    }
    None
}

/// What a line (its key and the text after it) does to the block
/// structure in the sshd dialect: `Some(true)` when a conditional block
/// starts (`Match` with criteria), `Some(false)` when what follows applies
/// to every connection again (`Match all`, as in OpenSSH's `servconf.c`,
/// `all` in any case, quoted or not, optionally followed by a comment; and,
/// in ssh_config, `Host`), `None` for any other line. (sshd_config's own
/// reading of blocks, where `Match all` overrides, is `super::include`'s.)
fn sshd_block(key: &str, rest: &str) -> Option<bool> {
    if key.eq_ignore_ascii_case("Match") {
        Some(!value_of(rest, SettingDialect::Sshd).eq_ignore_ascii_case("all"))
    } else if key.eq_ignore_ascii_case("Host") {
        Some(false)
    } else {
        None
    }
}

fn locate_generic(content: &str, key: &str) -> Option<(usize, String)> {
    let (section, name) = target(content, key);
    let mut current: Option<&str> = None;
    let mut found = None;
    for (index, line) in content.lines().enumerate() {
        let Some(entry) = entry(line) else { continue };
        if let Some(header) = section_header(entry.text) {
            current = Some(header);
            continue;
        }
        if current != section {
            continue;
        }
        if entry.key == name {
            found = Some((index, value_of(entry.rest, SettingDialect::Generic)));
        } else if name.contains(char::is_whitespace) {
            // A key with blanks, `some key = value`: compare what precedes `=`.
            if let Some((before, _)) = entry.text.split_once('=') {
                if before.trim_end() == name {
                    let rest = &entry.text[before.len()..];
                    found = Some((index, value_of(rest, SettingDialect::Generic)));
                }
            }
        }
    }
    found
}

/// Which section to read and the key within it: `None` is the global
/// section (before any header). Shared with the editor.
pub(super) fn target<'k>(content: &str, key: &'k str) -> (Option<&'k str>, &'k str) {
    if !key.contains('.') {
        return (None, key);
    }
    let headers: Vec<&str> = content
        .lines()
        .filter_map(entry)
        .filter_map(|entry| section_header(entry.text))
        .collect();
    if headers.is_empty() {
        return (None, key);
    }
    // Longest section first: split at the last dot, then earlier ones.
    for (dot, _) in key.rmatch_indices('.') {
        let (section, name) = (&key[..dot], &key[dot + 1..]);
        if !section.is_empty() && !name.is_empty() && headers.contains(&section) {
            return (Some(section), name);
        }
    }
    (None, key)
}

/// `[name]` (with an optional trailing comment) → `name`, trimmed; `text`
/// is trimmed at the start and not a comment. Shared with the editor.
pub(super) fn section_header(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('[')?;
    let inner = strip_inline_comment(inner, SettingDialect::Generic).trim_end();
    let inner = inner.strip_suffix(']')?;
    Some(inner.trim())
}

/// [`value_of`] in the sshd dialect, for the `Include` walk.
pub(super) fn value_of_sshd(rest: &str) -> String {
    value_of(rest, SettingDialect::Sshd)
}

/// The value from the raw text after the key: comment removed, one `=`
/// separator removed, trimmed, unquoted.
fn value_of(rest: &str, dialect: SettingDialect) -> String {
    let rest = strip_inline_comment(rest, dialect).trim();
    let rest = rest.strip_prefix('=').map_or(rest, str::trim_start);
    unquote(rest).to_string()
}

/// Cut `text` at the first comment character that follows whitespace and
/// is outside a quoted word. A quote opens a quoted word only at the start
/// of a word (after whitespace or `=`), so apostrophes inside words such as
/// `don't` do not hide a later comment. Shared with the editor.
pub(super) fn strip_inline_comment(text: &str, dialect: SettingDialect) -> &str {
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => {
                let word_start = prev.is_none_or(|p| p.is_whitespace() || p == '=');
                let after_blank = prev.is_some_and(char::is_whitespace);
                if (c == '"' || c == '\'') && word_start {
                    quote = Some(c);
                } else if after_blank && (c == '#' || (c == ';' && dialect == SettingDialect::Generic)) {
                    return &text[..i];
                }
            }
        }
        prev = Some(c);
    }
    text
}

/// Remove one pair of matching surrounding quotes, when the quoted text
/// does not contain that quote again (`"a" "b"` stays as it is).
fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(q)
            .and_then(|v| v.strip_suffix(q))
            .filter(|inner| !inner.contains(q))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use SettingDialect::{Generic, Sshd};

    fn sshd(content: &str, key: &str) -> Option<String> {
        find_setting(content, key, Sshd)
    }

    fn generic(content: &str, key: &str) -> Option<String> {
        find_setting(content, key, Generic)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn dialect_from_path() {
        assert_eq!(SettingDialect::for_path("/etc/ssh/sshd_config"), Sshd);
        assert_eq!(SettingDialect::for_path("/etc/ssh/ssh_config"), Sshd);
        assert_eq!(SettingDialect::for_path("sshd_config"), Sshd);
        assert_eq!(SettingDialect::for_path("/tmp/test_sshd_config"), Sshd);
        assert_eq!(
            SettingDialect::for_path("/etc/ssh/sshd_config.d/50-cloud.conf"),
            Generic
        );
        assert_eq!(SettingDialect::for_path("/etc/sshd_config/other"), Generic);
        assert_eq!(SettingDialect::for_path("/etc/login.defs"), Generic);
        assert_eq!(SettingDialect::for_path("/etc/ssh/sshd_config.bak"), Generic);
        assert_eq!(SettingDialect::for_path(""), Generic);
        assert_eq!(SettingDialect::for_path("/"), Generic);
    }

    #[test]
    fn separators() {
        assert_eq!(generic("KEY VALUE\n", "KEY"), some("VALUE"));
        assert_eq!(generic("KEY=VALUE\n", "KEY"), some("VALUE"));
        assert_eq!(generic("KEY = VALUE\n", "KEY"), some("VALUE"));
        assert_eq!(generic("KEY\t=\tVALUE\n", "KEY"), some("VALUE"));
        assert_eq!(generic("KEY\tVALUE", "KEY"), some("VALUE"));
        assert_eq!(generic("KEY =VALUE", "KEY"), some("VALUE"));
        assert_eq!(generic("KEY= VALUE", "KEY"), some("VALUE"));
        assert_eq!(sshd("PermitRootLogin no", "PermitRootLogin"), some("no"));
        assert_eq!(sshd("PermitRootLogin=no", "PermitRootLogin"), some("no"));
        assert_eq!(sshd("PermitRootLogin = no", "PermitRootLogin"), some("no"));
    }

    #[test]
    fn value_keeps_inner_equals_and_spaces() {
        assert_eq!(generic("KEY=a=b", "KEY"), some("a=b"));
        assert_eq!(generic("KEY = a = b", "KEY"), some("a = b"));
        assert_eq!(
            generic("ENV_SUPATH\tPATH=/usr/sbin:/usr/bin", "ENV_SUPATH"),
            some("PATH=/usr/sbin:/usr/bin")
        );
        assert_eq!(sshd("AllowUsers  alice   bob  ", "AllowUsers"), some("alice   bob"));
    }

    #[test]
    fn empty_value_and_bare_key() {
        assert_eq!(generic("KEY=", "KEY"), some(""));
        assert_eq!(generic("KEY =  ", "KEY"), some(""));
        assert_eq!(generic("KEY", "KEY"), some(""));
        assert_eq!(generic("KEY=\"\"", "KEY"), some(""));
    }

    #[test]
    fn leading_whitespace() {
        assert_eq!(generic("   KEY = v", "KEY"), some("v"));
        assert_eq!(
            sshd("\t  PasswordAuthentication no", "PasswordAuthentication"),
            some("no")
        );
    }

    #[test]
    fn missing_key() {
        assert_eq!(generic("", "KEY"), None);
        assert_eq!(generic("OTHER=1\n", "KEY"), None);
        assert_eq!(generic("KEYS=1\n", "KEY"), None);
        assert_eq!(generic("KE=1\n", "KEY"), None);
        assert_eq!(sshd("Port 22\n", "PermitRootLogin"), None);
        assert_eq!(generic("KEY=1\n", ""), None);
        assert_eq!(generic("=1\n", ""), None);
        assert_eq!(locate_setting("a=1", "b", Generic), None);
    }

    #[test]
    fn full_line_comments() {
        let text = "# KEY=commented\n; KEY=also\n   # KEY=indented\n";
        assert_eq!(generic(text, "KEY"), None);
        assert_eq!(generic(&format!("{text}KEY=real\n# KEY=later"), "KEY"), some("real"));
        assert_eq!(
            sshd("#PermitRootLogin yes\nPermitRootLogin no\n", "PermitRootLogin"),
            some("no")
        );
        assert_eq!(sshd("; PermitRootLogin yes\n", "PermitRootLogin"), None);
    }

    #[test]
    fn inline_comments() {
        assert_eq!(sshd("PermitRootLogin no # comment", "PermitRootLogin"), some("no"));
        assert_eq!(sshd("PermitRootLogin no\t#comment", "PermitRootLogin"), some("no"));
        assert_eq!(generic("KEY = v # comment", "KEY"), some("v"));
        assert_eq!(generic("KEY = v ; comment", "KEY"), some("v"));
        assert_eq!(generic("KEY = v;x", "KEY"), some("v;x"));
        assert_eq!(generic("KEY = # only a comment", "KEY"), some(""));
        // sshd has no `;` comments.
        assert_eq!(sshd("Banner /a ;b", "Banner"), some("/a ;b"));
        // `#` not preceded by whitespace is part of the value.
        assert_eq!(sshd("Banner /etc/issue#x", "Banner"), some("/etc/issue#x"));
        assert_eq!(generic("color=#fff", "color"), some("#fff"));
        assert_eq!(generic("KEY=a#b # c", "KEY"), some("a#b"));
    }

    #[test]
    fn quotes() {
        assert_eq!(generic("KEY=\"a b\"", "KEY"), some("a b"));
        assert_eq!(generic("KEY='a b'", "KEY"), some("a b"));
        assert_eq!(generic("KEY = \"a # b\" # c", "KEY"), some("a # b"));
        assert_eq!(generic("KEY = 'a ; b' ; c", "KEY"), some("a ; b"));
        assert_eq!(sshd("Banner \"/etc/my banner\"", "Banner"), some("/etc/my banner"));
        // Not matching, or not surrounding: kept as is.
        assert_eq!(generic("KEY=\"a'", "KEY"), some("\"a'"));
        assert_eq!(generic("KEY=\"a", "KEY"), some("\"a"));
        assert_eq!(generic("KEY=\"", "KEY"), some("\""));
        assert_eq!(generic("KEY=a\"b\"", "KEY"), some("a\"b\""));
        assert_eq!(generic("KEY=\"a\" \"b\"", "KEY"), some("\"a\" \"b\""));
        // An apostrophe inside a word does not hide the comment.
        assert_eq!(generic("KEY = don't # c", "KEY"), some("don't"));
        // An unterminated quote swallows the rest, comment included.
        assert_eq!(generic("KEY = \"a # b", "KEY"), some("\"a # b"));
    }

    #[test]
    fn sshd_first_occurrence_wins() {
        let text = "PermitRootLogin no\nPermitRootLogin yes\n";
        assert_eq!(sshd(text, "PermitRootLogin"), some("no"));
        assert_eq!(locate_setting(text, "PermitRootLogin", Sshd), Some((0, "no".into())));
    }

    #[test]
    fn generic_last_occurrence_wins() {
        let text = "PASS_MAX_DAYS 99999\nPASS_MAX_DAYS 90\nOTHER 1\n";
        assert_eq!(generic(text, "PASS_MAX_DAYS"), some("90"));
        assert_eq!(locate_setting(text, "PASS_MAX_DAYS", Generic), Some((1, "90".into())));
    }

    #[test]
    fn sshd_keys_case_insensitive() {
        assert_eq!(sshd("permitrootlogin no", "PermitRootLogin"), some("no"));
        assert_eq!(sshd("PERMITROOTLOGIN no", "permitRootLogin"), some("no"));
        // Values keep their case.
        assert_eq!(sshd("Banner /etc/Issue", "banner"), some("/etc/Issue"));
        // First wins regardless of spelling.
        assert_eq!(
            sshd("permitRootLogin no\nPermitRootLogin yes", "PermitRootLogin"),
            some("no")
        );
    }

    #[test]
    fn generic_keys_case_sensitive() {
        assert_eq!(generic("pass_max_days 90", "PASS_MAX_DAYS"), None);
        assert_eq!(generic("Key=1\nkey=2", "Key"), some("1"));
    }

    #[test]
    fn sshd_match_blocks_ignored() {
        let text = "\
Port 22
Match User alice
    PermitRootLogin yes
    X11Forwarding yes
PermitRootLogin no
";
        assert_eq!(sshd(text, "Port"), some("22"));
        // The Match block lasts to the end of the file, like in sshd.
        assert_eq!(sshd(text, "PermitRootLogin"), None);
        assert_eq!(sshd(text, "X11Forwarding"), None);
        // A setting before the block still counts and wins anyway.
        let text = "X11Forwarding no\nMatch Group admins\nX11Forwarding yes\n";
        assert_eq!(sshd(text, "X11Forwarding"), some("no"));
        // `match` is a keyword whatever its case, and `Match=…` too.
        assert_eq!(sshd("match user x\nPort 2222", "Port"), None);
        assert_eq!(sshd("Match=User x\nPort 2222", "Port"), None);
        // `Match` itself is not a setting that can be read.
        assert_eq!(sshd("Match all\n", "Match"), None);
        // Only sshd reads Match blocks specially.
        assert_eq!(generic("Match all\nPort 2222", "Port"), some("2222"));
    }

    #[test]
    fn match_all_returns_to_the_global_context() {
        // As `sshd -T` shows: `Match all` matches every connection, so what
        // follows it applies globally.
        let text = "Match User bob\n  Banner /bob\nMatch all\nBanner /x\n";
        assert_eq!(locate_setting(text, "Banner", Sshd), Some((3, "/x".into())));
        for all in [
            "match ALL",
            "Match=all",
            "Match all # back to global",
            "  Match   all  ",
            "Match all\r",
            "Match \"all\"",
        ] {
            let text = format!("Match User bob\n  Port 1\n{all}\nPort 2\n");
            assert_eq!(sshd(&text, "Port"), some("2"), "{all}");
        }
        // Anything else is a conditional block (`all` with other criteria
        // is refused by sshd).
        for other in ["Match all User bob", "Match allx", "Match User all", "Match #all"] {
            let text = format!("{other}\nPort 2\n");
            assert_eq!(sshd(&text, "Port"), None, "{other}");
        }
    }

    #[test]
    fn ssh_config_host_ends_match_block() {
        let text = "\
Host *
    ForwardAgent no
Match host example.com
    ForwardAgent yes
    Compression yes
Host other
    Compression no
";
        assert_eq!(sshd(text, "ForwardAgent"), some("no"));
        assert_eq!(sshd(text, "Compression"), some("no"));
        assert_eq!(locate_setting(text, "Compression", Sshd), Some((6, "no".into())));
    }

    #[test]
    fn crlf() {
        let text = "KEY=1\r\nOTHER = two words \r\n\r\nLAST=x\r";
        assert_eq!(generic(text, "KEY"), some("1"));
        assert_eq!(generic(text, "OTHER"), some("two words"));
        assert_eq!(generic(text, "LAST"), some("x"));
        assert_eq!(locate_setting(text, "LAST", Generic), Some((3, "x".into())));
        let text = "PermitRootLogin no\r\nMatch all\r\nPort 1\r\n";
        assert_eq!(sshd(text, "permitrootlogin"), some("no"));
        assert_eq!(sshd(text, "Port"), some("1"));
        assert_eq!(generic("[main]\r\nk=v\r\n", "main.k"), some("v"));
        assert_eq!(generic("KEY=\"q\"\r\n", "KEY"), some("q"));
    }

    #[test]
    fn ini_sections() {
        let text = "\
top = global
[main]
gpgcheck = 1
name = first
[updates]
gpgcheck = 0
[main]
name = second
";
        assert_eq!(generic(text, "main.gpgcheck"), some("1"));
        assert_eq!(generic(text, "updates.gpgcheck"), some("0"));
        // Repeated sections are one section; last wins.
        assert_eq!(generic(text, "main.name"), some("second"));
        assert_eq!(locate_setting(text, "main.name", Generic), Some((7, "second".into())));
        // Keys before the first header are in the global section; a plain
        // key is only looked up there.
        assert_eq!(generic(text, "top"), some("global"));
        assert_eq!(generic(text, "gpgcheck"), None);
        // Missing key in an existing section.
        assert_eq!(generic(text, "updates.name"), None);
        // Section names are case-sensitive.
        assert_eq!(generic(text, "Main.gpgcheck"), None);
        // Keys inside sections are case-sensitive too.
        assert_eq!(generic(text, "main.GPGCHECK"), None);
    }

    #[test]
    fn ini_header_forms() {
        let text = "[ spaced ]\na=1\n  [indented] # comment\nb=2\n[semi] ; c\nc=3\n";
        assert_eq!(generic(text, "spaced.a"), some("1"));
        assert_eq!(generic(text, "indented.b"), some("2"));
        assert_eq!(generic(text, "semi.c"), some("3"));
        // Not headers: the key is read literally.
        assert_eq!(generic("[broken\nx.y=1", "x.y"), some("1"));
    }

    #[test]
    fn ini_sections_with_dots() {
        let text = "[a]\nb.c = in-a\n[a.b]\nc = in-ab\n[remote \"origin\"]\nurl = git@x\n";
        assert_eq!(generic(text, "a.b.c"), some("in-ab"));
        assert_eq!(generic(text, "remote \"origin\".url"), some("git@x"));
        // Only `[a]` exists: the key within it may contain a dot.
        assert_eq!(generic("[a]\nb.c = 1\n", "a.b.c"), some("1"));
    }

    #[test]
    fn dotted_keys_without_sections_are_literal() {
        let text = "net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter=2\n";
        assert_eq!(generic(text, "net.ipv4.ip_forward"), some("1"));
        assert_eq!(generic(text, "net.ipv4.conf.all.rp_filter"), some("2"));
        // A file with sections, none of them named after the key's prefix.
        let text = "net.ipv4.ip_forward = 0\n[other]\nnet.ipv4.ip_forward = 1\n";
        assert_eq!(generic(text, "net.ipv4.ip_forward"), some("0"));
        // No `[net]` section: `net.a` is a literal key, not `a` in `[x]`.
        assert_eq!(generic("[x]\na=1\n", "net.a"), None);
        // Degenerate dotted keys.
        assert_eq!(generic("[a]\n.=1\n", "a."), None);
        assert_eq!(generic("a.=1\n", "a."), some("1"));
        assert_eq!(generic(".a=1\n", ".a"), some("1"));
    }

    #[test]
    fn sshd_dialect_has_no_sections() {
        let text = "[x]\nPort 22\n";
        assert_eq!(sshd(text, "Port"), some("22"));
        assert_eq!(sshd(text, "x.Port"), None);
    }

    #[test]
    fn keys_with_blanks() {
        let text = "some key = v1\nsome other = v2\n";
        assert_eq!(generic(text, "some key"), some("v1"));
        assert_eq!(generic(text, "some other"), some("v2"));
        assert_eq!(generic("[s]\nlog level = debug # c\n", "s.log level"), some("debug"));
        assert_eq!(generic("some key v\n", "some key"), None);
    }

    #[test]
    fn key_is_trimmed() {
        assert_eq!(generic("KEY=1", " KEY "), some("1"));
        assert_eq!(sshd("Port 22", "Port\n"), some("22"));
    }

    #[test]
    fn locate_counts_every_line() {
        let text = "# header\n\n[s]\n; c\nk = v\n";
        assert_eq!(locate_setting(text, "s.k", Generic), Some((4, "v".into())));
        let text = "\n\n  PermitRootLogin   no  \n";
        assert_eq!(locate_setting(text, "PermitRootLogin", Sshd), Some((2, "no".into())));
    }

    #[test]
    fn non_ascii() {
        let text = "clé = välue\nΩ=ω # ç\nKEY=日本語\n[sección]\nñ = sí\n";
        assert_eq!(generic(text, "clé"), some("välue"));
        assert_eq!(generic(text, "Ω"), some("ω"));
        assert_eq!(generic(text, "KEY"), some("日本語"));
        assert_eq!(generic(text, "sección.ñ"), some("sí"));
        assert_eq!(sshd("Banner\u{a0}/é", "Banner"), some("/é"));
        // Non-ASCII case differences are not folded in sshd keys.
        assert_eq!(sshd("ÉTAT 1", "état"), None);
        // Odd whitespace and control characters must not panic.
        for text in [
            "\u{2028}",
            "\u{feff}KEY=1",
            "\0=\0",
            "[\u{1F600}]\n\u{1F600}=1",
            "=",
            "[",
            "]",
            "[]",
            "\"",
            "'",
            "#",
            ";",
            "\r",
            "\r\n\r",
        ] {
            for key in ["KEY", "\u{1F600}", ".", "a.b", "[.]", "\u{1F600}.\u{1F600}"] {
                let _ = generic(text, key);
                let _ = sshd(text, key);
            }
        }
    }

    #[test]
    fn huge_lines() {
        let long = "x".repeat(1 << 20);
        let text = format!("KEY = {long} # c\n{long}\n{long}={long}\n");
        assert_eq!(generic(&text, "KEY").map(|v| v.len()), Some(1 << 20));
        assert_eq!(sshd(&text, "KEY").map(|v| v.len()), Some(1 << 20));
        assert_eq!(generic(&text, &long).map(|v| v.len()), Some(1 << 20));
        let quotes = "\"'".repeat(1 << 18);
        let _ = generic(&format!("KEY={quotes}"), "KEY");
    }
}
