//! What a transaction learns from the host before planning: the files,
//! sysctl values and command guards its steps need, gathered in one remote
//! command, and, for `rectify rollback`, which files were changed since.

use super::transaction::{HostJob, MAX_FILE};
use crate::collect::facts::command::{CommandOutput, Run};
use crate::collect::facts::file::{self, Read};
use crate::collect::facts::sshd_config::{ConfigFiles, DecodeError, SshdConfig};
use crate::collect::facts::sshd_daemon::{decode_version, Version};
use crate::collect::facts::stat::{self, Lstat, StatError};
use crate::collect::facts::sysctl;
use crate::collect::facts::sysctl_files::{SysctlFiles, SysctlFound};
use crate::collect::{gather, GatherError, ProbeOutput, ProbeStatus, Probes};
use crate::conftext::sshd_defaults::{self, Release};
use crate::inventory::Host;
use crate::report::Change;
use crate::state::record::sha256;
use crate::steps::plan::trust::{self, DirFacts};
use crate::steps::plan::{self, FileFacts, FileKind, Need, Needs, Unreadable};
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

/// Why the facts a plan needs could not be gathered: the host's error.
#[derive(Debug, thiserror::Error)]
pub(super) enum FactsError {
    #[error(transparent)]
    Gather(#[from] GatherError),
    #[error(transparent)]
    Sshd(#[from] DecodeError),
    #[error(transparent)]
    File(#[from] FileFactsError),
}

/// The facts a plan needs, in one remote command.
pub(super) async fn gather_facts(job: &HostJob<'_>, conn: &dyn Transport) -> Result<plan::Facts, FactsError> {
    let mut probes = Probes::default();
    let mut file_probes: Vec<(String, usize, usize)> = Vec::new();
    let mut add_file = |probes: &mut Probes, path: &str| {
        if !file_probes.iter().any(|(p, _, _)| p == path) {
            let stat = probes.add(Lstat { path: path.into() });
            let read = probes.add(Read {
                path: path.into(),
                max: MAX_FILE,
            });
            file_probes.push((path.to_string(), stat, read));
        }
    };
    let mut sysctl_probes = Vec::new();
    let mut satisfied_probes = Vec::new();
    let mut sshd_probes: Vec<(String, usize)> = Vec::new();
    let mut sysctl_files_probe = None;
    let mut needs = Needs::default();
    for (i, step) in job.work.steps.iter().enumerate() {
        step.kind.needs(i, &mut needs);
    }
    // The directories above every path a step may change, and who the
    // apply runs as: planning refuses directories others can write.
    let mut dir_probes: Vec<(String, usize)> = Vec::new();
    for need in &needs.0 {
        if let Need::File(path) | Need::SshdConfig(path) = need {
            for dir in trust::ancestors(path) {
                if !dir_probes.iter().any(|(d, _)| *d == dir) {
                    let idx = probes.add(Lstat { path: dir.clone() });
                    dir_probes.push((dir, idx));
                }
            }
        }
    }
    let uid_probe = (!dir_probes.is_empty()).then(|| {
        probes.add(Run {
            command: "id -u".into(),
            timeout: job.run.command_timeout,
            max: 64,
        })
    });
    let mut sshd_version_probe = None;
    for need in needs.0 {
        match need {
            Need::File(path) => add_file(&mut probes, &path),
            Need::SshdConfig(file) => {
                let idx = probes.add(SshdConfig {
                    path: file.clone(),
                    max: MAX_FILE,
                    lstat: true,
                });
                if !sshd_probes.iter().any(|(p, _)| *p == file) {
                    sshd_probes.push((file, idx));
                }
            }
            Need::Sysctl(key) => {
                let idx = probes.add(sysctl::read(&key));
                sysctl_probes.push((key, idx));
            }
            Need::SysctlFiles => sysctl_files_probe = Some(probes.add(SysctlFiles)),
            Need::SshdVersion => sshd_version_probe = Some(probes.add(Version)),
            Need::Unless { step, command } => {
                let idx = probes.add(Run {
                    command,
                    timeout: job.run.command_timeout,
                    max: 64 * 1024,
                });
                satisfied_probes.push((step, idx, true));
            }
            Need::Creates { step, path } => {
                let idx = probes.add(Lstat { path });
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
    for (dir, idx) in dir_probes {
        // A directory the host would not describe is left to its own check.
        if let Ok(Some(s)) = stat::decode(&outputs[idx]) {
            if let Ok(uid) = s.uid.parse() {
                let kind = match s.kind.trim() {
                    "directory" => FileKind::Directory,
                    "symbolic link" => FileKind::Symlink,
                    _ => FileKind::Other,
                };
                facts.dirs.insert(
                    dir,
                    DirFacts {
                        kind,
                        mode: s.mode,
                        uid,
                    },
                );
            }
        }
    }
    facts.uid = uid_probe.and_then(|idx| match &outputs[idx] {
        ProbeOutput::Ok(bytes) => CommandOutput::parse(bytes)
            .filter(|c| c.status == 0)
            .and_then(|c| c.stdout.trim().parse().ok()),
        _ => None,
    });
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
            let stat = f.lstat.clone().unwrap_or(ProbeOutput::Status(ProbeStatus::Garbled));
            facts
                .files
                .insert(f.path.clone(), file_facts(&stat, &f.content, &f.path)?);
        }
        facts.sshd.insert(main, tree);
    }
    for (key, idx) in sysctl_probes {
        let value = match sysctl::decode(&outputs[idx]) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(Unreadable::NoSuchKey),
            Err(status) => Err(Unreadable::Status(status)),
        };
        facts.sysctl.insert(key, value);
    }
    facts.sysctl_files = sysctl_files_probe.map(|idx| SysctlFound::decode(&outputs[idx]));
    facts.sshd_defaults = sshd_version_probe.map(|idx| {
        let line = decode_version(&outputs[idx]).ok().flatten();
        sshd_defaults::for_release(line.as_deref().and_then(Release::parse))
    });
    for (step, idx, is_command) in satisfied_probes {
        let ok = match &outputs[idx] {
            ProbeOutput::Ok(bytes) if is_command => CommandOutput::parse(bytes).is_some_and(|c| c.status == 0),
            ProbeOutput::Ok(_) => true,
            _ => false,
        };
        let entry = facts.satisfied.entry(step).or_insert(false);
        *entry |= ok;
    }
    Ok(facts)
}

/// Why a file's facts could not be read from the host's answer.
#[derive(Debug, thiserror::Error)]
pub(super) enum FileFactsError {
    #[error("cannot stat {path}: {status}")]
    Stat { path: String, status: ProbeStatus },
    #[error("unexpected stat output for {path}: {text:?}")]
    Unparsed { path: String, text: String },
}

/// A file's facts from its `lstat` and its content, through the one stat
/// parser and the one status text.
fn file_facts(stat: &ProbeOutput, read: &ProbeOutput, path: &str) -> Result<FileFacts, FileFactsError> {
    let unparsed = |text: String| FileFactsError::Unparsed {
        path: path.to_string(),
        text,
    };
    let stat = match stat::decode(stat) {
        Ok(None) => return Ok(FileFacts::missing()),
        Ok(Some(stat)) => stat,
        Err(StatError::Status(status)) => {
            return Err(FileFactsError::Stat {
                path: path.to_string(),
                status,
            })
        }
        Err(StatError::Unparsed(text)) => return Err(unparsed(text)),
    };
    let kind = match stat.kind.trim() {
        "regular file" | "regular empty file" => FileKind::Regular,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Symlink,
        _ => FileKind::Other,
    };
    let content = match file::decode(read) {
        Ok(Some(bytes)) => Ok(bytes.to_vec()),
        Ok(None) => Err(Unreadable::Missing),
        Err(status) => Err(Unreadable::Status(status)),
    };
    let text = || format!("{:o} {} {}", stat.mode, stat.uid, stat.gid);
    Ok(FileFacts {
        kind,
        mode: stat.mode,
        uid: stat.uid.parse().map_err(|_| unparsed(text()))?,
        gid: stat.gid.parse().map_err(|_| unparsed(text()))?,
        owner: stat.owner,
        group: stat.group,
        content,
    })
}
