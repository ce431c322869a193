//! Baselines: named sets of rules describing how hosts should be configured.

mod check;
pub mod docs;
pub mod expect;
mod remediation;
mod rule;
pub mod select;
pub mod tailoring;
pub mod when;

use rule::RuleBuilder;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use docs::{References, RuleDocs};
pub use expect::Expect;
pub use when::When;

use crate::config_error::{find_key_value, ConfigErrors};
use crate::inventory::HostPattern;
use crate::template::{Renderer, Vars};
use crate::version::VersionConstraint;
use crate::yaml::SourceFile;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    Running,
    Stopped,
    Enabled,
    Disabled,
}

/// Which value of a `sysctl` rule's key is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SysctlCheck {
    /// The running kernel's, from `/proc/sys`.
    Live,
    /// What the next boot loads: the last assignment in the sysctl files.
    Persisted,
    /// Both, each against the expectation.
    #[default]
    Both,
}

/// Where a `setting` rule on an sshd configuration reads the value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SshdSource {
    /// The configuration files, read as sshd reads them.
    #[default]
    Files,
    /// The host's own `sshd -T [-C …]`.
    Daemon,
}

/// Whether sshd's compiled-in default counts for a key that no line of
/// an sshd configuration sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// The default is the value, as it is for the daemon.
    #[default]
    Counts,
    /// The key must be written: the default fails the rule.
    Fails,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageState {
    Installed,
    Absent,
}

/// `remediation:` as written: a playbook path (the whole playbook), or the
/// playbook and the names of the steps that fix this rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawRemediation {
    Playbook(String),
    Steps(RawRemediationSteps),
    Manual(RawManual),
}

/// `remediation: {manual: TEXT}`: a person fixes it; `fix` runs nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManual {
    manual: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemediationSteps {
    playbook: String,
    steps: Vec<String>,
}

/// What `fix` runs where a rule fails: a playbook, whole or only the named
/// steps (so settings other rules already pass on are never rewritten).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remediation {
    pub playbook: PathBuf,
    /// Step names, checked against the playbook at load time; `None` is
    /// every step.
    pub steps: Option<Vec<String>>,
}

/// A rule as written: every field any subject may use. [`Baseline::load`]
/// turns it into a [`Check`] and rejects combinations that make no sense.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: Option<String>,
    #[serde(default)]
    severity: Severity,
    rationale: Option<String>,
    remediation: Option<RawRemediation>,
    references: Option<References>,
    manual_check: Option<String>,
    level: Option<u8>,
    hosts: Option<String>,
    /// Labels for `--tags`/`--skip-tags`.
    #[serde(default)]
    tags: Vec<String>,
    when: Option<serde_yaml::Value>,
    file: Option<String>,
    setting: Option<String>,
    line: Option<String>,
    absent: Option<bool>,
    content: Option<String>,
    template: Option<String>,
    exists: Option<bool>,
    mode: Option<serde_yaml::Value>,
    max_mode: Option<serde_yaml::Value>,
    owner: Option<String>,
    group: Option<String>,
    sysctl: Option<String>,
    command: Option<String>,
    exit_code: Option<i32>,
    service: Option<String>,
    package: Option<String>,
    state: Option<String>,
    version: Option<String>,
    expect: Option<Expect>,
    check: Option<String>,
    #[serde(rename = "match")]
    connection: Option<RawConnection>,
    source: Option<String>,
    default: Option<String>,
}

/// A `setting` rule's `match:` as written: one connection, the fields of
/// `sshd -T -C`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    user: Option<String>,
    host: Option<String>,
    addr: Option<String>,
    laddr: Option<String>,
    lport: Option<u16>,
    rdomain: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    name: String,
    description: Option<String>,
    #[serde(default)]
    vars: Vars,
    when: Option<serde_yaml::Value>,
    sshd: Option<RawSshdDefaults>,
    rules: Vec<RawRule>,
}

/// `sshd:` at the top of a baseline: `source:` and `default:` for each of
/// its `setting` rules on an sshd configuration that does not say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSshdDefaults {
    source: Option<String>,
    default: Option<String>,
}

impl RawSshdDefaults {
    /// `rule` with the baseline's `source:` and `default:` where it has
    /// none and they apply: a `setting` rule with `expect` on an sshd
    /// configuration (`source: daemon` needs an `expect`).
    fn fill(&self, rule: &RawRule) -> Option<RawRule> {
        let file = rule.file.as_deref()?;
        if rule.setting.is_none() || rule.expect.is_none() || !crate::conftext::include::follows_includes(file) {
            return None;
        }
        let mut filled = rule.clone();
        filled.source = filled.source.or_else(|| self.source.clone());
        filled.default = filled.default.or_else(|| self.default.clone());
        Some(filled)
    }

