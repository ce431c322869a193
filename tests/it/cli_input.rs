//! Bad input: exit 2 with file:line:col, and nothing contacted. Also the
//! `--local` audit, which crosses no network.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::fleet::rectify_in;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes the bad file `name` into `dir` and runs rectify with `args` on
/// it: exit 2, and `expected` (position and message) on stderr.
fn assert_rejected(dir: &Path, name: &str, text: &str, args: &[&str], expected: &str) {
    std::fs::write(dir.join(name), text).unwrap();
    let out = rectify_in(args, dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
    assert!(stderr(&out).contains(expected), "{name}: {}", stderr(&out));
}

/// `rectify validate name` rejects the file too: exit 2.
fn assert_validate_rejects(dir: &Path, name: &str) {
    let out = rectify_in(&["validate", name], dir, &[]);
    assert_eq!(out.status.code(), Some(2), "validate {name}: {}", stderr(&out));
}

#[test]
fn malformed_baseline_exits_2_with_position_and_contacts_nobody() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "name: bad\nrules:\n  - id: A\n    sysctl: kernel.x\n    expect: '1'\n  - id: A\n    sysctl: kernel.y\n    expect: '1'\n",
    )
    .unwrap();
    // A listener that would see any connection attempt.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = format!("root@127.0.0.1:{}", listener.local_addr().unwrap().port());

    let out = rectify_in(&["audit", "-b", "bad.yaml", "-t", &target], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bad.yaml:6:5: rule A") || stderr(&out).contains("bad.yaml:6:5: duplicate rule id"),
        "{}",
        stderr(&out)
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        listener.accept().is_err(),
        "rectify connected although its input was bad"
    );
}

