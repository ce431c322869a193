//! The `package` subject: the probe, the verdict on what
//! `collect::facts::package` decoded (the rules about instances are in that
//! module's documentation), and what `rectify capture` keeps.

use super::EvalError;
use super::Verdict;
use crate::baseline::PackageState;
use crate::collect::facts::package::Package;
use crate::collect::facts::package::{Instance, PackageFacts};
use crate::collect::Probe;
use crate::collect::ProbeOutput;
use crate::version::VersionConstraint;
use serde_yaml::{Mapping, Value};

/// The verdict of a `package` rule; see the module documentation.
pub fn verdict(
    name: &str,
    want: PackageState,
    constraint: Option<&VersionConstraint>,
    output: &ProbeOutput,
) -> Result<Verdict, EvalError> {
    let facts = PackageFacts::parse(name, output)?;
    let scheme = facts.scheme();
    let installed = !facts.installed.is_empty();
    let actual = actual(&facts);
    let outside: Vec<&Instance> = match constraint {
        Some(c) => facts.on_disk().filter(|i| !c.matches_in(scheme, &i.version)).collect(),
        None => Vec::new(),
    };
    let on_disk = facts.on_disk().count();
    let (pass, expected) = match (want, constraint) {
        (PackageState::Absent, _) => (facts.absent(), "absent".to_string()),
        (PackageState::Installed, None) => (installed, "installed".to_string()),
        (PackageState::Installed, Some(c)) => (installed && outside.is_empty(), format!("installed, version {c}")),
    };
    let mut v = Verdict::compared(pass, expected, Some(actual));
    let states = || {
        let mut states: Vec<&str> = facts.partial.iter().map(|p| p.state.as_str()).collect();
        states.dedup();
        states.join(", ")
    };
    if want == PackageState::Installed && !installed {
        v.message = Some(if facts.partial.iter().any(|p| p.has_files()) {
            format!(
                "package {name} is not configured (dpkg state {}): an install or upgrade did not finish",
                states()
            )
        } else {
            format!("package {name} is not installed ({})", facts.manager)
        });
    } else if want == PackageState::Absent && !installed && !facts.partial.is_empty() {
        v.message = Some(if facts.partial.iter().all(|p| !p.has_files()) {
            format!("package {name} was removed but its configuration files are left (dpkg state config-files); dpkg --purge removes them")
        } else {
            format!("package {name} is partly on disk (dpkg state {})", states())
        });
    } else if want == PackageState::Installed && !outside.is_empty() && on_disk > 1 {
        let list: Vec<String> = outside
            .iter()
            .map(|i| match &i.arch {
                Some(arch) => format!("{} ({arch})", i.version),
                None => i.version.clone(),
            })
            .collect();
        v.message = Some(format!(
            "{} of {} installed instances of {name} fail the version constraint: {}",
            outside.len(),
            on_disk,
            list.join(", ")
        ));
    }
    Ok(v)
}

/// `installed V1, V2`, then each dpkg instance in another state
/// (`unpacked 1.2-3`), `; `-separated; `absent` when there is nothing.
fn actual(facts: &PackageFacts) -> String {
    let mut parts = Vec::new();
    if !facts.installed.is_empty() {
        parts.push(format!("installed {}", facts.versions().join(", ")));
    }
    for p in &facts.partial {
        let part = format!("{} {}", p.state, p.instance.version).trim_end().to_string();
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        "absent".to_string()
    } else {
        parts.join("; ")
    }
}

/// The package's installed instances.
pub(super) fn probe(name: &str) -> Probe {
    Package { name: name.to_string() }.into()
}

