//! What a run leaves on the host to undo itself without the controller:
//! `restore.sh` (undoes every started operation, newest first), the
//! dead-man timer's `deadman.sh`, and the `manifest`. These run detached
//! from any SSH session, so they answer nobody: they settle the run by
//! the marker files `restored` / `restore-failed`, which the prelude's
//! `settled` reports.

use crate::shell::{quote, QuoteError, BOUNDED, RUN_CMD};

use super::prelude::NOFOLLOW;
use super::{backup_dir, HEADER, LOCK_DIR};
use crate::steps::plan::{FileAction, FileKind, HostPlan, Op};

fn release_lock(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "if [ \"$(cat {lock}/run 2>/dev/null)\" = {run} ]; then rm -rf -- {lock}; fi\n",
        lock = quote(LOCK_DIR)?,
        run = quote(run_id)?
    ))
}

/// The dead-man timer: sleeps, then settles the run by restoring it,
/// unless someone settled it first.
pub(super) fn deadman(run_id: &str, seconds: u64) -> Result<String, QuoteError> {
    Ok(format!(
        "{HEADER}BK={bk}
sleep {seconds}
mkdir \"$BK/decided\" 2>/dev/null || exit 0
echo timer > \"$BK/decided/by\"
{stop}sh \"$BK/restore.sh\" > \"$BK/restore.log\" 2>&1
",
        bk = quote(&backup_dir(run_id))?,
        stop = stop_change(run_id)?
    ))
}

/// Before the timer restores, the change script must not run on: a step
/// still running (a slow command) would finish after the restore and leave
/// the host half old, half new. The lock names the script's pid and start
/// time; its process group (the SSH session's command: the login shell,
/// `sudo`, the script and what it started) is killed, then the timer waits
/// for it to be gone. `kill -s KILL -- -PGID`, because dash's
/// `kill -KILL --` takes `--` for a pid. The timer runs in a session of its
/// own (`setsid`); without `setsid` it shares the group, and only the
/// script itself is killed. What a step starts in a new session or group
/// is not reached.
fn stop_change(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        r#"st() {{ sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"; }}
if [ "$(cat {lock}/run 2>/dev/null)" = {run} ] && h=$(cat {lock}/pid 2>/dev/null) && p=${{h% *}} && [ -n "${{h#* }}" ] && [ "$(st "$p" 20)" = "${{h#* }}" ]; then
  g=$(st "$p" 3)
  if [ -n "$g" ] && [ "$g" != "$(st $$ 3)" ]; then kill -s KILL -- "-$g" 2>/dev/null; else kill -s KILL "$p" 2>/dev/null; fi
  i=0
  while [ "$(st "$p" 20)" = "${{h#* }}" ] && [ "$i" -lt 50 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i + 1)); done
fi
"#,
        lock = quote(LOCK_DIR)?,
        run = quote(run_id)?
    ))
}

/// A readable list of what the run does, for an operator on the host.
pub(super) fn manifest(run_id: &str, plan: &HostPlan) -> String {
    let mut m = format!("# rectify run {run_id}: operations in order; N.done marks started ones\n");
    for (k, op) in plan.ops.iter().enumerate() {
        let line = match op {
            Op::File(f) => {
                let c = &plan.files[*f];
                let what = match c.action {
                    FileAction::Write { .. } => "write",
                    FileAction::Chmod { .. } => "metadata",
                    FileAction::Remove => "remove",
                };
                format!("{k} {what} {}", c.path.replace('\n', " "))
            }
            Op::Sysctl { key, .. } => format!("{k} sysctl {key}"),
            Op::Command { .. } => format!("{k} command"),
        };
        m.push_str(&line);
        m.push('\n');
    }
    m
}

