//! Inspecting one host over an open connection: the rules that apply to
//! it, their facts gathered in one remote command, and their verdicts. The
//! audit engine and an apply's verification both use it.

use std::time::Duration;

use crate::baseline::{Baseline, Check, Rule};
use crate::collect::facts::sysctl_files::SysctlFound;
use crate::collect::{gather, GatherError, Probe, ProbeOutput, Probes};
use crate::conftext::include::locate_reading;
use crate::evaluate::when::{self, HostFacts};
use crate::evaluate::{evaluate, probe_for, probes_for, CollectLimits, RuleStatus, SshdTrees, Verdict};
use crate::inventory::Host;
use crate::redact::Redactor;
use crate::report::{Observed, ResultRemediation, RuleResult};
use crate::template::{Renderer, Vars};
use crate::transport::Transport;

/// The rules that apply to `host`, and results for those that do not
/// (left out by a profile or tailoring, or not for this host by `hosts:`).
fn select_rules<'a>(host: &Host, baselines: &'a [Baseline]) -> (Vec<(&'a Baseline, &'a Rule)>, Vec<RuleResult>) {
    let mut applicable = Vec::new();
    let mut skipped = Vec::new();
    for baseline in baselines {
        for rule in &baseline.rules {
            let why = match (&rule.excluded, &rule.hosts) {
                (Some(why), _) => why.clone(),
                (None, Some(p)) if !p.matches(&host.name, &host.groups) => {
                    format!("not for this host (hosts: {})", p.as_str())
                }
                _ => {
                    applicable.push((baseline, rule));
                    continue;
                }
            };
            let mut result = RuleResult {
                id: rule.id.clone(),
                title: rule.title.clone(),
                severity: rule.severity,
                status: RuleStatus::Skipped,
                expected: None,
                actual: None,
                diff: None,
                message: Some(why),
                baseline: baseline.name.clone(),
                before: None,
                no_remediation: false,
                actual_default: false,
                rationale: None,
                references: None,
                manual_check: None,
                remediation: None,
            };
            document(&mut result, rule);
            skipped.push(result);
        }
    }
    (applicable, skipped)
}

/// Adds what the rule tells people to its result: references always; the
/// rationale, the manual check and how it is fixed (the playbook `fix`
/// runs, or the manual instructions) where someone has to act on it. A
/// pass carries none of those.
fn document(result: &mut RuleResult, rule: &Rule) {
    let docs = &rule.docs;
    result.references = (!docs.references.is_empty()).then(|| docs.references.clone());
    if matches!(result.status, RuleStatus::Fail | RuleStatus::Error | RuleStatus::Waived) {
        result.rationale = rule.rationale.clone();
        result.manual_check = docs.manual_check.clone();
        result.remediation = match (&rule.remediation, &docs.manual_remediation) {
            (Some(r), _) => Some(ResultRemediation {
                playbook: Some(r.playbook.display().to_string()),
                manual: None,
            }),
            (None, Some(manual)) => Some(ResultRemediation {
                playbook: None,
                manual: Some(manual.clone()),
            }),
            (None, None) => None,
        };
    }
}

/// `None` when the baseline's and the rule's `when:` hold on the host;
/// else the rule's verdict: `skipped` with the reason, or `error` when a
/// condition's fact could not be read.
fn applicability(baseline: &Baseline, rule: &Rule, facts: &HostFacts) -> Option<Verdict> {
    let conditions = [
        (baseline.when.as_ref(), format!("baseline {}: ", baseline.name)),
        (rule.when.as_ref(), String::new()),
    ];
    for (w, whose) in conditions {
        let Some(w) = w else { continue };
        match when::judge(w, facts) {
            Ok(h) if h.holds => {}
            Ok(h) => {
                return Some(Verdict {
                    status: RuleStatus::Skipped,
                    expected: None,
                    actual: None,
                    diff: None,
                    message: Some(format!("not applicable: {whose}{}", h.why)),
                    actual_default: false,
                })
            }
            Err(e) => {
                return Some(Verdict {
                    status: RuleStatus::Error,
                    expected: None,
                    actual: None,
                    diff: None,
                    message: Some(format!("{whose}when: {e}")),
                    actual_default: false,
                })
            }
        }
    }
    None
}

/// What auditing one host found.
pub struct Audited {
    pub results: Vec<RuleResult>,
    /// Every file read for the rules (not /proc), secrets masked.
    pub observed: Vec<Observed>,
}

