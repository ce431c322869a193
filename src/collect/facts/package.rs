//! A package's instances: what the collection script's `p_pkg` reports,
//! taken apart (the verdict on it is in `evaluate/package.rs`).
//!
//! A package name can have several instances: rpm keeps several versions
//! of `kernel` (or an `x86_64` and an `i686` build), dpkg keeps multiarch
//! instances (`libssl3:amd64` and `libssl3:i386`). Every instance counts:
//!
//! * `state: installed` passes when at least one instance is installed;
//!   `state: absent` when nothing of the package is on disk.
//! * A `version` constraint must hold for **every** instance whose files
//!   are on disk: an old, vulnerable instance left next to a new one is
//!   drift.
//! * `actual` lists the installed versions, sorted (the manager's order)
//!   and without repeats: `installed 5.14.0-362.el9, 5.14.0-427.el9`, then
//!   dpkg instances in other states: `unpacked 1.2-3`.
//!
//! dpkg states, as `dpkg-query -W -f '${db:Status-Abbrev}'` shows them:
//!
//! * `installed` (`ii`, `hi`), `triggers-pending` (`it`) and
//!   `triggers-awaited` (`iW`) are installed: the package was configured,
//!   and dpkg's own dependency check accepts these three states.
//! * `unpacked` (`iU`), `half-configured` (`iF`) and `half-installed`
//!   (`iH`) are on disk but not configured (an interrupted or failed
//!   install or upgrade): neither `installed` nor `absent` passes.
//! * `config-files` (`rc`: removed, its conffiles left in `/etc`) is not
//!   installed, and not absent either: conffiles such as `/etc/cron.d`
//!   entries, PAM or sudoers snippets still act. `absent` passes after
//!   `dpkg --purge` (or `apt-get purge`).
//! * `not-installed` (`un`, `in`), or no record at all, is absent.
//! * Any other state word (a future dpkg's) counts as on disk and not
//!   configured, so it passes neither.
//!
//! The script's answer is `manager=dpkg|rpm|apk|none` on the first line,
//! then the package manager's own lines, one per instance:
//!
//! * dpkg: `dpkg-query -W -f='${Architecture}\t${Status}\t${Version}\n'`,
//!   every instance dpkg knows, whatever its state;
//! * rpm: `rpm -q --qf '%{ARCH}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n'`, only
//!   when rpm says the package is installed (its "is not installed" line is
//!   not passed on); an epoch of `(none)` is dropped;
//! * apk: `apk info -e -v`, `NAME-VERSION`, only when installed.
//!
//! Versions are ordered as the manager that answered orders them
//! ([`Scheme::of_manager`]).

use super::{Budget, FactKind};
use crate::collect::ProbeOutput;
use crate::shell::{quote, QuoteError};
use crate::version::Scheme;

/// Whether a package is installed, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Package {
    pub name: String,
}

impl FactKind for Package {
    const SHELL: &'static str = r#"p_pkg() {
  # Every instance: rpm keeps several versions (kernel), dpkg multiarch
  # copies (libssl3:amd64, libssl3:i386). See collect/facts/package.rs.
  if command -v dpkg-query >/dev/null; then
    o="manager=dpkg
$(dpkg-query -W -f='${Architecture}\t${Status}\t${Version}\n' -- "$2")"
  elif command -v rpm >/dev/null; then
    if v=$(rpm -q --qf '%{ARCH}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n' -- "$2"); then o="manager=rpm
$v"
    else o="manager=rpm"; fi
  elif command -v apk >/dev/null; then
    if apk info -e -- "$2" >/dev/null; then o="manager=apk
$(apk info -e -v -- "$2")"
    else o="manager=apk"; fi
  else o="manager=none"; fi
  emit "$1" ok "$o"
}
"#;

    fn call(&self, index: usize) -> Result<String, QuoteError> {
        Ok(format!("p_pkg {index} {}", quote(&self.name)?))
    }

    fn budget(&self) -> Budget {
        Budget::SMALL
    }
}

/// Why a package answer gave no [`PackageFacts`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("the host's answer could not be read")]
    Unreadable,
    #[error("no package manager found (dpkg, rpm or apk)")]
    NoManager,
    #[error("unknown package manager {0:?}")]
    UnknownManager(String),
}

/// One installed instance of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub version: String,
    /// `amd64`, `x86_64`…; `None` where the manager does not say.
    pub arch: Option<String>,
}