    /// What is wrong with the values, if anything.
    fn check(&self) -> Option<String> {
        match (self.source.as_deref(), self.default.as_deref()) {
            (Some(s), _) if s != "files" && s != "daemon" => {
                Some(format!("sshd: invalid source {s:?}: files or daemon"))
            }
            (_, Some(d)) if d != "counts" && d != "fails" => {
                Some(format!("sshd: invalid default {d:?}: counts or fails"))
            }
            _ => None,
        }
    }
}

/// What a rule checks, with everything it needs to do so.
#[derive(Debug, Clone)]
pub enum Check {
    Setting {
        file: String,
        key: String,
        expect: Option<Expect>,
        /// `absent: true`: the key is set nowhere the reader looks (for
        /// sshd: no included file, no Match block), as `rectify capture`
        /// writes for a key the golden host leaves unset.
        absent: bool,
        /// `match:`: judge the value this one connection gets, not every
        /// connection's.
        connection: Option<crate::conftext::sshd_match::Connection>,
        /// `source:` (sshd configurations only).
        source: SshdSource,
        /// `default:` (sshd configurations only).
        default: DefaultPolicy,
    },
    Line {
        file: String,
        pattern: regex::Regex,
        expect: Option<Expect>,
        absent: bool,
    },
    Content {
        file: String,
        expected: String,
    },
    Metadata(Metadata),
    Sysctl {
        key: String,
        expect: Option<Expect>,
        check: SysctlCheck,
    },
    Command {
        command: String,
        expect: Option<Expect>,
        exit_code: Option<i32>,
    },
    Service {
        name: String,
        state: ServiceState,
    },
    Package {
        name: String,
        state: PackageState,
        version: Option<VersionConstraint>,
    },
}

#[derive(Debug, Clone)]
pub struct Metadata {
    pub file: String,
    pub exists: Option<bool>,
    pub mode: Option<u32>,
    pub max_mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub rationale: Option<String>,
    pub remediation: Option<Remediation>,
    /// References, manual check, manual remediation, level.
    pub docs: RuleDocs,
    pub hosts: Option<HostPattern>,
    /// `tags:`, for narrowing a run with `--tags`/`--skip-tags`.
    pub tags: Vec<String>,
    /// Applies only where this holds; skipped elsewhere.
    pub when: Option<When>,
    /// Left out of this run by a profile's level or a tailoring file: the
    /// rule is reported `skipped` with this reason and nothing is gathered.
    pub excluded: Option<String>,
    pub check: Check,
}

#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    pub description: Option<String>,
    pub vars: Vars,
    /// The whole baseline applies only where this holds.
    pub when: Option<When>,
    pub rules: Vec<Rule>,
    pub path: PathBuf,
}

/// Whether a baseline's `remediation:` playbooks must resolve. An audit
/// never runs them, so it ignores them: a baseline copied away from its
/// playbooks (`/etc/rectify/baselines`) still audits; `fix`, `validate`
/// and `capture` check them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remediations {
    Check,
    Ignore,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, ConfigErrors> {
        Self::load_with(path, Remediations::Check)
    }

    pub fn load_with(path: &Path, remediations: Remediations) -> Result<Baseline, ConfigErrors> {
        let source = SourceFile::read(path)?;
        Self::from_source_with(&source, remediations)
    }

    pub fn from_source(source: &SourceFile) -> Result<Baseline, ConfigErrors> {
        Self::from_source_with(source, Remediations::Check)
    }

    pub fn from_source_with(source: &SourceFile, remediations: Remediations) -> Result<Baseline, ConfigErrors> {
        let raw: RawBaseline = source.parse()?;
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let renderer = Renderer::default();

        for raw_rule in &raw.rules {
            let nth = seen.entry(raw_rule.id.as_str()).or_insert(0);
            let at = find_key_value(&source.text, "id", &raw_rule.id, *nth);
            *nth += 1;
            if *nth > 1 {
                errors.push(source.error_at(at, format!("duplicate rule id {:?}", raw_rule.id)));
                continue;
            }
            let filled = raw
                .sshd
                .as_ref()
                .filter(|d| d.check().is_none())
                .and_then(|d| d.fill(raw_rule));
            let builder = RuleBuilder {
                source,
                raw: filled.as_ref().unwrap_or(raw_rule),
                renderer: &renderer,
                rule_at: at,
                remediations,
            };
            match builder.build() {
                Ok(rule) => rules.push(rule),
                Err(mut e) => errors.append(&mut e),
            }
        }
        let when = match raw.when.as_ref().map(When::parse) {
            Some(Err(e)) => {
                // Placed at the baseline's own `when:` (not indented), else
                // at the key the error names.
                let at = top_level_key(&source.text, "when")
                    .filter(|_| e.key == "when")
                    .unwrap_or_else(|| find_key_value(&source.text, &e.key, "", 0));
                errors.push(source.error_at(at, e.to_string()));
                None
            }
            Some(Ok(w)) => Some(w),
            None => None,
        };
        if let Some(message) = raw.sshd.as_ref().and_then(RawSshdDefaults::check) {
            let at = top_level_key(&source.text, "sshd").unwrap_or_else(|| find_key_value(&source.text, "sshd", "", 0));
            errors.push(source.error_at(at, message));
        }
        if raw.rules.is_empty() {
            errors.push(source.error_at(
                find_key_value(&source.text, "rules", "", 0),
                "the baseline has no rules",
            ));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Baseline {
            name: raw.name,
            description: raw.description,
            vars: raw.vars,
            when,
            rules,
            path: source.path.clone(),
        })
    }
}

