//! The shell functions every script the controller runs during an apply
//! starts with, and the variables they work on. Values reach a script only
//! as quoted arguments of one call per operation, or in the four variables
//! set by [`preamble`]; the functions below never see a value spliced into
//! their text. Every answer they give goes through `say`, framed with the
//! run's nonce (see [`super::reply`]), so nothing a login shell or a
//! command prints can be taken for one.

use crate::shell::{quote, QuoteError, RUN_CMD};

use super::{backup_dir, HEADER, LOCK_DIR};

/// The functions, in the order they depend on each other. `abort` (before
/// `prepared`: nothing changed yet) removes the candidates and releases the
/// lock; `stop` (after it: the controller restores) removes only the
/// candidates. Both need `candidates`, which each change script defines
/// for its own candidate variables.
/// The two functions that keep every file operation off links, shared
/// with `restore.sh`. fd 8 is theirs. `hold` opens what a name holds now
/// and checks the descriptor is that very inode (no link, nothing swapped
/// in between); `fresh` creates a file exclusively under a random name
/// nobody could plant beforehand. chown, chmod, cp and touch then act on
/// `/proc/$$/fd/8`, which a local user cannot re-point. (A file hard-linked
/// into a user's directory would pass `hold`; the kernel's
/// `fs.protected_hardlinks` keeps users from linking files they do not
/// own.)
pub(super) const NOFOLLOW: &str = r#"hold() {
  { [ -f "$1" ] || [ -d "$1" ]; } && [ ! -L "$1" ] || return 1
  { command exec 8<"$1"; } 2>/dev/null || return 1
  h_i=$(stat -L -c %d:%i "/proc/$$/fd/8" 2>/dev/null)
  if [ -n "$h_i" ] && [ "$h_i" = "$(stat -c %d:%i -- "$1" 2>/dev/null)" ]; then return 0; fi
  exec 8<&-; return 1
}
fresh() {
  fresh=$1$(tr -dc 'A-Za-z0-9' </dev/urandom 2>/dev/null | head -c 6)
  set -C; { command exec 8>"$fresh"; } 2>/dev/null; f_rc=$?; set +C
  [ "$f_rc" = 0 ] || return 1
  if [ -f "/proc/$$/fd/8" ] && [ "$(stat -L -c %h:%s "/proc/$$/fd/8")" = 1:0 ]; then return 0; fi
  exec 8>&-; return 1
}
"#;

