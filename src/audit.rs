//! The audit engine: for every host, one connection and one remote command
//! that gathers every fact its rules need, then evaluation. Hosts run
//! concurrently up to `forks`; a slow or dead host only costs its own slot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use tokio::sync::{mpsc, Semaphore};

use crate::baseline::{Baseline, Check, Rule};
use crate::collect::ProbeOutput;
use crate::collect::{parse_output, script, Probe, Probes};
use crate::evaluate::include::locate_reading;
use crate::evaluate::{evaluate, probe_for, CollectLimits, SshdTrees};
use crate::inventory::Host;
use crate::redact::Redactor;
use crate::report::{HostReport, HostStatus, Observed, RuleResult, RuleStatus, RunKind, RunReport};
use crate::run_id::new_run_id;
use crate::template::{Renderer, Vars};
use crate::transport::{self, privileged, ConnectOptions, ExecLimits, Transport, TransportError};
use crate::waiver::{self, Waiver};

/// Everything an audit needs, decided by the caller.
pub struct AuditPlan {
    pub hosts: Vec<Host>,
    pub baselines: Vec<Baseline>,
    pub limits: CollectLimits,
    pub connect: ConnectOptions,
    /// Bound on the collection command, not counting the `command:` rules'
    /// own timeouts, which are added to it.
    pub command_timeout: Duration,
    pub forks: usize,
    pub waivers: Vec<Waiver>,
}

/// Progress, for whoever shows it. The engine itself never prints.
#[derive(Debug, Clone)]
pub enum Event {
    HostStarted { name: String },
    HostFinished { name: String, status: HostStatus },
}

pub async fn run(plan: AuditPlan, events: Option<mpsc::UnboundedSender<Event>>) -> RunReport {
    let started = Utc::now();
    let run_id = new_run_id(started);
    let plan = Arc::new(plan);
    let keys = Arc::new(transport::ssh::KeyStore::default());
    let jumps = Arc::new(transport::ssh::JumpPool::default());
    let slots = Arc::new(Semaphore::new(plan.forks.max(1)));

    let mut tasks = Vec::with_capacity(plan.hosts.len());
    for index in 0..plan.hosts.len() {
        let (plan, keys, jumps, slots, events) =
            (plan.clone(), keys.clone(), jumps.clone(), slots.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.expect("semaphore is never closed");
            let host = &plan.hosts[index];
            if let Some(tx) = &events {
                let _ = tx.send(Event::HostStarted {
                    name: host.name.clone(),
                });
            }
            let report = audit_host(host, &plan, &keys, &jumps).await;
            if let Some(tx) = &events {
                let _ = tx.send(Event::HostFinished {
                    name: host.name.clone(),
                    status: report.status,
                });
            }
            report
        }));
    }
    let mut hosts = Vec::with_capacity(tasks.len());
    for (task, host) in tasks.into_iter().zip(&plan.hosts) {
        hosts.push(
            task.await
                .unwrap_or_else(|e| host_error(host, format!("internal error: {e}"), Duration::ZERO)),
        );
    }
    RunReport {
        run_id,
        kind: RunKind::Audit,
        started,
        finished: Utc::now(),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: plan.baselines.iter().map(|b| b.name.clone()).collect(),
        rectify_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn host_error(host: &Host, error: String, elapsed: Duration) -> HostReport {
    HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        status: HostStatus::Error,
        error: Some(error),
        results: Vec::new(),
        changes: Vec::new(),
        duration_ms: elapsed.as_millis() as u64,
        warnings: Vec::new(),
        observed: Vec::new(),
    }
}

/// The rules that apply to `host`, and results for those that do not.
fn select_rules<'a>(host: &Host, baselines: &'a [Baseline]) -> (Vec<(&'a Baseline, &'a Rule)>, Vec<RuleResult>) {
    let mut applicable = Vec::new();
    let mut skipped = Vec::new();
    for baseline in baselines {
        for rule in &baseline.rules {
            match &rule.hosts {
                Some(p) if !p.matches(&host.name, &host.groups) => skipped.push(RuleResult {
                    id: rule.id.clone(),
                    title: rule.title.clone(),
                    severity: rule.severity,
                    status: RuleStatus::Skipped,
                    expected: None,
                    actual: None,
                    diff: None,
                    message: Some(format!("not for this host (hosts: {})", p.as_str())),
                    baseline: baseline.name.clone(),
                    before: None,
                }),
                _ => applicable.push((baseline, rule)),
            }
        }
    }
    (applicable, skipped)
}

