//! `sysctl:` — a live kernel value, optionally persisted in a sysctl.d
//! file. A persisted value must be the one the next boot loads: the plan
//! reads every sysctl file as procps `sysctl --system` does, with the
//! persist file as it will be written, and refuses when the file is not
//! read at boot or a later assignment overrides it (naming file:line).
//! `rollback` puts old live values back through this kind.

use serde::Deserialize;

use super::{Check, Render, RenderError, Step, StepKind, StepSyntax};
use crate::collect::{sysctl_path, valid_sysctl_key};
use crate::conftext::edit::set_setting;
use crate::conftext::setting::SettingDialect;
use crate::conftext::sysctl::{load_order, persisted};
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
    fn kind(&self) -> &'static str {
        "sysctl"
    }

    fn target(&self) -> String {
        self.key.clone()
    }

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
            needs.push(Need::SysctlFiles);
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
            let mut planned = String::new();
            changed |= cx.edit_or_create(step, index, file, |text| {
                planned = set_setting(text, key, value, SettingDialect::Generic);
                planned.clone()
            })?;
            wins_at_boot(self, file, &planned, cx).map_err(|why| PlanError::Step {
                name: step.name.clone(),
                why,
            })?;
        }
        Ok(changed)
    }
}

/// Whether `file`, with its `planned` text, is what the next boot loads
/// for the step's key; `Err` says why not, naming the file and line that
/// override it.
fn wins_at_boot(s: &Sysctl, file: &str, planned: &str, cx: &PlanCx<'_>) -> Result<(), String> {
    let found = match &cx.facts().sysctl_files {
        Some(Ok(found)) => found,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err(format!("the sysctl files were {}", Unreadable::NotGathered)),
    };
    let files = found.boot_files(Some((file, planned))).map_err(|e| e.to_string())?;
    if !files.iter().any(|(p, _)| *p == file) {
        let name = file.rsplit('/').next().unwrap_or(file);
        let paths: Vec<&str> = found.files.iter().map(|(p, _)| p.as_str()).collect();
        let instead = load_order(&paths)
            .into_iter()
            .map(|i| paths[i])
            .find(|p| p.rsplit('/').next() == Some(name));
        return Err(match instead {
            Some(other) => format!("persist: {file} is not read at boot: `sysctl --system` reads {other} instead"),
            None => format!(
                "persist: {file} is not read at boot: `sysctl --system` reads *.conf in /etc/sysctl.d, /run/sysctl.d, \
                 /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d, then /etc/sysctl.conf"
            ),
        });
    }
    match persisted(files.iter().map(|(p, t)| (*p, t.as_ref())), &s.key) {
        Some(p) if p.file == file && p.value == normalize(&s.value) => Ok(()),
        Some(p) => Err(format!(
            "{} = {} in {file} would not be what the next boot loads: {}:{} sets {} after it",
            s.key, s.value, p.file, p.line, p.value
        )),
        None => Err(format!("{} = {} in {file} is not read at boot", s.key, s.value)),
    }
}

/// Sysctl values compare by their words: /proc prints tabs between fields.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}
