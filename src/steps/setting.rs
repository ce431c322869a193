//! `setting:` — one `KEY VALUE` setting edited in place. In an sshd
//! configuration the edit goes where sshd reads the key, following
//! `Include` (on the line sshd reads, whatever alias of the keyword it
//! uses), and is refused when it would not take effect. `Match` blocks
//! other than `Match all` are not edited: an audit names those that still
//! give connections another value.

use serde::Deserialize;

use super::{Check, Render, RenderError, Step, StepKind, StepSyntax};
use crate::conftext::edit::{set_setting, set_sshd_setting_at};
use crate::conftext::include::{follows_includes, Located};
use crate::conftext::setting::{find_setting, SettingDialect};
use crate::steps::plan::{Need, Needs, PlanCx, PlanError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub file: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSetting {
    file: String,
    key: String,
    value: serde_yaml::Value,
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
        Some(Setting {
            file: s.file.clone(),
            key: s.key.clone(),
            value,
        })
    }
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
        }))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        // An sshd configuration with its includes: the effective
        // occurrence may be in an included file, which the plan edits.
        if follows_includes(&self.file) {
            needs.push(Need::SshdConfig(self.file.clone()));
        } else {
            needs.file(&self.file);
        }
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        let Setting { file, key, value } = self;
        if !follows_includes(file) {
            let dialect = SettingDialect::for_path(file);
            return cx.edit_text(step, index, file, |text| set_setting(text, key, value, dialect));
        }
        // sshd reads the first occurrence, following `Include`: edit the
        // file that holds it, so the edit takes effect.
        let tree = cx
            .facts()
            .sshd
            .get(file)
            .ok_or_else(|| PlanError::NotGathered(file.clone()))?;
        let refuse = |why: String| PlanError::Step {
            name: step.name.clone(),
            why,
        };
        // The line sshd reads may spell the keyword as an alias
        // (`ChallengeResponseAuthentication`) or sit in a `Match all`
        // block: that very line is edited.
        let effective = cx.effective(step, tree, file, key)?;
        let target = effective
            .as_ref()
            .map_or_else(|| file.clone(), |found| found.file.clone());
        let changed = cx.edit_text(step, index, &target, |text| match &effective {
            Some(found) => set_sshd_setting_at(text, found.line, key, value),
            None => set_setting(text, key, value, SettingDialect::Sshd),
        })?;
        let after = cx.effective(step, tree, file, key)?;
        let wanted = find_setting(&format!("{key} {value}"), key, SettingDialect::Sshd);
        if after.as_ref().map(|f| &f.value) != wanted.as_ref() {
            return Err(refuse(format!(
                "setting {key} in {target} would not make it {value:?}: sshd would read {}",
                after.map_or("nothing".to_string(), |f: Located| format!(
                    "{:?} at {}:{}",
                    f.value,
                    f.file,
                    f.line + 1
                ))
            )));
        }
        Ok(changed)
    }
}
