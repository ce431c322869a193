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

use crate::shell::{quote, QuoteError};

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

/// Takes the host's lock: prints `locked`, or `busy RUN_ID` when another
/// run holds it.
pub fn lock(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "{HEADER}if mkdir -m 0700 {lock} 2>/dev/null; then printf '%s\\n' {run} > {lock}/run; echo locked
else printf 'busy %s\\n' \"$(cat {lock}/run 2>/dev/null || echo unknown)\"; fi\n",
        lock = quote(LOCK_DIR)?,
        run = quote(run_id)?
    ))
}

/// Writes stdin to a new private file next to `path` (same directory, so
/// the final rename is atomic) and prints its name.
pub fn upload(path: &str) -> Result<String, QuoteError> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = if dir.is_empty() { "/" } else { dir };
    let template = format!("{}/.{name}.rectify-XXXXXX", dir.trim_end_matches('/'));
    Ok(format!(
        "{HEADER}t=$(mktemp {}) || exit 1\ncat > \"$t\" || {{ rm -f -- \"$t\"; exit 1; }}\nprintf '%s' \"$t\"\n",
        quote(&template)?
    ))
}

/// A user command run from a script on stdin, with its own stdin closed so
/// it cannot read the script.
pub fn command(cmd: &str) -> String {
    format!("{HEADER}{{\n{cmd}\n}} </dev/null\n")
}

/// The validate command for one candidate: `{path}` becomes its quoted name.
pub fn validate(cmd: &str, candidate: &str) -> Result<String, QuoteError> {
    Ok(command(&cmd.replace("{path}", &quote(candidate)?)))
}

/// Removes uploaded candidates and releases the lock: the run stops before
/// changing anything.
pub fn discard(run_id: &str, candidates: &[String]) -> Result<String, QuoteError> {
    let mut s = HEADER.to_string();
    for c in candidates {
        s.push_str(&format!("rm -f -- {}\n", quote(c)?));
    }
    s.push_str(&release_lock(run_id)?);
    Ok(s)
}