const FUNCTIONS: &str = r#"# p_fields PID: the fields of /proc/PID/stat after the command name (which
# may hold spaces and parentheses: everything up to the last ") "), in
# $p_f, read by the shell itself: the janitor below asks every second,
# and a process per question would cost the host more than the waiting.
p_fields() { p_f=; { IFS= read -r p_f <"/proc/$1/stat"; } 2>/dev/null; p_f=${p_f##*") "}; [ -n "$p_f" ]; }
# The start time (field 22 of the line, 20 after the name); only ever
# used in $(…), so its `set` stays in that subshell.
started() { p_fields "$1" || return 0; set -f; set -- $p_f; printf '%s\n' "${20-}"; }
# A zombie (dead, not reaped yet: where init does not reap) runs no more.
running() { p_fields "$1" && [ "${p_f%% *}" != Z ]; }
alive() { [ -n "$1" ] && [ -n "$2" ] && [ "$(started "$1")" = "$2" ] && running "$1"; }
stale() {
  # Takes over a lock whose holder is gone (killed, or its controller
  # was), when that run changed nothing: it was cut off before starting
  # an operation (no backup, or one with no N.done) and no dead-man timer
  # of it is alive; or it was settled. Its candidates go with it. A lock
  # without a holder recorded (being taken right now) is never stale.
  s_run=$(cat "$LOCK/run" 2>/dev/null)
  case $s_run in ''|*[!A-Za-z0-9-]*) return 1 ;; esac
  s_h=$(cat "$LOCK/pid" 2>/dev/null) || return 1
  case ${s_h#* } in ''|*[!0-9]*) return 1 ;; esac
  alive "${s_h% *}" "${s_h#* }" && return 1
  s_bk=${BK%/*}/$s_run
  if [ -d "$s_bk" ] && [ ! -e "$s_bk/committed" ] && [ ! -e "$s_bk/restored" ] && [ ! -e "$s_bk/restore-failed" ]; then
    for s_f in "$s_bk"/*.done; do [ -e "$s_f" ] && return 1; done
    if [ -r "$s_bk/deadman.pid" ] && running "$(cat "$s_bk/deadman.pid")"; then return 1; fi
    mkdir "$s_bk/decided" 2>/dev/null && echo abandoned > "$s_bk/decided/by"
  fi
  # Only one taker wins the rename.
  mv -T -- "$LOCK" "$LOCK.stale.$RUN" 2>/dev/null || return 1
  if [ -f "$LOCK.stale.$RUN/candidates" ]; then xargs -0 rm -f -- < "$LOCK.stale.$RUN/candidates"; fi
  rm -rf -- "$LOCK.stale.$RUN"
  say stale "$s_run"
}
say() { r_line=$1; shift; for r_a in "$@"; do r_line=$r_line:$r_a; done; printf 'RECTIFY:%s:%s\n' "$N" "$r_line"; }
ok() { say ok "$1"; }
fail() { say fail "$1" "$2"; exit 1; }
oneline() { printf '%s' "$1" | tr '\n' ' ' | head -c 300; }
unlock() { if [ "$(cat "$LOCK/run" 2>/dev/null)" = "$RUN" ]; then rm -rf -- "$LOCK"; fi; }
abort() { candidates; unlock; fail "$1" "$2"; }
stop() { candidates; fail "$1" "$2"; }
lock() {
  # The lock names its run and its holder: this script's pid and start
  # time (a reused pid is another process), so a later run can tell a
  # lock whose holder is gone.
  if ! mkdir -m 0700 "$LOCK" 2>/dev/null; then
    { stale && mkdir -m 0700 "$LOCK" 2>/dev/null; } || { say busy "$(cat "$LOCK/run" 2>/dev/null || echo unknown)"; exit 1; }
  fi
  printf '%s\n' "$RUN" > "$LOCK/run"
  l_h="$$ $(started $$)"
  printf '%s\n' "$l_h" > "$LOCK/pid"
  # A janitor, in the background: should this script die before the
  # dead-man timer is armed (its controller killed: the script dies on
  # its next write to the closed connection), it removes the candidates
  # and the lock once the script is gone, if the run changed nothing: the
  # very test `stale` makes, which leaves the lock to the timer or the
  # controller once an operation started. Its output goes nowhere, so the
  # session ends with the script.
  ( while alive "${l_h% *}" "${l_h#* }"; do sleep 1; done; stale ) </dev/null >/dev/null 2>&1 &
  ok locked
}
trusted() {
  # $1 candidate index, $2 target, $3 1 when its step allows a directory
  # others can write. Every directory from the target's up to / must be
  # owned by root (or the connecting user) and writable by nobody else
  # (a sticky one, like /tmp, only above the target's own): whoever can
  # write a directory can swap names in it under any command run there.
  [ "$3" = 1 ] && return 0
  t_me=$(id -u); t_d=${2%/*}
  t_d=$(readlink -f -- "${t_d:-/}") || abort "trust$1" "cannot resolve the directory of $2"
  t_top=1
  while :; do
    t_s=$(stat -c '%u %a' -- "${t_d:-/}") || abort "trust$1" "cannot stat ${t_d:-/}"
    t_u=${t_s% *}; t_m=${t_s#* }
    if [ "$t_u" != 0 ] && [ "$t_u" != "$t_me" ]; then
      abort "trust$1" "refusing to write $2: ${t_d:-/} is owned by uid $t_u, not root; a local user could swap files there while rectify works (set unsafe_writes: true on the step to write there anyway)"
    fi
    if [ $((0$t_m & 022)) != 0 ] && { [ -n "$t_top" ] || [ $((0$t_m & 01000)) = 0 ]; }; then
      abort "trust$1" "refusing to write $2: ${t_d:-/} is writable by group or others (mode $t_m); a local user could swap files there while rectify works (set unsafe_writes: true on the step to write there anyway)"
    fi
    [ -n "$t_d" ] || break
    t_d=${t_d%/*}; t_top=
  done
}
upload() {
  # $1 candidate index, $2 name prefix (DIR/.NAME.rectify-), $3 target,
  # $4 mode, $5 owner:group or ''; the content, in base64, on stdin. It is
  # written, chowned and chmodded through its descriptor: whoever can
  # write the directory may rename or replace the name, never redirect
  # these. Its name is left in $cand, its device:inode in $ino.
  fresh "$2" || abort "upload$1" "cannot create a file next to $3"
  cand=$fresh
  # Noted in the lock, for whoever takes over a lock this run leaves.
  printf '%s\0' "$cand" >> "$LOCK/candidates"
  base64 -d >&8 || abort "upload$1" "cannot write next to $3"
  if [ -n "$5" ]; then chown -- "$5" "/proc/$$/fd/8" || abort "upload$1" "chown of the new $3 failed"; fi
  chmod -- "$4" "/proc/$$/fd/8" || abort "upload$1" "chmod of the new $3 failed"
  ino=$(stat -L -c %d:%i "/proc/$$/fd/8") || abort "upload$1" "cannot stat the new $3"
  exec 8>&-
}
validate() {
  # $1 candidate index, $2 candidate, $3 command: the candidate's name
  # reaches it through the environment.
  if ! out=$(RECTIFY_CANDIDATE=$2; export RECTIFY_CANDIDATE; run_cmd "$3" 2>&1 </dev/null); then
    say validate "$1" "$(oneline "$out")"; abort "validate$1" rejected
  fi
}
check() {
  # $1 what (handler, verify), $2 its index, $3 command.
  if ! out=$(run_cmd "$3" 2>&1 </dev/null); then say "$1" "$2" "$(oneline "$out")"; return 1; fi
}
backup_area() {
  # $BK is /var/backups/rectify/RUN_ID.
  mkdir -p "${BK%/*}" && chmod 0700 "${BK%/*}" && mkdir -m 0700 "$BK" ||
    abort prepare 'cannot create the backup directory'
}
backup() {
  # Copies the file the name holds now, never a link's target.
  hold "$2" && cp -p -- "/proc/$$/fd/8" "$BK/$1" || abort "$1" 'cannot back up (not the regular file planned any more?)'
  exec 8<&-
}
arm() {
  if command -v setsid >/dev/null 2>&1; then setsid sh "$BK/deadman.sh" </dev/null >/dev/null 2>&1 &
  else nohup sh "$BK/deadman.sh" </dev/null >/dev/null 2>&1 & fi
  echo $! > "$BK/deadman.pid"
}
begin() {
  # A confirm timeout shorter than the change itself: the timer has
  # settled the run, so change nothing more.
  if [ -d "$BK/decided" ]; then stop "$1" 'the dead-man timer fired before the change finished'; fi
  if [ -n "${2:-}" ] && [ -L "$2" ]; then stop "$1" 'became a symbolic link; not writing through it'; fi
  : > "$BK/$1.done" || stop "$1" 'cannot mark the operation'
}
put() {
  # $1 operation, $2 candidate, $3 target, $4 the candidate's device:inode.
  # rename(2) (mv -T) follows no link: should the candidate's name have been
  # swapped, what lands at the target is not the file written, and the
  # check after it stops the run (the controller restores).
  begin "$1" "$3"
  mv -fT -- "$2" "$3" || stop "$1" 'rename failed'
  [ "$(stat -c %d:%i -- "$3" 2>/dev/null)" = "$4" ] || stop "$1" 'what was moved into place is not the file written: replaced while rectify worked'
  ok "$1"
}
meta() {
  # $1 operation, $2 path, $3 mode or '', $4 owner:group or ''; through
  # the descriptor `hold` checked, never through a link.
  begin "$1" "$2"
  hold "$2" || stop "$1" 'is not the file planned any more (a link, or replaced); not following it'
  if [ -n "$4" ]; then chown -- "$4" "/proc/$$/fd/8" || stop "$1" 'chown failed'; fi
  if [ -n "$3" ]; then chmod -- "$3" "/proc/$$/fd/8" || stop "$1" 'chmod failed'; fi
  exec 8<&-
  ok "$1"
}
remove() { begin "$1" "$2"; rm -f -- "$2" || stop "$1" 'remove failed'; ok "$1"; }
kernel() {
  # $1 operation, $2 value, $3 its file under /proc/sys.
  begin "$1"
  printf '%s\n' "$2" > "$3" || stop "$1" 'cannot set the kernel value'
  ok "$1"
}
command_op() {
  begin "$1"
  run_cmd "$2" </dev/null > "$BK/$1.out" 2>&1 || stop "$1" "exit status $?"
  ok "$1"
}
kill_timer() {
  if [ -r "$BK/deadman.pid" ]; then p=$(cat "$BK/deadman.pid"); kill -s TERM -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; fi
}
decide() {
  # Whoever creates decided/ first settles the run; the others stand down.
  mkdir "$BK/decided" 2>/dev/null || return 1
  echo "$1" > "$BK/decided/by"
}
confirm() {
  if decide controller; then : > "$BK/committed"; kill_timer; unlock; ok committed
  else ok timer; fi
}
rollback() {
  if [ ! -d "$BK" ]; then unlock; say rollback nothing
  elif decide controller; then
    kill_timer
    sh "$BK/restore.sh" > "$BK/restore.log" 2>&1; rc=$?; say rollback restored "$rc"
    [ "$rc" = 0 ] || tail -n 5 "$BK/restore.log" >&2
  elif [ "$(cat "$BK/decided/by" 2>/dev/null)" = timer ]; then say rollback timer
  else say rollback busy; fi
}
settled() {
  if [ -e "$BK/restored" ]; then say settled restored
  elif [ -e "$BK/restore-failed" ]; then say settled restore-failed
  elif [ -e "$BK/committed" ]; then say settled committed
  else say settled pending; fi
}
"#;

/// The top of every controller-run script: environment, `run_cmd`, the functions above, and the run's nonce, id, backup
/// directory and lock.
pub fn preamble(run_id: &str, nonce: &str) -> Result<String, QuoteError> {
    Ok(format!(
        "{HEADER}{RUN_CMD}{NOFOLLOW}{FUNCTIONS}N={}\nRUN={}\nBK={}\nLOCK={}\n",
        quote(nonce)?,
        quote(run_id)?,
        quote(&backup_dir(run_id))?,
        quote(LOCK_DIR)?
    ))
}

#[cfg(test)]
mod tests {
    use super::FUNCTIONS;
    use std::process::Command;

    /// `started`, `running` and `alive` read /proc/PID/stat as the kernel
    /// writes it: a command name holding ") " and digits does not shift
    /// the fields, and a zombie runs no more.
    #[test]
    fn started_and_running_read_the_kernels_line() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("a) 1 2 (z");
        std::os::unix::fs::symlink(crate::shell::test_support::which("sleep"), &odd).unwrap();
        let mut child = Command::new(&odd).arg("30").spawn().unwrap();
        let pid = child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(stat.contains("(a) 1 2 (z)"), "{stat}");
        let after = &stat[stat.rfind(") ").unwrap() + 2..];
        let start = after.split(' ').nth(19).unwrap().to_string();
        let ask = || {
            let script = format!(
                "{FUNCTIONS}echo \"[$(started {pid})]\"; running {pid} && echo running; \
                 alive {pid} {start} && echo alive; alive {pid} 1 || echo reused; echo \"[$(started 999999999)]\""
            );
            let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(ask(), format!("[{start}]\nrunning\nalive\nreused\n[]\n"));
        // Killed, not reaped: a zombie, whose stat line still has its start.
        child.kill().unwrap();
        let zombie = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
        });
        assert!(zombie);
        assert_eq!(ask(), format!("[{start}]\nreused\n[]\n"));
        child.wait().unwrap();
    }
}