/// Checks `baselines` on a host over an open connection, with one remote
/// command. Used by the audit and by an apply's verification.
pub async fn audit_over(
    connection: &dyn Transport,
    host: &Host,
    baselines: &[Baseline],
    limits: &CollectLimits,
    command_timeout: Duration,
) -> Result<Audited, GatherError> {
    let (rules, skipped) = select_rules(host, baselines);
    let mut probes = Probes::default();
    for (baseline, rule) in &rules {
        for probe in probes_for(rule, limits) {
            probes.add(probe);
        }
        // `when:` facts ride in the same remote command; a rule that turns
        // out not to apply has had its own fact gathered for nothing,
        // which costs less than a second round trip.
        for w in baseline.when.iter().chain(&rule.when) {
            for p in when::probes(w, limits) {
                probes.add(p);
            }
        }
    }
    let outputs = if probes.is_empty() {
        Vec::new()
    } else {
        gather(connection, host, &probes, command_timeout).await?
    };
    let renderer = Renderer::default();
    let sshd = SshdTrees::decode(&probes, &outputs);
    let mut results = Vec::with_capacity(rules.len() + skipped.len());
    for (baseline, rule) in &rules {
        // Baseline vars are defaults; the host's own vars override them.
        let mut vars: Vars = baseline.vars.clone();
        vars.extend(host.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        let facts = HostFacts {
            probes: &probes,
            outputs: &outputs,
            limits,
            vars: &vars,
        };
        let verdict = match applicability(baseline, rule, &facts) {
            Some(not_applicable) => not_applicable,
            None => evaluate(rule, &probes, &outputs, &sshd, limits, &vars, &renderer),
        };
        results.push(RuleResult {
            id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            status: verdict.status,
            expected: verdict.expected,
            actual: verdict.actual,
            diff: verdict.diff,
            message: verdict.message,
            baseline: baseline.name.clone(),
            before: None,
            no_remediation: false,
            actual_default: verdict.actual_default,
            rationale: None,
            references: None,
            manual_check: None,
            remediation: None,
        });
        if let Some(last) = results.last_mut() {
            document(last, rule);
        }
    }
    results.extend(skipped);

    // Secret vars (by name) never reach a report or the state database.
    let mut all_vars = host.vars.clone();
    for b in baselines {
        all_vars.extend(b.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let redactor = Redactor::new(&all_vars, &Default::default());
    if !redactor.is_empty() {
        for r in &mut results {
            r.expected = redactor.redact_opt(r.expected.take());
            r.actual = redactor.redact_opt(r.actual.take());
            r.diff = redactor.redact_opt(r.diff.take());
            r.message = redactor.redact_opt(r.message.take());
        }
    }
    let rules: Vec<&Rule> = rules.iter().map(|(_, rule)| *rule).collect();
    let observed = observed_files(&rules, &probes, &outputs, &sshd, limits, &redactor);
    Ok(Audited { results, observed })
}

/// The files read for the rules (not /proc), secrets masked, for the state
/// database.
fn observed_files(
    rules: &[&Rule],
    probes: &Probes,
    outputs: &[ProbeOutput],
    sshd: &SshdTrees,
    limits: &CollectLimits,
    redactor: &Redactor,
) -> Vec<Observed> {
    let mut observed: Vec<Observed> = Vec::new();
    let mut observe = |path: &str, output: &ProbeOutput| {
        if path.starts_with("/proc/") || observed.iter().any(|o| o.path == path) {
            return;
        }
        let content = match output {
            ProbeOutput::Ok(bytes) if redactor.is_empty() => Some(bytes.clone()),
            ProbeOutput::Ok(bytes) => Some(match std::str::from_utf8(bytes) {
                Ok(text) => redactor.redact(text).into_bytes(),
                Err(_) => bytes.clone(),
            }),
            ProbeOutput::Missing => None,
            ProbeOutput::Status(_) | ProbeOutput::Parts(_) => return,
        };
        observed.push(Observed {
            path: path.to_string(),
            content,
        });
    };
    for (index, (probe, output)) in probes.as_slice().iter().zip(outputs).enumerate() {
        match probe {
            Probe::Read(read) => observe(&read.path, output),
            // The sshd configuration and, of the files its `Include`s
            // matched, only those the walk read for some rule's key: a
            // mistaken `Include /etc/ssh/*` must not copy host keys that
            // sshd never reads into the state database.
            Probe::SshdConfig(request) => {
                let main = &request.path;
                let Ok(tree) = sshd.get(index) else { continue };
                let mut read: Vec<String> = vec![main.clone()];
                for rule in rules {
                    let Check::Setting { file, key, .. } = &rule.check else {
                        continue;
                    };
                    if probe_for(rule, limits) != *probe {
                        continue;
                    }
                    for path in locate_reading(tree, file, key).1 {
                        if !read.contains(&path) {
                            read.push(path);
                        }
                    }
                }
                for f in tree.files.iter().filter(|f| read.contains(&f.path)) {
                    observe(&f.path, &f.content);
                }
            }
            // Every sysctl file the host sent: each can decide a key.
            Probe::SysctlFiles(_) => {
                if let Ok(found) = SysctlFound::decode(output) {
                    for (path, content) in &found.files {
                        observe(path, content);
                    }
                }
            }
            // Command output, not files.
            Probe::SshdVersion(_) | Probe::SshdDump(_) => {}
            // Each file a glob read (a stat-only glob read none).
            Probe::Glob(request) => {
                if request.each == crate::collect::facts::glob::Each::Stat {
                    continue;
                }
                if let Ok(matches) = crate::collect::facts::glob::decode(output) {
                    for (name, content) in &matches.files {
                        observe(&String::from_utf8_lossy(name), content);
                    }
                }
            }
            Probe::Stat(_)
            | Probe::Lstat(_)
            | Probe::Command(_)
            | Probe::Service(_)
            | Probe::Package(_)
            | Probe::OsRelease(_) => {}
        }
    }
    observed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine, counting the remote commands an audit sends.
    struct Counting(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl Transport for Counting {
        async fn exec(
            &self,
            argv: &[String],
            stdin: &[u8],
            limits: crate::transport::ExecLimits,
        ) -> Result<crate::transport::ExecOutput, crate::transport::TransportError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            crate::transport::local::LocalTransport.exec(argv, stdin, limits).await
        }

        async fn close(&self) {}
    }

    #[tokio::test]
    async fn when_facts_come_in_the_rules_one_remote_command() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("here");
        std::fs::write(&here, "x\n").unwrap();
        let text = format!(
            "name: w\nwhen: {{command: 'true'}}\nrules:\n\
             - {{id: HERE, when: {{file: {here}}}, command: 'echo hi', expect: hi}}\n\
             - {{id: GONE, when: {{file: {here}.gone}}, command: 'echo hi', expect: hi}}\n\
             - {{id: NOT-HERE, when: {{not: {{file: {here}}}}}, command: 'echo hi', expect: hi}}\n\
             - {{id: OS, when: {{any: [{{os: nowhere}}, {{os_like: nowhere}}]}}, command: 'echo hi', expect: hi}}\n",
            here = here.display()
        );
        let baseline = Baseline::from_source(&crate::yaml::SourceFile {
            path: "w.yaml".into(),
            text,
        })
        .unwrap();
        let counting = Counting(Default::default());
        let audited = audit_over(
            &counting,
            &Host::local_machine(),
            &[baseline],
            &CollectLimits::default(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        let status: Vec<(&str, RuleStatus)> = audited.results.iter().map(|r| (r.id.as_str(), r.status)).collect();
        assert_eq!(
            status,
            [
                ("HERE", RuleStatus::Pass),
                ("GONE", RuleStatus::Skipped),
                ("NOT-HERE", RuleStatus::Skipped),
                ("OS", RuleStatus::Skipped)
            ]
        );
        let gone = audited.results[1].message.as_deref().unwrap();
        assert_eq!(
            gone,
            format!("not applicable: file {}.gone does not exist", here.display())
        );
        let not_here = audited.results[2].message.as_deref().unwrap();
        assert_eq!(
            not_here,
            format!("not applicable: file {} exists (when: not)", here.display())
        );
    }

    #[test]
    fn only_the_files_sshd_reads_for_a_rule_are_stored() {
        use crate::baseline::Severity;
        use crate::collect::Part;
        let main = "/etc/ssh/sshd_config";
        let (cloud, key) = ("/etc/ssh/sshd_config.d/50-cloud.conf", "/etc/ssh/ssh_host_ed25519_key");
        let rule = |key: &str| Rule {
            id: key.into(),
            title: key.into(),
            severity: Severity::Medium,
            rationale: None,
            remediation: None,
            docs: Default::default(),
            hosts: None,
            tags: Vec::new(),
            when: None,
            excluded: None,
            check: Check::Setting {
                file: main.into(),
                key: key.into(),
                expect: None,
                absent: false,
                connection: None,
                source: Default::default(),
                default: Default::default(),
            },
        };
        let limits = CollectLimits::default();
        let rules = [rule("Port"), rule("PasswordAuthentication")];
        let mut probes = Probes::default();
        for r in &rules {
            probes.add(probe_for(r, &limits));
        }
        // A mistaken `Include /etc/ssh/*` after the keys are set: the host
        // expanded it and sent the private key, which sshd never reads to
        // decide these keys.
        let part = |status: &str, body: &str| Part {
            status: status.into(),
            body: body.as_bytes().to_vec(),
        };
        let outputs = vec![ProbeOutput::Parts(vec![
            part("path", main),
            part(
                "ok",
                "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\nInclude /etc/ssh/*\n",
            ),
            part("glob", "/etc/ssh/sshd_config.d/*.conf"),
            part("match", cloud),
            part("glob", "/etc/ssh/*"),
            part("match", key),
            part("path", cloud),
            part("ok", "PasswordAuthentication no\n"),
            part("path", key),
            part("ok", "-----BEGIN OPENSSH PRIVATE KEY-----\n"),
        ])];
        let sshd = SshdTrees::decode(&probes, &outputs);
        let rules: Vec<&Rule> = rules.iter().collect();
        let observed = observed_files(&rules, &probes, &outputs, &sshd, &limits, &Redactor::default());
        let paths: Vec<&str> = observed.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, [main, cloud]);
        // Port alone: only the main file sets it, so the drop-in is not
        // stored, nor the key.
        let observed = observed_files(&rules[..1], &probes, &outputs, &sshd, &limits, &Redactor::default());
        let paths: Vec<&str> = observed.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, [main]);
    }
}
