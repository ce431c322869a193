//! What a rule tells people besides its check: the controls it maps to in
//! published benchmarks (`references:`), how a person checks it by hand
//! (`manual_check:`), the fix for hosts where an automatic one is unsafe
//! (`remediation: {manual: …}`), and its strictness `level:`. None of it
//! changes a verdict; reports, `fix` and `list rules` show it.

use serde::{Deserialize, Serialize};

/// `references:` — identifiers of the same requirement elsewhere, per
/// catalogue. Unknown catalogues are refused (`deny_unknown_fields`), so a
/// typo (`nsit:`) is an error with its position, not a silently lost list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct References {
    /// CIS Benchmark sections as `BENCHMARK:SECTION` (`debian12:5.1.20`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cis: Vec<String>,
    /// SCAP Security Guide (ComplianceAsCode) rule ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssg: Vec<String>,
    /// NIST SP 800-53 controls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nist: Vec<String>,
    /// ANSSI BP-028 recommendations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anssi: Vec<String>,
}

/// The catalogues of [`References`], in the order they are shown.
pub const CATALOGUES: [&str; 4] = ["cis", "ssg", "nist", "anssi"];

impl References {
    pub fn is_empty(&self) -> bool {
        CATALOGUES.iter().all(|c| self.get(c).is_empty())
    }

    /// The ids of one catalogue; an unknown name has none.
    pub fn get(&self, catalogue: &str) -> &[String] {
        match catalogue {
            "cis" => &self.cis,
            "ssg" => &self.ssg,
            "nist" => &self.nist,
            "anssi" => &self.anssi,
            _ => &[],
        }
    }

    /// Whether the rule has a reference in `catalogue`, and, with `id`,
    /// that one (exactly, or as a prefix ending at a `.`, `(` or `-`, so
    /// `cis:5.2` finds 5.2.4 and `nist:AC-17` finds AC-17(2), but `5.2`
    /// does not find 5.21).
    pub fn has(&self, catalogue: &str, id: Option<&str>) -> bool {
        let ids = self.get(catalogue);
        match id {
            None => !ids.is_empty(),
            // A CIS id names its benchmark (`debian12:5.1.20`): `5.1` finds
            // it in every benchmark, `debian12:5.1` in that one.
            Some(want) => ids.iter().any(|have| {
                let section = have.split_once(':').map(|(_, s)| s);
                std::iter::once(have.as_str()).chain(section).any(|have| {
                    have.eq_ignore_ascii_case(want)
                        || (have.len() > want.len()
                            && have.is_char_boundary(want.len())
                            && have[..want.len()].eq_ignore_ascii_case(want)
                            && have[want.len()..].starts_with(['.', '(', '-']))
                })
            }),
        }
    }
}

/// The people-facing parts of a rule, grouped so that code building rules
/// by hand (`capture`, tests) can take them all as `Default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDocs {
    pub references: References,
    /// How first-level staff check the rule by hand.
    pub manual_check: Option<String>,
    /// `remediation: {manual: …}`: what a person does where the rule fails;
    /// `fix` runs nothing for such a rule and reports the text.
    pub manual_remediation: Option<String>,
    /// 1 (the baseline level) or 2 (stricter; may cost functionality).
    pub level: u8,
}

impl Default for RuleDocs {
    fn default() -> Self {
        RuleDocs {
            references: References::default(),
            manual_check: None,
            manual_remediation: None,
            level: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Baseline;

    fn load(rule: &str) -> Result<Baseline, crate::config_error::ConfigErrors> {
        let text = format!("name: t\nrules:\n  - id: A\n    sysctl: a.b\n    expect: '1'\n{rule}");
        Baseline::from_source(&crate::yaml::SourceFile {
            path: "t.yaml".into(),
            text,
        })
    }

    #[test]
    fn references_manual_texts_and_level_load() {
        let b = load(
            "    references: {cis: [3.3.1], ssg: [sysctl_a_b], nist: [CM-6]}\n    manual_check: run sysctl a.b\n    remediation: {manual: ask the owner}\n    level: 2\n",
        )
        .unwrap();
        let d = &b.rules[0].docs;
        assert_eq!(d.references.cis, ["3.3.1"]);
        assert_eq!(d.references.ssg, ["sysctl_a_b"]);
        assert!(d.references.anssi.is_empty());
        assert_eq!(d.manual_check.as_deref(), Some("run sysctl a.b"));
        assert_eq!(d.manual_remediation.as_deref(), Some("ask the owner"));
        assert_eq!(d.level, 2);
        // A manual remediation is no playbook: `fix` has nothing to run.
        assert!(b.rules[0].remediation.is_none());
        assert_eq!(load("").unwrap().rules[0].docs, RuleDocs::default());
    }

    #[test]
    fn bad_references_and_levels_are_errors_at_their_position() {
        let e = load("    references: {cis: [1.1], pci: [8.2]}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:6:") && e.contains("unknown field `pci`"), "{e}");
        let e = load("    references: {cis: ['']}\n").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:6:") && e.contains("empty"), "{e}");
        let e = load("    level: 3\n").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:6:5: rule A: level 3"), "{e}");
        let e = load("    manual_check: ' '\n").unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:6:5:"), "{e}");
        // serde names the rule for an untagged mismatch, not the key.
        let e = load("    remediation: {manual: x, steps: [y]}\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.yaml:3:5:"), "{e}");
    }

    #[test]
    fn reference_prefixes_stop_at_a_separator() {
        let r = References {
            cis: vec!["5.2.4".into(), "debian12:5.1.20".into()],
            nist: vec!["AC-17(2)".into()],
            ..References::default()
        };
        assert!(r.has("cis", None));
        assert!(r.has("cis", Some("5.2")));
        assert!(r.has("cis", Some("5.2.4")));
        assert!(!r.has("cis", Some("5.2.41")));
        assert!(!r.has("cis", Some("5.21")));
        assert!(r.has("cis", Some("5.1")) && r.has("cis", Some("debian12:5.1.20")));
        assert!(!r.has("cis", Some("ubuntu2204:5.1")));
        assert!(r.has("nist", Some("ac-17")));
        assert!(!r.has("ssg", None));
        assert!(!r.has("anssi", Some("R1")));
    }
}
