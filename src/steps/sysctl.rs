//! `sysctl:` — a live kernel value, optionally persisted in a sysctl.d
//! file. `rollback` puts old live values back through this kind.

use serde::Deserialize;

use super::{Check, Render, RenderError, Step, StepKind, StepSyntax};
use crate::collect::{sysctl_path, valid_sysctl_key};
use crate::conftext::edit::set_setting;
use crate::conftext::setting::SettingDialect;
use crate::steps::plan::{Need, Needs, Op, PlanCx, PlanError, Unreadable};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
    pub persist: Option<String>,
}

impl Sysctl {
    pub fn new(key: String, value: String, persist: Option<String>) -> Sysctl {
        Sysctl { key, value, persist }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSysctl {
    key: String,
    value: serde_yaml::Value,
    persist: Option<String>,
}

impl StepSyntax for Sysctl {
    const KEY: &'static str = "sysctl";
    type Value = RawSysctl;
    type Extra = ();

    fn check(s: &RawSysctl, _: &(), cx: &mut Check<'_>) -> Option<Self> {
        // A templated key is checked once rendered.
        if !s.key.contains("{{") && !valid_sysctl_key(&s.key) {
            cx.push("key", format!("invalid sysctl key {:?}", s.key));
        }
        let value = cx.scalar("value", &s.value);
        if let Some(p) = &s.persist {
            cx.path("persist", p);
        }
        Some(Sysctl {
            key: s.key.clone(),
            value,
            persist: s.persist.clone(),
        })
    }
}

impl StepKind for Sysctl {
    fn default_name(&self) -> String {
        format!("sysctl {}", self.key)
    }

    fn render(&self, r: &Render<'_>) -> Result<Box<dyn StepKind>, RenderError> {
        let key = r.text(&self.key)?;
        if !valid_sysctl_key(&key) {
            return Err(RenderError::SysctlKey(key));
        }
        let value = r.text(&self.value)?;
        if value.contains('\n') {
            return Err(RenderError::MultilineValue);
        }
        Ok(Box::new(Sysctl {
            key,
            value,
            persist: self.persist.as_deref().map(|p| r.path(p)).transpose()?,
        }))
    }

    fn needs(&self, _step: usize, needs: &mut Needs) {
        needs.push(Need::Sysctl(self.key.clone()));
        if let Some(p) = &self.persist {
            needs.file(p);
        }
    }

    fn plan(&self, step: &Step, index: usize, cx: &mut PlanCx<'_>) -> Result<bool, PlanError> {
        let Sysctl { key, value, persist } = self;
        let live = cx
            .facts()
            .sysctl
            .get(key)
            .cloned()
            .unwrap_or(Err(Unreadable::NotGathered))
            .map_err(|why| PlanError::Sysctl { key: key.clone(), why })?;
        let mut changed = false;
        if normalize(&live) != normalize(value) {
            changed = true;
            cx.change(step, &sysctl_path(key), || {
                format!("-{key} = {}\n+{key} = {value}\n", live.trim())
            });
            cx.op(
                index,
                Op::Sysctl {
                    key: key.clone(),
                    value: value.clone(),
                    old: live.trim().to_string(),
                },
            );
        }
        if let Some(file) = persist {
            changed |= cx.edit_or_create(step, index, file, |text| {
                set_setting(text, key, value, SettingDialect::Generic)
            })?;
        }
        Ok(changed)
    }
}

/// Sysctl values compare by their words: /proc prints tabs between fields.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}
