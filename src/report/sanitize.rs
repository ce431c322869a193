//! Text from hosts is untrusted: before it reaches a terminal, control
//! characters (escape sequences that could rewrite the screen or the
//! window title) are made visible instead of interpreted.

use std::borrow::Cow;

/// Replaces C0/C1 control characters other than newline and tab with
/// their escaped form (`\x1b`), so `ESC[2J` prints as text.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// Strips characters XML 1.0 cannot carry at all, for JUnit.
pub fn for_xml(text: &str) -> Cow<'_, str> {
    let ok =
        |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    if text.chars().all(ok) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().map(|c| if ok(c) { c } else { '\u{FFFD}' }).collect())
}

/// `text` as one URL path segment: every byte but ASCII letters, digits
/// and `-._~` percent-encoded, so a host name or rule id can never add a
/// `/`, `?` or `#` to a link the web view or an export writes.
pub fn url_segment(text: &str) -> String {
    // `.` and `..` alone would be resolved as paths by the browser.
    if text == "." || text == ".." {
        return text.replace('.', "%2E");
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_segments_carry_no_separator() {
        assert_eq!(super::url_segment("web 01/../x?#"), "web%2001%2F..%2Fx%3F%23");
        assert_eq!(super::url_segment("R-1.a_b~"), "R-1.a_b~");
        assert_eq!(super::url_segment(".."), "%2E%2E");
    }

    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_run() {
        assert_eq!(for_terminal("a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07");
        assert_eq!(for_terminal("line\n\ttab"), "line\n\ttab");
        assert_eq!(for_terminal("\u{9b}31m"), "\\x9b31m");
    }

    #[test]
    fn xml_drops_what_it_cannot_carry() {
        assert_eq!(for_xml("a\u{0}b\u{1b}"), "a\u{FFFD}b\u{FFFD}");
    }
}