/// A dpkg instance that is not installed but not absent either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// dpkg's state word: `unpacked`, `half-configured`, `half-installed`,
    /// `config-files`, or one this module does not know.
    pub state: String,
    pub instance: Instance,
}

impl Partial {
    /// Whether the package's own files (not only conffiles) are on disk.
    pub fn has_files(&self) -> bool {
        self.state != "config-files"
    }
}

/// What a dpkg state word means for a rule; see the module documentation.
enum DpkgState {
    Installed,
    Partial,
    Absent,
}

fn dpkg_state(word: &str) -> DpkgState {
    match word {
        "installed" | "triggers-pending" | "triggers-awaited" => DpkgState::Installed,
        "not-installed" => DpkgState::Absent,
        _ => DpkgState::Partial,
    }
}

/// What the host said about one package name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFacts {
    /// `dpkg`, `rpm` or `apk`.
    pub manager: String,
    /// The installed instances, in the manager's order.
    pub installed: Vec<Instance>,
    /// dpkg instances that are neither installed nor absent, in dpkg's
    /// order.
    pub partial: Vec<Partial>,
}

impl PackageFacts {
    /// Parses the probe's answer for the package `name`.
    pub fn parse(name: &str, output: &ProbeOutput) -> Result<PackageFacts, PackageError> {
        let ProbeOutput::Ok(bytes) = output else {
            return Err(PackageError::Unreadable);
        };
        let text = String::from_utf8_lossy(bytes);
        let mut lines = text.lines();
        let manager = lines
            .next()
            .and_then(|l| l.strip_prefix("manager="))
            .map(str::trim)
            .unwrap_or("");
        let instance = |version: &str, arch: Option<&str>| Instance {
            version: version.trim().to_string(),
            arch: arch
                .map(str::trim)
                .filter(|a| !a.is_empty() && *a != "(none)")
                .map(String::from),
        };
        let lines = lines.filter(|l| !l.trim().is_empty());
        let mut partial = Vec::new();
        let installed: Vec<Instance> = match manager {
            "dpkg" => {
                let mut installed = Vec::new();
                for l in lines {
                    let mut fields = l.split('\t');
                    let (Some(arch), Some(status), Some(version)) = (fields.next(), fields.next(), fields.next())
                    else {
                        continue;
                    };
                    // `WANT ERROR STATE`: "install ok installed",
                    // "install reinstreq half-installed"; the state is
                    // what is on disk.
                    let state = status.split_whitespace().last().unwrap_or("");
                    match dpkg_state(state) {
                        DpkgState::Installed => installed.push(instance(version, Some(arch))),
                        DpkgState::Absent => {}
                        DpkgState::Partial => partial.push(Partial {
                            state: state.chars().take(64).collect(),
                            instance: instance(version, Some(arch)),
                        }),
                    }
                }
                installed
            }
            "rpm" => lines
                .filter_map(|l| {
                    let (arch, version) = l.split_once('\t')?;
                    let version = version.trim();
                    Some(instance(version.strip_prefix("(none):").unwrap_or(version), Some(arch)))
                })
                .collect(),
            "apk" => lines
                .map(|l| {
                    let l = l.trim();
                    instance(
                        l.strip_prefix(name).and_then(|v| v.strip_prefix('-')).unwrap_or(l),
                        None,
                    )
                })
                .collect(),
            "none" | "" => return Err(PackageError::NoManager),
            other => return Err(PackageError::UnknownManager(other.to_string())),
        };
        Ok(PackageFacts {
            manager: manager.to_string(),
            installed,
            partial,
        })
    }

    /// The version order of the manager that answered.
    pub fn scheme(&self) -> Scheme {
        Scheme::of_manager(&self.manager)
    }

    /// The installed versions, sorted in the manager's order, without
    /// repeats.
    pub fn versions(&self) -> Vec<&str> {
        let scheme = self.scheme();
        let mut versions: Vec<&str> = self.installed.iter().map(|i| i.version.as_str()).collect();
        versions.sort_by(|a, b| scheme.compare(a, b).then_with(|| a.cmp(b)));
        versions.dedup();
        versions
    }

    /// Every instance whose files are on disk: the installed ones and the
    /// half-done dpkg ones (not `config-files`).
    pub fn on_disk(&self) -> impl Iterator<Item = &Instance> {
        self.installed
            .iter()
            .chain(self.partial.iter().filter(|p| p.has_files()).map(|p| &p.instance))
    }

