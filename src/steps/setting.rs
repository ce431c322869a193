//! `setting:` — one `KEY VALUE` setting edited in place. In an sshd
//! configuration the edit goes where sshd reads the key, following
//! `Include` (on the line sshd reads, whatever alias of the keyword it
//! uses), and every conditional `Match` block that gives its connections
//! another value is edited too, on its own line, so that every connection
//! gets the value; the step is refused, naming the block, when that would
//! not take effect. `keep:` (an `expect:` of a rule) leaves a value that
//! already satisfies it, so a stricter one is not loosened; in an sshd
//! configuration that includes sshd's own default for a key no line sets,
//! and an algorithm list is judged by the list sshd uses: an edit of the
//! release's default (`Ciphers -3des-cbc`) resolved as the audit resolves it.

use serde::Deserialize;

use super::{Check, Render, RenderError, Step, StepKind, StepSyntax};
use crate::baseline::Expect;
use crate::conftext::edit::{set_setting, set_sshd_setting_at};
use crate::conftext::include::follows_includes;
use crate::conftext::setting::{find_setting, SettingDialect};
use crate::conftext::sshd_defaults::Defaults;
use crate::conftext::sshd_keywords::canonical;
use crate::conftext::sshd_values::{is_algorithm_list, resolve_list};
use crate::evaluate::expect::{compare, ValueSemantics};
use crate::steps::plan::{Facts, Need, Needs, PlanCx, PlanError};
use crate::template::{Renderer, Vars};

#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub file: String,
    pub key: String,
    pub value: String,
    /// Values that already do and stay as they are.
    pub keep: Option<Expect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSetting {
    file: String,
    key: String,
    value: serde_yaml::Value,
    #[serde(default)]
    keep: Option<serde_yaml::Value>,
}

impl StepSyntax for Setting {
    const KEY: &'static str = "setting";
    const TAKES_VALIDATE: bool = true;
    type Value = RawSetting;
    type Extra = ();

    fn check(s: &RawSetting, _: &(), cx: &mut Check<'_>) -> Option<Self> {
        cx.path("file", &s.file);
        cx.syntax("key", &s.key);
        if s.key.trim().is_empty() || s.key.contains(char::is_whitespace) || s.key.contains('=') {
            cx.push("key", format!("invalid setting key {:?}", s.key));
        }
        let value = cx.scalar("value", &s.value);
        if value.contains('\n') {
            cx.push("value", "a setting value is one line");
        }
        let keep = match s.keep.clone().map(serde_yaml::from_value::<Expect>) {
            None => None,
            Some(Ok(e)) => {
                strings(&e).iter().for_each(|t| cx.syntax("keep", t));
                Some(e)
            }
            Some(Err(e)) => {
                cx.push("keep", format!("invalid `keep` (an `expect:` of a rule): {e}"));
                None
            }
        };
        Some(Setting {
            file: s.file.clone(),
            key: s.key.clone(),
            value,
            keep,
        })
    }
}

/// The texts of an expectation, which may be templates.
fn strings(e: &Expect) -> Vec<&str> {
    match e {
        Expect::Equals(s) | Expect::Regex(s) | Expect::Min(s) | Expect::Max(s) | Expect::Not(s) => vec![s],
        Expect::Range { min, max } => vec![min, max],
        Expect::AnyOf(v) | Expect::Contains(v) | Expect::SubsetOf(v) | Expect::NoneOf(v) => {
            v.iter().map(String::as_str).collect()
        }
    }
}

/// `e` with its texts rendered for the host.
fn render_expect(e: &Expect, r: &Render<'_>) -> Result<Expect, RenderError> {
    let all = |v: &[String]| v.iter().map(|s| r.text(s)).collect::<Result<Vec<_>, _>>();
    Ok(match e {
        Expect::Equals(s) => Expect::Equals(r.text(s)?),
        Expect::Regex(s) => Expect::Regex(r.text(s)?),
        Expect::Min(s) => Expect::Min(r.text(s)?),
        Expect::Max(s) => Expect::Max(r.text(s)?),
        Expect::Not(s) => Expect::Not(r.text(s)?),
        Expect::Range { min, max } => Expect::Range {
            min: r.text(min)?,
            max: r.text(max)?,
        },
        Expect::AnyOf(v) => Expect::AnyOf(all(v)?),
        Expect::Contains(v) => Expect::Contains(all(v)?),
        Expect::SubsetOf(v) => Expect::SubsetOf(all(v)?),
        Expect::NoneOf(v) => Expect::NoneOf(all(v)?),
    })
}

