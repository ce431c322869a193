//! The shell text an apply runs on a host. Like `collect/script.rs`, this
//! is the only place that writes remote shell for the transaction, and every
//! value in it goes through [`quote`].
//!
//! On the host, a run keeps everything under `/var/backups/rectify/RUN_ID/`
//! (mode 0700):
//!
//! * `N` — a copy (`cp -p`: content, mode, owner, group, times) of the file
//!   operation N replaces or removes;
//! * `N.done` — operation N has started; only started operations are undone;
//! * `restore.sh` — undoes every started operation in reverse, runs the
//!   handlers, and checks each restored file byte for byte;
//! * `deadman.sh` — with a confirm timeout: sleeps, then runs `restore.sh`;
//! * `decided/` — created (atomically, by `mkdir`) by whoever settles the
//!   run: the controller confirming, the controller rolling back, or the
//!   dead-man timer. Exactly one of them wins; the others stand down;
//! * `committed`, `restored` or `restore-failed` — how it was settled.
//!
//! A per-host lock, the directory `/run/rectify.lock` holding the run id,
//! keeps two transactions from interleaving on one host.

use crate::shell::{quote, QuoteError, BOUNDED, RUN_CMD};

use super::plan::{FileAction, FileKind, HostPlan, Op};

pub const LOCK_DIR: &str = "/run/rectify.lock";

pub fn backup_dir(run_id: &str) -> String {
    format!("/var/backups/rectify/{run_id}")
}

const HEADER: &str = "LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
umask 077
";

/// Status lines carry the run's nonce, so nothing a command prints can fake
/// one.
fn reporters(nonce: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "N={}
ok() {{ printf 'RECTIFY:%s:ok:%s\\n' \"$N\" \"$1\"; }}
fail() {{ printf 'RECTIFY:%s:fail:%s:%s\\n' \"$N\" \"$1\" \"$2\"; exit 1; }}
",
        quote(nonce)?
    ))
}

fn release_lock(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "if [ \"$(cat {lock}/run 2>/dev/null)\" = {run} ]; then rm -rf -- {lock}; fi\n",
        lock = quote(LOCK_DIR)?,
        run = quote(run_id)?
    ))
}