    /// Whether nothing of the package is on disk.
    pub fn absent(&self) -> bool {
        self.installed.is_empty() && self.partial.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::PackageState;
    use crate::collect::script::test_support::{run_locally, run_locally_with};
    use crate::collect::Probe;
    use crate::evaluate::RuleStatus;
    use crate::version::VersionConstraint;
    use std::process::Command;

    /// Whether the real-dpkg tests can run: where dpkg is the package
    /// manager (the Debian build and test hosts). Elsewhere the unit tests
    /// here cover the parsing of dpkg, rpm and apk
    /// answers; but CI runs on Debian, where a missing dpkg-query fails.
    fn has_dpkg_query() -> bool {
        let here = Command::new("dpkg-query")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            here || std::env::var_os("CI").is_none(),
            "dpkg-query is missing on a CI machine"
        );
        if !here {
            eprintln!("no dpkg-query here: the real dpkg test does not apply");
        }
        here
    }

    #[test]
    fn packages_from_this_machines_dpkg() {
        if !has_dpkg_query() {
            return;
        }
        let direct = Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "dpkg"])
            .output()
            .unwrap();
        let direct = String::from_utf8(direct.stdout).unwrap();
        assert!(!direct.is_empty());
        let out = run_locally(&[
            Package { name: "dpkg".into() }.into(),
            Package {
                name: "rectify-no-such-package".into(),
            }
            .into(),
        ]);
        let dpkg = PackageFacts::parse("dpkg", &out[0]).unwrap();
        assert_eq!(dpkg.manager, "dpkg");
        assert_eq!(dpkg.versions(), [direct.as_str()]);
        let none = PackageFacts::parse("rectify-no-such-package", &out[1]).unwrap();
        assert_eq!((none.manager.as_str(), none.installed.len()), ("dpkg", 0));
    }

    #[test]
    fn packages_with_multiarch_instances_from_a_real_dpkg_query() {
        if !has_dpkg_query() {
            return;
        }
        // A dpkg database of its own (dpkg-query reads $DPKG_ADMINDIR): libssl3
        // for amd64 and an older one for i386, and a removed package.
        let admin = tempfile::tempdir().unwrap();
        let entry = |package: &str, status: &str, arch: &str, version: &str| {
            format!(
                "Package: {package}\nStatus: {status}\nPriority: optional\nSection: libs\n\
                 Installed-Size: 1\nMaintainer: Nobody <nobody@example.org>\nArchitecture: {arch}\n\
                 Multi-Arch: same\nVersion: {version}\nDescription: test\n\n"
            )
        };
        let status = [
            entry("libssl3", "install ok installed", "amd64", "3.0.15-1~deb12u1"),
            entry("libssl3", "install ok installed", "i386", "3.0.11-1~deb12u2"),
            entry("gone", "deinstall ok config-files", "amd64", "1.0-1"),
        ]
        .concat();
        std::fs::write(admin.path().join("status"), status).unwrap();
        std::fs::write(admin.path().join("available"), "").unwrap();
        std::fs::create_dir(admin.path().join("info")).unwrap();
        std::fs::create_dir(admin.path().join("updates")).unwrap();
        let probes: [Probe; 2] = [
            Package { name: "libssl3".into() }.into(),
            Package { name: "gone".into() }.into(),
        ];
        let out = run_locally_with(&probes, &[("DPKG_ADMINDIR", admin.path())]);
        let libssl = PackageFacts::parse("libssl3", &out[0]).unwrap();
        assert_eq!(libssl.versions(), ["3.0.11-1~deb12u2", "3.0.15-1~deb12u1"]);
        let arches: Vec<_> = libssl.installed.iter().filter_map(|i| i.arch.as_deref()).collect();
        assert_eq!(arches, ["amd64", "i386"]);
        let libssl3_at_least = |c: &str| {
            let c: VersionConstraint = c.parse().unwrap();
            crate::evaluate::package::verdict("libssl3", PackageState::Installed, Some(&c), &out[0]).unwrap()
        };
        let v = libssl3_at_least(">= 3.0.15");
        assert_eq!(v.status, RuleStatus::Fail, "the old i386 instance is drift");
        assert_eq!(
            v.actual.as_deref(),
            Some("installed 3.0.11-1~deb12u2, 3.0.15-1~deb12u1")
        );
        assert_eq!(libssl3_at_least(">= 3.0.11").status, RuleStatus::Pass);
        // Removed with its conffiles left (dpkg says `rc`): not absent.
        let v = crate::evaluate::package::verdict("gone", PackageState::Absent, None, &out[1]).unwrap();
        assert_eq!(
            (v.status, v.actual.as_deref()),
            (RuleStatus::Fail, Some("config-files 1.0-1"))
        );
    }

    /// What a private dpkg database says of `package`, as dpkg-query
    /// prints it: `(db:Status-Abbrev, db:Status-Status)`, or `None` when
    /// dpkg-query knows no such package.
    fn dpkg_query_status(admin: &std::path::Path, package: &str) -> Option<(String, String)> {
        let out = Command::new("dpkg-query")
            .env("DPKG_ADMINDIR", admin)
            .args(["-W", "-f=${db:Status-Abbrev}\t${db:Status-Status}", "--", package])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (abbrev, state) = text.split_once('\t')?;
        Some((abbrev.trim_end().to_string(), state.to_string()))
    }

    #[test]
    fn every_dpkg_state_judged_as_dpkg_query_reports_it() {
        if !has_dpkg_query() {
            return;
        }
        // A package in each state dpkg has, in a database of its own.
        let admin = tempfile::tempdir().unwrap();
        let states = [
            "install ok installed",
            "hold ok installed",
            "install ok triggers-pending",
            "install ok triggers-awaited",
            "install ok unpacked",
            "install ok half-configured",
            "install ok half-installed",
            "install reinstreq half-installed",
            "deinstall ok config-files",
            "install ok not-installed",
            "purge ok not-installed",
        ];
        let name = |status: &str| format!("p-{}", status.replace(' ', "-"));
        let status: String = states
            .iter()
            .map(|status| {
                // dpkg insists on the trigger fields its trigger states need.
                let triggers = match *status {
                    "install ok triggers-pending" => "Triggers-Pending: some-trigger\n",
                    "install ok triggers-awaited" => "Triggers-Awaited: p-install-ok-triggers-pending\n",
                    _ => "",
                };
                format!(
                    "Package: {}\nStatus: {status}\nPriority: optional\nSection: misc\n\
                     Installed-Size: 1\nMaintainer: Nobody <nobody@example.org>\nArchitecture: amd64\n\
                     Version: 1.2-3\n{triggers}Description: test\n\n",
                    name(status)
                )
            })
            .collect();
        std::fs::write(admin.path().join("status"), status).unwrap();
        std::fs::write(admin.path().join("available"), "").unwrap();
        std::fs::create_dir(admin.path().join("info")).unwrap();
        std::fs::create_dir(admin.path().join("updates")).unwrap();
        let mut names: Vec<String> = states.iter().map(|s| name(s)).collect();
        names.push("rectify-no-such-package".into());
        let probes: Vec<Probe> = names.iter().map(|n| Package { name: n.clone() }.into()).collect();
        let out = run_locally_with(&probes, &[("DPKG_ADMINDIR", admin.path())]);
        let mut seen = std::collections::BTreeSet::new();
        for (name, output) in names.iter().zip(&out) {
            let truth = dpkg_query_status(admin.path(), name);
            let verdict = |want| crate::evaluate::package::verdict(name, want, None, output).unwrap();
            let (installed, absent) = (verdict(PackageState::Installed), verdict(PackageState::Absent));
            // dpkg-query's state letter (second of the abbreviation):
            // configured (i, t, W), not installed (n), or in between.
            let letter = truth
                .as_ref()
                .and_then(|(abbrev, _)| abbrev.chars().nth(1))
                .unwrap_or('n');
            seen.insert(letter);
            let (want_installed, want_absent) = match letter {
                'i' | 't' | 'W' => (RuleStatus::Pass, RuleStatus::Fail),
                'n' => (RuleStatus::Fail, RuleStatus::Pass),
                _ => (RuleStatus::Fail, RuleStatus::Fail),
            };
            assert_eq!(
                (installed.status, absent.status),
                (want_installed, want_absent),
                "{name}: {truth:?}"
            );
            // `actual` names the state dpkg-query names.
            let want_actual = match (letter, &truth) {
                ('n', _) | (_, None) => "absent".to_string(),
                ('i' | 't' | 'W', _) => "installed 1.2-3".to_string(),
                (_, Some((_, state))) => format!("{state} 1.2-3"),
            };
            assert_eq!(
                installed.actual.as_deref(),
                Some(want_actual.as_str()),
                "{name}: {truth:?}"
            );
        }
        // dpkg-query really reported every state letter.
        assert_eq!(seen.into_iter().collect::<String>(), "FHUWcint");
    }
}
