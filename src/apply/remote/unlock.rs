//! `rectify unlock`'s script: frees a host's lock that no live run holds,
//! and says who holds one it will not free. The same test as a new run's
//! takeover (prelude's `stale`): the holder process is gone and its run
//! changed nothing, or was settled. A run that started changing the host
//! and was never settled keeps its lock unless the operator asks for its
//! `restore.sh` to run (`--restore`), which settles it as the dead-man
//! timer would (`decided/by` = `operator`) and frees the lock.

use crate::shell::{quote, QuoteError};

use super::prelude::preamble;

/// The script. `run_id` is the unlock's own id (the name the takeover
/// renames the lock to); answers one `unlock:…` or `stale:RUN` line.
pub fn unlock(run_id: &str, nonce: &str, restore: bool) -> Result<String, QuoteError> {
    let mut s = preamble(run_id, nonce)?;
    s.push_str(&format!("U_RESTORE={}\n", quote(if restore { "1" } else { "" })?));
    s.push_str(
        r#"{
if [ ! -d "$LOCK" ]; then say unlock free; exit 0; fi
u_run=$(cat "$LOCK/run" 2>/dev/null | head -c 100 | tr -dc 'A-Za-z0-9-')
u_h=$(cat "$LOCK/pid" 2>/dev/null | head -c 100)
u_p=${u_h% *}
case $u_p in ''|*[!0-9]*) u_p= ;; esac
if [ -n "$u_p" ] && alive "$u_p" "${u_h#* }"; then
  say unlock held "$u_run" "$u_p" "$(ps -o args= -p "$u_p" 2>/dev/null | tr -d ':\n' | head -c 200)"; exit 1
fi
stale && exit 0
u_bk=${BK%/*}/$u_run
if [ -z "$u_run" ] || [ -z "$u_p" ]; then say unlock unknown "$u_run"; exit 1; fi
if [ -r "$u_bk/deadman.pid" ] && running "$(cat "$u_bk/deadman.pid")"; then
  say unlock timer "$u_run"; exit 1
fi
if [ -z "$U_RESTORE" ]; then say unlock unsettled "$u_run"; exit 1; fi
mkdir "$u_bk/decided" 2>/dev/null || { say unlock unsettled "$u_run"; exit 1; }
echo operator > "$u_bk/decided/by"
sh "$u_bk/restore.sh" > "$u_bk/restore.log" 2>&1; u_rc=$?
say unlock restored "$u_run" "$u_rc"
} </dev/null
"#,
    );
    Ok(s)
}

/// What the unlock script found on one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocked {
    /// No lock.
    Free,
    /// A lock of this run, whose holder was gone and whose run changed
    /// nothing (or was settled): removed, with its temp files.
    TakenOver(String),
    /// Run `run`'s `restore.sh` ran (with `--restore`); exit status `rc`.
    Restored { run: String, rc: i32 },
    /// Held by a live process: (run, pid, its command line).
    Held { run: String, pid: String, command: String },
    /// The run's dead-man timer is alive and will settle it.
    Timer(String),
    /// The run started changing the host and was never settled.
    Unsettled(String),
    /// A lock that names no run or no holder.
    Unknown(String),
}

/// The answer in `stdout`, if the script gave one (noise skipped, as for
/// every script: only lines with the nonce count).
pub fn parse(stdout: &[u8], nonce: &str) -> Option<Unlocked> {
    let marker = format!("RECTIFY:{nonce}:");
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find_map(|l| l.find(&marker).map(|i| &l[i + marker.len()..]))?;
    let fields: Vec<&str> = line.splitn(5, ':').collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or("").to_string();
    Some(match (fields[0], fields.get(1).copied()) {
        ("stale", _) => Unlocked::TakenOver(field(1)),
        ("unlock", Some("free")) => Unlocked::Free,
        ("unlock", Some("held")) => Unlocked::Held {
            run: field(2),
            pid: field(3),
            command: field(4),
        },
        ("unlock", Some("timer")) => Unlocked::Timer(field(2)),
        ("unlock", Some("unsettled")) => Unlocked::Unsettled(field(2)),
        ("unlock", Some("unknown")) => Unlocked::Unknown(field(2)),
        ("unlock", Some("restored")) => Unlocked::Restored {
            run: field(2),
            rc: field(3).parse().ok()?,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_after_noise_and_only_with_the_nonce() {
        let out = b"motd> RECTIFY:other:unlock:free\nRECTIFY:n0nce:unlock:held:20261129T000000Z-abcdef:42:sh -s\n";
        assert_eq!(
            parse(out, "n0nce"),
            Some(Unlocked::Held {
                run: "20261129T000000Z-abcdef".into(),
                pid: "42".into(),
                command: "sh -s".into()
            })
        );
        assert_eq!(
            parse(b"RECTIFY:n0nce:stale:r1\n", "n0nce"),
            Some(Unlocked::TakenOver("r1".into()))
        );
        assert_eq!(
            parse(b"RECTIFY:n0nce:unlock:restored:r1:0\n", "n0nce"),
            Some(Unlocked::Restored {
                run: "r1".into(),
                rc: 0
            })
        );
        assert_eq!(parse(b"RECTIFY:other:unlock:free\n", "n0nce"), None);
    }
}