impl Setting {
    /// Whether `current` may stay: it is the value, or `keep` accepts
    /// `judged`, the value sshd uses for it (see [`judged`]). The
    /// expectation was rendered already; a bad one (a regex that does not
    /// compile) keeps nothing.
    fn stays(&self, current: &str, judged: &str, semantics: ValueSemantics) -> bool {
        let (renderer, vars) = (Renderer::default(), Vars::new());
        let holds = |e: &Expect, v: &str| compare(e, Some(v), &renderer, &vars, semantics).is_ok_and(|c| c.pass);
        holds(&Expect::Equals(self.value.clone()), current) || self.keep.as_ref().is_some_and(|e| holds(e, judged))
    }

    /// Whether sshd's compiled-in default for `key` stays, for a key no
    /// line sets: with `keep:` only, and only when the host's release has
    /// a table of its own (an assumed table could be wrong for it), judged
    /// as the audit judges an unset key (`no (default)`).
    fn default_stays(&self, facts: &Facts, key: &str) -> bool {
        let Some(defaults) = own_defaults(facts) else {
            return false;
        };
        let keyword = canonical(key.trim()).to_ascii_lowercase();
        let semantics = if keyword == "maxstartups" {
            ValueSemantics::MaxStartups
        } else {
            ValueSemantics::Sshd
        };
        self.keep.is_some()
            && defaults
                .table
                .get(&keyword)
                .is_some_and(|d| self.stays(d, d, semantics))
    }
}

/// The host's defaults table when it is its release's own (an assumed
/// table could be wrong for it, so nothing is kept on its word).
fn own_defaults(facts: &Facts) -> Option<Defaults> {
    facts.sshd_defaults.filter(|d| d.assumed.is_none())
}

/// The value `keep:` judges for an sshd line `key value`: for an
/// algorithm list that edits the default (`+`, `-`, `^`), the list sshd
/// uses, resolved against the release's own default list as the audit
/// resolves it; anything else, or an edit rectify cannot resolve (no
/// table of the host's own), is the text as written, which `keep:` does
/// not accept for an edit, so the line is written as before.
fn judged(defaults: Option<&Defaults>, key: &str, value: &str) -> String {
    let edits = value.trim_start().starts_with(['+', '-', '^']);
    let resolved = defaults.filter(|_| edits && is_algorithm_list(key)).and_then(|d| {
        let keyword = canonical(key.trim()).to_ascii_lowercase();
        resolve_list(value, d.table.get(&keyword)).ok()
    });
    resolved.unwrap_or_else(|| value.to_string())
}

