//! Judging `when:` on a host: the facts a condition needs (added to the
//! same [`Probes`] as the rules' facts, so one remote command gathers
//! both) and whether it holds there, with the reason a person reads when
//! it does not.

use super::command::probe as command_probe;
use super::package::probe as package_probe;
use super::service::probe as service_probe;
use super::{CollectLimits, EvalError};
use crate::baseline::expect::scalar_text;
use crate::baseline::When;
use crate::collect::facts::command::CommandOutput;
use crate::collect::facts::os_release::OsRelease;
use crate::collect::facts::package::PackageFacts;
use crate::collect::facts::service;
use crate::collect::facts::stat::Stat;
use crate::collect::{Probe, ProbeOutput, Probes};
use crate::template::Vars;

/// Every fact `when` needs.
pub fn probes(when: &When, limits: &CollectLimits) -> Vec<Probe> {
    let mut out = Vec::new();
    collect(when, limits, &mut out);
    out
}

fn collect(when: &When, limits: &CollectLimits, out: &mut Vec<Probe>) {
    match when {
        When::All(list) | When::Any(list) => list.iter().for_each(|w| collect(w, limits, out)),
        When::Not(inner) => collect(inner, limits, out),
        When::Os(_) | When::OsLike(_) | When::Version(_) => out.push(OsRelease.into()),
        When::Package(name) => out.push(package_probe(name)),
        When::File(path) => out.push(Stat { path: path.clone() }.into()),
        When::Service(name) => out.push(service_probe(name)),
        When::Command(command) => out.push(command_probe(command, limits)),
        When::Var(_) => {}
    }
}

/// Whether a condition holds, and the host's fact that decided it, in
/// words that read right either way ("file /x does not exist").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holds {
    pub holds: bool,
    pub why: String,
}

/// The facts gathered for one host, and its vars.
pub struct HostFacts<'a> {
    pub probes: &'a Probes,
    pub outputs: &'a [ProbeOutput],
    pub limits: &'a CollectLimits,
    pub vars: &'a Vars,
}

impl HostFacts<'_> {
    fn output(&self, probe: &Probe) -> Result<&ProbeOutput, EvalError> {
        self.probes
            .get(probe)
            .and_then(|i| self.outputs.get(i))
            .ok_or(EvalError::NoFact)
    }
}

