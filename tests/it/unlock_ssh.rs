//! `rectify unlock` on a real sshd host: it refuses while a live process
//! or a dead-man timer holds the lock, naming the run; frees a lock whose
//! holder was killed (`kill -9` of the whole session on the host, so the
//! lock's own janitor went too) when that run changed nothing, removing
//! its temp files; refuses a run that changed the host and was never
//! settled unless `--restore`, which puts the host back and frees it.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::fleet::{rectify_bin, sh, wait_until, write, Fleet, HostSpec};

const DEMO: &str = "# demo\nColor blue\n";

fn spawn_apply(fleet: &Fleet, playbook: &str) -> Child {
    let pb = write(fleet.dir(), "playbook.yaml", playbook);
    let state = fleet.dir().join("state");
    Command::new(rectify_bin())
        .args(["apply", "-i"])
        .arg(fleet.write_inventory())
        .arg("-p")
        .arg(pb)
        .args(["--no-progress", "--format", "json"])
        .env("RECTIFY_STATE_DIR", state)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn unlock(fleet: &Fleet, extra: &[&str]) -> Output {
    Command::new(rectify_bin())
        .arg("unlock")
        .arg("-i")
        .arg(fleet.write_inventory())
        .args(extra)
        .env("RECTIFY_STATE_DIR", fleet.dir().join("state"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The exit code and stdout of `rectify unlock`.
fn unlock_says(fleet: &Fleet, extra: &[&str]) -> (Option<i32>, String) {
    let out = unlock(fleet, extra);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code(), text + &String::from_utf8_lossy(&out.stderr))
}

fn locked_run(fleet: &Fleet) -> String {
    sh(fleet, "h", "cat /run/rectify.lock/run 2>/dev/null")
        .trim()
        .to_string()
}

/// SIGKILLs the process group of the lock's holder on the host: the change
/// script, what it runs and the lock's janitor (a `kill -9` on the host).
/// `kill -s KILL -- -PGID`: dash's `kill -KILL --` takes `--` for a pid.
fn kill_holder_group(fleet: &Fleet) {
    sh(
        fleet,
        "h",
        "p=$(cut -d' ' -f1 /run/rectify.lock/pid); g=$(ps -o pgid= -p \"$p\" | tr -d ' '); kill -s KILL -- -\"$g\"",
    );
    // Gone, or a zombie (this machine's init does not reap).
    wait_for(
        fleet,
        "! grep -q '^[0-9]* ([^)]*) [^Z]' /proc/$(cut -d' ' -f1 /run/rectify.lock/pid)/stat 2>/dev/null",
    );
}

fn candidates(fleet: &Fleet) -> String {
    sh(fleet, "h", "ls -A /etc | grep rectify- || true").trim().to_string()
}

fn wait_for(fleet: &Fleet, test: &str) {
    let cmd = format!("{test} && echo yes");
    assert!(
        wait_until(Duration::from_secs(30), || sh(fleet, "h", &cmd).trim() == "yes"),
        "never: {test}"
    );
}

#[test]
fn unlock_frees_only_a_lock_no_live_run_holds() {
    let fleet = Fleet::start(vec![HostSpec::new("h").file("demo.conf", DEMO, 0o644)]);
    let (code, text) = unlock_says(&fleet, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(text.trim(), "h: not locked");

    // 1. A run validating (a live holder): refused, naming the run and pid.
    let slow_validate =
        "name: v\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    validate: touch /run/v; sleep 30; test -s {path}\n";
    let mut child = spawn_apply(&fleet, slow_validate);
    wait_for(&fleet, "test -e /run/v");
    let run = locked_run(&fleet);
    let (code, text) = unlock_says(&fleet, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("locked by run {run}, whose process")), "{text}");
    assert!(text.contains("is alive"), "{text}");
    assert_eq!(locked_run(&fleet), run, "the lock stays");

    // 2. The controller and the whole session on the host killed: the
    // holder and the janitor are gone, the candidate stays. unlock frees it.
    child.kill().unwrap();
    child.wait().unwrap();
    kill_holder_group(&fleet);
    assert_ne!(candidates(&fleet), "", "a candidate is left");
    let (code, text) = unlock_says(&fleet, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("freed the lock of run {run}")), "{text}");
    assert_eq!(locked_run(&fleet), "");
    assert_eq!(candidates(&fleet), "");
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), DEMO.as_bytes());

    // 3. A run that changed the host, in a slow handler: held; its session
    // killed, its timer alive: refused, the timer will settle it; the timer
    // killed too: never settled, refused without --restore.
    sh(&fleet, "h", "rm -f /run/v");
    let slow_handler = "name: hd\nconfirm_timeout: 60\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [slow]\nhandlers:\n  slow: touch /run/hd; sleep 30\n";
    let mut child = spawn_apply(&fleet, slow_handler);
    wait_for(&fleet, "test -e /run/hd");
    let run = locked_run(&fleet);
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), b"# demo\nColor red\n");
    child.kill().unwrap();
    child.wait().unwrap();
    kill_holder_group(&fleet);
    let (code, text) = unlock_says(&fleet, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("locked by run {run}, whose dead-man timer is alive")),
        "{text}"
    );
    sh(
        &fleet,
        "h",
        &format!("kill -s KILL -- -$(cat /var/backups/rectify/{run}/deadman.pid)"),
    );
    let (code, text) = unlock_says(&fleet, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("was never settled; not unlocking (--restore runs its"),
        "{text}"
    );
    assert_eq!(locked_run(&fleet), run);
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), b"# demo\nColor red\n");

    let (code, text) = unlock_says(&fleet, &["--restore"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("ran run {run}'s restore.sh")), "{text}");
    assert_eq!(fleet.read_file("h", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(locked_run(&fleet), "");
    assert_eq!(
        sh(
            &fleet,
            "h",
            &format!("cat /var/backups/rectify/{run}/decided/by; ls /var/backups/rectify/{run}/restored")
        )
        .trim(),
        format!("operator\n/var/backups/rectify/{run}/restored")
    );
    // Nothing is left to free.
    let (code, text) = unlock_says(&fleet, &[]);
    assert_eq!((code, text.trim()), (Some(0), "h: not locked"));
}