/// Backs up what the plan touches, writes `restore.sh`, and with a confirm
/// timeout starts the dead-man timer, detached from the SSH session.
pub fn prepare(
    run_id: &str,
    plan: &HostPlan,
    handlers: &[String],
    confirm_timeout: Option<u64>,
    nonce: &str,
) -> Result<String, QuoteError> {
    let bk = backup_dir(run_id);
    let mut s = format!("{HEADER}{}BK={}\n{{\n", reporters(nonce)?, quote(&bk)?);
    s.push_str("mkdir -p /var/backups/rectify && chmod 0700 /var/backups/rectify && mkdir -m 0700 \"$BK\" || fail prepare 'cannot create the backup directory'\n");
    for (k, op) in plan.ops.iter().enumerate() {
        if let Op::File(f) = op {
            let change = &plan.files[*f];
            if change.before.kind == FileKind::Regular && !matches!(change.action, FileAction::Chmod { .. }) {
                s.push_str(&format!(
                    "cp -p -- {} \"$BK/{k}\" || fail {k} 'cannot back up'\n",
                    quote(&change.path)?
                ));
            }
        }
    }
    let delimiter = format!("RECTIFY_END_{nonce}");
    s.push_str(&format!(
        "cat > \"$BK/restore.sh\" <<'{delimiter}' || fail prepare 'cannot write restore.sh'\n{}{delimiter}\n",
        restore(run_id, plan, handlers)?
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
    s.push_str("ok prepare\n} </dev/null\n");
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
fn restore(run_id: &str, plan: &HostPlan, handlers: &[String]) -> Result<String, QuoteError> {
    let bk = backup_dir(run_id);
    let mut s = format!(
        "{HEADER}BK={}
rc=0
restore_file() {{
  [ -e \"$BK/$1.done\" ] || return 0
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
",
        quote(&bk)?
    );
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
                        "if [ -e \"$BK/{k}.done\" ]; then sh -c {} </dev/null || rc=1; fi\n",
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
            s.push_str(&format!("  sh -c {} </dev/null || rc=1\n", quote(h)?));
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
pub fn commit(run_id: &str, plan: &HostPlan, candidates: &[Option<String>], nonce: &str) -> Result<String, QuoteError> {
    let mut s = format!("{HEADER}{}BK={}\n{{\n", reporters(nonce)?, quote(&backup_dir(run_id))?);
    for (k, op) in plan.ops.iter().enumerate() {
        // A confirm timeout shorter than the change itself: the timer has
        // settled the run, so change nothing more.
        s.push_str(&format!(
            "if [ -d \"$BK/decided\" ]; then fail {k} 'the dead-man timer fired before the change finished'; fi\n"
        ));
        let mark = format!(": > \"$BK/{k}.done\" || fail {k} 'cannot mark the operation'\n");
        match op {
            Op::File(f) => {
                let c = &plan.files[*f];
                let path = quote(&c.path)?;
                s.push_str(&format!(
                    "if [ -L {path} ]; then fail {k} 'became a symbolic link; not writing through it'; fi\n"
                ));
                s.push_str(&mark);
                match &c.action {
                    FileAction::Write { mode, owner, group, .. } => {
                        let cand = quote(candidates[*f].as_deref().expect("uploaded before commit"))?;
                        if let Some(spec) = chown_spec(owner, group, &c.before)? {
                            s.push_str(&format!("chown -- {spec} {cand} || fail {k} 'chown failed'\n"));
                        }
                        s.push_str(&format!("chmod -- {mode:o} {cand} || fail {k} 'chmod failed'\n"));
                        s.push_str(&format!("mv -f -- {cand} {path} || fail {k} 'rename failed'\n"));
                    }
                    FileAction::Chmod { mode, owner, group } => {
                        if let Some(spec) = chown_spec(owner, group, &c.before)? {
                            s.push_str(&format!("chown -- {spec} {path} || fail {k} 'chown failed'\n"));
                        }
                        if let Some(mode) = mode {
                            s.push_str(&format!("chmod -- {mode:o} {path} || fail {k} 'chmod failed'\n"));
                        }
                    }
                    FileAction::Remove => s.push_str(&format!("rm -f -- {path} || fail {k} 'remove failed'\n")),
                }
            }
            Op::Sysctl { key, value, .. } => {
                s.push_str(&mark);
                s.push_str(&format!(
                    "printf '%s\\n' {} > {} || fail {k} 'cannot set the kernel value'\n",
                    quote(value)?,
                    quote(&crate::collect::sysctl_path(key))?
                ));
            }
            Op::Command { command, .. } => {
                s.push_str(&mark);
                s.push_str(&format!(
                    "sh -c {} </dev/null > \"$BK/{k}.out\" 2>&1 || fail {k} \"exit status $?\"\n",
                    quote(command)?
                ));
            }
        }
        s.push_str(&format!("ok {k}\n"));
    }
    s.push_str("ok commit\n} </dev/null\n");
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

/// Settles the run as committed, unless the dead-man timer got there
/// first: prints `committed` or `timer`.
pub fn confirm(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "{HEADER}BK={}
if mkdir \"$BK/decided\" 2>/dev/null; then
echo controller > \"$BK/decided/by\"; : > \"$BK/committed\"
{}{}echo committed
else echo timer; fi\n",
        quote(&backup_dir(run_id))?,
        kill_timer(),
        release_lock(run_id)?
    ))
}

/// Rolls back now, unless the dead-man timer already does: prints
/// `restored 0` (or another exit status), or `timer`.
pub fn rollback(run_id: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "{HEADER}BK={}
if mkdir \"$BK/decided\" 2>/dev/null; then
echo controller > \"$BK/decided/by\"
{}sh \"$BK/restore.sh\" > \"$BK/restore.log\" 2>&1; rc=$?; echo \"restored $rc\"
[ \"$rc\" = 0 ] || tail -n 5 \"$BK/restore.log\" >&2
else echo timer; fi\n",
        quote(&backup_dir(run_id))?,
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

/// Reads the status lines of a prepare or commit script: the operations
/// that finished, and the failure if one stopped it.
pub fn parse_status(stdout: &[u8], nonce: &str) -> (Vec<String>, Option<(String, String)>) {
    let prefix = format!("RECTIFY:{nonce}:");
    let mut done = Vec::new();
    let mut failed = None;
    for line in String::from_utf8_lossy(stdout).lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        if let Some(what) = rest.strip_prefix("ok:") {
            done.push(what.to_string());
        } else if let Some(what) = rest.strip_prefix("fail:") {
            let (op, why) = what.split_once(':').unwrap_or((what, ""));
            failed = Some((op.to_string(), why.to_string()));
        }
    }
    (done, failed)
}
