//! `rectify list rules` and `rectify list profiles`: browsing content
//! offline. Rules come from `-b` baselines and/or a `--profile` (with its
//! level and an optional `--tailoring`), filtered by area (the baseline's
//! name), severity and reference; `--show ID` prints one rule whole, as
//! written, with the playbook steps that fix it. Never connects.

use std::path::PathBuf;

use clap::Args;
use globset::Glob;

use super::{Error, SelectionArgs};
use crate::baseline::tailoring::Profile;
use crate::baseline::{Baseline, Rule, Severity};
use crate::knowledge::as_written;

#[derive(Debug, Args)]
pub struct ListRulesArgs {
    /// Baseline files to list (with --profile: added to its baselines).
    #[arg(short = 'b', long = "baseline", num_args = 1.., value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Only rules of these areas (baseline names; globs such as 'ssh*').
    #[arg(long, value_name = "AREA")]
    pub area: Vec<String>,

    /// Only rules of at least this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub severity: Option<String>,

    /// Only rules with this reference: cis, ssg, nist or anssi, optionally :ID (cis:5.2 finds 5.2.x).
    #[arg(long, value_name = "CATALOGUE[:ID]")]
    pub reference: Option<String>,

    /// Print this rule whole instead of the list: text, references, manual check, remediation steps.
    #[arg(long, value_name = "ID")]
    pub show: Option<String>,

    /// Also list rules the profile's level or the tailoring leaves out.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ListProfilesArgs {
    /// Directory of profile files.
    #[arg(default_value = "profiles", value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn exec_rules(args: ListRulesArgs) -> Result<u8, Error> {
    if args.baselines.is_empty() && args.selection.profile.is_none() {
        return Err(Error::Usage(
            "name baselines with -b or a profile with --profile".into(),
        ));
    }
    let baselines = args
        .selection
        .baselines(&args.baselines, crate::baseline::Remediations::Check)?;
    let filter = Filter::new(&args)?;
    if let Some(id) = &args.show {
        return show(&baselines, id);
    }
    let mut shown = 0;
    let mut left_out = 0;
    for b in &baselines {
        for r in b.rules.iter().filter(|r| filter.keeps(b, r)) {
            if r.excluded.is_some() && !args.all {
                left_out += 1;
                continue;
            }
            shown += 1;
            let refs: Vec<String> = crate::baseline::docs::CATALOGUES
                .iter()
                .filter_map(|c| {
                    let ids = r.docs.references.get(c);
                    (!ids.is_empty()).then(|| format!("{c}:{}", ids.join(",")))
                })
                .collect();
            let out = if r.excluded.is_some() { " (left out)" } else { "" };
            outln!(
                "{:<28} {:<8} L{} {:<16} {}{out}",
                r.id,
                r.severity.as_str(),
                r.docs.level,
                b.name,
                r.title
            );
            if !refs.is_empty() {
                outln!("{:<28} {}", "", refs.join("  "));
            }
        }
    }
    let note = if left_out > 0 {
        format!(", {left_out} left out by level or tailoring (--all lists them)")
    } else {
        String::new()
    };
    outln!("{shown} rules{note}");
    Ok(super::exit::OK)
}

/// The list filters, parsed once.
struct Filter {
    areas: Vec<globset::GlobMatcher>,
    severity: Option<Severity>,
    reference: Option<(String, Option<String>)>,
}

impl Filter {
    fn new(args: &ListRulesArgs) -> Result<Filter, Error> {
        let areas = args
            .area
            .iter()
            .map(|a| {
                Glob::new(a)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| Error::Usage(format!("--area {a:?}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let severity = args
            .severity
            .as_deref()
            .map(|s| {
                serde_yaml::from_value(serde_yaml::Value::String(s.to_string()))
                    .map_err(|_| Error::Usage(format!("--severity {s:?}: info, low, medium, high or critical")))
            })
            .transpose()?;
        let reference = match args.reference.as_deref() {
            None => None,
            Some(text) => {
                let (catalogue, id) = match text.split_once(':') {
                    Some((c, id)) => (c, Some(id.to_string())),
                    None => (text, None),
                };
                if !crate::baseline::docs::CATALOGUES.contains(&catalogue) {
                    return Err(Error::Usage(format!(
                        "--reference {text:?}: the catalogue is cis, ssg, nist or anssi"
                    )));
                }
                Some((catalogue.to_string(), id))
            }
        };
        Ok(Filter {
            areas,
            severity,
            reference,
        })
    }

    fn keeps(&self, b: &Baseline, r: &Rule) -> bool {
        (self.areas.is_empty() || self.areas.iter().any(|m| m.is_match(&b.name)))
            && self.severity.is_none_or(|s| r.severity >= s)
            && self
                .reference
                .as_ref()
                .is_none_or(|(c, id)| r.docs.references.has(c, id.as_deref()))
    }
}

/// One rule whole: where it is, its level and whether it runs, the rule as
/// written in its baseline, and the remediation steps as written in the
/// playbook (or the manual instructions).
fn show(baselines: &[Baseline], id: &str) -> Result<u8, Error> {
    let Some((b, r)) = baselines
        .iter()
        .flat_map(|b| b.rules.iter().map(move |r| (b, r)))
        .find(|(_, r)| r.id == id)
    else {
        return Err(Error::Usage(format!("no rule {id:?} in the baselines")));
    };
    outln!("{}  {}", r.id, r.title);
    outln!("baseline: {} ({})", b.name, b.path.display());
    outln!("severity: {}   level: {}", r.severity.as_str(), r.docs.level);
    if let Some(why) = &r.excluded {
        outln!("left out of this selection: {why}");
    }
    outln!("");
    outln!("{}", as_written(&b.path, "rules", "id", id).trim_end());
    match (&r.remediation, &r.docs.manual_remediation) {
        (Some(rem), _) => {
            outln!("");
            outln!("remediation: {}", rem.playbook.display());
            let names: Vec<&str> = match &rem.steps {
                Some(steps) => steps.iter().map(String::as_str).collect(),
                None => Vec::new(),
            };
            if names.is_empty() {
                outln!("(every step of the playbook)");
            }
            for name in names {
                outln!("{}", as_written(&rem.playbook, "steps", "name", name).trim_end());
            }
        }
        (None, Some(_)) => outln!("\nremediation: manual (fix runs nothing for this rule)"),
        (None, None) => outln!("\nremediation: none"),
    }
    Ok(super::exit::OK)
}

/// `rectify list profiles [DIR]`: each profile's name, level, baselines.
pub fn exec_profiles(args: ListProfilesArgs) -> Result<u8, Error> {
    let entries = std::fs::read_dir(&args.dir).map_err(|e| Error::Usage(format!("{}: {e}", args.dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    for path in paths {
        let p = Profile::load(&path)?;
        outln!(
            "{:<20} level {}  {}",
            p.name,
            p.level,
            p.description.as_deref().unwrap_or_default()
        );
        for b in &p.baselines {
            outln!("{:<20}   {}", "", b.display());
        }
    }
    Ok(super::exit::OK)
}