#[test]
fn validate_reports_every_problem_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: b\nrules:\n  - id: R1\n    file: /etc/x\n    line: '(oops'\n  - id: R2\n    file: /etc/y\n    mode: \"0999\"\n  - id: R3\n    sysctl: a.b\n    colour: red\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("inv.yaml"),
        "hosts:\n  web01: {address: 192.0.2.1, prot: 22}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("good.yaml"), "hosts:\n  web01: {address: 192.0.2.1}\n").unwrap();
    std::fs::write(dir.path().join("syntax.yaml"), "name: x\nrules: [\n").unwrap();

    let out = rectify_in(&["validate", "good.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("good.yaml (inventory)"));

    // serde stops at the first structural error in a file; semantic
    // problems are all collected. R3's unknown field is structural.
    let out = rectify_in(
        &["validate", "b.yaml", "inv.yaml", "good.yaml", "syntax.yaml"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("b.yaml:11:5") && err.contains("colour"), "{err}");
    assert!(err.contains("inv.yaml:2:") && err.contains("prot"), "{err}");
    assert!(err.contains("syntax.yaml:"), "{err}");
    assert!(stdout(&out).contains("ok    good.yaml"));

    std::fs::write(dir.path().join("b2.yaml"), "name: b\nrules:\n  - id: R1\n    file: /etc/x\n    line: '(oops'\n  - id: R2\n    file: /etc/y\n    mode: \"0999\"\n").unwrap();
    let out = rectify_in(&["validate", "b2.yaml"], dir.path(), &[]);
    let err = stderr(&out);
    assert!(err.contains("b2.yaml:5:5: rule R1: invalid regex"), "{err}");
    assert!(err.contains("b2.yaml:8:5: rule R2: invalid mode"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["audit"],
        vec!["audit", "-b", "missing.yaml"],
        vec!["audit", "-b", "x.yaml", "-t", "-oProxyCommand=sh"],
        vec!["frobnicate"],
    ] {
        let out = rectify_in(&args, dir.path(), &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn local_audit_reports_pass_and_fail_with_spec_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.conf");
    std::fs::write(&file, "# comment\nmode = fast\n[db]\nport = 5432\n").unwrap();
    let baseline = format!(
        "name: local\nvars: {{want: fast}}\nrules:\n\
         - {{id: MODE, title: app mode, severity: high, file: {f}, setting: mode, expect: '{{{{ want }}}}'}}\n\
         - {{id: PORT, file: {f}, setting: db.port, expect: {{min: 6000}}}}\n\
         - {{id: WHOLE, file: {f}, content: \"mode = slow\\n\"}}\n\
         - {{id: UNDEF, file: {f}, setting: mode, expect: '{{{{ nope }}}}'}}\n\
         - {{id: ONLY-WEB, hosts: 'web*', sysctl: kernel.ostype, check: live, expect: Linux}}\n",
        f = file.display()
    );
    std::fs::write(dir.path().join("b.yaml"), baseline).unwrap();
    let out = rectify_in(&["audit", "-b", "b.yaml", "--format", "json"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // stderr is not a terminal here: no progress bar, no escape codes.
    assert_eq!(stderr(&out), "", "stderr must stay clean when it is not a terminal");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "audit");
    assert_eq!(json["summary"]["hosts"], 1);
    assert_eq!(json["summary"]["drift"], 1);
    let results = json["hosts"][0]["results"].as_array().unwrap();
    let by_id = |id: &str| {
        results
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone()
    };
    assert_eq!(by_id("MODE")["status"], "pass");
    assert_eq!(by_id("MODE")["severity"], "high");
    assert_eq!(by_id("PORT")["status"], "fail");
    assert_eq!(by_id("PORT")["actual"], "5432");
    assert_eq!(by_id("PORT")["expected"], ">= 6000");
    let whole = by_id("WHOLE");
    assert_eq!(whole["status"], "fail");
    let diff = whole["diff"].as_str().unwrap();
    assert!(diff.contains("-mode = slow") && diff.contains("+mode = fast"), "{diff}");
    assert_eq!(by_id("UNDEF")["status"], "error");
    assert!(by_id("UNDEF")["message"].as_str().unwrap().contains("undefined"));
    assert_eq!(by_id("ONLY-WEB")["status"], "skipped");
    for key in ["run_id", "started", "finished"] {
        assert!(json[key].is_string(), "{key}");
    }

    // Fixing the drift gives exit 0.
    std::fs::write(&file, "mode = slow\n").unwrap();
    let compliant = "name: ok\nrules:\n  - {id: WHOLE, file: FILE, content: \"mode = slow\\n\"}\n"
        .replace("FILE", file.to_str().unwrap());
    std::fs::write(dir.path().join("ok.yaml"), compliant).unwrap();
    let out = rectify_in(&["audit", "-b", "ok.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("COMPLIANT"));
}

#[test]
fn shipped_baselines_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join("baselines"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = rectify_in(&args, root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("(baseline)").count(), files.len());
}

#[test]
fn a_hanging_command_is_bounded_and_reported_as_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: t\nrules:\n  - {id: HANG, command: 'sleep 600', exit_code: 0}\n  - {id: OK, command: 'echo fine', expect: fine}\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = rectify_in(
        &["audit", "-b", "b.yaml", "--format", "json", "--command-timeout", "2"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = json["hosts"][0]["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "error");
    assert!(
        results[0]["message"].as_str().unwrap().contains("timed out"),
        "{results:?}"
    );
    assert_eq!(results[1]["status"], "pass");
    // A guard against hanging, not a speed assertion.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn ctrl_c_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: t\nrules:\n  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    )
    .unwrap();
    // A listener that accepts and never answers keeps the audit busy.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("root@127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["audit", "-b", "b.yaml", "-t", &target, "--connect-timeout", "60"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Hold the accepted connection open: closing it would end the audit with exit 3.
    let _connection = silent.accept().unwrap();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("rectify ignored SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
}

#[test]
fn waivers_count_as_compliant_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: t\nrules:\n  - {id: OSTYPE, sysctl: kernel.ostype, check: live, expect: Plan9}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("w.yaml"),
        "waivers:\n  - {rule: OSTYPE, reason: lab machines run Linux, expires: 2999-12-31}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("old.yaml"),
        "waivers:\n  - {rule: OSTYPE, reason: was fine once, expires: 2001-01-01}\n",
    )
    .unwrap();

    let out = rectify_in(
        &["audit", "-b", "b.yaml", "--waivers", "w.yaml", "--format", "json"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &json["hosts"][0]["results"][0];
    assert_eq!(r["status"], "waived");
    assert_eq!(r["message"], "waived: lab machines run Linux (until 2999-12-31)");
    assert_eq!(json["hosts"][0]["status"], "compliant");
    let human = rectify_in(&["audit", "-b", "b.yaml", "--waivers", "w.yaml"], dir.path(), &[]);
    assert!(stdout(&human).contains("lab machines run Linux"), "{}", stdout(&human));

    let out = rectify_in(&["audit", "-b", "b.yaml", "--waivers", "old.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("warning: waiver for OSTYPE") && stderr(&out).contains("expired on 2001-01-01"),
        "{}",
        stderr(&out)
    );

    let out = rectify_in(&["validate", "w.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("(waivers)"));
}

#[test]
fn runs_are_recorded_and_show_reproduces_them_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::write(dir.path().join("b.yaml"), "name: t\nrules:\n  - {id: OSTYPE, sysctl: kernel.ostype, check: live, expect: Linux}\n  - {id: NOPE, sysctl: kernel.ostype, check: live, expect: Plan9}\n").unwrap();
    let with_state = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rectify"))
            .args(args)
            .current_dir(dir.path())
            .env("RECTIFY_STATE_DIR", &state)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let first = with_state(&["audit", "-b", "b.yaml", "--format", "json"]);
    assert_eq!(first.status.code(), Some(1));
    let run: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let run_id = run["run_id"].as_str().unwrap();

    // Eight audits at once: every one of them is recorded.
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_rectify"))
                .args(["audit", "-b", "b.yaml", "-q"])
                .current_dir(dir.path())
                .env("RECTIFY_STATE_DIR", &state)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(!stderr(&out).contains("not recorded"), "{}", stderr(&out));
    }
    let listing = with_state(&["runs", "--limit", "100"]);
    assert_eq!(listing.status.code(), Some(0));
    let text = stdout(&listing);
    assert_eq!(text.lines().count(), 1 + 9, "{text}");
    assert!(text.contains(run_id));

    let shown = with_state(&["show", run_id, "--format", "json"]);
    assert_eq!(shown.status.code(), Some(0));
    assert_eq!(stdout(&shown), stdout(&first), "show must reproduce the run exactly");
    let junit = with_state(&["show", run_id, "--format", "junit"]);
    assert!(stdout(&junit).contains("<failure "));
    let missing = with_state(&["show", "20990101T000000Z-000000"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn nagios_and_prometheus_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("low.yaml"),
        "name: t\nrules:\n  - {id: LOW, severity: low, sysctl: kernel.ostype, check: live, expect: Plan9}\n  - {id: OK, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("high.yaml"),
        "name: h\nrules:\n  - {id: HIGH, severity: high, sysctl: kernel.ostype, check: live, expect: Plan9}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ok.yaml"),
        "name: o\nrules:\n  - {id: OK, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    )
    .unwrap();

    let out = rectify_in(&["audit", "-b", "ok.yaml", "--format", "nagios"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("RECTIFY OK - 1 of 1 hosts compliant | hosts=1 compliant=1"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 1);
    let out = rectify_in(&["audit", "-b", "low.yaml", "--format", "nagios"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "low-severity drift is a WARNING");
    assert!(stdout(&out).starts_with("RECTIFY WARNING"));
    let out = rectify_in(
        &["audit", "-b", "low.yaml", "high.yaml", "--format", "nagios"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "high-severity drift is CRITICAL");
    assert!(stdout(&out).contains("rules_fail=2"), "{}", stdout(&out));

    let prom = dir.path().join("rectify.prom");
    let out = rectify_in(
        &[
            "audit",
            "-b",
            "low.yaml",
            "--report",
            &format!("prometheus={}", prom.display()),
        ],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("rectify_hosts{schedule=\"rectify\",status=\"drift\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rule=\"LOW\",severity=\"low\",status=\"fail\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("rule=\"OK\",severity=\"medium\",status=\"pass\"} 0"),
        "{text}"
    );
    assert!(text.contains("# TYPE rectify_rule_failed gauge"));
}

/// Every kind of bad playbook is exit 2 with file:line:col, found before
/// any host is contacted: also an undefined variable, which only rendering
/// for a host reveals.
#[test]
fn bad_playbooks_exit_2_with_position_and_contact_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = format!("root@127.0.0.1:{}", listener.local_addr().unwrap().port());
    let cases = [
        (
            "unknown-field.yaml",
            "name: p\nsteps:\n  - command: 'true'\n    colour: red\n",
            "unknown-field.yaml:4:5",
        ),
        (
            "no-handler.yaml",
            "name: p\nsteps:\n  - setting: {file: /etc/x, key: K, value: v}\n    notify: [gone]\n",
            "no-handler.yaml:4:5: step #1: unknown handler \"gone\"",
        ),
        (
            "no-template.yaml",
            "name: p\nsteps:\n  - template: nope.j2\n    dest: /etc/x\n",
            "no-template.yaml:3:5: step #1: cannot read template",
        ),
        (
            "relative.yaml",
            "name: p\nsteps:\n  - file: {path: etc/shadow, mode: \"0600\"}\n",
            "relative.yaml:3:12: step #1: must be an absolute path",
        ),
        (
            "two-kinds.yaml",
            "name: p\nsteps:\n  - command: 'true'\n    sysctl: {key: a.b, value: 1}\n",
            "two-kinds.yaml:4:5: step #1: has 2 kinds",
        ),
        (
            "undefined.yaml",
            "name: p\nsteps:\n  - name: uses a var\n    setting: {file: /etc/x, key: K, value: \"{{ nowhere }}\"}\n",
            "undefined.yaml:3:3: host",
        ),
        ("syntax.yaml", "name: p\nsteps: [\n", "syntax.yaml:"),
        (
            "bad-mode.yaml",
            "name: p\nsteps:\n  - copy: {src: bad-mode.yaml, dest: /etc/x, mode: 644}\n",
            "bad-mode.yaml:3:46: step #1: mode must be a quoted octal string",
        ),
        (
            "long-settle.yaml",
            "name: p\nsettle: 600\nsteps:\n  - command: 'true'\n",
            "long-settle.yaml:2:1: settle must be between 0 and 60 seconds",
        ),
    ];
    for (name, text, expected) in cases {
        let apply = ["apply", "-p", name, "-t", &target];
        assert_rejected(dir.path(), name, text, &apply, expected);
        if name != "undefined.yaml" {
            assert_validate_rejects(dir.path(), name);
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        listener.accept().is_err(),
        "rectify connected although its input was bad"
    );

    // apply never falls back to this machine.
    std::fs::write(dir.path().join("ok.yaml"), "name: p\nsteps:\n  - command: 'true'\n").unwrap();
    let out = rectify_in(&["apply", "-p", "ok.yaml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("which hosts?"), "{}", stderr(&out));
}

/// The key passphrase is taken out of the environment at start: commands
/// rectify runs (here a `--local` command rule) never see it.
#[test]
fn the_key_passphrase_is_not_inherited_by_commands() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: b\nrules:\n  - id: NO-PASSPHRASE\n    command: env | grep -c RECTIFY_KEY_PASSPHRASE || true\n    expect: \"0\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["audit", "--local", "-b", "b.yaml", "--format", "json"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("RECTIFY_KEY_PASSPHRASE", "hunter2-passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(!stdout(&out).contains("hunter2"));
}

/// Scheduled runs: `--lock` keeps two runs of one schedule from
/// overlapping, `{date}` names reports, and a run killed at any moment
/// leaves the state database intact.
#[test]
fn scheduled_runs_lock_date_their_reports_and_survive_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("slow.yaml"),
        "name: slow\nrules:\n  - id: SLOW\n    command: sleep 2; echo done\n    expect: done\n",
    )
    .unwrap();
    std::fs::write(
        d.join("fast.yaml"),
        "name: fast\nrules:\n  - id: FAST\n    command: echo ok\n    expect: ok\n",
    )
    .unwrap();
    let state = d.join("state");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rectify"))
            .args(args)
            .current_dir(d)
            .env("HOME", d)
            .env("RECTIFY_STATE_DIR", &state)
            .spawn()
            .unwrap()
    };
    let lock = d.join("nightly.lock").display().to_string();
    let first = run(&[
        "audit",
        "--local",
        "-b",
        "slow.yaml",
        "--lock",
        &lock,
        "--format",
        "json",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    let second = rectify_in(&["audit", "--local", "-b", "fast.yaml", "--lock", &lock], d, &[]);
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another run holds the lock"),
        "{}",
        stderr(&second)
    );
    assert_eq!(first.wait_with_output().unwrap().status.code(), Some(0));
    let third = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args([
            "audit",
            "--local",
            "-b",
            "fast.yaml",
            "--lock",
            &lock,
            "--report",
            "json=audit-{date}.json",
        ])
        .current_dir(d)
        .env("HOME", d)
        .env("RECTIFY_STATE_DIR", &state)
        .output()
        .unwrap();
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(d.join(format!("audit-{today}.json")).exists(), "no dated report");

    // Kill runs at different moments, including while they record.
    for delay_ms in [0u64, 5, 20, 50, 100, 200, 400] {
        let mut child = run(&["audit", "--local", "-b", "fast.yaml", "--no-progress"]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let conn = rusqlite::Connection::open(state.join("state.db")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM host_runs WHERE run_id NOT IN (SELECT id FROM runs)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "a half-written run");
    let out = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["runs", "--limit", "50"])
        .env("RECTIFY_STATE_DIR", &state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).lines().count() >= 3, "{}", stdout(&out));
}

/// A var named like a secret is masked in every report and in the state
/// database, wherever its value shows up (expected, actual, diff).
#[test]
fn secret_vars_are_masked_in_audit_reports_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("app.conf"), "password = Sup3rS3cret!\n").unwrap();
    std::fs::write(
        d.join("b.yaml"),
        format!(
            "name: b\nvars: {{db_password: Sup3rS3cret!}}\nrules:\n  - id: PW\n    file: {app}\n    setting: password\n    expect: other\n  - id: CONTENT\n    file: {app}\n    content: \"password = {{{{ db_password }}}}x\\n\"\n",
            app = d.join("app.conf").display()
        ),
    )
    .unwrap();
    let state = d.join("state");
    let out = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["audit", "--local", "-b", "b.yaml", "--format", "json"])
        .current_dir(d)
        .env("HOME", d)
        .env("RECTIFY_STATE_DIR", &state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stdout(&out).contains("Sup3rS3cret"), "{}", stdout(&out));
    assert!(stdout(&out).contains("********"), "{}", stdout(&out));
    for f in std::fs::read_dir(&state).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(11).any(|w| w == b"Sup3rS3cret"),
            "secret in the state database"
        );
    }
}

#[test]
fn bad_inventories_and_waivers_exit_2_with_position_and_contact_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let host = format!("{{address: 127.0.0.1, port: {port}}}");
    std::fs::write(
        dir.path().join("b.yaml"),
        "name: b\nrules:\n  - id: R\n    file: /etc/hostname\n    exists: true\n",
    )
    .unwrap();
    let inventories = [
        ("syntax.yaml", format!("hosts:\n  a: {host}\n  b: {{address: x\n"), "syntax.yaml:4:1"),
        (
            "port-type.yaml",
            format!("hosts:\n  a: {host}\n  b: {{address: 127.0.0.1, port: abc}}\n"),
            "port-type.yaml:3:6: hosts.b: invalid type",
        ),
        (
            "unknown.yaml",
            format!("hosts:\n  a: {host}\n  b: {{address: 127.0.0.1, prot: 22}}\n"),
            "unknown.yaml:3:6: hosts.b: unknown field `prot`",
        ),
        (
            "group-cycle.yaml",
            format!("hosts:\n  a: {host}\ngroups:\n  g1: {{children: [g2]}}\n  g2: {{children: [g1]}}\n"),
            "group-cycle.yaml:4:3: groups form a cycle",
        ),
        (
            "jump-cycle.yaml",
            format!("hosts:\n  a: {{address: 127.0.0.1, port: {port}, jump: b}}\n  b: {{address: 127.0.0.1, port: {port}, jump: a}}\n"),
            "jump-cycle.yaml:2:",
        ),
    ];
    for (name, text, expected) in &inventories {
        assert_rejected(dir.path(), name, text, &["audit", "-i", name, "-b", "b.yaml"], expected);
    }
    std::fs::write(dir.path().join("inv.yaml"), format!("hosts:\n  a: {host}\n")).unwrap();
    let waivers = [
        (
            "w-syntax.yaml",
            "waivers:\n  - rule: R\n    reason: [\n",
            "w-syntax.yaml:",
        ),
        (
            "w-reason.yaml",
            "waivers:\n  - rule: R\n    hosts: \"a*\"\n",
            "w-reason.yaml:2:5: waivers[0]: missing field `reason`",
        ),
        (
            "w-date.yaml",
            "waivers:\n  - rule: R\n    reason: vendor\n    expires: 2027-13-45\n",
            "w-date.yaml:4:5: expires: \"2027-13-45\" is not a date",
        ),
        (
            "w-unknown.yaml",
            "waivers:\n  - rule: R\n    reason: vendor\n    colour: red\n",
            "w-unknown.yaml:4:5: waivers[0]: unknown field `colour`",
        ),
        (
            "w-type.yaml",
            "waivers:\n  - rule: R\n    reason: vendor\n    hosts: [a]\n",
            "w-type.yaml:4:12: waivers[0].hosts: invalid type",
        ),
    ];
    for (name, text, expected) in waivers {
        let audit = ["audit", "-i", "inv.yaml", "-b", "b.yaml", "--waivers", name];
        assert_rejected(dir.path(), name, text, &audit, expected);
        assert_validate_rejects(dir.path(), name);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        listener.accept().is_err(),
        "rectify connected although its input was bad"
    );
}
