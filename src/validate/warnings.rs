//! What `validate` warns of in a valid file (exit 0, on stderr): things
//! that load fine but are likely not what the author meant.

use chrono::NaiveDate;

use crate::config_error::{find_key_value, ConfigError};
use crate::yaml::SourceFile;

/// Waivers whose `expires` date is before `today`: they no longer waive
/// anything, and the rule counts again.
pub fn expired_waivers(source: &SourceFile, waivers: &[crate::waiver::Waiver], today: NaiveDate) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let mut seen: Vec<NaiveDate> = Vec::new();
    for w in waivers {
        let Some(until) = w.expires.filter(|d| *d < today) else {
            continue;
        };
        let date = until.format("%Y-%m-%d").to_string();
        let nth = seen.iter().filter(|d| **d == until).count();
        seen.push(until);
        let at = find_key_value(&source.text, "expires", &date, nth);
        out.push(source.error_at(
            at,
            format!(
                "waiver for {} expired on {date}: it no longer applies, the rule counts again",
                w.rule
            ),
        ));
    }
    out
}

/// Group members (`groups: {web: {hosts: [...]}}`) that are not under
/// `hosts:`: rectify reaches them by their name as a DNS name, which for a
/// typo (`hots02`) is surely wrong. A near host name is suggested.
pub fn undefined_members(source: &SourceFile) -> Vec<ConfigError> {
    if crate::inventory::ansible::is_ansible(source) {
        return Vec::new();
    }
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&source.text) else {
        return Vec::new();
    };
    let names = |v: Option<&serde_yaml::Value>| -> Vec<String> {
        match v {
            Some(serde_yaml::Value::Mapping(m)) => m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect(),
            Some(serde_yaml::Value::Sequence(s)) => s.iter().filter_map(|k| k.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        }
    };
    let defined = names(doc.get("hosts"));
    let mut out = Vec::new();
    let Some(serde_yaml::Value::Mapping(groups)) = doc.get("groups") else {
        return out;
    };
    for (group, def) in groups {
        let group = group.as_str().unwrap_or("?");
        for member in names(def.get("hosts")) {
            if defined.contains(&member) {
                continue;
            }
            let near = defined.iter().find(|d| edit_distance(d, &member) <= 2);
            let hint = near.map(|n| format!("; did you mean {n}?")).unwrap_or_default();
            let at = member_position(&source.text, &member);
            out.push(source.error_at(
                at,
                format!(
                    "group {group}: member {member} is not defined under hosts:, so it is reached as the DNS name {member:?}{hint}"
                ),
            ));
        }
    }
    out
}

/// Where `member` is written in a `hosts:` list (`[a, b]` or `- b`).
fn member_position(text: &str, member: &str) -> crate::config_error::Position {
    for (i, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        let mut from = 0;
        while let Some(at) = code[from..].find(member) {
            let start = from + at;
            let end = start + member.len();
            let before = code[..start].chars().next_back();
            let after = code[end..].chars().next();
            let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'));
            if edge(before) && edge(after) && !code[end..].trim_start().starts_with(':') {
                return crate::config_error::Position {
                    line: i + 1,
                    column: code[..start].chars().count() + 1,
                };
            }
            from = end;
        }
    }
    crate::config_error::Position { line: 1, column: 1 }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> SourceFile {
        SourceFile {
            path: "inv.yaml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_member_defined_nowhere_is_named_with_a_near_host() {
        let s = source("groups:\n  web:\n    hosts: [web01, hots02]\n  db:\n    hosts:\n      - web01\n      - db9\nhosts:\n  web01: {address: 192.0.2.1}\n  host02: {address: 192.0.2.2}\n");
        let w: Vec<String> = undefined_members(&s).iter().map(|e| e.to_string()).collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("inv.yaml:3:20: group web: member hots02") && w[0].ends_with("did you mean host02?"),
            "{w:?}"
        );
        assert!(
            w[1].starts_with("inv.yaml:7:9: group db: member db9") && !w[1].contains("did you mean"),
            "{w:?}"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("hots02", "host02"), 2);
        assert_eq!(edit_distance("web01", "web01"), 0);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