/// Judges `when` on the host.
pub fn judge(when: &When, facts: &HostFacts) -> Result<Holds, EvalError> {
    let holds = |holds: bool, why: String| Ok(Holds { holds, why });
    match when {
        When::All(list) => {
            let mut reasons = Vec::new();
            for w in list {
                let h = judge(w, facts)?;
                if !h.holds {
                    return Ok(h);
                }
                reasons.push(h.why);
            }
            holds(true, reasons.join(", "))
        }
        When::Any(list) => {
            let mut reasons = Vec::new();
            for w in list {
                let h = judge(w, facts)?;
                if h.holds {
                    return Ok(h);
                }
                reasons.push(h.why);
            }
            holds(false, reasons.join("; "))
        }
        When::Not(inner) => {
            let h = judge(inner, facts)?;
            // "file /x exists, and the rule wants not" reads oddly; the
            // fact alone with the negation named is clearer.
            holds(
                !h.holds,
                if h.holds {
                    format!("{} (when: not)", h.why)
                } else {
                    h.why
                },
            )
        }
        When::Os(ids) => {
            let os = os_facts(facts)?;
            let ok = ids.contains(&os.id);
            if ok {
                holds(true, format!("os is {}", os.id))
            } else {
                holds(false, format!("os is {}, rule wants {}", os.id, ids.join(", ")))
            }
        }
        When::OsLike(ids) => {
            let os = os_facts(facts)?;
            let family: Vec<&str> = std::iter::once(os.id.as_str())
                .chain(os.id_like.iter().map(String::as_str))
                .collect();
            let ok = ids.iter().any(|i| family.contains(&i.as_str()));
            let like = if os.id_like.is_empty() {
                String::new()
            } else {
                format!(" (like {})", os.id_like.join(" "))
            };
            holds(
                ok,
                format!(
                    "os is {}{like}, {} {}",
                    os.id,
                    if ok { "which is like" } else { "rule wants like" },
                    ids.join(", ")
                ),
            )
        }
        When::Version(constraint) => {
            let os = os_facts(facts)?;
            match &os.version_id {
                Some(v) => holds(
                    constraint.matches(v),
                    format!("version is {v}, rule wants {constraint}"),
                ),
                None => holds(
                    false,
                    format!("os {} has no VERSION_ID, rule wants {constraint}", os.id),
                ),
            }
        }
        When::Package(name) => {
            let p = PackageFacts::parse(name, facts.output(&package_probe(name))?)?;
            let installed = !p.installed.is_empty();
            holds(
                installed,
                format!("package {name} is {}installed", if installed { "" } else { "not " }),
            )
        }
        When::File(path) => {
            // `p_stat` says missing only when `test -e` fails; a path it
            // cannot stat (denied) exists.
            let exists = !matches!(facts.output(&Stat { path: path.clone() }.into())?, ProbeOutput::Missing);
            holds(
                exists,
                format!("file {path} {}", if exists { "exists" } else { "does not exist" }),
            )
        }
        When::Service(name) => {
            let s = service::decode(facts.output(&service_probe(name))?)?;
            // Known to the init system: a unit file state or an init
            // script (systemd's is-active says "inactive" for any name).
            let present = s.enabled.is_some() || s.running == Some(true);
            holds(
                present,
                format!("service {name} is {}present", if present { "" } else { "not " }),
            )
        }
        When::Command(command) => {
            let ProbeOutput::Ok(bytes) = facts.output(&command_probe(command, facts.limits))? else {
                return Err(EvalError::CommandUnreadable);
            };
            let status = CommandOutput::parse(bytes)
                .ok_or(EvalError::OutputExceeded(facts.limits.max_command_output))?
                .status;
            if matches!(status, 124 | 137) {
                return Err(EvalError::TimedOut(facts.limits.command_timeout));
            }
            holds(status == 0, format!("command `{command}` exited {status}"))
        }
        When::Var(pairs) => {
            for (name, want) in pairs {
                let have = match facts.vars.get(name) {
                    None => None,
                    Some(serde_yaml::Value::Sequence(items)) => {
                        let texts: Vec<String> = items.iter().filter_map(|i| scalar_text(i).ok()).collect();
                        if texts.contains(want) {
                            continue;
                        }
                        Some(format!("[{}]", texts.join(", ")))
                    }
                    Some(v) => match scalar_text(v) {
                        Ok(t) if t == *want => continue,
                        Ok(t) => Some(t),
                        Err(_) => Some("not a value".into()),
                    },
                };
                let have = have.map_or("unset".to_string(), |h| format!("is {h}"));
                return holds(false, format!("var {name} {have}, rule wants {want}"));
            }
            let names: Vec<String> = pairs.iter().map(|(n, v)| format!("var {n} is {v}")).collect();
            holds(true, names.join(", "))
        }
    }
}