/// Everything that changes the host, as one script on stdin, so the whole
/// change costs one remote round trip: take the lock; write each new file
/// (base64 in a here-document: any bytes, never in a command line) to a
/// private temp file next to its target and run its `validate`; back up,
/// write `restore.sh`, arm the dead-man timer; commit every operation; run
/// the handlers. It reports each phase as a status line carrying the nonce.
/// Until `prepared`, a failure removes the candidates and releases the lock
/// (nothing changed); after it, the controller restores.
pub fn change(
    run_id: &str,
    plan: &HostPlan,
    handlers: &[String],
    confirm_timeout: Option<u64>,
    handler_timeout: u64,
    nonce: &str,
) -> Result<String, QuoteError> {
    use base64::Engine;
    let delimiter = format!("RECTIFY_END_{nonce}");
    let mut s = format!(
        "{HEADER}{RUN_CMD}{}BK={}\nLOCK={}\n",
        reporters(nonce)?,
        quote(&backup_dir(run_id))?,
        quote(LOCK_DIR)?
    );
    // Candidates are c0, c1, … (one per file with new content).
    let candidates: Vec<usize> = plan
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.action, FileAction::Write { .. }))
        .map(|(i, _)| i)
        .collect();
    let mut cleanup = String::from("abort() { rm -f --");
    for i in &candidates {
        cleanup.push_str(&format!(" \"${{c{i}:-}}\""));
    }
    let remove = cleanup.trim_start_matches("abort() { ").to_string();
    cleanup.push_str(&format!(
        "; {}; fail \"$1\" \"$2\"; }}\n",
        release_lock(run_id)?.trim_end()
    ));
    s.push_str(&cleanup);
    // After `prepared`, a failure keeps the lock (the restore releases it)
    // but still removes the candidates not yet moved into place.
    s.push_str(&format!("stop() {{ {remove}; fail \"$1\" \"$2\"; }}\n"));
    s.push_str(&format!(
        "{{\nif mkdir -m 0700 \"$LOCK\" 2>/dev/null; then printf '%s\\n' {run} > \"$LOCK/run\"
else printf 'RECTIFY:%s:busy:%s\\n' \"$N\" \"$(cat \"$LOCK/run\" 2>/dev/null || echo unknown)\"; exit 1; fi
ok locked
",
        run = quote(run_id)?
    ));
    for i in &candidates {
        let change = &plan.files[*i];
        let FileAction::Write { content, .. } = &change.action else {
            continue;
        };
        let (dir, name) = change.path.rsplit_once('/').unwrap_or(("", &change.path));
        let template = format!("{}/.{name}.rectify-XXXXXX", if dir.is_empty() { "" } else { dir });
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
        for chunk in encoded.as_bytes().chunks(76) {
            wrapped.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            wrapped.push('\n');
        }
        let path = quote(&change.path)?;
        s.push_str(&format!(
            "c{i}=$(mktemp {tpl}) || abort upload{i} \"cannot create a file next to \"{path}
base64 -d > \"$c{i}\" <<'{delimiter}' || abort upload{i} \"cannot write next to \"{path}
{wrapped}{delimiter}
",
            tpl = quote(&template)?
        ));
        for v in &change.validate {
            // The candidate's name reaches the validator through the
            // environment: `{path}` becomes "$RECTIFY_CANDIDATE".
            let cmd = v.replace("{path}", "\"$RECTIFY_CANDIDATE\"");
            s.push_str(&format!(
                "if ! out=$(RECTIFY_CANDIDATE=\"$c{i}\"; export RECTIFY_CANDIDATE; run_cmd {} 2>&1 </dev/null); then
  printf 'RECTIFY:%s:validate:{i}:%s\\n' \"$N\" \"$(printf '%s' \"$out\" | tr '\\n' ' ' | head -c 300)\"; abort validate{i} rejected
fi
",
                quote(&cmd)?
            ));
        }
    }
    s.push_str("ok uploaded\n");
    s.push_str(&prepare_body(
        run_id,
        plan,
        handlers,
        confirm_timeout,
        handler_timeout,
        nonce,
    )?);
    s.push_str("ok prepared\n");
    s.push_str(&commit_body(plan)?);
    s.push_str("ok committed\n");
    for (h, cmd) in handlers.iter().enumerate() {
        s.push_str(&format!(
            "if ! out=$(run_cmd {} 2>&1 </dev/null); then
  printf 'RECTIFY:%s:handler:{h}:%s\\n' \"$N\" \"$(printf '%s' \"$out\" | tr '\\n' ' ' | head -c 300)\"; exit 1
fi
",
            quote(cmd)?
        ));
    }
    s.push_str("ok handlers\n} </dev/null\n");
    Ok(s)
}

/// Backs up what the plan touches, writes `restore.sh`, and with a confirm
/// timeout starts the dead-man timer, detached from the SSH session.
fn prepare_body(
    run_id: &str,
    plan: &HostPlan,
    handlers: &[String],
    confirm_timeout: Option<u64>,
    handler_timeout: u64,
    nonce: &str,
) -> Result<String, QuoteError> {
    let bk = backup_dir(run_id);
    let mut s = String::new();
    s.push_str("mkdir -p /var/backups/rectify && chmod 0700 /var/backups/rectify && mkdir -m 0700 \"$BK\" || abort prepare 'cannot create the backup directory'\n");
    for (k, op) in plan.ops.iter().enumerate() {
        if let Op::File(f) = op {
            let change = &plan.files[*f];
            if change.before.kind == FileKind::Regular && !matches!(change.action, FileAction::Chmod { .. }) {
                s.push_str(&format!(
                    "cp -p -- {} \"$BK/{k}\" || abort {k} 'cannot back up'\n",
                    quote(&change.path)?
                ));
            }
        }
    }
    let delimiter = format!("RECTIFY_END_{nonce}");
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
            "cat > \"$BK/deadman.sh\" <<'{delimiter}'
{HEADER}BK={bk}
sleep {seconds}
mkdir \"$BK/decided\" 2>/dev/null || exit 0
echo timer > \"$BK/decided/by\"
sh \"$BK/restore.sh\" > \"$BK/restore.log\" 2>&1
{delimiter}
if command -v setsid >/dev/null 2>&1; then setsid sh \"$BK/deadman.sh\" </dev/null >/dev/null 2>&1 &
else nohup sh \"$BK/deadman.sh\" </dev/null >/dev/null 2>&1 & fi
echo $! > \"$BK/deadman.pid\"
",
            bk = quote(&bk)?
        ));
    }
    Ok(s)
}