/// The script that undoes every started operation, newest first.
pub(super) fn restore(
    run_id: &str,
    plan: &HostPlan,
    handlers: &[String],
    handler_timeout: u64,
) -> Result<String, QuoteError> {
    let bk = backup_dir(run_id);
    let mut s = format!(
        "{HEADER}{NOFOLLOW}BK={}
rc=0
# Through `hold`/`fresh` only: a local user who can write a target's
# directory may plant a link there at any moment; it is never followed.
restore_file() {{
  [ -e \"$BK/$1.done\" ] || return 0
  # A write always changes content: the same bytes mean it never happened.
  if hold \"$2\"; then
    if [ -f \"$2\" ] && cmp -s -- \"$BK/$1\" \"/proc/$$/fd/8\"; then exec 8<&-; return 0; fi
    exec 8<&-
  fi
  fresh \"${{2%/*}}/.rectify-restore.\" || {{ rc=1; return; }}
  t=$fresh
  if cat -- \"$BK/$1\" >&8 && chown -- \"$(stat -c %u:%g -- \"$BK/$1\")\" \"/proc/$$/fd/8\" &&
    chmod -- \"$(stat -c %a -- \"$BK/$1\")\" \"/proc/$$/fd/8\" && touch -r \"$BK/$1\" \"/proc/$$/fd/8\"; then
    i=$(stat -L -c %d:%i \"/proc/$$/fd/8\"); exec 8>&-
    # rename(2) follows no link; the file at the target must be the one written.
    if mv -fT -- \"$t\" \"$2\" && [ \"$(stat -c %d:%i -- \"$2\" 2>/dev/null)\" = \"$i\" ]; then return 0; fi
  else
    exec 8>&-
  fi
  rm -f -- \"$t\"; rc=1
}}
remove_new() {{
  [ -e \"$BK/$1.done\" ] || return 0
  rm -f -- \"$2\" || rc=1
  [ ! -e \"$2\" ] || rc=1
}}
restore_meta() {{
  [ -e \"$BK/$1.done\" ] || return 0
  if hold \"$2\"; then
    chown -- \"$3:$4\" \"/proc/$$/fd/8\" && chmod -- \"$5\" \"/proc/$$/fd/8\" || rc=1
    exec 8<&-
  else
    rc=1
  fi
}}
# Handlers and rollback commands are bounded: a restore must end. Without a
# usable `timeout` they are not bounded on the host: a rollback the
# controller runs is given up on after its exec timeout (--command-timeout),
# and one the dead-man timer runs has nothing above it at all.
{BOUNDED}{RUN_CMD}T={}
",
        quote(&bk)?,
        quote(&handler_timeout.to_string())?
    );
    // Candidates a cut-off run may have left next to their targets.
    for f in &plan.files {
        if matches!(f.action, FileAction::Write { .. }) {
            let (dir, name) = f.path.rsplit_once('/').unwrap_or(("", &f.path));
            s.push_str(&format!(
                "rm -f -- {}??????\n",
                quote(&format!("{dir}/.{name}.rectify-"))?
            ));
        }
    }
    for (k, op) in plan.ops.iter().enumerate().rev() {
        match op {
            Op::File(f) => {
                let c = &plan.files[*f];
                let path = quote(&c.path)?;
                match (&c.action, c.before.kind) {
                    (FileAction::Chmod { .. }, _) => s.push_str(&format!(
                        "restore_meta {k} {path} {} {} {:o}\n",
                        c.before.uid, c.before.gid, c.before.mode
                    )),
                    (_, FileKind::Regular) => s.push_str(&format!("restore_file {k} {path}\n")),
                    (_, _) => s.push_str(&format!("remove_new {k} {path}\n")),
                }
            }
            Op::Sysctl { key, old, .. } => s.push_str(&format!(
                "if [ -e \"$BK/{k}.done\" ]; then printf '%s\\n' {} > {} || rc=1; fi\n",
                quote(old)?,
                quote(&crate::collect::sysctl_path(key))?
            )),
            Op::Command { rollback, .. } => {
                if let Some(cmd) = rollback {
                    s.push_str(&format!(
                        "if [ -e \"$BK/{k}.done\" ]; then run_cmd {} bounded \"$T\" </dev/null || rc=1; fi\n",
                        quote(cmd)?
                    ));
                }
            }
        }
    }
    if !handlers.is_empty() {
        s.push_str(
            "started=\nfor f in \"$BK\"/*.done; do [ -e \"$f\" ] && started=1; done\nif [ -n \"$started\" ]; then\n",
        );
        for h in handlers {
            s.push_str(&format!("  run_cmd {} bounded \"$T\" </dev/null || rc=1\n", quote(h)?));
        }
        s.push_str("fi\n");
    }
    s.push_str("if [ \"$rc\" = 0 ]; then : > \"$BK/restored\"; else : > \"$BK/restore-failed\"; fi\n");
    s.push_str(&release_lock(run_id)?);
    s.push_str("exit \"$rc\"\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::test_support::{old_busybox_timeout, which};
    use std::process::Command;

    /// `restore.sh` for two started commands and a handler, run locally
    /// with its backup directory in `dir` and `dir` first in its PATH.
    fn run_restore(dir: &std::path::Path, first: &str, second: &str, handler: &str) -> String {
        let plan = HostPlan {
            ops: [first, second]
                .into_iter()
                .map(|rollback| Op::Command {
                    command: "true".into(),
                    rollback: Some(rollback.into()),
                    sensitive: false,
                })
                .collect(),
            ..HostPlan::default()
        };
        let run_id = format!("test-restore-{}", std::process::id());
        let script = restore(&run_id, &plan, &[handler.to_string()], 1).unwrap();
        let bk = dir.join("bk");
        std::fs::create_dir(&bk).unwrap();
        for k in 0..2 {
            std::fs::write(bk.join(format!("{k}.done")), "").unwrap();
        }
        let dir_q = quote(dir.to_str().unwrap()).unwrap().into_owned();
        let local = script
            .replacen(
                &format!("BK={}\n", quote(&backup_dir(&run_id)).unwrap()),
                &format!("BK={}\n", quote(bk.to_str().unwrap()).unwrap()),
                1,
            )
            .replacen("PATH=/usr/local/sbin:", &format!("PATH={dir_q}:/usr/local/sbin:"), 1);
        assert!(local.contains(bk.to_str().unwrap()) && local.contains(&format!("PATH={dir_q}:")));
        let out = Command::new(which("sh")).arg("-c").arg(&local).output().unwrap();
        assert!(bk.join("restored").exists() || bk.join("restore-failed").exists());
        if bk.join("restored").exists() {
            format!("restored {:?}", out.status.code())
        } else {
            format!("restore-failed {:?}", out.status.code())
        }
    }

    #[test]
    fn restore_bounds_rollbacks_and_handlers_with_an_old_busybox_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let log = old_busybox_timeout(dir.path());
        let mark = |name: &str| {
            format!(
                "echo {name} >> {}",
                quote(dir.path().join("marks").to_str().unwrap()).unwrap()
            )
        };
        // Newest first: the second rollback hangs and is killed after the
        // handler timeout (1 s), the first still runs, then the handler.
        let settled = run_restore(dir.path(), &mark("first"), "sleep 30", &mark("handler"));
        assert_eq!(settled, "restore-failed Some(1)");
        let marks = std::fs::read_to_string(dir.path().join("marks")).unwrap();
        assert_eq!(marks, "first\nhandler\n");
        let calls = std::fs::read_to_string(log).unwrap();
        assert!(calls.contains("-s KILL -t 1 sh -c "), "{calls}");
    }

    #[test]
    fn restore_succeeds_through_an_old_busybox_timeout() {
        let dir = tempfile::tempdir().unwrap();
        old_busybox_timeout(dir.path());
        let settled = run_restore(dir.path(), "true", "exit 0", "true");
        assert_eq!(settled, "restored Some(0)");
    }
}