/// Where a top-level (unindented) `key:` is.
fn top_level_key(text: &str, key: &str) -> Option<crate::config_error::Position> {
    let prefix = format!("{key}:");
    text.lines()
        .position(|l| l.starts_with(&prefix))
        .map(|i| crate::config_error::Position { line: i + 1, column: 1 })
}

/// "0640", "640", "4755" → the mode bits; anything else is `None`.
pub fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return None;
    }
    u32::from_str_radix(digits, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Baseline, ConfigErrors> {
        Baseline::from_source(&SourceFile {
            path: "b.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn a_baselines_sshd_defaults_fill_its_sshd_setting_rules() {
        let b = load(
            r#"
name: t
sshd: {source: daemon, default: fails}
rules:
  - {id: A, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: "no"}
  - {id: B, file: /etc/ssh/sshd_config, setting: X11Forwarding, expect: "no", source: files, default: counts}
  - {id: C, file: /etc/ssh/sshd_config, setting: Banner}
  - {id: D, file: /etc/app.conf, setting: x, expect: "1"}
"#,
        )
        .unwrap();
        let of = |i: usize| match &b.rules[i].check {
            Check::Setting { source, default, .. } => (*source, *default),
            other => panic!("{other:?}"),
        };
        assert_eq!(of(0), (SshdSource::Daemon, DefaultPolicy::Fails));
        assert_eq!(of(1), (SshdSource::Files, DefaultPolicy::Counts));
        // Without expect (presence) and outside sshd: untouched.
        assert_eq!(of(2), (SshdSource::Files, DefaultPolicy::Counts));
        assert_eq!(of(3), (SshdSource::Files, DefaultPolicy::Counts));
        let e = load("name: t\nsshd: {source: kernel}\nrules:\n  - {id: A, file: /etc/ssh/sshd_config, setting: Port, expect: '22'}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.yaml:2:1") && e.contains("files or daemon") && !e.contains("rule A"),
            "{e}"
        );
    }

    #[test]
    fn every_subject_loads() {
        let b = load(
            r#"
name: t
rules:
  - {id: A, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: [no, prohibit-password]}
  - {id: B, file: /etc/x, line: '^x=(\d+)', expect: {min: 2}}
  - {id: C, file: /etc/x, content: "a\n"}
  - {id: D, file: /etc/shadow, max_mode: "0640", owner: root}
  - {id: E, sysctl: kernel.randomize_va_space, expect: "2"}
  - {id: F, command: "echo hi", expect: hi, exit_code: 0}
  - {id: G, service: ssh, state: running}
  - {id: H, package: openssh-server, state: installed, version: ">= 1:9"}
"#,
        )
        .unwrap();
        assert_eq!(b.rules.len(), 8);
        assert!(matches!(
            b.rules[3].check,
            Check::Metadata(Metadata {
                max_mode: Some(0o640),
                ..
            })
        ));
        assert_eq!(b.rules[0].severity, Severity::Medium);
    }

    fn first_error(text: &str) -> String {
        load(text).unwrap_err().0[0].to_string()
    }

    #[test]
    fn duplicate_ids_point_at_the_second() {
        let e = first_error(
            "name: t\nrules:\n  - {id: A, sysctl: a.b, expect: '1'}\n  - id: A\n    sysctl: a.c\n    expect: '1'\n",
        );
        assert!(e.starts_with("b.yaml:4:5: duplicate rule id \"A\""), "{e}");
    }

    #[test]
    fn bad_regex_points_at_its_line() {
        let e = first_error("name: t\nrules:\n  - id: A\n    file: /etc/x\n    line: '(unclosed'\n");
        assert!(e.starts_with("b.yaml:5:5: rule A: invalid regex"), "{e}");
    }

    #[test]
    fn bad_modes_are_rejected() {
        let e = first_error("name: t\nrules:\n  - id: A\n    file: /etc/x\n    mode: \"0999\"\n");
        assert!(e.starts_with("b.yaml:5:5: rule A: invalid mode"), "{e}");
        // YAML reads `640` as a number; `0640` (not a YAML 1.2 integer) stays text.
        let e = first_error("name: t\nrules:\n  - id: A\n    file: /etc/x\n    mode: 640\n");
        assert!(e.contains("quoted octal"), "{e}");
        let b = load("name: t\nrules:\n  - id: A\n    file: /etc/x\n    mode: 0640\n").unwrap();
        assert!(matches!(
            b.rules[0].check,
            Check::Metadata(Metadata { mode: Some(0o640), .. })
        ));
    }

    #[test]
    fn unknown_fields_and_subject_mistakes() {
        let e = first_error("name: t\nrules:\n  - id: A\n    sysctl: a.b\n    expekt: '1'\n");
        assert!(e.starts_with("b.yaml:5:5:") && e.contains("expekt"), "{e}");
        let e = first_error("name: t\nrules:\n  - id: A\n    sysctl: a.b\n    command: x\n");
        assert!(e.contains("2 subjects"), "{e}");
        let e = first_error("name: t\nrules:\n  - id: A\n    service: ../../bin/echo\n    state: running\n");
        assert!(e.contains("invalid service name"), "{e}");
        let e = first_error("name: t\nrules:\n  - id: A\n    service: ssh\n    state: up\n");
        assert!(e.contains("invalid state"), "{e}");
        let e = first_error("name: t\nrules:\n  - {id: 'A B', sysctl: a.b, expect: '1'}\n");
        assert!(e.contains("[A-Za-z0-9._-]+"), "{e}");
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = load(
            "name: t\nrules:\n  - {id: A, file: rel, setting: K, expect: x}\n  - {id: B, sysctl: 'a;b', expect: '1'}\n",
        )
        .unwrap_err();
        assert_eq!(errors.0.len(), 2, "{errors}");
    }

    #[test]
    fn when_on_rules_and_baselines() {
        let b = load(
            "name: t\nwhen: {file: /etc/ssh/sshd_config}\nrules:\n  - {id: A, when: {os: [debian, ubuntu]}, sysctl: a.b, expect: '1'}\n",
        )
        .unwrap();
        assert_eq!(b.when, Some(When::File("/etc/ssh/sshd_config".into())));
        assert_eq!(b.rules[0].when, Some(When::Os(vec!["debian".into(), "ubuntu".into()])));
        // Errors point at the condition at fault, or at `when:` itself.
        let e = first_error("name: t\nrules:\n  - id: A\n    when: {os: debian, osx: 1}\n    sysctl: a.b\n");
        assert!(
            e.starts_with("b.yaml:4:24: rule A: when: unknown condition `osx`"),
            "{e}"
        );
        let e = first_error("name: t\nrules:\n  - id: A\n    sysctl: a.b\n    when: []\n");
        assert!(e.starts_with("b.yaml:5:5: rule A: when: an empty list"), "{e}");
        let e = first_error("name: t\nrules:\n  - {id: A, sysctl: a.b, when: {file: x}}\nwhen: 3\n");
        assert!(e.starts_with("b.yaml:3:") && e.contains("absolute"), "{e}");
        let e = first_error("name: t\nrules:\n  - {id: A, sysctl: a.b, when: {file: /x}}\nwhen: 3\n");
        assert!(e.starts_with("b.yaml:4:1: when: expected a mapping"), "{e}");
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0640"), Some(0o640));
        assert_eq!(parse_mode("4755"), Some(0o4755));
        assert_eq!(parse_mode("644"), Some(0o644));
        assert_eq!(parse_mode("0o600"), Some(0o600));
        assert_eq!(parse_mode("8"), None);
        assert_eq!(parse_mode("01777x"), None);
        assert_eq!(parse_mode("77777"), None);
    }
}
