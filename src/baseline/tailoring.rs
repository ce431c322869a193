//! Profiles and tailoring: which rules of the loaded baselines run, and
//! with which values.
//!
//! A **profile** (`profiles/*.yaml`) is a named selection: baselines and a
//! level. A **tailoring** file (`--tailoring FILE`) adapts a run to one
//! site, as SSG tailoring files or InSpec inputs do: it deselects and
//! selects rules by id or glob, changes the level, overrides baseline vars
//! and a rule's `expect` or `severity`. Rules left out stay in the report
//! as `skipped` with the reason, so an auditor sees what was not checked
//! and why. Everything a tailoring names must exist in the baselines: a
//! misspelt id would otherwise silently keep a rule that was meant to go.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::{Baseline, Check, Expect, Severity};
use crate::config_error::{ConfigError, ConfigErrors, Position};
use crate::template::Vars;
use crate::yaml::SourceFile;

/// A profile file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    profile: String,
    description: Option<String>,
    level: u8,
    baselines: Vec<String>,
}

/// A named selection of baselines at a level.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub description: Option<String>,
    /// Rules of a higher level are left out.
    pub level: u8,
    /// The baseline files, resolved against the profile's directory.
    pub baselines: Vec<PathBuf>,
    pub path: PathBuf,
}

impl Profile {
    pub fn load(path: &Path) -> Result<Profile, ConfigErrors> {
        Self::from_source(&SourceFile::read(path)?)
    }

    pub fn from_source(source: &SourceFile) -> Result<Profile, ConfigErrors> {
        let raw: RawProfile = source.parse()?;
        let mut errors = Vec::new();
        if !(1..=2).contains(&raw.level) {
            errors.push(source.error_at(
                first_mention(&source.text, "level:"),
                format!("level {}: expected 1 or 2", raw.level),
            ));
        }
        if raw.baselines.is_empty() {
            errors.push(source.error_at(
                first_mention(&source.text, "baselines:"),
                "the profile names no baseline",
            ));
        }
        let mut baselines = Vec::new();
        for rel in &raw.baselines {
            let path = source.sibling(rel);
            if !path.is_file() {
                errors.push(source.error_at(
                    first_mention(&source.text, rel),
                    format!("baseline {} does not exist", path.display()),
                ));
            }
            baselines.push(path);
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Profile {
            name: raw.profile,
            description: raw.description,
            level: raw.level,
            baselines,
            path: source.path.clone(),
        })
    }
}

/// A tailoring file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTailoring {
    tailoring: String,
    level: Option<u8>,
    #[serde(default)]
    deselect: Vec<String>,
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    vars: Vars,
    #[serde(default)]
    rules: BTreeMap<String, RawOverride>,
}

/// New values for one rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    expect: Option<Expect>,
    severity: Option<Severity>,
}

/// A loaded tailoring file; [`Tailoring::apply`] checks it against the
/// baselines it is used with.
#[derive(Debug)]
pub struct Tailoring {
    raw: RawTailoring,
    source: SourceFile,
}

impl Tailoring {
    pub fn load(path: &Path) -> Result<Tailoring, ConfigErrors> {
        Self::from_source(SourceFile::read(path)?)
    }

    pub fn from_source(source: SourceFile) -> Result<Tailoring, ConfigErrors> {
        let raw: RawTailoring = source.parse()?;
        if let Some(level) = raw.level.filter(|l| !(1..=2).contains(l)) {
            let at = first_mention(&source.text, "level:");
            return Err(ConfigErrors(vec![
                source.error_at(at, format!("level {level}: expected 1 or 2"))
            ]));
        }
        Ok(Tailoring { raw, source })
    }

    pub fn name(&self) -> &str {
        &self.raw.tailoring
    }

    /// The vars it overrides, also for the defaults of the remediation
    /// playbooks `fix` runs, so a tailored value is the one written.
    pub fn vars(&self) -> &Vars {
        &self.raw.vars
    }