/// What `rectify capture` keeps of a package: installed or absent, and a
/// version constraint every installed instance meets.
pub(super) fn capture(name: &str, output: &ProbeOutput) -> Result<Mapping, EvalError> {
    let mut m = Mapping::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::String(k.into()), v);
    };
    let facts = PackageFacts::parse(name, output)?;
    put("package", name.into());
    let versions = facts.versions();
    if versions.is_empty() {
        put("state", "absent".into());
    } else {
        put("state", "installed".into());
        // A constraint every instance there meets: the one version,
        // or at least the oldest of several (kernels, multiarch), so
        // an older instance elsewhere is drift.
        match versions.as_slice() {
            [one] if !one.is_empty() => put("version", format!("= {one}").into()),
            [oldest, _, ..] if !oldest.is_empty() => put("version", format!(">= {oldest}").into()),
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::RuleStatus;

    fn ok(text: &str) -> ProbeOutput {
        ProbeOutput::Ok(text.as_bytes().to_vec())
    }

    fn constraint(text: &str) -> VersionConstraint {
        text.parse().expect("valid constraint")
    }

    fn check(name: &str, want: PackageState, c: Option<&str>, text: &str) -> Verdict {
        let c = c.map(constraint);
        verdict(name, want, c.as_ref(), &ok(text)).expect("a verdict")
    }

    // Real `dpkg-query -W -f='${Architecture}\t${Status}\t${Version}\n'`
    // output for a multiarch library, and the same with a removed instance.
    const DPKG_MULTIARCH: &str =
        "manager=dpkg\namd64\tinstall ok installed\t3.0.15-1~deb12u1\ni386\tinstall ok installed\t3.0.11-1~deb12u2\n";
    const DPKG_ONE_REMOVED: &str =
        "manager=dpkg\namd64\tinstall ok installed\t3.0.15-1~deb12u1\ni386\tdeinstall ok config-files\t3.0.11-1~deb12u2\n";
    // `rpm -q --qf '%{ARCH}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n' kernel` with
    // three kernels kept by installonly_limit.
    const RPM_KERNELS: &str =
        "manager=rpm\nx86_64\t(none):5.14.0-427.el9\nx86_64\t(none):5.14.0-362.el9\nx86_64\t(none):5.14.0-503.el9\n";
    // `apk info -e -v` lines.
    const APK_TWO: &str = "manager=apk\nmusl-1.2.4-r2\nmusl-1.2.5-r0\n";

    #[test]
    fn dpkg_multiarch_instances_are_all_read() {
        let facts = PackageFacts::parse("libssl3", &ok(DPKG_MULTIARCH)).unwrap();
        assert_eq!(facts.manager, "dpkg");
        assert_eq!(
            facts.installed,
            [
                Instance {
                    version: "3.0.15-1~deb12u1".into(),
                    arch: Some("amd64".into())
                },
                Instance {
                    version: "3.0.11-1~deb12u2".into(),
                    arch: Some("i386".into())
                },
            ]
        );
        assert_eq!(facts.versions(), ["3.0.11-1~deb12u2", "3.0.15-1~deb12u1"]);
        // A removed instance (config files left) is not installed.
        let facts = PackageFacts::parse("libssl3", &ok(DPKG_ONE_REMOVED)).unwrap();
        assert_eq!(facts.versions(), ["3.0.15-1~deb12u1"]);
    }

    #[test]
    fn rpm_instances_drop_the_missing_epoch() {
        let facts = PackageFacts::parse("kernel", &ok(RPM_KERNELS)).unwrap();
        assert_eq!(facts.versions(), ["5.14.0-362.el9", "5.14.0-427.el9", "5.14.0-503.el9"]);
        assert_eq!(facts.installed[0].arch.as_deref(), Some("x86_64"));
        let facts = PackageFacts::parse("openssh", &ok("manager=rpm\nx86_64\t1:8.7p1-38.el9\n")).unwrap();
        assert_eq!(facts.versions(), ["1:8.7p1-38.el9"]);
        // gpg-pubkey has no arch.
        let facts = PackageFacts::parse("gpg-pubkey", &ok("manager=rpm\n(none)\t(none):fd431d51-4ae0493b\n")).unwrap();
        assert_eq!(facts.installed[0].arch, None);
    }

    #[test]
    fn apk_lines_lose_the_name() {
        let facts = PackageFacts::parse("musl", &ok(APK_TWO)).unwrap();
        assert_eq!(facts.versions(), ["1.2.4-r2", "1.2.5-r0"]);
        // A name with dashes, and a line that does not start with it.
        let facts = PackageFacts::parse("openssh-server", &ok("manager=apk\nopenssh-server-9.7_p1-r4\nodd\n")).unwrap();
        // In apk's order, a version that does not start with a digit is
        // earlier than any that does.
        assert_eq!(facts.versions(), ["odd", "9.7_p1-r4"]);
    }

    #[test]
    fn absent_everywhere() {
        for text in [
            "manager=dpkg\n",
            "manager=dpkg",
            "manager=rpm\n",
            "manager=apk\n",
            "manager=dpkg\n\n",
        ] {
            let facts = PackageFacts::parse("p", &ok(text)).unwrap();
            assert!(facts.installed.is_empty(), "{text:?}");
            let v = check("p", PackageState::Absent, None, text);
            assert_eq!((v.status, v.actual.as_deref()), (RuleStatus::Pass, Some("absent")));
            let v = check("p", PackageState::Installed, Some(">= 1"), text);
            assert_eq!(v.status, RuleStatus::Fail);
            assert!(v.message.unwrap().contains("not installed"));
        }
        // dpkg knows the name but it was never installed.
        let v = check(
            "p",
            PackageState::Absent,
            None,
            "manager=dpkg\namd64\tunknown ok not-installed\t\n",
        );
        assert_eq!(v.status, RuleStatus::Pass);
    }

    #[test]
    fn installed_passes_when_any_instance_is() {
        let v = check("libssl3", PackageState::Installed, None, DPKG_ONE_REMOVED);
        assert_eq!(v.status, RuleStatus::Pass);
        let v = check("libssl3", PackageState::Absent, None, DPKG_ONE_REMOVED);
        assert_eq!(
            (v.status, v.actual.as_deref()),
            (
                RuleStatus::Fail,
                Some("installed 3.0.15-1~deb12u1; config-files 3.0.11-1~deb12u2")
            )
        );
    }

    #[test]
    fn a_version_constraint_must_hold_for_every_instance() {
        // The i386 instance is old: drift, and the message names it.
        let v = check("libssl3", PackageState::Installed, Some(">= 3.0.15"), DPKG_MULTIARCH);
        assert_eq!(v.status, RuleStatus::Fail);
        assert_eq!(v.expected.as_deref(), Some("installed, version >= 3.0.15"));
        assert_eq!(
            v.actual.as_deref(),
            Some("installed 3.0.11-1~deb12u2, 3.0.15-1~deb12u1")
        );
        assert_eq!(
            v.message.as_deref(),
            Some("1 of 2 installed instances of libssl3 fail the version constraint: 3.0.11-1~deb12u2 (i386)")
        );
        let v = check("libssl3", PackageState::Installed, Some(">= 3.0.11"), DPKG_MULTIARCH);
        assert_eq!((v.status, v.message), (RuleStatus::Pass, None));
        // Removing the old instance fixes it.
        let v = check("libssl3", PackageState::Installed, Some(">= 3.0.15"), DPKG_ONE_REMOVED);
        assert_eq!(v.status, RuleStatus::Pass);

        let v = check("kernel", PackageState::Installed, Some(">= 5.14.0-427"), RPM_KERNELS);
        assert_eq!(v.status, RuleStatus::Fail);
        assert_eq!(
            v.actual.as_deref(),
            Some("installed 5.14.0-362.el9, 5.14.0-427.el9, 5.14.0-503.el9")
        );
        assert!(v.message.unwrap().contains("5.14.0-362.el9 (x86_64)"));
        let v = check("kernel", PackageState::Installed, Some(">= 5.14.0-362"), RPM_KERNELS);
        assert_eq!(v.status, RuleStatus::Pass);
        // `!=` against a known-bad build: any instance of it is drift.
        let v = check(
            "kernel",
            PackageState::Installed,
            Some("!= 5.14.0-427.el9"),
            RPM_KERNELS,
        );
        assert_eq!(v.status, RuleStatus::Fail);

        let v = check("musl", PackageState::Installed, Some(">> 1.2.4-r2"), APK_TWO);
        assert_eq!(v.status, RuleStatus::Fail);
        assert!(v.message.unwrap().ends_with(": 1.2.4-r2"));
        let v = check("musl", PackageState::Installed, Some(">= 1.2.4"), APK_TWO);
        assert_eq!(v.status, RuleStatus::Pass);
    }

    #[test]
    fn one_instance_as_before() {
        let text = "manager=dpkg\namd64\tinstall ok installed\t1:9.2p1-2+deb12u3\n";
        let v = check("openssh-server", PackageState::Installed, Some(">= 1:9"), text);
        assert_eq!(
            (v.status, v.actual.as_deref(), v.message),
            (RuleStatus::Pass, Some("installed 1:9.2p1-2+deb12u3"), None)
        );
        let v = check("openssh-server", PackageState::Installed, Some(">= 1:10"), text);
        assert_eq!((v.status, v.message), (RuleStatus::Fail, None));
        // Held packages are installed too.
        let v = check(
            "p",
            PackageState::Installed,
            None,
            "manager=dpkg\namd64\thold ok installed\t1.0\n",
        );
        assert_eq!(v.status, RuleStatus::Pass);
        // The same version for two architectures is shown once.
        let text = "manager=dpkg\namd64\tinstall ok installed\t1.0\ni386\tinstall ok installed\t1.0\n";
        let v = check("p", PackageState::Installed, None, text);
        assert_eq!(v.actual.as_deref(), Some("installed 1.0"));
    }

    fn dpkg_line(state: &str) -> String {
        format!("manager=dpkg\namd64\t{state}\t1.2-3\n")
    }

    #[test]
    fn dpkg_states_as_they_are() {
        use RuleStatus::{Fail, Pass};
        // (Status field, actual, `installed` verdict, `absent` verdict)
        let cases = [
            ("install ok installed", "installed 1.2-3", Pass, Fail),
            ("hold ok installed", "installed 1.2-3", Pass, Fail),
            ("install ok triggers-pending", "installed 1.2-3", Pass, Fail),
            ("install ok triggers-awaited", "installed 1.2-3", Pass, Fail),
            ("install ok unpacked", "unpacked 1.2-3", Fail, Fail),
            ("install ok half-configured", "half-configured 1.2-3", Fail, Fail),
            ("install reinstreq half-installed", "half-installed 1.2-3", Fail, Fail),
            ("deinstall ok config-files", "config-files 1.2-3", Fail, Fail),
            ("install ok not-installed", "absent", Fail, Pass),
            ("unknown ok not-installed", "absent", Fail, Pass),
            ("install ok some-future-state", "some-future-state 1.2-3", Fail, Fail),
        ];
        for (status, actual, installed, absent) in cases {
            let text = dpkg_line(status);
            let v = check("p", PackageState::Installed, None, &text);
            assert_eq!((v.status, v.actual.as_deref()), (installed, Some(actual)), "{status}");
            let v = check("p", PackageState::Absent, None, &text);
            assert_eq!((v.status, v.actual.as_deref()), (absent, Some(actual)), "{status}");
        }
        let v = check("p", PackageState::Installed, None, &dpkg_line("install ok unpacked"));
        assert_eq!(
            v.message.as_deref(),
            Some("package p is not configured (dpkg state unpacked): an install or upgrade did not finish")
        );
        let v = check(
            "p",
            PackageState::Absent,
            None,
            &dpkg_line("install ok half-configured"),
        );
        assert_eq!(
            v.message.as_deref(),
            Some("package p is partly on disk (dpkg state half-configured)")
        );
        let v = check("p", PackageState::Absent, None, &dpkg_line("deinstall ok config-files"));
        assert!(v.message.unwrap().contains("dpkg --purge"));
        let v = check(
            "p",
            PackageState::Installed,
            None,
            &dpkg_line("deinstall ok config-files"),
        );
        assert_eq!(v.message.as_deref(), Some("package p is not installed (dpkg)"));
    }

    #[test]
    fn a_half_installed_old_instance_fails_the_version_constraint() {
        // The i386 upgrade stopped half way: its old files are on disk.
        let text = "manager=dpkg\namd64\tinstall ok installed\t3.0.15-1\ni386\tinstall ok unpacked\t3.0.11-1\n";
        let v = check("libssl3", PackageState::Installed, Some(">= 3.0.15"), text);
        assert_eq!(v.status, RuleStatus::Fail);
        assert_eq!(v.actual.as_deref(), Some("installed 3.0.15-1; unpacked 3.0.11-1"));
        assert!(v.message.unwrap().contains("3.0.11-1 (i386)"));
        // Left conffiles have no version that runs.
        let v = check("libssl3", PackageState::Installed, Some(">= 3.0.15"), DPKG_ONE_REMOVED);
        assert_eq!(v.status, RuleStatus::Pass);
    }

    #[test]
    fn constraints_use_the_managers_order() {
        // rpm: `1.0.a` is older than `1.0.1` (dpkg says newer); `^` is a
        // post-release snapshot before the next version.
        let rpm = |v: &str| format!("manager=rpm\nx86_64\t(none):{v}\n");
        let at_least = |text: &str, c: &str| check("p", PackageState::Installed, Some(c), text).status;
        assert_eq!(at_least(&rpm("1.0.a-1.el9"), ">= 1.0.1"), RuleStatus::Fail);
        assert_eq!(at_least(&rpm("1.0^git1-1.el9"), ">= 1.0.1"), RuleStatus::Fail);
        assert_eq!(at_least(&rpm("1.0^git1-1.el9"), ">= 1.0"), RuleStatus::Pass);
        // The same strings in Debian's order, for contrast.
        assert_eq!(
            at_least("manager=dpkg\namd64\tinstall ok installed\t1.0.a-1\n", ">= 1.0.1"),
            RuleStatus::Pass
        );
        // apk: `_rc1` is before the release, `_p1` after it.
        let apk = |v: &str| format!("manager=apk\np-{v}\n");
        assert_eq!(at_least(&apk("1.0_rc1-r0"), ">= 1.0"), RuleStatus::Fail);
        assert_eq!(at_least(&apk("1.0_p1-r0"), ">= 1.0"), RuleStatus::Pass);
        assert_eq!(
            PackageFacts::parse("p", &ok("manager=apk\np-1.0-r0\np-1.0_rc1-r0\n"))
                .unwrap()
                .versions(),
            ["1.0_rc1-r0", "1.0-r0"]
        );
    }

    #[test]
    fn no_manager_is_an_error() {
        for text in ["manager=none\n", "", "garbage\n", "manager=pacman\n"] {
            assert!(
                verdict("p", PackageState::Installed, None, &ok(text)).is_err(),
                "{text:?}"
            );
        }
        assert!(verdict("p", PackageState::Installed, None, &ProbeOutput::Missing).is_err());
    }
}
