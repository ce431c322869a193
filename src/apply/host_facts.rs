//! What a transaction learns from the host before planning: the files,
//! sysctl values and command guards its steps need, gathered in one remote
//! command, and, for `rectify rollback`, which files were changed since.

use super::transaction::{HostJob, MAX_FILE};
use crate::collect::{gather, sysctl_path, Probe, ProbeOutput, Probes};
use crate::conftext::include::ConfigFiles;
use crate::inventory::Host;
use crate::plan::{self, FileFacts, FileKind, Need, Needs};
use crate::report::Change;
use crate::state::record::sha256;
use crate::steps::Step;
use crate::transport::Transport;

/// Splits the steps into those to run and, for files changed since the run
/// being rolled back, a refusal with the diff (what the run left → now).
pub(super) fn guard<'a>(job: &'a HostJob<'_>, facts: &plan::Facts) -> (Vec<&'a Step>, Vec<Change>) {
    let mut refused = Vec::new();
    let mut refused_paths = Vec::new();
    for g in &job.work.guards {
        let Some(now) = facts.files.get(&g.path) else { continue };
        let exists = now.kind != FileKind::Missing;
        let same = exists == g.exists
            && (!exists
                || (g.mode.is_none_or(|m| m == now.mode)
                    && g.hash
                        .as_ref()
                        .is_none_or(|h| now.content.as_ref().is_ok_and(|c| &sha256(c) == h))));
        if same || job.run.force {
            continue;
        }
        let diff = match (&g.content, &now.content) {
            (Some(then), Ok(current)) => {
                job.work
                    .redactor
                    .redact(&crate::diff::unified(&g.path, Some(then), Some(current)))
            }
            _ if !exists => format!("{} was removed since run {}\n", g.path, g.run_id),
            _ => format!("{} changed since run {} (content not shown)\n", g.path, g.run_id),
        };
        refused.push(Change {
            step: format!("refused: changed since run {}", g.run_id),
            path: g.path.clone(),
            diff,
        });
        refused_paths.push(g.path.as_str());
    }
    let kept = job
        .work
        .steps
        .iter()
        .filter(|s| s.kind.writes().is_none_or(|path| !refused_paths.contains(&path)))
        .collect();
    (kept, refused)
}

