//! What sshd makes of a value as written, where that is not the text
//! itself: algorithm lists that edit the compiled-in default list
//! (`Ciphers -*cbc`, `MACs +hmac-sha1`, `KexAlgorithms ^curve25519-sha256`),
//! and `MaxStartups`, a triple whose short form stands for a longer one.
//! As OpenSSH 9.2's `kex_assemble_names` and `servconf.c` do (checked
//! against `sshd -T`, `tests/it/sshd_defaults.rs`).

use super::sshd_keywords::canonical;

/// Keywords whose value is an algorithm list that may start with `+`,
/// `-` or `^` (lower case, canonical).
const ALGORITHM_LISTS: &[&str] = &[
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostkeyalgorithms",
    "pubkeyacceptedalgorithms",
    "hostbasedacceptedalgorithms",
    "casignaturealgorithms",
];

/// Whether `key` (any spelling) is one of sshd's editable algorithm lists.
pub fn is_algorithm_list(key: &str) -> bool {
    let key = canonical(key);
    ALGORITHM_LISTS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Why a written algorithm list cannot be resolved as sshd would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("{0:?} edits the default list, which rectify's table does not have for this release")]
    NoDefault(String),
    /// sshd expands such a pattern against every algorithm it supports, a
    /// list rectify does not keep.
    #[error("the pattern {0:?} outside a `-` list is expanded against every algorithm sshd supports; use `source: daemon` to judge it")]
    Pattern(String),
    #[error("{0:?} leaves no algorithm (sshd refuses an empty list)")]
    Empty(String),
}

/// The list sshd uses for `written` (a list value as written) given the
/// release's `default` list: `+a,b` appends the names the default lacks,
/// `-p,q` removes the default's names matching any pattern, `^a,b` puts
/// the names first and the rest of the default after them; anything else
/// is the list itself. Names repeated later are dropped, as sshd does.
pub fn resolve_list(written: &str, default: Option<&str>) -> Result<String, ListError> {
    let written = written.trim();
    let need_default = || default.ok_or_else(|| ListError::NoDefault(written.to_string()));
    let names = |text: &str| -> Result<Vec<String>, ListError> {
        let list: Vec<String> = text.split(',').filter(|n| !n.is_empty()).map(String::from).collect();
        match list.iter().find(|n| n.contains(['*', '?', '!'])) {
            Some(p) => Err(ListError::Pattern(p.clone())),
            None => Ok(list),
        }
    };
    let split = |text: &str| -> Vec<String> { text.split(',').filter(|n| !n.is_empty()).map(String::from).collect() };
    let joined = if let Some(rest) = written.strip_prefix('+') {
        let mut list = split(need_default()?);
        cat(&mut list, names(rest)?);
        list
    } else if let Some(rest) = written.strip_prefix('-') {
        split(need_default()?)
            .into_iter()
            .filter(|name| !super::sshd_match::pattern_list(name, rest, false))
            .collect()
    } else if let Some(rest) = written.strip_prefix('^') {
        let mut list = Vec::new();
        cat(&mut list, names(rest)?);
        cat(&mut list, split(need_default()?));
        list
    } else {
        let mut list = Vec::new();
        cat(&mut list, names(written)?);
        list
    };
    if joined.is_empty() {
        return Err(ListError::Empty(written.to_string()));
    }
    Ok(joined.join(","))
}

/// `kex_names_cat`: appends each name not already present.
fn cat(list: &mut Vec<String>, more: Vec<String>) {
    for name in more {
        if !list.contains(&name) {
            list.push(name);
        }
    }
}

/// `MaxStartups start:rate:full` as sshd reads it: `10` alone is
/// `10:30:10` (the rate defaults to 30 and full to start). `None` for
/// what sshd refuses (two numbers, start > full, a rate outside 1..=100).
pub fn max_startups(text: &str) -> Option<[u64; 3]> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match parts.as_slice() {
        [one] => {
            let n = num(one)?;
            Some([n, 30, n])
        }
        [start, rate, full] => {
            let t = [num(start)?, num(rate)?, num(full)?];
            (t[0] <= t[2] && (1..=100).contains(&t[1])).then_some(t)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: &str = "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com";

    #[test]
    fn lists_edit_the_default() {
        let r = |w: &str| resolve_list(w, Some(DEF));
        assert_eq!(
            r("-*ctr").unwrap(),
            "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com"
        );
        assert_eq!(r("-*cbc").unwrap(), DEF);
        assert_eq!(
            r("-aes*,!aes128-gcm@openssh.com").unwrap(),
            "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com"
        );
        assert_eq!(r("+aes128-cbc,aes128-ctr").unwrap(), format!("{DEF},aes128-cbc"));
        assert_eq!(
            r("^aes256-ctr,3des-cbc").unwrap(),
            "aes256-ctr,3des-cbc,chacha20-poly1305@openssh.com,aes128-ctr,aes128-gcm@openssh.com"
        );
        assert_eq!(r("aes256-ctr,aes256-ctr,aes128-ctr").unwrap(), "aes256-ctr,aes128-ctr");
        assert_eq!(r("+aes*-cbc"), Err(ListError::Pattern("aes*-cbc".into())));
        assert_eq!(r("aes*"), Err(ListError::Pattern("aes*".into())));
        assert!(matches!(r("-*"), Err(ListError::Empty(_))));
        assert!(matches!(resolve_list("+x", None), Err(ListError::NoDefault(_))));
        // An explicit list needs no default.
        assert_eq!(resolve_list("aes128-ctr", None).unwrap(), "aes128-ctr");
        assert!(is_algorithm_list("PubkeyAcceptedKeyTypes") && is_algorithm_list("MACs"));
        assert!(!is_algorithm_list("GSSAPIKexAlgorithms") && !is_algorithm_list("Port"));
    }

    #[test]
    fn max_startups_as_sshd_reads_it() {
        assert_eq!(max_startups("10"), Some([10, 30, 10]));
        assert_eq!(max_startups("10:30:60"), Some([10, 30, 60]));
        assert_eq!(max_startups(" 1:100:1 "), Some([1, 100, 1]));
        assert_eq!(max_startups("10:30"), None);
        assert_eq!(max_startups("60:30:10"), None);
        assert_eq!(max_startups("10:0:60"), None);
        assert_eq!(max_startups("10:101:60"), None);
        assert_eq!(max_startups("-1"), None);
        assert_eq!(max_startups("+5"), None);
    }
}
