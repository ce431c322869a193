//! Keeping secrets out of everything rectify writes: reports, the terminal,
//! the state database.
//!
//! A var is secret when a playbook lists it under `secrets:` or its name
//! contains `password`, `passphrase`, `token` or `secret` (any case). Every
//! text that leaves the engine passes through [`Redactor::redact`], which
//! replaces each secret value with `********`. Values shorter than 3
//! characters are not redacted: hiding every `no` or `1` in a report would
//! hide the report, and a secret that short protects nothing anyway.

use std::collections::BTreeSet;

use crate::template::Vars;

pub const MASK: &str = "********";
const MIN_SECRET_LEN: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    values: Vec<String>,
}

/// Whether a var of this name is secret by its name alone.
pub fn secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["password", "passphrase", "token", "secret"]
        .iter()
        .any(|w| lower.contains(w))
}

impl Redactor {
    pub fn new(vars: &Vars, listed: &BTreeSet<String>) -> Redactor {
        let mut values = Vec::new();
        for (name, value) in vars {
            if listed.contains(name) || secret_name(name) {
                collect(value, &mut values);
            }
        }
        // What is shown is often not the value itself: a diff shows a
        // multi-line secret (a PEM key) line by line, and a template may
        // have cased it. Each line and each casing is masked too.
        let whole = std::mem::take(&mut values);
        for v in whole {
            if v.contains('\n') {
                values.extend(v.lines().map(|l| l.trim().to_string()));
            }
            values.push(v.to_uppercase());
            values.push(v.to_lowercase());
            values.push(v);
        }
        values.retain(|v| v.chars().count() >= MIN_SECRET_LEN);
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Redactor { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    pub fn redact_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.redact(&t))
    }
}

fn collect(value: &serde_yaml::Value, out: &mut Vec<String>) {
    match value {
        serde_yaml::Value::String(s) => out.push(s.clone()),
        serde_yaml::Value::Number(n) => out.push(n.to_string()),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|v| collect(v, out)),
        serde_yaml::Value::Mapping(m) => m.values().for_each(|v| collect(v, out)),
        serde_yaml::Value::Tagged(t) => collect(&t.value, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_wherever_they_appear() {
        let mut vars = Vars::new();
        vars.insert("db_password".into(), "hunter22".into());
        vars.insert("api".into(), "tok-123".into());
        vars.insert("plain".into(), "visible".into());
        let listed: BTreeSet<String> = ["api".to_string()].into();
        let r = Redactor::new(&vars, &listed);
        assert_eq!(
            r.redact("-pass hunter22\n+pass tok-123 visible"),
            "-pass ********\n+pass ******** visible"
        );
        assert!(secret_name("GITHUB_TOKEN"));
        vars.insert(
            "key_secret".into(),
            "-----BEGIN K-----\nAAAAlineone\nBBBBlinetwo\n-----END K-----\n".into(),
        );
        let r = Redactor::new(&vars, &listed);
        assert_eq!(r.redact("+AAAAlineone\n+BBBBlinetwo\n"), "+********\n+********\n");
        assert_eq!(r.redact("pw=HUNTER22"), "pw=********");
        assert!(!secret_name("port"));
    }
}