fn os_facts(facts: &HostFacts) -> Result<crate::collect::facts::os_release::OsFacts, EvalError> {
    OsRelease::decode(facts.output(&OsRelease.into())?).map_err(|status| EvalError::Read {
        file: "/etc/os-release".into(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge_on(when: &str, outputs: &[(Probe, &str)], vars: &Vars) -> Result<Holds, EvalError> {
        let when = When::parse(&serde_yaml::from_str(when).unwrap()).unwrap();
        let limits = CollectLimits::default();
        let mut probes = Probes::default();
        let mut outs = Vec::new();
        for (p, text) in outputs {
            probes.add(p.clone());
            outs.push(match *text {
                "MISSING" => ProbeOutput::Missing,
                t => ProbeOutput::Ok(t.as_bytes().to_vec()),
            });
        }
        for p in super::probes(&when, &limits) {
            assert!(probes.get(&p).is_some(), "{p:?} not given");
        }
        judge(
            &when,
            &HostFacts {
                probes: &probes,
                outputs: &outs,
                limits: &limits,
                vars,
            },
        )
    }

    const ALMA: &str = "ID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n";

    #[test]
    fn os_conditions() {
        let os = |w: &str, text: &str| judge_on(w, &[(OsRelease.into(), text)], &Vars::new()).unwrap();
        let h = os("{os: [debian, ubuntu]}", "ID=alpine\nVERSION_ID=3.19.1\n");
        assert_eq!(
            h,
            Holds {
                holds: false,
                why: "os is alpine, rule wants debian, ubuntu".into()
            }
        );
        assert!(os("{os_like: rhel, version: '>= 9'}", ALMA).holds);
        assert!(!os("{os_like: rhel, version: '>= 10'}", ALMA).holds);
        assert!(!os("{os_like: debian}", ALMA).holds);
        // Ubuntu's VERSION_ID compares as a version, not as text.
        assert!(os("{version: '>= 22.04'}", "ID=ubuntu\nVERSION_ID=\"22.10\"\n").holds);
        assert!(!os("{version: '>= 22.04'}", "ID=ubuntu\nVERSION_ID=\"20.04\"\n").holds);
        // No os-release at all: ID=linux, no version.
        assert_eq!(os("{os: debian}", "MISSING").why, "os is linux, rule wants debian");
        assert!(!os("{version: '>= 1'}", "MISSING").holds);
        let h = os("{not: {os: almalinux}}", ALMA);
        assert_eq!((h.holds, h.why.as_str()), (false, "os is almalinux (when: not)"));
        assert!(os("{any: [{os: debian}, {os_like: fedora}]}", ALMA).holds);
    }

    #[test]
    fn file_package_service_command_and_var() {
        let stat = |p: &str| Probe::from(Stat { path: p.into() });
        let limits = CollectLimits::default();
        let f = |w: &str, out: Vec<(Probe, &str)>| judge_on(w, &out, &Vars::new()).unwrap().holds;
        assert!(f("{file: /x}", vec![(stat("/x"), "644 0 0 root root regular file")]));
        assert!(!f("{file: /x}", vec![(stat("/x"), "MISSING")]));
        let pkg = package_probe("openssh-server");
        assert!(f(
            "{package: openssh-server}",
            vec![(pkg.clone(), "manager=dpkg\namd64\tinstall ok installed\t1:9.2p1-2\n")]
        ));
        assert!(!f(
            "{package: openssh-server}",
            vec![(
                pkg.clone(),
                "manager=dpkg\namd64\tdeinstall ok config-files\t1:9.2p1-2\n"
            )]
        ));
        assert!(!f("{package: openssh-server}", vec![(pkg, "manager=rpm\n")]));
        let svc = service_probe("ssh");
        assert!(f(
            "{service: ssh}",
            vec![(svc.clone(), "init=systemd\nactive=inactive\nenabled=disabled\n")]
        ));
        assert!(!f(
            "{service: ssh}",
            vec![(svc.clone(), "init=systemd\nactive=inactive\nenabled=\n")]
        ));
        assert!(!f(
            "{service: ssh}",
            vec![(svc, "init=sysv\nstatus=none\nenabled=none\n")]
        ));
        let cmd = command_probe("test -d /run/systemd/system", &limits);
        assert!(f("{command: test -d /run/systemd/system}", vec![(cmd.clone(), "\n0")]));
        assert!(!f("{command: test -d /run/systemd/system}", vec![(cmd.clone(), "\n1")]));
        assert!(judge_on(
            "{command: test -d /run/systemd/system}",
            &[(cmd, "\n137")],
            &Vars::new()
        )
        .is_err());

        let mut vars = Vars::new();
        vars.insert("role".into(), "web".into());
        vars.insert("groups".into(), serde_yaml::from_str("[eu, prod]").unwrap());
        let v = |w: &str| judge_on(w, &[], &vars).unwrap();
        assert!(v("{var: {role: web}}").holds);
        assert!(v("{var: {groups: prod}}").holds);
        assert_eq!(v("{var: {role: db}}").why, "var role is web, rule wants db");
        assert_eq!(v("{var: {tier: '1'}}").why, "var tier unset, rule wants 1");
    }
}
