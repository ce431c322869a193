//! A package's installed instances: what the collection script's `p_pkg`
//! reports, taken apart (the verdict on it is in `evaluate/package.rs`).
//!
//! A package name can have several installed instances: rpm keeps several
//! versions of `kernel` (or an `x86_64` and an `i686` build), dpkg keeps
//! multiarch instances (`libssl3:amd64` and `libssl3:i386`). Every instance
//! counts:
//!
//! * `state: installed` passes when at least one instance is installed;
//!   `state: absent` when none is.
//! * A `version` constraint must hold for **every** installed instance: an
//!   old, vulnerable instance left installed next to a new one is drift.
//! * `actual` lists the installed versions, sorted (Debian ordering) and
//!   without repeats: `installed 5.14.0-362.el9, 5.14.0-427.el9`.
//!
//! The script's answer is `manager=dpkg|rpm|apk|none` on the first line,
//! then the package manager's own lines, one per instance:
//!
//! * dpkg: `dpkg-query -W -f='${Architecture}\t${Status}\t${Version}\n'`,
//!   every instance dpkg knows, installed or not (`deinstall ok
//!   config-files` is a removed one);
//! * rpm: `rpm -q --qf '%{ARCH}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n'`, only
//!   when rpm says the package is installed (its "is not installed" line is
//!   not passed on); an epoch of `(none)` is dropped;
//! * apk: `apk info -e -v`, `NAME-VERSION`, only when installed.

use super::{Budget, FactKind};
use crate::collect::ProbeOutput;
use crate::shell::{quote, QuoteError};
use crate::version::compare_versions;

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

/// What the host said about one package name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFacts {
    /// `dpkg`, `rpm` or `apk`.
    pub manager: String,
    /// The installed instances, in the manager's order.
    pub installed: Vec<Instance>,
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
        let installed: Vec<Instance> = match manager {
            "dpkg" => lines
                .filter_map(|l| {
                    let mut fields = l.split('\t');
                    let (arch, status, version) = (fields.next()?, fields.next()?, fields.next()?);
                    // "install ok installed", "hold ok installed"; anything
                    // else (config-files, half-installed…) is not installed.
                    status
                        .trim()
                        .ends_with(" installed")
                        .then(|| instance(version, Some(arch)))
                })
                .collect(),
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
        })
    }

    /// The installed versions, sorted by Debian ordering, without repeats.
    pub fn versions(&self) -> Vec<&str> {
        let mut versions: Vec<&str> = self.installed.iter().map(|i| i.version.as_str()).collect();
        versions.sort_by(|a, b| compare_versions(a, b).then_with(|| a.cmp(b)));
        versions.dedup();
        versions
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
        let v = crate::evaluate::package::verdict("gone", PackageState::Absent, None, &out[1]).unwrap();
        assert_eq!(v.status, RuleStatus::Pass);
    }
}