/// A readable list of what the run does, for an operator on the host.
fn manifest(run_id: &str, plan: &HostPlan) -> String {
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
fn restore(run_id: &str, plan: &HostPlan, handlers: &[String], handler_timeout: u64) -> Result<String, QuoteError> {
    let bk = backup_dir(run_id);
    let mut s = format!(
        "{HEADER}BK={}
rc=0
restore_file() {{
  [ -e \"$BK/$1.done\" ] || return 0
  # A write always changes content: the same bytes mean it never happened.
  if [ -f \"$2\" ] && [ ! -L \"$2\" ] && cmp -s -- \"$BK/$1\" \"$2\"; then return 0; fi
  t=$(mktemp \"${{2%/*}}/.rectify-restore.XXXXXX\") || {{ rc=1; return; }}
  if cp -p -- \"$BK/$1\" \"$t\" && mv -f -- \"$t\" \"$2\" && cmp -s -- \"$BK/$1\" \"$2\"; then :; else rm -f -- \"$t\"; rc=1; fi
}}
remove_new() {{
  [ -e \"$BK/$1.done\" ] || return 0
  rm -f -- \"$2\" || rc=1
  [ ! -e \"$2\" ] || rc=1
}}
restore_meta() {{
  [ -e \"$BK/$1.done\" ] || return 0
  chown -- \"$3:$4\" \"$2\" && chmod -- \"$5\" \"$2\" || rc=1
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

/// Moves every candidate into place and runs the plan's sysctl and command
/// operations, in order, marking each as started first.
fn commit_body(plan: &HostPlan) -> Result<String, QuoteError> {
    let mut s = String::new();
    for (k, op) in plan.ops.iter().enumerate() {
        // A confirm timeout shorter than the change itself: the timer has
        // settled the run, so change nothing more.
        s.push_str(&format!(
            "if [ -d \"$BK/decided\" ]; then stop {k} 'the dead-man timer fired before the change finished'; fi\n"
        ));
        let mark = format!(": > \"$BK/{k}.done\" || stop {k} 'cannot mark the operation'\n");
        match op {
            Op::File(f) => {
                let c = &plan.files[*f];
                let path = quote(&c.path)?;
                s.push_str(&format!(
                    "if [ -L {path} ]; then stop {k} 'became a symbolic link; not writing through it'; fi\n"
                ));
                s.push_str(&mark);
                match &c.action {
                    FileAction::Write { mode, owner, group, .. } => {
                        let cand = format!("\"$c{f}\"");
                        if let Some(spec) = chown_spec(owner, group, &c.before)? {
                            s.push_str(&format!("chown -- {spec} {cand} || stop {k} 'chown failed'\n"));
                        }
                        s.push_str(&format!("chmod -- {mode:o} {cand} || stop {k} 'chmod failed'\n"));
                        s.push_str(&format!("mv -f -- {cand} {path} || stop {k} 'rename failed'\n"));
                    }
                    FileAction::Chmod { mode, owner, group } => {
                        if let Some(spec) = chown_spec(owner, group, &c.before)? {
                            s.push_str(&format!("chown -- {spec} {path} || stop {k} 'chown failed'\n"));
                        }
                        if let Some(mode) = mode {
                            s.push_str(&format!("chmod -- {mode:o} {path} || stop {k} 'chmod failed'\n"));
                        }
                    }
                    FileAction::Remove => s.push_str(&format!("rm -f -- {path} || stop {k} 'remove failed'\n")),
                }
            }
            Op::Sysctl { key, value, .. } => {
                s.push_str(&mark);
                s.push_str(&format!(
                    "printf '%s\\n' {} > {} || stop {k} 'cannot set the kernel value'\n",
                    quote(value)?,
                    quote(&crate::collect::sysctl_path(key))?
                ));
            }
            Op::Command { command, .. } => {
                s.push_str(&mark);
                s.push_str(&format!(
                    "run_cmd {} </dev/null > \"$BK/{k}.out\" 2>&1 || stop {k} \"exit status $?\"\n",
                    quote(command)?
                ));
            }
        }
        s.push_str(&format!("ok {k}\n"));
    }
    Ok(s)
}

/// `owner:group` for chown: wanted names, else the file's current numeric
/// ids (a rewritten file keeps its ownership), else nothing (a new file).
fn chown_spec(
    owner: &Option<String>,
    group: &Option<String>,
    before: &super::plan::FileFacts,
) -> Result<Option<String>, QuoteError> {
    let existed = before.kind != FileKind::Missing;
    let o = owner.clone().or_else(|| existed.then(|| before.uid.to_string()));
    let g = group.clone().or_else(|| existed.then(|| before.gid.to_string()));
    let spec = match (o, g) {
        (None, None) => return Ok(None),
        (Some(o), None) => o,
        (None, Some(g)) => format!(":{g}"),
        (Some(o), Some(g)) => format!("{o}:{g}"),
    };
    Ok(Some(quote(&spec)?.into_owned()))
}

fn kill_timer() -> &'static str {
    "if [ -r \"$BK/deadman.pid\" ]; then p=$(cat \"$BK/deadman.pid\"); kill -- \"-$p\" 2>/dev/null || kill \"$p\" 2>/dev/null; fi\n"
}

/// Runs the `verify` commands (over the new connection) and, if every one
/// passes, settles the run as committed — unless the dead-man timer got
/// there first. Reports `verify:I:output` for a failing check, then
/// `ok:committed` or `ok:timer`.
pub fn verify_and_confirm(run_id: &str, commands: &[String], nonce: &str) -> Result<String, QuoteError> {
    let mut s = format!(
        "{HEADER}{RUN_CMD}{}BK={}\n{{\n",
        reporters(nonce)?,
        quote(&backup_dir(run_id))?
    );
    for (i, cmd) in commands.iter().enumerate() {
        s.push_str(&format!(
            "if ! out=$(run_cmd {} 2>&1 </dev/null); then
  printf 'RECTIFY:%s:verify:{i}:%s\\n' \"$N\" \"$(printf '%s' \"$out\" | tr '\\n' ' ' | head -c 300)\"; exit 1
fi
",
            quote(cmd)?
        ));
    }
    s.push_str(&format!(
        "if mkdir \"$BK/decided\" 2>/dev/null; then
echo controller > \"$BK/decided/by\"; : > \"$BK/committed\"
{}{}ok committed
else ok timer; fi
}} </dev/null\n",
        kill_timer(),
        release_lock(run_id)?
    ));
    Ok(s)
}

/// Rolls back now, unless the dead-man timer already does: prints
/// `restored 0` (or another exit status), or `timer`.
pub fn rollback(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "{HEADER}BK={}
if [ ! -d \"$BK\" ]; then {}echo nothing
elif mkdir \"$BK/decided\" 2>/dev/null; then
echo controller > \"$BK/decided/by\"
{}sh \"$BK/restore.sh\" > \"$BK/restore.log\" 2>&1; rc=$?; echo \"restored $rc\"
[ \"$rc\" = 0 ] || tail -n 5 \"$BK/restore.log\" >&2
elif [ \"$(cat \"$BK/decided/by\" 2>/dev/null)\" = timer ]; then echo timer
else echo busy; fi\n",
        quote(&backup_dir(run_id))?,
        release_lock(run_id)?.trim_end().to_string() + "; ",
        kill_timer()
    ))
}

/// How a run was settled: `restored`, `restore-failed`, `committed` or
/// `pending`.
pub fn settled(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "BK={}
if [ -e \"$BK/restored\" ]; then echo restored; elif [ -e \"$BK/restore-failed\" ]; then echo restore-failed
elif [ -e \"$BK/committed\" ]; then echo committed; else echo pending; fi\n",
        quote(&backup_dir(run_id))?
    ))
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