/// The facts a plan needs, in one remote command.
pub(super) async fn gather_facts(job: &HostJob<'_>, conn: &dyn Transport) -> Result<plan::Facts, String> {
    let mut probes = Probes::default();
    let mut file_probes: Vec<(String, usize, usize)> = Vec::new();
    let mut add_file = |probes: &mut Probes, path: &str| {
        if !file_probes.iter().any(|(p, _, _)| p == path) {
            let stat = probes.add(Probe::Lstat { path: path.into() });
            let read = probes.add(Probe::Read {
                path: path.into(),
                max: MAX_FILE,
            });
            file_probes.push((path.to_string(), stat, read));
        }
    };
    let mut sysctl_probes = Vec::new();
    let mut satisfied_probes = Vec::new();
    let mut sshd_probes: Vec<(String, usize)> = Vec::new();
    let mut needs = Needs::default();
    for (i, step) in job.work.steps.iter().enumerate() {
        step.kind.needs(i, &mut needs);
    }
    for need in needs.0 {
        match need {
            Need::File(path) => add_file(&mut probes, &path),
            Need::SshdConfig(file) => {
                let idx = probes.add(Probe::SshdConfig {
                    path: file.clone(),
                    max: MAX_FILE,
                    lstat: true,
                });
                if !sshd_probes.iter().any(|(p, _)| *p == file) {
                    sshd_probes.push((file, idx));
                }
            }
            Need::Sysctl(key) => {
                let idx = probes.add(Probe::Read {
                    path: sysctl_path(&key),
                    max: 64 * 1024,
                });
                sysctl_probes.push((key, idx));
            }
            Need::Unless { step, command } => {
                let idx = probes.add(Probe::Command {
                    command,
                    timeout: job.run.command_timeout,
                    max: 64 * 1024,
                });
                satisfied_probes.push((step, idx, true));
            }
            Need::Creates { step, path } => {
                let idx = probes.add(Probe::Lstat { path });
                satisfied_probes.push((step, idx, false));
            }
        }
    }
    let host = Host {
        become_: job.work.become_,
        ..job.work.host.clone()
    };
    let outputs = gather(conn, &host, &probes, job.run.command_timeout).await?;

    let mut facts = plan::Facts::default();
    for (path, stat, read) in file_probes {
        facts
            .files
            .insert(path.clone(), file_facts(&outputs[stat], &outputs[read], &path)?);
    }
    for (main, idx) in sshd_probes {
        let tree = ConfigFiles::decode(&outputs[idx], &main, true)?;
        for f in &tree.files {
            if facts.files.contains_key(&f.path) {
                continue;
            }
            let stat = f.lstat.clone().unwrap_or(ProbeOutput::Status("garbled".into()));
            facts
                .files
                .insert(f.path.clone(), file_facts(&stat, &f.content, &f.path)?);
        }
        facts.sshd.insert(main, tree);
    }
    for (key, idx) in sysctl_probes {
        let value = match &outputs[idx] {
            ProbeOutput::Ok(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
            ProbeOutput::Missing => Err("no such kernel parameter".to_string()),
            ProbeOutput::Status(s) => Err(s.clone()),
            ProbeOutput::Parts(_) => Err("malformed answer".into()),
        };
        facts.sysctl.insert(key, value);
    }
    for (step, idx, is_command) in satisfied_probes {
        let ok = match &outputs[idx] {
            ProbeOutput::Ok(bytes) if is_command => command_status(bytes) == Some(0),
            ProbeOutput::Ok(_) => true,
            _ => false,
        };
        let entry = facts.satisfied.entry(step).or_insert(false);
        *entry |= ok;
    }
    Ok(facts)
}

/// The exit status `p_cmd` appends after the output.
fn command_status(bytes: &[u8]) -> Option<i32> {
    let text = String::from_utf8_lossy(bytes);
    text.rsplit('\n').next()?.trim().parse().ok()
}

fn file_facts(stat: &ProbeOutput, read: &ProbeOutput, path: &str) -> Result<FileFacts, String> {
    let text = match stat {
        ProbeOutput::Missing => return Ok(FileFacts::missing()),
        ProbeOutput::Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        ProbeOutput::Status(s) => return Err(format!("cannot stat {path}: {s}")),
        ProbeOutput::Parts(_) => return Err(format!("cannot stat {path}: malformed answer")),
    };
    // "%a %u %g %U %G %F": the type (%F) may contain blanks.
    let mut parts = text.splitn(6, ' ');
    let mut next = || parts.next().unwrap_or("").to_string();
    let (mode, uid, gid, owner, group, kind) = (next(), next(), next(), next(), next(), next());
    let bad = || format!("unexpected stat output for {path}: {text:?}");
    let kind = match kind.trim() {
        "regular file" | "regular empty file" => FileKind::Regular,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Symlink,
        _ => FileKind::Other,
    };
    let content = match read {
        ProbeOutput::Ok(bytes) => Ok(bytes.clone()),
        ProbeOutput::Missing => Err("missing".into()),
        ProbeOutput::Status(s) if s == "toolarge" => Err("larger than 16 MiB".into()),
        ProbeOutput::Status(s) if s == "overbudget" => Err(format!(
            "not read: over rectify's limit of {} MiB of files included by an sshd configuration",
            crate::collect::SSHD_MAX_INCLUDED >> 20
        )),
        ProbeOutput::Status(s) => Err(s.clone()),
        ProbeOutput::Parts(_) => Err("malformed answer".into()),
    };
    Ok(FileFacts {
        kind,
        mode: u32::from_str_radix(&mode, 8).map_err(|_| bad())?,
        uid: uid.parse().map_err(|_| bad())?,
        gid: gid.parse().map_err(|_| bad())?,
        owner,
        group,
        content,
    })
}