    /// Tailors `baselines` in place: the profile's level (or the
    /// tailoring's), then `deselect`, then `select` (which wins, so
    /// `deselect: ["*"]` plus `select: [SSH-*]` runs only the SSH rules),
    /// then vars and rule overrides. Every problem is reported at once.
    pub fn apply(&self, baselines: &mut [Baseline], profile: Option<&Profile>) -> Result<(), ConfigErrors> {
        let raw = &self.raw;
        let who = format!("tailoring {}", self.source.path.display());
        let mut errors = Vec::new();
        if let Some(level) = raw.level {
            select_level(baselines, level, &who);
        } else if let Some(p) = profile {
            select_level(baselines, p.level, &format!("profile {}", p.name));
        }
        for (patterns, deselect) in [(&raw.deselect, true), (&raw.select, false)] {
            for pattern in patterns {
                let Some(matcher) = self.matcher(pattern, &mut errors) else {
                    continue;
                };
                let mut matched = false;
                for rule in baselines.iter_mut().flat_map(|b| &mut b.rules) {
                    if matcher.is_match(&rule.id) {
                        matched = true;
                        rule.excluded = deselect.then(|| format!("deselected by {who}"));
                    }
                }
                if !matched {
                    errors.push(self.error(pattern, format!("no rule of the baselines matches {pattern:?}")));
                }
            }
        }
        for (name, value) in &raw.vars {
            let known = baselines.iter().any(|b| b.vars.contains_key(name));
            if !known {
                errors.push(self.error(name, format!("var {name:?} is not a var of any baseline")));
            }
            for b in baselines.iter_mut().filter(|b| b.vars.contains_key(name)) {
                b.vars.insert(name.clone(), value.clone());
            }
        }
        for (id, o) in &raw.rules {
            let mut found = false;
            for rule in baselines.iter_mut().flat_map(|b| &mut b.rules).filter(|r| &r.id == id) {
                found = true;
                if let Some(severity) = o.severity {
                    rule.severity = severity;
                }
                if let Some(expect) = &o.expect {
                    if let Err(why) = set_expect(&mut rule.check, expect.clone()) {
                        errors.push(self.error(id, format!("rule {id}: {why}")));
                    }
                }
            }
            if !found {
                errors.push(self.error(id, format!("no rule {id:?} in the baselines")));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    fn matcher(&self, pattern: &str, errors: &mut Vec<ConfigError>) -> Option<GlobMatcher> {
        match Glob::new(pattern) {
            Ok(g) => Some(g.compile_matcher()),
            Err(e) => {
                errors.push(self.error(pattern, format!("invalid pattern {pattern:?}: {e}")));
                None
            }
        }
    }

    fn error(&self, mention: &str, message: String) -> ConfigError {
        self.source.error_at(first_mention(&self.source.text, mention), message)
    }
}

/// Leaves out rules above `level`, naming who asked for it.
pub fn select_level(baselines: &mut [Baseline], level: u8, who: &str) {
    for rule in baselines.iter_mut().flat_map(|b| &mut b.rules) {
        if rule.docs.level > level {
            rule.excluded = Some(format!("level {} rule, {who} runs level {level}", rule.docs.level));
        }
    }
}

/// Replaces the `expect` of a check that has one.
fn set_expect(check: &mut Check, new: Expect) -> Result<(), String> {
    if let Expect::Regex(re) = &new {
        if !re.contains("{{") {
            regex::Regex::new(re).map_err(|e| format!("invalid regex: {e}"))?;
        }
    }
    match check {
        Check::Setting { expect, absent, .. } | Check::Line { expect, absent, .. } if !*absent => *expect = Some(new),
        Check::Sysctl { expect, .. } | Check::Command { expect, .. } => *expect = Some(new),
        _ => return Err("its check takes no `expect`".into()),
    }
    Ok(())
}

/// The first line (outside `#` comments) that mentions `text`, for errors
/// about a name the file wrote in a list or as a key.
fn first_mention(source: &str, text: &str) -> Position {
    for (i, line) in source.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') {
            continue;
        }
        if let Some(col) = code.find(text) {
            return Position {
                line: i + 1,
                column: code[..col].chars().count() + 1,
            };
        }
    }
    Position { line: 1, column: 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baselines() -> Vec<Baseline> {
        let text = "name: b\nvars: {max_tries: 4}\nrules:\n  - {id: SSH-A, sysctl: a.a, expect: '1'}\n  - {id: SSH-B, sysctl: a.b, expect: '1', level: 2}\n  - {id: NET-C, sysctl: a.c, expect: {max: '{{ max_tries }}'}}\n  - {id: SVC-D, service: x, state: running}\n";
        vec![Baseline::from_source(&SourceFile {
            path: "b.yaml".into(),
            text: text.into(),
        })
        .unwrap()]
    }

    fn tailor(text: &str) -> Result<Vec<Baseline>, String> {
        let mut b = baselines();
        let t = Tailoring::from_source(SourceFile {
            path: "t.yaml".into(),
            text: text.into(),
        })
        .map_err(|e| e.to_string())?;
        t.apply(&mut b, None).map_err(|e| e.to_string())?;
        Ok(b)
    }

    fn excluded(b: &[Baseline]) -> Vec<(&str, &str)> {
        b[0].rules
            .iter()
            .filter_map(|r| Some((r.id.as_str(), r.excluded.as_deref()?)))
            .collect()
    }

    #[test]
    fn deselect_then_select_then_level() {
        let b = tailor("tailoring: t\ndeselect: ['SSH-*', NET-C]\nselect: [SSH-B]\n").unwrap();
        assert_eq!(
            excluded(&b),
            [
                ("SSH-A", "deselected by tailoring t.yaml"),
                ("NET-C", "deselected by tailoring t.yaml")
            ]
        );
        let b = tailor("tailoring: t\nlevel: 1\n").unwrap();
        assert_eq!(excluded(&b), [("SSH-B", "level 2 rule, tailoring t.yaml runs level 1")]);
        // A selected rule runs whatever its level.
        let b = tailor("tailoring: t\nlevel: 1\nselect: [SSH-B]\n").unwrap();
        assert!(excluded(&b).is_empty());
    }

    #[test]
    fn vars_and_values_are_overridden() {
        let b = tailor("tailoring: t\nvars: {max_tries: 3}\nrules:\n  SSH-A: {expect: '0', severity: high}\n").unwrap();
        assert_eq!(b[0].vars["max_tries"], serde_yaml::Value::from(3));
        assert_eq!(b[0].rules[0].severity, Severity::High);
        assert!(matches!(&b[0].rules[0].check, Check::Sysctl { expect: Some(Expect::Equals(v)), .. } if v == "0"));
    }

    #[test]
    fn unknown_names_are_errors_at_their_line() {
        let e = tailor("tailoring: t\n# SSH-X in a comment\ndeselect:\n  - SSH-A\n  - SSH-X\n").unwrap_err();
        assert!(
            e.starts_with("t.yaml:5:5: no rule of the baselines matches \"SSH-X\""),
            "{e}"
        );
        let e = tailor("tailoring: t\nrules:\n  NOPE: {severity: low}\n").unwrap_err();
        assert!(e.starts_with("t.yaml:3:3: no rule \"NOPE\""), "{e}");
        let e = tailor("tailoring: t\nvars: {max_trys: 3}\n").unwrap_err();
        assert!(e.starts_with("t.yaml:2:8: var \"max_trys\""), "{e}");
        let e = tailor("tailoring: t\nrules:\n  SVC-D: {expect: x}\n").unwrap_err();
        assert!(e.contains("takes no `expect`"), "{e}");
        let e = tailor("tailoring: t\nselekt: [SSH-A]\n").unwrap_err();
        assert!(e.starts_with("t.yaml:2:1:") && e.contains("selekt"), "{e}");
        let e = tailor("tailoring: t\nlevel: 3\n").unwrap_err();
        assert!(e.starts_with("t.yaml:2:1: level 3"), "{e}");
        let e = tailor("tailoring: t\nrules:\n  SSH-A: {expect: {regex: '('}}\n").unwrap_err();
        assert!(e.contains("invalid regex"), "{e}");
    }

    #[test]
    fn profiles_name_existing_baselines_and_a_level() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let load = |text: &str| {
            Profile::from_source(&SourceFile {
                path: dir.join("p.yaml"),
                text: text.into(),
            })
        };
        let p = load("profile: p\nlevel: 1\nbaselines: [../baselines/ssh-hardening.yaml]\n").unwrap();
        assert_eq!(p.baselines, [dir.join("../baselines/ssh-hardening.yaml")]);
        let e = load("profile: p\nlevel: 1\nbaselines: [../baselines/nope.yaml]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.yaml:3:13: baseline") && e.contains("does not exist"),
            "{e}"
        );
        let e = load("profile: p\nlevel: 0\nbaselines: [../baselines/ssh-hardening.yaml]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.yaml:2:1: level 0"), "{e}");
    }
}
