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
const FUNCTIONS: &str = r#"say() { r_line=$1; shift; for r_a in "$@"; do r_line=$r_line:$r_a; done; printf 'RECTIFY:%s:%s\n' "$N" "$r_line"; }
ok() { say ok "$1"; }
fail() { say fail "$1" "$2"; exit 1; }
oneline() { printf '%s' "$1" | tr '\n' ' ' | head -c 300; }
unlock() { if [ "$(cat "$LOCK/run" 2>/dev/null)" = "$RUN" ]; then rm -rf -- "$LOCK"; fi; }
abort() { candidates; unlock; fail "$1" "$2"; }
stop() { candidates; fail "$1" "$2"; }
lock() {
  if mkdir -m 0700 "$LOCK" 2>/dev/null; then printf '%s\n' "$RUN" > "$LOCK/run"
  else say busy "$(cat "$LOCK/run" 2>/dev/null || echo unknown)"; exit 1; fi
  ok locked
}
upload() {
  # $1 candidate index, $2 mktemp template, $3 target; the content, in
  # base64, on stdin. The candidate's name is left in $cand.
  cand=$(mktemp "$2") || abort "upload$1" "cannot create a file next to $3"
  base64 -d > "$cand" || abort "upload$1" "cannot write next to $3"
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
backup() { cp -p -- "$2" "$BK/$1" || abort "$1" 'cannot back up'; }
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
  # $1 operation, $2 candidate, $3 target, $4 mode, $5 owner:group or ''.
  begin "$1" "$3"
  if [ -n "$5" ]; then chown -- "$5" "$2" || stop "$1" 'chown failed'; fi
  chmod -- "$4" "$2" || stop "$1" 'chmod failed'
  mv -f -- "$2" "$3" || stop "$1" 'rename failed'
  ok "$1"
}
meta() {
  # $1 operation, $2 path, $3 mode or '', $4 owner:group or ''.
  begin "$1" "$2"
  if [ -n "$4" ]; then chown -- "$4" "$2" || stop "$1" 'chown failed'; fi
  if [ -n "$3" ]; then chmod -- "$3" "$2" || stop "$1" 'chmod failed'; fi
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
  if [ -r "$BK/deadman.pid" ]; then p=$(cat "$BK/deadman.pid"); kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; fi
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
        "{HEADER}{RUN_CMD}{FUNCTIONS}N={}\nRUN={}\nBK={}\nLOCK={}\n",
        quote(nonce)?,
        quote(run_id)?,
        quote(&backup_dir(run_id))?,
        quote(LOCK_DIR)?
    ))
}
