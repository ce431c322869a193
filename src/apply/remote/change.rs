//! The change script: everything that changes the host, as one script on
//! stdin, so the whole change costs one remote round trip. Take the lock;
//! refuse targets in directories others can write (`trusted`, unless the
//! step set `unsafe_writes`); write each new file (base64 in a
//! here-document: any bytes, never in a command line) to a temp file next
//! to its target, created exclusively and given its mode and owner through
//! its descriptor, and run its `validate`; back up, write `restore.sh`, arm the dead-man timer; commit
//! every operation; run the handlers. Each step is one call of a prelude
//! function with quoted arguments; each phase is answered `ok:PHASE`.
//! Until `prepared`, a failure removes the candidates and releases the lock
//! (nothing changed); after it, the controller restores.

use base64::Engine;

use crate::shell::{quote, QuoteError};

use super::prelude::preamble;
use super::restore::{deadman, manifest, restore};
use crate::steps::plan::{FileAction, FileFacts, FileKind, HostPlan, Op};

pub fn change(
    run_id: &str,
    plan: &HostPlan,
    handlers: &[String],
    confirm_timeout: Option<u64>,
    handler_timeout: u64,
    nonce: &str,
) -> Result<String, QuoteError> {
    let delimiter = format!("RECTIFY_END_{nonce}");
    let mut s = preamble(run_id, nonce)?;
    // Candidates are c0, c1, … (one per file with new content); `cand` is
    // the one `upload` is writing.
    let candidates: Vec<usize> = plan
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.action, FileAction::Write { .. }))
        .map(|(i, _)| i)
        .collect();
    s.push_str("candidates() { rm -f -- \"${cand:-}\"");
    for i in &candidates {
        s.push_str(&format!(" \"${{c{i}:-}}\""));
    }
    s.push_str("; }\n{\nlock\n");
    for (i, f) in plan.files.iter().enumerate() {
        s.push_str(&format!(
            "trusted {i} {} {}\n",
            quote(&f.path)?,
            if f.unsafe_writes { 1 } else { 0 }
        ));
    }
    for i in &candidates {
        let change = &plan.files[*i];
        let FileAction::Write {
            content,
            mode,
            owner,
            group,
        } = &change.action
        else {
            continue;
        };
        let (dir, name) = change.path.rsplit_once('/').unwrap_or(("", &change.path));
        let prefix = format!("{dir}/.{name}.rectify-");
        let spec = chown_spec(owner, group, &change.before)?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
        for chunk in encoded.as_bytes().chunks(76) {
            wrapped.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            wrapped.push('\n');
        }
        s.push_str(&format!(
            "upload {i} {} {} {mode:o} {spec} <<'{delimiter}'\n{wrapped}{delimiter}\nc{i}=$cand i{i}=$ino\n",
            quote(&prefix)?,
            quote(&change.path)?
        ));
        for v in &change.validate {
            // `{path}` becomes "$RECTIFY_CANDIDATE", set by `validate`.
            let cmd = v.replace("{path}", "\"$RECTIFY_CANDIDATE\"");
            s.push_str(&format!("validate {i} \"$c{i}\" {}\n", quote(&cmd)?));
        }
    }
    s.push_str("ok uploaded\n");
    s.push_str(&prepare(
        run_id,
        plan,
        handlers,
        confirm_timeout,
        handler_timeout,
        &delimiter,
    )?);
    s.push_str("ok prepared\n");
    s.push_str(&commit(plan)?);
    s.push_str("ok committed\n");
    for (h, cmd) in handlers.iter().enumerate() {
        s.push_str(&format!("check handler {h} {} || exit 1\n", quote(cmd)?));
    }
    s.push_str("ok handlers\n} </dev/null\n");
    Ok(s)
}

/// Backs up what the plan touches, writes `restore.sh`, and with a confirm
/// timeout starts the dead-man timer, detached from the SSH session.
fn prepare(
    run_id: &str,
    plan: &HostPlan,
    handlers: &[String],
    confirm_timeout: Option<u64>,
    handler_timeout: u64,
    delimiter: &str,
) -> Result<String, QuoteError> {
    let mut s = String::from("backup_area\n");
    for (k, op) in plan.ops.iter().enumerate() {
        if let Op::File(f) = op {
            let change = &plan.files[*f];
            if change.before.kind == FileKind::Regular && !matches!(change.action, FileAction::Chmod { .. }) {
                s.push_str(&format!("backup {k} {}\n", quote(&change.path)?));
            }
        }
    }
    s.push_str(&format!(
        "cat > \"$BK/restore.sh\" <<'{delimiter}' || abort prepare 'cannot write restore.sh'\n{}{delimiter}\n",
        restore(run_id, plan, handlers, handler_timeout)?
    ));
    s.push_str(&format!(
        "cat > \"$BK/manifest\" <<'{delimiter}'\n{}{delimiter}\n",
        manifest(run_id, plan)
    ));
    if let Some(seconds) = confirm_timeout {
        s.push_str(&format!(
            "cat > \"$BK/deadman.sh\" <<'{delimiter}'\n{}{delimiter}\narm\n",
            deadman(run_id, seconds)?
        ));
    }
    Ok(s)
}

/// Moves every candidate into place and runs the plan's sysctl and command
/// operations, in order, each marked as started first (`begin`).
fn commit(plan: &HostPlan) -> Result<String, QuoteError> {
    let mut s = String::new();
    for (k, op) in plan.ops.iter().enumerate() {
        let line = match op {
            Op::File(f) => {
                let c = &plan.files[*f];
                let path = quote(&c.path)?;
                match &c.action {
                    FileAction::Write { .. } => format!("put {k} \"$c{f}\" {path} \"$i{f}\"\n"),
                    FileAction::Chmod { mode, owner, group } => {
                        let mode = mode.map(|m| format!("{m:o}")).unwrap_or_else(|| "''".into());
                        let spec = chown_spec(owner, group, &c.before)?;
                        format!("meta {k} {path} {mode} {spec}\n")
                    }
                    FileAction::Remove => format!("remove {k} {path}\n"),
                }
            }
            Op::Sysctl { key, value, .. } => format!(
                "kernel {k} {} {}\n",
                quote(value)?,
                quote(&crate::collect::sysctl_path(key))?
            ),
            Op::Command { command, .. } => format!("command_op {k} {}\n", quote(command)?),
        };
        s.push_str(&line);
    }
    Ok(s)
}

/// `owner:group` for chown, quoted: wanted names, else the file's current
/// numeric ids (a rewritten file keeps its ownership), else `''` (a new
/// file: no chown).
fn chown_spec(owner: &Option<String>, group: &Option<String>, before: &FileFacts) -> Result<String, QuoteError> {
    let existed = before.kind != FileKind::Missing;
    let o = owner.clone().or_else(|| existed.then(|| before.uid.to_string()));
    let g = group.clone().or_else(|| existed.then(|| before.gid.to_string()));
    let spec = match (o, g) {
        (None, None) => String::new(),
        (Some(o), None) => o,
        (None, Some(g)) => format!(":{g}"),
        (Some(o), Some(g)) => format!("{o}:{g}"),
    };
    Ok(quote(&spec)?.into_owned())
}