impl StepKind for Setting {
    fn kind(&self) -> &'static str {
        "setting"
    }

    fn target(&self) -> String {
        format!("{} ({})", self.file, self.key)
    }

    fn default_name(&self) -> String {
        format!("{} in {}", self.key, self.file)
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        let value = r.text(&self.value)?;
        if value.contains('\n') {
            return Err(RenderError::MultilineValue);
        }
        Ok(Box::new(Setting {
            file: r.path(&self.file)?,
            key: r.text(&self.key)?,
            value,
            keep: self.keep.as_ref().map(|e| render_expect(e, r)).transpose()?,
        }))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        // An sshd configuration with its includes: the effective
        // occurrence may be in an included file, which the plan edits.
        if follows_includes(&self.file) {
            needs.push(Need::SshdConfig(self.file.clone()));
            // With `keep:`, a key set nowhere is judged by sshd's default.
            if self.keep.is_some() {
                needs.push(Need::SshdVersion);
            }
        } else {
            needs.file(&self.file);
        }
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        let Setting { file, key, value, .. } = self;
        if !follows_includes(file) {
            let dialect = SettingDialect::for_path(file);
            let semantics = match dialect {
                SettingDialect::Sshd => ValueSemantics::Sshd,
                _ => ValueSemantics::Exact,
            };
            if self.keep.is_some() {
                let current = find_setting(&cx.text_of(file)?, key, dialect);
                if current.as_deref().is_some_and(|c| self.stays(c, c, semantics)) {
                    return Ok(false);
                }
            }
            return cx.edit_text(step, index, file, |text| set_setting(text, key, value, dialect));
        }
        let tree = cx
            .facts()
            .sshd
            .get(file)
            .ok_or_else(|| PlanError::NotGathered(file.clone()))?;
        let refuse = |why: String| PlanError::Step {
            name: step.name.clone(),
            why,
        };
        let defaults = own_defaults(cx.facts());
        let stays = |v: &str| self.stays(v, &judged(defaults.as_ref(), key, v), ValueSemantics::Sshd);
        // sshd reads the first occurrence, following `Include` (the line
        // may spell the keyword as an alias, or sit in a `Match all`
        // block), and each conditional Match block that sets the key gives
        // its connections its own first occurrence: each such line that
        // does not stay is edited where it is, keeping its spelling.
        let before = cx.resolved(step, tree, file, key)?;
        let mut lines: Vec<(String, usize)> = Vec::new();
        let wrong = before
            .global
            .iter()
            .chain(before.blocks.iter().map(|b| &b.value))
            .filter(|at| !stays(&at.value));
        for at in wrong {
            if !lines.contains(&(at.file.clone(), at.line)) {
                lines.push((at.file.clone(), at.line));
            }
        }
        let mut changed = false;
        let mut files: Vec<&String> = lines.iter().map(|(f, _)| f).collect();
        files.dedup();
        for target in files {
            let at: Vec<usize> = lines.iter().filter(|(f, _)| f == target).map(|(_, l)| *l).collect();
            changed |= cx.edit_text(step, index, target, |text| {
                at.iter()
                    .fold(text.to_string(), |t, line| set_sshd_setting_at(&t, *line, key, value))
            })?;
        }
        if before.global.is_none() && !self.default_stays(cx.facts(), key) {
            changed |= cx.edit_text(step, index, file, |text| {
                set_setting(text, key, value, SettingDialect::Sshd)
            })?;
        }
        let after = cx.resolved(step, tree, file, key)?;
        match &after.global {
            Some(found) if stays(&found.value) => {}
            None if self.default_stays(cx.facts(), key) => {}
            found => {
                return Err(refuse(format!(
                    "setting {key} would not make it {value:?}: sshd would read {}",
                    found.as_ref().map_or("nothing".to_string(), |f| format!(
                        "{:?} at {}:{}",
                        f.value,
                        f.file,
                        f.line + 1
                    ))
                )))
            }
        }
        if let Some(block) = after.blocks.iter().find(|b| !stays(&b.value.value)) {
            return Err(refuse(format!(
                "setting {key} would not make it {value:?} for every connection: {}",
                block.describe()
            )));
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conftext::sshd_defaults::{for_release, Release};

    const CBC: [&str; 4] = ["3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc"];

    fn ciphers(keep: Expect) -> Setting {
        Setting {
            file: "/etc/ssh/sshd_config".into(),
            key: "Ciphers".into(),
            value: "-*-cbc*,arcfour*".into(),
            keep: Some(keep),
        }
    }

    fn stays(s: &Setting, defaults: Option<&Defaults>, current: &str) -> bool {
        s.stays(current, &judged(defaults, &s.key, current), ValueSemantics::Sshd)
    }

    #[test]
    fn keep_judges_an_algorithm_list_edit_by_the_list_sshd_uses() {
        let own = for_release(Some(Release { major: 9, minor: 2 }));
        let none_of = ciphers(Expect::NoneOf(CBC.map(String::from).to_vec()));
        // 9.2's default list has no CBC cipher: any removal, or a
        // promotion of another cipher, stays; adding or promoting one does
        // not.
        for ok in [
            "-3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc",
            "-3des-cbc",
            "-*cbc",
            "^chacha20-poly1305@openssh.com",
        ] {
            assert!(stays(&none_of, Some(&own), ok), "{ok}");
        }
        for bad in ["+3des-cbc", "^aes128-cbc", "aes256-ctr,aes128-cbc"] {
            assert!(!stays(&none_of, Some(&own), bad), "{bad}");
        }
        // subset_of and contains see the resolved list too.
        let etm = [
            "hmac-sha2-512-etm@openssh.com",
            "hmac-sha2-256-etm@openssh.com",
            "umac-128-etm@openssh.com",
        ];
        let subset = Setting {
            key: "MACs".into(),
            value: etm.join(","),
            ..ciphers(Expect::SubsetOf(etm.map(String::from).to_vec()))
        };
        assert!(stays(&subset, Some(&own), &format!("-*,!{}", etm.join(",!"))));
        assert!(!stays(&subset, Some(&own), "-hmac-sha1*,umac-64*"));
        let contains = ciphers(Expect::Contains(vec!["aes256-gcm@openssh.com".into()]));
        assert!(stays(&contains, Some(&own), "-*cbc"));
        assert!(!stays(&contains, Some(&own), "-aes256-gcm@openssh.com"));
        // No table of the host's own: an edit is not resolved, the line is
        // written as before; an explicit list and the step's own value are
        // judged as written.
        assert!(!stays(&none_of, None, "-3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc"));
        assert!(stays(&none_of, None, "aes256-ctr"));
        assert!(stays(&none_of, None, "-*-cbc*,arcfour*"));
        // Only algorithm lists are resolved.
        assert_eq!(judged(Some(&own), "Banner", "-x"), "-x");
        assert_eq!(judged(Some(&own), "ciphers", "-*"), "-*");
    }
}