async fn audit_host(
    host: &Host,
    plan: &AuditPlan,
    keys: &transport::ssh::KeyStore,
    jumps: &transport::ssh::JumpPool,
) -> HostReport {
    let clock = Instant::now();
    let connection = match transport::connect(host, &plan.connect, keys, jumps).await {
        Ok(c) => c,
        Err(e) => return host_error(host, one_line(&e), clock.elapsed()),
    };
    let results = audit_over(
        connection.as_ref(),
        host,
        &plan.baselines,
        &plan.limits,
        plan.command_timeout,
    )
    .await;
    connection.close().await;
    let (mut results, observed) = match results {
        Ok(audited) => (audited.results, audited.observed),
        Err(e) => return host_error(host, e, clock.elapsed()),
    };
    let warnings = waiver::apply(
        &plan.waivers,
        &host.name,
        &host.groups,
        &mut results,
        Utc::now().date_naive(),
    );
    HostReport {
        name: host.name.clone(),
        address: host.address.clone(),
        status: HostReport::status_from_results(&results),
        error: None,
        results,
        changes: Vec::new(),
        duration_ms: clock.elapsed().as_millis() as u64,
        warnings,
        observed,
    }
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
) -> Result<Audited, String> {
    let (rules, skipped) = select_rules(host, baselines);
    let mut probes = Probes::default();
    for (_, rule) in &rules {
        probes.add(probe_for(rule, limits));
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
        let verdict = evaluate(rule, &probes, &outputs, &sshd, limits, &vars, &renderer);
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
        });
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
            Probe::Read { path, .. } => observe(path, output),
            // The sshd configuration and, of the files its `Include`s
            // matched, only those the walk read for some rule's key: a
            // mistaken `Include /etc/ssh/*` must not copy host keys that
            // sshd never reads into the state database.
            Probe::SshdConfig { path: main, .. } => {
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
            _ => {}
        }
    }
    observed
}

/// Runs the collection script for `probes` once over `connection`, with the
/// host's privileges, and splits its output.
pub async fn gather(
    connection: &dyn Transport,
    host: &Host,
    probes: &Probes,
    command_timeout: Duration,
) -> Result<Vec<crate::collect::ProbeOutput>, String> {
    let nonce = format!("{:032x}", rand::rng().random::<u128>());
    let script = script::build(probes.as_slice(), &nonce).map_err(|e| e.to_string())?;
    let limits = exec_limits(probes.as_slice(), command_timeout);
    let output = connection
        .exec(&privileged(host.become_, &["sh", "-s"]), script.as_bytes(), limits)
        .await
        .map_err(|e| one_line(&e))?;

    match parse_output(&output.stdout, &nonce, probes.len()) {
        Ok(outputs) => Ok(outputs),
        Err(e) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let hint = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            let status = output
                .exit_status
                .map(|s| format!("exit {s}"))
                .unwrap_or_else(|| "killed".into());
            if hint.is_empty() {
                Err(format!("{e} ({status})"))
            } else {
                Err(format!(
                    "{e} ({status}): {}",
                    hint.chars().take(200).collect::<String>()
                ))
            }
        }
    }
}

/// The whole script may take the base timeout plus each command's own, and
/// may print each fact's maximum plus framing.
fn exec_limits(probes: &[Probe], base: Duration) -> ExecLimits {
    let mut timeout = base;
    let mut max_stdout: usize = 4096;
    for p in probes {
        match p {
            Probe::Read { max, .. } => max_stdout += *max as usize + 128,
            Probe::SshdConfig { max, .. } => {
                // The main file, then the included ones together within
                // their own limit; names, lstat and framing per file.
                use crate::collect::{SSHD_MAX_FILES, SSHD_MAX_INCLUDED, SSHD_MAX_NAMES};
                let included = (*max).saturating_mul(SSHD_MAX_FILES as u64 - 1).min(SSHD_MAX_INCLUDED);
                max_stdout +=
                    *max as usize + included as usize + SSHD_MAX_FILES * (4096 + 256) + SSHD_MAX_NAMES * (4096 + 128)
            }
            Probe::Command { timeout: t, max, .. } => {
                timeout += *t;
                max_stdout += *max as usize + 128;
            }
            _ => max_stdout += 4096,
        }
    }
    ExecLimits {
        timeout,
        max_stdout,
        max_stderr: 64 * 1024,
    }
}

pub fn one_line(e: &TransportError) -> String {
    e.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
            hosts: None,
            check: Check::Setting {
                file: main.into(),
                key: key.into(),
                expect: None,
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
        // Port alone: sshd reads the drop-in before the main file's Port
        // line, so it is stored; the key still is not.
        let observed = observed_files(&rules[..1], &probes, &outputs, &sshd, &limits, &Redactor::default());
        let paths: Vec<&str> = observed.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, [main, cloud]);
    }

    #[test]
    fn an_sshd_probe_may_send_its_main_file_and_4_mib_of_included_files() {
        let probe = Probe::SshdConfig {
            path: "/etc/ssh/sshd_config".into(),
            max: 16 << 20,
            lstat: true,
        };
        let limits = exec_limits(&[probe], Duration::from_secs(1));
        // The main file, 4 MiB of included files, names and framing; not
        // 32 files of 16 MiB each.
        assert!(limits.max_stdout < (16 + 4 + 5) << 20, "{}", limits.max_stdout);
        assert!(limits.max_stdout > (16 + 4) << 20, "{}", limits.max_stdout);
    }
}
