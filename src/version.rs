//! Package versions: comparing them, and the `version:` constraint of a
//! `package` rule (`version: ">= 1.2"`).
//!
//! Each package manager orders versions its own way, and a constraint is
//! judged with the order of the manager that answered on the host
//! ([`Scheme`]): dpkg's ([`compare_versions`]), rpm's `rpmvercmp`
//! ([`rpm`]) or apk's `apk_version_compare` ([`apk`]). They disagree on
//! real versions: `1.0.a` is earlier than `1.0.1` for rpm, later for dpkg;
//! `1.0_rc1` is earlier than `1.0` for apk, later for dpkg.

pub mod apk;
pub mod rpm;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A comparison operator of a [`VersionConstraint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl VersionOp {
    /// The operator as written in a canonical constraint (`>=`, `<`…).
    pub fn as_str(self) -> &'static str {
        match self {
            VersionOp::Lt => "<",
            VersionOp::Le => "<=",
            VersionOp::Eq => "=",
            VersionOp::Ne => "!=",
            VersionOp::Ge => ">=",
            VersionOp::Gt => ">",
        }
    }

    /// Whether `ordering` (installed compared with the wanted version)
    /// satisfies the operator.
    pub fn accepts(self, ordering: Ordering) -> bool {
        match self {
            VersionOp::Lt => ordering == Ordering::Less,
            VersionOp::Le => ordering != Ordering::Greater,
            VersionOp::Eq => ordering == Ordering::Equal,
            VersionOp::Ne => ordering != Ordering::Equal,
            VersionOp::Ge => ordering != Ordering::Less,
            VersionOp::Gt => ordering == Ordering::Greater,
        }
    }
}

impl fmt::Display for VersionOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `version:` constraint such as `>= 1.2`.
///
/// Accepted forms: an operator, optional blanks, then a version. Operators:
/// `<`, `<=`, `=` (or `==`), `!=`, `>=`, `>`, and Debian's `<<` and `>>`
/// (same as `<` and `>`). A bare version means `=`. Note that `<` and `>`
/// are strict here, unlike their deprecated meaning in Debian control
/// files. Ranges (`>= 1, < 2`) are not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionConstraint {
    pub op: VersionOp,
    pub version: String,
}

impl VersionConstraint {
    /// Whether the installed version satisfies the constraint, in Debian
    /// order (an os `VERSION_ID`, a dpkg package).
    pub fn matches(&self, installed: &str) -> bool {
        self.matches_in(Scheme::Dpkg, installed)
    }

    /// Whether the installed version satisfies the constraint, in the
    /// order of the package manager that reported it.
    pub fn matches_in(&self, scheme: Scheme, installed: &str) -> bool {
        self.op.accepts(scheme.compare(installed, &self.version))
    }
}

/// Whose version order applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// dpkg's (Debian Policy 5.6.12).
    Dpkg,
    /// rpm's `rpmvercmp` on epoch, version and release.
    Rpm,
    /// apk-tools' `apk_version_compare`.
    Apk,
}

impl Scheme {
    /// The order of the package manager named as the package fact names
    /// it (`dpkg`, `rpm`, `apk`); Debian's for anything else.
    pub fn of_manager(manager: &str) -> Scheme {
        match manager {
            "rpm" => Scheme::Rpm,
            "apk" => Scheme::Apk,
            _ => Scheme::Dpkg,
        }
    }

    /// Compare two versions in this order.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => compare_versions(a, b),
            Scheme::Rpm => rpm::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
        }
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.version)
    }
}

/// Why a `version:` constraint could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionConstraintError {
    #[error("empty version constraint; expected an operator and a version, such as \">= 1.2\"")]
    Empty,
    #[error("version constraint {0:?} has no version after the operator; expected something like \">= 1.2\"")]
    MissingVersion(String),
    #[error("invalid version constraint {input:?}: {reason}")]
    Invalid { input: String, reason: &'static str },
}

/// Operators, longest first so that `<=` is not read as `<` then `=1`.
const OPERATORS: [(&str, VersionOp); 9] = [
    ("<<", VersionOp::Lt),
    ("<=", VersionOp::Le),
    (">>", VersionOp::Gt),
    (">=", VersionOp::Ge),
    ("==", VersionOp::Eq),
    ("!=", VersionOp::Ne),
    ("<", VersionOp::Lt),
    (">", VersionOp::Gt),
    ("=", VersionOp::Eq),
];

impl FromStr for VersionConstraint {
    type Err = VersionConstraintError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionConstraintError::Empty);
        }
        let (op, version) = OPERATORS
            .iter()
            .find_map(|(symbol, op)| text.strip_prefix(symbol).map(|rest| (*op, rest)))
            .unwrap_or((VersionOp::Eq, text));
        let version = version.trim_start();
        let invalid = |reason| VersionConstraintError::Invalid {
            input: input.to_string(),
            reason,
        };
        if version.is_empty() {
            return Err(VersionConstraintError::MissingVersion(input.to_string()));
        }
        if version.starts_with(['<', '>', '=', '!']) {
            return Err(invalid("unknown operator; use one of <, <=, =, !=, >=, >, << or >>"));
        }
        if version.contains(',') || version.contains("||") {
            return Err(invalid("only one operator and one version are supported, not a range"));
        }
        if version.contains(char::is_whitespace) {
            return Err(invalid(
                "a version cannot contain blanks; only one operator and one version are supported",
            ));
        }
        if version.contains(['<', '>', '=', '!']) {
            return Err(invalid("a version cannot contain <, >, = or !"));
        }
        if version.contains(|c: char| c.is_control()) {
            return Err(invalid("a version cannot contain control characters"));
        }
        Ok(VersionConstraint {
            op,
            version: version.to_string(),
        })
    }
}

/// Compare two package versions.
///
/// Follows Debian Policy 5.6.12 ("Version"), as dpkg implements it: a
/// version is `[epoch:]upstream_version[-debian_revision]`; the epoch is
/// compared as a number, then the upstream version, then the revision
/// (everything after the last `-`; none is the same as `0`). Upstream
/// version and revision are compared from the left in alternating runs of
/// non-digits and digits: non-digit runs character by character, where `~`
/// sorts before everything, even the end of the string, then the end of
/// the string, then letters, then all other characters; digit runs as
/// numbers (of any length: `01` = `1`, no overflow).
///
/// A part before the first `:` that is not all digits is not an epoch, and
/// the whole string is then the upstream version. Leading and trailing
/// blanks are ignored. Never panics.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let a = Version::parse(a.trim());
    let b = Version::parse(b.trim());
    compare_numbers(a.epoch, b.epoch)
        .then_with(|| compare_part(a.upstream, b.upstream))
        .then_with(|| compare_part(a.revision, b.revision))
}

struct Version<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    revision: &'a [u8],
}

impl<'a> Version<'a> {
    fn parse(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let (epoch, rest) = match bytes.iter().position(|&c| c == b':') {
            Some(colon) if colon > 0 && bytes[..colon].iter().all(u8::is_ascii_digit) => {
                (&bytes[..colon], &bytes[colon + 1..])
            }
            _ => (&b""[..], bytes),
        };
        let (upstream, revision) = match rest.iter().rposition(|&c| c == b'-') {
            Some(dash) => (&rest[..dash], &rest[dash + 1..]),
            None => (rest, &b""[..]),
        };
        Version {
            epoch,
            upstream,
            revision,
        }
    }
}

/// The weight of a character in a non-digit run; `None` is the end of the
/// string (or the start of a digit run).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn compare_part(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        // Non-digit runs.
        loop {
            let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
            let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let ordering = order(ca).cmp(&order(cb));
            if ordering != Ordering::Equal {
                return ordering;
            }
            // Equal weights with one side ending cannot happen (only the
            // end and digits weigh 0, and not both sides are those), so
            // both sides have a character here.
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        // Digit runs.
        let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let ordering = compare_numbers(&a[..da], &b[..db]);
        if ordering != Ordering::Equal {
            return ordering;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
}

/// Compare two runs of ASCII digits as numbers; empty is zero.
pub(crate) fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |n: &[u8]| -> usize { n.iter().take_while(|&&c| c == b'0').count() };
    let a = &a[strip(a)..];
    let b = &b[strip(b)..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn cmp(a: &str, b: &str) -> Ordering {
        let ordering = compare_versions(a, b);
        assert_eq!(
            compare_versions(b, a),
            ordering.reverse(),
            "asymmetric comparison of {a:?} and {b:?}"
        );
        ordering
    }

    /// Whether `program` runs here (`program args…` succeeds). A test that
    /// checks against a real tool skips where the tool is missing, except
    /// in CI (`.ci/run` installs it), where that is a failure.
    pub(crate) fn has_tool(program: &str, args: &[&str]) -> bool {
        let here = std::process::Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            here || std::env::var_os("CI").is_none(),
            "{program} is missing on a CI machine"
        );
        if !here {
            eprintln!("no {program} here: the comparison with the real tool does not apply");
        }
        here
    }

    /// Versions whose pairs are compared with the real tools: the cases
    /// where dpkg, rpm and apk disagree, epochs, releases, `~` and `^`.
    pub(crate) const TRICKY: &[&str] = &[
        "0",
        "1",
        "1.0",
        "1.0.0",
        "1.0.1",
        "1.01",
        "1.1",
        "1.10",
        "1.9",
        "10",
        "2.0",
        "1.0a",
        "1.0b",
        "1.0.a",
        "1.a",
        "1.0A",
        "1.0~rc1",
        "1.0~rc2",
        "1.0~",
        "1.0~~",
        "1.0~rc1~git1",
        "1.0^",
        "1.0^git1",
        "1.0^git2",
        "1.0~rc1^git1",
        "1.0+dfsg",
        "1.0_1",
        "1.0_rc1",
        "1.0_p1",
        "1.0-1",
        "1.0-2",
        "1.0-10",
        "1.0-1.el9",
        "1.0-1.el9_3",
        "1.0-1ubuntu1",
        "1.0-1~bpo12+1",
        "1:1.0",
        "0:1.0",
        "2:0.1",
        "1:1.0-1",
        "9.2p1-2+deb12u3",
        "9.2p1-2+deb12u10",
        "8.7p1-38.el9",
        "8.7p1-34.el9_3.3",
        "5.14.0-427.el9",
        "5.14.0-503.el9",
        "1.1.1k-12.el8_9",
        "1.1.1k-9.el8_7",
        "2.36-9+deb12u4",
        "1.0.0.0",
        "1.2.3-r4",
        "1.0-r0",
    ];

    #[test]
    fn agrees_with_dpkg_compare_versions() {
        if !has_tool("dpkg", &["--version"]) {
            return;
        }
        let dpkg = |a: &str, op: &str, b: &str| {
            std::process::Command::new("dpkg")
                .args(["--compare-versions", a, op, b])
                .output()
                .expect("dpkg runs")
        };
        // Only versions dpkg accepts without a warning (`^` and `_` are
        // not Debian syntax).
        let valid: Vec<&str> = TRICKY
            .iter()
            .copied()
            .filter(|v| dpkg(v, "eq", v).stderr.is_empty())
            .collect();
        assert!(valid.len() > 30, "{valid:?}");
        let mut checked = 0;
        for a in &valid {
            for b in &valid {
                let truth = if dpkg(a, "lt", b).status.success() {
                    Ordering::Less
                } else if dpkg(a, "eq", b).status.success() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                };
                assert_eq!(
                    compare_versions(a, b),
                    truth,
                    "{a} vs {b}, as dpkg --compare-versions says"
                );
                checked += 1;
            }
        }
        assert!(checked > 900, "{checked}");
    }

    fn constraint(text: &str) -> VersionConstraint {
        text.parse().unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    #[test]
    fn debian_policy_examples() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Less);
        assert_eq!(cmp("1:0.9", "2.0"), Greater);
        assert_eq!(cmp("2.0-1", "2.0-2"), Less);
        assert_eq!(cmp("1.2.10", "1.2.9"), Greater);
        assert_eq!(cmp("9.2p1-2+deb12u3", "9.2p1-2+deb12u2"), Greater);
        // The policy's tilde example: ~~ < ~~a < ~ < (empty) < a.
        let ordered = ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn equality() {
        assert_eq!(cmp("1.0", "1.0"), Equal);
        assert_eq!(cmp("1.01", "1.1"), Equal);
        assert_eq!(cmp("0:1.0", "1.0"), Equal);
        assert_eq!(cmp("00:1.0", "1.0"), Equal);
        assert_eq!(cmp("1.0-0", "1.0"), Equal);
        assert_eq!(cmp(" 1.0 ", "1.0"), Equal);
        assert_eq!(cmp("", ""), Equal);
        assert_eq!(cmp("", "0"), Equal);
    }

    #[test]
    fn epochs() {
        assert_eq!(cmp("1:1.0", "1.0"), Greater);
        assert_eq!(cmp("2:0", "10:0"), Less);
        assert_eq!(cmp("1:9.9", "2:0.1"), Less);
        // Epochs beyond u64 compare as numbers without overflow.
        assert_eq!(cmp("99999999999999999999999:1", "99999999999999999999998:2"), Greater);
        // Not an epoch: the colon is part of the upstream version.
        assert_eq!(cmp("a:1", "a:2"), Less);
        assert_eq!(cmp(":1", "0"), Greater);
    }

    #[test]
    fn revisions() {
        assert_eq!(cmp("1.0-1", "1.0"), Greater);
        assert_eq!(cmp("1.0-10", "1.0-9"), Greater);
        assert_eq!(cmp("1.0-1ubuntu1", "1.0-1"), Greater);
        assert_eq!(cmp("1.0-1~bpo12+1", "1.0-1"), Less);
        // The revision is after the last hyphen.
        assert_eq!(cmp("1.0-beta-2", "1.0-beta-10"), Less);
        assert_eq!(cmp("1.0-beta-2", "1.0-alpha-9"), Greater);
        // Upstream first, then the revision.
        assert_eq!(cmp("1.1-1", "1.0-9"), Greater);
    }

    #[test]
    fn numbers_and_letters() {
        assert_eq!(cmp("1.10", "1.9"), Greater);
        assert_eq!(cmp("10", "9"), Greater);
        assert_eq!(cmp("1.0", "1"), Greater);
        assert_eq!(cmp("1.0a", "1.0"), Greater);
        assert_eq!(cmp("1.0a", "1.0b"), Less);
        // Letters sort before other characters.
        assert_eq!(cmp("1.0a", "1.0+"), Less);
        assert_eq!(cmp("1.0+", "1.0."), Less);
        assert_eq!(cmp("1a", "1+"), Less);
        // Uppercase letters sort before lowercase (ASCII).
        assert_eq!(cmp("1A", "1a"), Less);
        assert_eq!(cmp("1.0+dfsg", "1.0"), Greater);
        assert_eq!(cmp("2.36-9+deb12u4", "2.36-9+deb12u10"), Less);
        assert_eq!(cmp("1.2.3", "1.2.3.0"), Less);
        // Very long digit runs.
        assert_eq!(cmp("1.000000000000000000000000000010", "1.9"), Greater);
    }

    #[test]
    fn debian_order_of_rpm_and_apk_strings() {
        assert_eq!(cmp("1.1.1k-12.el8_9", "1.1.1k-9.el8_7"), Greater);
        assert_eq!(cmp("8.7p1-38.el9", "8.7p1-34.el9_3.3"), Greater);
        assert_eq!(cmp("3.0.7-27.el9", "3.0.7-25.el9"), Greater);
        assert_eq!(cmp("1:3.0.7-27.el9", "3.1.0-1.el9"), Greater);
        assert_eq!(cmp("9.7_p1-r2", "9.7_p1-r10"), Less);
        assert_eq!(cmp("9.7_p1-r2", "9.6_p1-r9"), Greater);
        assert_eq!(cmp("1.36.1-r15", "1.36.1"), Greater);
    }

    #[test]
    fn never_panics() {
        let odd = [
            "",
            ":",
            "-",
            ":-",
            "1:",
            "-1",
            "~",
            "~~",
            "é",
            "1.é",
            "日本:1",
            "\u{1F600}-\u{1F600}",
            "1:2:3",
            "1-2-3",
            "0000",
            "\0",
            "1\0",
            "::::",
            "----",
        ];
        for a in odd {
            for b in odd {
                let _ = cmp(a, b);
            }
        }
        assert_eq!(cmp("1.é", "1.a"), Greater);
        let long = "9".repeat(100_000);
        assert_eq!(cmp(&long, "1"), Greater);
    }

    #[test]
    fn transitive_on_a_sorted_list() {
        let sorted = [
            "0.9",
            "1.0~alpha",
            "1.0~rc1",
            "1.0",
            "1.0-1",
            "1.0-2",
            "1.0a",
            "1.0+dfsg-1",
            "1.0.1",
            "1.2.9",
            "1.2.10",
            "2.0",
            "1:0.1",
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn parse_operators() {
        let cases = [
            (">= 1.2", VersionOp::Ge, "1.2"),
            (">=1.2", VersionOp::Ge, "1.2"),
            ("  >=   1.2  ", VersionOp::Ge, "1.2"),
            ("<= 1.2", VersionOp::Le, "1.2"),
            ("> 1.2", VersionOp::Gt, "1.2"),
            (">> 2", VersionOp::Gt, "2"),
            ("< 2", VersionOp::Lt, "2"),
            ("<< 2", VersionOp::Lt, "2"),
            ("= 1:2.3-4", VersionOp::Eq, "1:2.3-4"),
            ("== 1", VersionOp::Eq, "1"),
            ("!= 1", VersionOp::Ne, "1"),
            ("!=1", VersionOp::Ne, "1"),
            ("1.2", VersionOp::Eq, "1.2"),
            ("1:9.2p1-2+deb12u3", VersionOp::Eq, "1:9.2p1-2+deb12u3"),
            (">= 1.0~rc1", VersionOp::Ge, "1.0~rc1"),
        ];
        for (text, op, version) in cases {
            assert_eq!(
                constraint(text),
                VersionConstraint {
                    op,
                    version: version.to_string()
                },
                "{text}"
            );
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!("".parse::<VersionConstraint>(), Err(VersionConstraintError::Empty));
        assert_eq!("   ".parse::<VersionConstraint>(), Err(VersionConstraintError::Empty));
        for text in [">=", ">= ", "<<", "!=", "="] {
            assert_eq!(
                text.parse::<VersionConstraint>(),
                Err(VersionConstraintError::MissingVersion(text.to_string())),
                "{text}"
            );
        }
        for text in [
            "=> 1.2",
            "=< 1.2",
            ">>= 1",
            "<> 1",
            "! 1",
            "!1",
            ">= 1 < 2",
            ">= 1, < 2",
            ">=1,<2",
            "1.2 || 2.0",
            "1.2 3",
            ">= 1=2",
            ">= 1\u{7}",
        ] {
            let error = text
                .parse::<VersionConstraint>()
                .expect_err(&format!("{text:?} should not parse"));
            assert!(
                matches!(error, VersionConstraintError::Invalid { ref input, .. } if input == text),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn error_messages_are_clear() {
        let message = |text: &str| text.parse::<VersionConstraint>().unwrap_err().to_string();
        assert!(message("").contains("empty version constraint"));
        assert!(message(">=").contains("no version after the operator"));
        let unknown = message("=> 1.2");
        assert!(unknown.contains("\"=> 1.2\""), "{unknown}");
        assert!(unknown.contains("unknown operator"), "{unknown}");
        assert!(message(">= 1, < 2").contains("not a range"));
        assert!(message(">= 1 < 2").contains("cannot contain blanks"));
    }

    #[test]
    fn matches() {
        assert!(constraint(">= 1.2").matches("1.2"));
        assert!(constraint(">= 1.2").matches("1.10"));
        assert!(!constraint(">= 1.2").matches("1.1"));
        assert!(!constraint(">= 1.2").matches("1.2~rc1"));
        assert!(constraint("> 1.2").matches("1.2-1"));
        assert!(!constraint("> 1.2").matches("1.2"));
        assert!(constraint("<< 2").matches("1.99"));
        assert!(!constraint("<< 2").matches("2"));
        assert!(!constraint("< 2").matches("2.0"));
        assert!(constraint("<= 2").matches("2"));
        // Debian order: `2.0` is later than `2`.
        assert!(!constraint("<= 2").matches("2.0"));
        assert!(constraint(">= 2").matches("2.0"));
        assert!(constraint("= 1.0").matches("0:1.00"));
        assert!(constraint("1.0").matches("1.0-0"));
        assert!(!constraint("1.0").matches("1.0-1"));
        assert!(constraint("!= 1").matches("2"));
        assert!(!constraint("!= 1").matches("0:1-0"));
        assert!(constraint(">= 9.2p1-2+deb12u3").matches("1:9.2p1-2+deb12u3"));
        assert!(constraint(">= 1:9.2p1-2+deb12u3").matches("1:9.2p1-2+deb12u3"));
        assert!(!constraint(">= 1:9.2p1-2+deb12u3").matches("1:9.2p1-2+deb12u2"));
        assert!(!constraint(">= 1:0").matches("99.0"));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(constraint(">=1.2").to_string(), ">= 1.2");
        assert_eq!(constraint("<< 2").to_string(), "< 2");
        assert_eq!(constraint(">> 2").to_string(), "> 2");
        assert_eq!(constraint("1.2").to_string(), "= 1.2");
        assert_eq!(constraint("==1").to_string(), "= 1");
        assert_eq!(constraint("!=1").to_string(), "!= 1");
        // Display then parse gives the same constraint back.
        for text in ["<1", "<=1", "=1", "!=1", ">=1", ">1"] {
            let c = constraint(text);
            assert_eq!(constraint(&c.to_string()), c);
        }
    }
}
