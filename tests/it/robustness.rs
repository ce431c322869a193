//! The controller's own robustness, on this machine and without a fleet:
//! a private state database whatever the umask, a quiet exit when the
//! reader of stdout goes away, and fast, positioned rejections of
//! pathological input files.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::fleet::{rectify_bin, rectify_in};

/// stderr, cut short: a failing assertion on pathological input must not
/// print it back whole.
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).chars().take(2000).collect()
}

/// `stat -c %a`, the host's own answer for a path's permission bits.
fn mode_of(path: &Path) -> String {
    let out = Command::new("stat")
        .args(["-c", "%a"])
        .arg(path)
        .output()
        .expect("run stat");
    assert!(out.status.success(), "stat {}: {}", path.display(), stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// rectify with `args` in `dir`, under `umask 022` (the common default),
/// with its state in `state`.
fn rectify_umask_022(args: &[&str], dir: &Path, state: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(rectify_bin())
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("RECTIFY_STATE_DIR", state);
    cmd
}

/// The state database holds every audited file's content: under umask 022
/// its new directory is still 0700 and the database with its WAL and
/// shared-memory files 0600, as `stat` on this machine reports them.
#[test]
fn the_state_database_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("b.yaml"),
        "name: b\nrules:\n  - id: FAST\n    command: echo ok\n    expect: ok\n",
    )
    .unwrap();
    let state = d.join("new/state");
    let out = rectify_umask_022(&["audit", "--local", "-b", "b.yaml"], d, &state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode_of(&state), "700");
    assert_eq!(mode_of(&state.join("state.db")), "600");

    // The WAL and shared-memory files exist while a change run journals:
    // an apply whose one step sleeps holds the database open meanwhile.
    let marker = d.join("slept");
    std::fs::write(
        d.join("p.yaml"),
        format!(
            "name: p\nsteps:\n  - command: sleep 3; touch {m}\n    creates: {m}\n",
            m = marker.display()
        ),
    )
    .unwrap();
    let mut apply = rectify_umask_022(&["apply", "--local", "-p", "p.yaml"], d, &state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wal = state.join("state.db-wal");
    let shm = state.join("state.db-shm");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(wal.exists() && shm.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (wal_mode, shm_mode) = (mode_of(&wal), mode_of(&shm));
    let status = apply.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(wal_mode, "600");
    assert_eq!(shm_mode, "600");
    assert_eq!(mode_of(&state.join("state.db")), "600");
}

/// Every printing command, its stdout a pipe whose reader has gone (as in
/// `rectify runs | head -1` once head has exited): a quiet exit 141
/// (128 + SIGPIPE, what the shell reports for a tool SIGPIPE ended), never
/// a panic (exit 101).
#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("app.conf");
    std::fs::write(&file, "mode = fast\n").unwrap();
    std::fs::write(
        d.join("b.yaml"),
        format!(
            "name: b\nrules:\n  - id: MODE\n    file: {}\n    setting: mode\n    expect: fast\n",
            file.display()
        ),
    )
    .unwrap();
    let state = d.join("state");
    let state_env = [("RECTIFY_STATE_DIR", state.to_str().unwrap())];
    let first = rectify_in(&["audit", "--local", "-b", "b.yaml", "--format", "json"], d, &state_env);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let run_id = serde_json::from_slice::<serde_json::Value>(&first.stdout).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let host = serde_json::from_slice::<serde_json::Value>(&first.stdout).unwrap()["hosts"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    for args in [
        vec!["audit", "--local", "-b", "b.yaml"],
        vec!["audit", "--local", "-b", "b.yaml", "--format", "json"],
        vec!["runs"],
        vec!["show", &run_id],
        vec!["stats"],
        vec!["changes", &host],
        vec!["validate", "b.yaml"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(rectify_bin())
            .args(&args)
            .current_dir(d)
            .env("HOME", d)
            .env("NO_COLOR", "1")
            .env("RECTIFY_STATE_DIR", &state)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}: nothing on stderr");
    }
}

/// A 1 MB `mode:` value: exit 2, a message with file:line:col, no panic.
#[test]
fn a_huge_value_is_rejected_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let huge = "7".repeat(1_000_000);
    std::fs::write(
        d.join("b.yaml"),
        format!("name: b\nrules:\n  - id: HUGE\n    file: /etc/passwd\n    mode: '{huge}'\n"),
    )
    .unwrap();
    let out = rectify_in(&["audit", "--local", "-b", "b.yaml"], d, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(stderr(&out).contains("b.yaml:5:5"), "{}", stderr(&out));
}

/// One line of 100,000 nested `[`: exit 2 at once (it took ~52 s), naming
/// the line and column where the nesting gets too deep. A regression shows
/// as a hang the test runner reports.
#[test]
fn deep_nesting_is_rejected_at_once_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("b.yaml"), format!("name: b\nrules: {}\n", "[".repeat(100_000))).unwrap();
    let out = rectify_in(&["audit", "--local", "-b", "b.yaml"], d, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("b.yaml:2:"), "names the line: {}", stderr(&out));
    assert!(stderr(&out).contains("nested"), "{}", stderr(&out));
}

/// A `--report FORMAT=PATH` or `--lock` that cannot be written is bad input:
/// exit 2 naming the path, before anything runs (the audit's command rule,
/// which would leave a mark, never ran) and with no report on stdout.
#[test]
fn an_unwritable_report_or_lock_path_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mark = d.join("ran");
    std::fs::write(
        d.join("b.yaml"),
        format!(
            "name: b\nrules:\n  - id: MARK\n    command: touch {}; echo ok\n    expect: ok\n",
            mark.display()
        ),
    )
    .unwrap();
    std::fs::create_dir(d.join("a-directory")).unwrap();
    let state = d.join("state");
    let state_env = [("RECTIFY_STATE_DIR", state.to_str().unwrap())];
    for (flag, value, named) in [
        ("--report", "junit=b.yaml/out.xml", "b.yaml/out.xml"),
        ("--report", "json=a-directory", "a-directory"),
        ("--lock", "no-such-dir/nightly.lock", "no-such-dir/nightly.lock"),
        ("--lock", "a-directory", "a-directory"),
    ] {
        let out = rectify_in(&["audit", "--local", "-b", "b.yaml", flag, value], d, &state_env);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("cannot write {named}")),
            "{flag} {value}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{flag} {value}: no report");
        assert!(!mark.exists(), "{flag} {value}: the audit ran");
    }
    // A writable report path still works, and writes no stray check file.
    let out = rectify_in(
        &["audit", "--local", "-b", "b.yaml", "--report", "json=r.json"],
        d,
        &state_env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(mark.exists() && d.join("r.json").exists());
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-directory", "b.yaml", "r.json", "ran", "state"]);
}
