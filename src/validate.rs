//! `rectify validate`: offline checks of input files, detecting their kind.

use std::path::Path;

use crate::baseline::Baseline;
use crate::config_error::{ConfigError, ConfigErrors};
use crate::inventory::Inventory;
use crate::waiver::Waiver;
use crate::yaml::SourceFile;

mod recover;
mod warnings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Inventory,
    Baseline,
    Waivers,
    Playbook,
    Profile,
    Tailoring,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Inventory => "inventory",
            FileKind::Baseline => "baseline",
            FileKind::Waivers => "waivers",
            FileKind::Playbook => "playbook",
            FileKind::Profile => "profile",
            FileKind::Tailoring => "tailoring",
        }
    }
}

/// Decides the kind by the top-level keys, the way a reader would.
pub fn detect(source: &SourceFile) -> Result<FileKind, ConfigError> {
    if crate::inventory::ansible::is_ansible(source) {
        return Ok(FileKind::Inventory);
    }
    let value: serde_yaml::Value = source.parse()?;
    let Some(map) = value.as_mapping() else {
        return Err(ConfigError::whole_file(
            &source.path,
            "expected a YAML mapping at the top level",
        ));
    };
    let has = |k: &str| map.contains_key(k);
    // A tailoring file may have `rules:` (its overrides): decided first.
    if has("tailoring") {
        Ok(FileKind::Tailoring)
    } else if has("profile") {
        Ok(FileKind::Profile)
    } else if has("rules") {
        Ok(FileKind::Baseline)
    } else if has("steps") {
        Ok(FileKind::Playbook)
    } else if has("waivers") {
        Ok(FileKind::Waivers)
    } else if has("hosts") || has("groups") || has("defaults") {
        Ok(FileKind::Inventory)
    } else {
        Err(ConfigError::whole_file(
            &source.path,
            "cannot tell what this file is: a baseline has `rules`, a playbook has `steps`, an inventory has `hosts`, `groups` or `defaults`, a waivers file has `waivers`, a profile `profile`, a tailoring file `tailoring`",
        ))
    }
}

/// Validates one file; returns its kind and what to warn of, or every
/// problem found in it.
pub fn validate_file(path: &Path) -> Result<(FileKind, Vec<ConfigError>), ConfigErrors> {
    let source = SourceFile::read(path)?;
    let kind = detect(&source)?;
    // The day in UTC, as the audit judges waivers (docs/waivers.md).
    let today = chrono::Utc::now().date_naive();
    let warnings = match kind {
        FileKind::Baseline => {
            recover::every_error(&source, |s| Baseline::from_source(&s).map(|_| ())).map(|()| Vec::new())?
        }
        FileKind::Waivers => {
            let waivers = recover::every_error(&source, |s| Waiver::from_source(&s))?;
            warnings::expired_waivers(&source, &waivers, today)
        }
        FileKind::Playbook => {
            recover::every_error(&source, |s| crate::playbook::Playbook::from_source(s).map(|_| ()))?;
            Vec::new()
        }
        // A profile is valid when it and each of its baselines are; a
        // tailoring alone can only be checked for its shape (the baselines
        // it names rules of come with `validate --tailoring`).
        FileKind::Profile => {
            let profile = crate::baseline::tailoring::Profile::from_source(&source)?;
            let mut errors = ConfigErrors::default();
            for path in &profile.baselines {
                if let Err(mut e) = Baseline::load(path) {
                    errors.0.append(&mut e.0);
                }
            }
            if !errors.0.is_empty() {
                return Err(errors);
            }
            Vec::new()
        }
        FileKind::Tailoring => {
            crate::baseline::tailoring::Tailoring::from_source(source)?;
            Vec::new()
        }
        FileKind::Inventory => {
            recover::every_error(&source, |s| {
                Inventory::from_source(s, &crate::inventory::SshConfig::none())
                    .map(|_| ())
                    .map_err(ConfigErrors::from)
            })?;
            warnings::undefined_members(&source)
        }
    };
    Ok((kind, warnings))
}
