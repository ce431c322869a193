//! `rectify apply` and `rectify fix` against real sshd hosts: what the
//! endpoint's files hold afterwards (content, mode, owner), exit codes and
//! report fields.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fleet::report::{host, json};
use crate::fleet::{run_rectify, sh, stat, wait_until, write, Fleet, HostSpec};

const DEMO: &str = "# demo service\nMaxThings 10\nColor blue\n";

/// Writes the inventory and a playbook (plus extra files) into the fleet's
/// directory; returns their paths.
fn setup(fleet: &Fleet, playbook: &str, extra: &[(&str, &str)]) -> (String, String) {
    let inventory = fleet.write_inventory();
    let pb = write(fleet.dir(), "playbook.yaml", playbook);
    for (name, text) in extra {
        write(fleet.dir(), name, text);
    }
    (inventory.display().to_string(), pb.display().to_string())
}

/// `rectify apply --format json` started in the background with its own
/// state directory (`state` must outlive the run).
fn spawn_apply(inv: &str, pb: &str, state: &Path) -> Child {
    Command::new(crate::fleet::rectify_bin())
        .args(["apply", "-i", inv, "-p", pb, "--no-progress", "--format", "json"])
        .env("RECTIFY_STATE_DIR", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn demo_host(name: &str) -> HostSpec {
    HostSpec::new(name).file("demo.conf", DEMO, 0o600)
}

const PLAYBOOK: &str = r#"name: demo
vars: {max_things: 3}
steps:
  - name: fewer things
    setting: {file: /etc/demo.conf, key: MaxThings, value: "{{ max_things }}"}
    validate: grep -q '^MaxThings [0-9]*$' {path}
    notify: [restart demo]
  - name: motd
    template: motd.j2
    dest: /etc/motd-rectify
    mode: "0640"
    owner: root
    group: root
    notify: [restart demo]
handlers:
  restart demo: echo restarted >> /run/handler.log
verify:
  - command: grep -q '^MaxThings {{ max_things }}$' /etc/demo.conf
"#;

#[test]
fn check_shows_diffs_and_changes_nothing_then_apply_changes_once() {
    let fleet = Fleet::start(vec![demo_host("web01"), demo_host("web02")]);
    let (inv, pb) = setup(&fleet, PLAYBOOK, &[("motd.j2", "Welcome to {{ host }}\n")]);
    let before = stat(&fleet, "web01", "/etc/demo.conf");

    // 1. --check --diff: the diffs, exit 1, nothing touched.
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--check", "--diff"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("-MaxThings 10") && text.contains("+MaxThings 3"),
        "{text}"
    );
    assert!(text.contains("+Welcome to web01"), "{text}");
    assert!(text.contains("WOULD CHANGE"), "{text}");
    for h in ["web01", "web02"] {
        assert_eq!(fleet.read_file(h, "/etc/demo.conf"), DEMO.as_bytes());
        assert_eq!(stat(&fleet, h, "/etc/motd-rectify"), "missing");
        assert_eq!(
            sh(&fleet, h, "ls -A /var/backups"),
            "",
            "check mode made backups on {h}"
        );
    }
    assert_eq!(stat(&fleet, "web01", "/etc/demo.conf"), before);
    // -e wins over the playbook's vars.
    let out = run_rectify(
        &[
            "apply",
            "-i",
            &inv,
            "-p",
            &pb,
            "--check",
            "--diff",
            "-e",
            "max_things=5",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("+MaxThings 5"));

    // 2. apply: files, metadata, one handler run, verified.
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["kind"], "apply");
    assert_eq!(report["summary"]["changed"], 2, "{report}");
    let run_id = report["run_id"].as_str().unwrap().to_string();
    for h in ["web01", "web02"] {
        assert_eq!(host(&report, h)["status"], "changed");
        assert_eq!(host(&report, h)["changes"].as_array().unwrap().len(), 2);
        assert_eq!(
            String::from_utf8(fleet.read_file(h, "/etc/demo.conf")).unwrap(),
            "# demo service\nMaxThings 3\nColor blue\n"
        );
        // A rewritten file keeps its mode and owner; a new one gets the wanted ones.
        assert!(stat(&fleet, h, "/etc/demo.conf").starts_with("600 0 0 "));
        assert!(stat(&fleet, h, "/etc/motd-rectify").starts_with("640 0 0 "));
        assert_eq!(
            fleet.read_file(h, "/etc/motd-rectify"),
            format!("Welcome to {h}\n").as_bytes()
        );
        assert_eq!(
            sh(&fleet, h, "cat /run/handler.log"),
            "restarted\n",
            "handler runs once on {h}"
        );
        // The original is backed up on the host, in a private directory.
        let bk = format!("/var/backups/rectify/{run_id}");
        assert_eq!(sh(&fleet, h, &format!("stat -c %a {bk}")).trim(), "700");
        assert_eq!(sh(&fleet, h, &format!("cat {bk}/0")), DEMO);
        assert_eq!(
            sh(&fleet, h, "ls -A /etc | grep -c rectify- || true").trim(),
            "0",
            "no candidates left"
        );
        assert_eq!(stat(&fleet, h, "/run/rectify.lock"), "missing", "lock released");
    }

    // 3. Again: unchanged, nothing touched, no handler.
    let mtimes: Vec<String> = ["/etc/demo.conf", "/etc/motd-rectify"]
        .iter()
        .map(|p| stat(&fleet, "web01", p))
        .collect();
    std::thread::sleep(Duration::from_millis(1100));
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["summary"]["unchanged"], 2, "{report}");
    let again: Vec<String> = ["/etc/demo.conf", "/etc/motd-rectify"]
        .iter()
        .map(|p| stat(&fleet, "web01", p))
        .collect();
    assert_eq!(mtimes, again);
    assert_eq!(sh(&fleet, "web01", "cat /run/handler.log"), "restarted\n");

    // The run is in the state database.
    let out = run_rectify(&["show", &run_id, "--format", "json"], &env);
    assert_eq!(json(&out)["summary"]["changed"], 2);
}

#[test]
fn a_rejected_candidate_changes_nothing() {
    let fleet = Fleet::start(vec![demo_host("web01")]);
    let playbook = PLAYBOOK.replace("grep -q '^MaxThings [0-9]*$' {path}", "grep -q '^Nope' {path}");
    let (inv, pb) = setup(&fleet, &playbook, &[("motd.j2", "hi\n")]);
    let before = stat(&fleet, "web01", "/etc/demo.conf");
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "rolled_back");
    assert!(h["error"].as_str().unwrap().contains("validate rejected"), "{h}");
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(stat(&fleet, "web01", "/etc/demo.conf"), before);
    assert_eq!(stat(&fleet, "web01", "/etc/motd-rectify"), "missing");
    assert_eq!(sh(&fleet, "web01", "ls -A /etc | grep -c rectify- || true").trim(), "0");
    assert_eq!(stat(&fleet, "web01", "/run/handler.log"), "missing");
    assert_eq!(stat(&fleet, "web01", "/run/rectify.lock"), "missing");
}

#[test]
fn a_failing_verify_restores_every_file_byte_for_byte() {
    let spec = demo_host("web01")
        .file("app/keep.conf", "mode stays\n", 0o640)
        .setup("chown 65534:65534 /etc/demo.conf");
    let fleet = Fleet::start(vec![spec]);
    let playbook = r#"name: breaks
steps:
  - setting: {file: /etc/demo.conf, key: Color, value: red}
    notify: [h]
  - template: motd.j2
    dest: /etc/new-file
  - file: {path: /etc/app/keep.conf, mode: "0600", owner: root}
    notify: [h]
  - line: {file: /etc/app/keep.conf, line: "added line"}
handlers:
  h: echo ran >> /run/handler.log
verify:
  - command: test -e /etc/never-there
"#;
    let (inv, pb) = setup(&fleet, playbook, &[("motd.j2", "new\n")]);
    let demo_before = stat(&fleet, "web01", "/etc/demo.conf");
    let keep_before = stat(&fleet, "web01", "/etc/app/keep.conf");
    assert!(demo_before.starts_with("600 65534 65534"), "{demo_before}");

    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "rolled_back", "{h}");
    assert!(h["error"].as_str().unwrap().contains("verify failed"), "{h}");
    // Content, mode, owner, group and even mtime are back; the new file is gone.
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());
    assert_eq!(stat(&fleet, "web01", "/etc/demo.conf"), demo_before);
    assert_eq!(fleet.read_file("web01", "/etc/app/keep.conf"), b"mode stays\n");
    assert_eq!(stat(&fleet, "web01", "/etc/app/keep.conf"), keep_before);
    assert_eq!(stat(&fleet, "web01", "/etc/new-file"), "missing");
    // Handlers ran after the change and again after the restore.
    assert_eq!(sh(&fleet, "web01", "cat /run/handler.log"), "ran\nran\n");
    assert_eq!(stat(&fleet, "web01", "/run/rectify.lock"), "missing");
}

#[test]
fn a_failing_handler_rolls_back() {
    let fleet = Fleet::start(vec![demo_host("web01")]);
    // Like a service reload that fails on the new configuration and works
    // again once the old one is back.
    let playbook = "name: h\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [bad]\nhandlers:\n  bad: grep -q 'Color blue' /etc/demo.conf\n";
    let (inv, pb) = setup(&fleet, playbook, &[]);
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "rolled_back");
    assert!(h["error"].as_str().unwrap().contains("handler \"bad\" failed"), "{h}");
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());

    // A handler that keeps failing after the restore: the host's state is
    // unknown, which is exit 4, loudly.
    let playbook = "name: h\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [bad]\nhandlers:\n  bad: echo broken >&2; exit 3\n";
    let (inv, pb) = setup(&fleet, playbook, &[]);
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(4), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "rollback_failed");
    assert!(h["error"].as_str().unwrap().contains("ROLLBACK FAILED"), "{h}");
    assert!(h["error"].as_str().unwrap().contains("broken"), "{h}");
    // The files are back all the same.
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());
}

/// sshd moves to another address and reloads: the controller cannot
/// reconnect. Here the controller is killed once sshd has moved, so only the
/// dead-man timer left on the host can bring it back.
#[test]
fn the_dead_man_timer_restores_ssh_access_without_the_controller() {
    let fleet = Fleet::start(vec![HostSpec::new("web01")]);
    let (old, moved_to) = (fleet.address("web01"), fleet.spare_address(200));
    let original = fleet.read_file("web01", "/etc/ssh/sshd_config");
    let playbook = format!(
        r#"name: cut-off
confirm_timeout: 6
steps:
  - setting: {{file: /etc/ssh/sshd_config, key: ListenAddress, value: {moved_to}}}
    validate: /usr/sbin/sshd -t -f {{path}}
    notify: [reload sshd]
handlers:
  reload sshd: kill -HUP "$(cat /run/sshd.pid)"
verify:
  - command: "true"
"#
    );
    let (inv, pb) = setup(&fleet, &playbook, &[]);
    let state = tempfile::tempdir().unwrap();
    let mut child = Command::new(crate::fleet::rectify_bin())
        .args(["apply", "-i", &inv, "-p", &pb, "--no-progress"])
        .env("RECTIFY_STATE_DIR", state.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until sshd listens on the new address: access is cut.
    let moved = wait_until(Duration::from_secs(30), || port_open(&moved_to));
    let _ = child.kill();
    let _ = child.wait();
    assert!(moved, "sshd never moved to the new address");
    assert!(!port_open(&old), "the old address still answers");

    // No controller now. Within the timeout (plus slack) the host restores itself.
    let back = wait_until(Duration::from_secs(30), || {
        port_open(&old) && fleet.read_file("web01", "/etc/ssh/sshd_config") == original
    });
    assert!(back, "the host did not restore itself");
    let bk = sh(
        &fleet,
        "web01",
        "cat /var/backups/rectify/*/decided/by; ls /var/backups/rectify/*/",
    );
    assert!(bk.starts_with("timer\n") && bk.contains("restored"), "{bk}");
    // The state database still knows of the run the controller never
    // recorded, and which host was in flight.
    let runs = |args: &[&str]| {
        Command::new(crate::fleet::rectify_bin())
            .args(args)
            .env("RECTIFY_STATE_DIR", state.path())
            .output()
            .unwrap()
    };
    let listed = String::from_utf8(runs(&["runs"]).stdout).unwrap();
    assert!(listed.contains("apply: UNFINISHED"), "{listed}");
    assert!(listed.contains("web01: in flight since"), "{listed}");
    let run_id = listed.split_whitespace().next().unwrap();
    let shown = runs(&["show", run_id]);
    assert_eq!(shown.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("web01: in flight"));
    // And it is reachable over SSH again.
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--check", "--format", "json"], &[]);
    assert_eq!(host(&json(&out), "web01")["status"], "would_change");
}

/// The same change with the controller alive: it cannot verify over a new
/// connection, so it restores through the connection it still has.
#[test]
fn a_change_that_cuts_off_ssh_is_rolled_back_by_the_controller() {
    let fleet = Fleet::start(vec![HostSpec::new("web01")]);
    let original = fleet.read_file("web01", "/etc/ssh/sshd_config");
    let playbook = format!(
        r#"name: cut-off
steps:
  - setting: {{file: /etc/ssh/sshd_config, key: ListenAddress, value: {moved_to}}}
    notify: [reload sshd]
handlers:
  reload sshd: kill -HUP "$(cat /run/sshd.pid)"
"#,
        moved_to = fleet.spare_address(200)
    );
    let (inv, pb) = setup(&fleet, &playbook, &[]);
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "rolled_back", "{h}");
    assert!(h["error"].as_str().unwrap().contains("new connection"), "{h}");
    assert_eq!(fleet.read_file("web01", "/etc/ssh/sshd_config"), original);
    let address = fleet.address("web01");
    assert!(wait_until(Duration::from_secs(10), || port_open(&address)));
}

#[test]
fn serial_batches_stop_after_max_fail() {
    let names = ["h1", "h2", "h3", "h4"];
    let fleet = Fleet::start(names.iter().map(|n| demo_host(n)).collect());
    let playbook =
        "name: fails\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n  - command: exit 1\n";
    let (inv, pb) = setup(&fleet, playbook, &[]);
    let out = run_rectify(
        &[
            "apply",
            "-i",
            &inv,
            "-p",
            &pb,
            "--serial",
            "2",
            "--max-fail",
            "1",
            "--format",
            "json",
        ],
        &[],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "{report}");
    for h in ["h1", "h2"] {
        assert_eq!(host(&report, h)["status"], "rolled_back", "{report}");
    }
    for h in ["h3", "h4"] {
        assert_eq!(host(&report, h)["status"], "not_started", "{report}");
    }
    assert_eq!(report["summary"]["not_started"], 2);
    for h in names {
        assert_eq!(fleet.read_file(h, "/etc/demo.conf"), DEMO.as_bytes(), "{h}");
    }
}

#[test]
fn ctrl_c_rolls_back_hosts_in_flight_and_exits_130() {
    let fleet = Fleet::start(vec![demo_host("web01"), demo_host("web02")]);
    let playbook = "name: slow\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [slow]\nhandlers:\n  slow: sleep 3\n";
    let (inv, pb) = setup(&fleet, playbook, &[]);
    let state = tempfile::tempdir().unwrap();
    let child = spawn_apply(&inv, &pb, state.path());
    let changed = wait_until(Duration::from_secs(30), || {
        ["web01", "web02"]
            .iter()
            .all(|h| String::from_utf8_lossy(&fleet.read_file(h, "/etc/demo.conf")).contains("Color red"))
    });
    assert!(changed, "the change never reached the hosts");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    for h in ["web01", "web02"] {
        assert_eq!(host(&report, h)["status"], "rolled_back", "{report}");
        assert_eq!(fleet.read_file(h, "/etc/demo.conf"), DEMO.as_bytes(), "{h}");
    }
}

#[test]
fn fix_remediates_exactly_the_failing_hosts() {
    let fleet = Fleet::start(vec![
        demo_host("drifted"),
        demo_host("good").setup("sed -i 's/MaxThings 10/MaxThings 3/' /etc/demo.conf"),
    ]);
    let baseline = r#"name: demo
rules:
  - id: DEMO-MAX
    title: at most three things
    remediation: playbook.yaml
    file: /etc/demo.conf
    setting: MaxThings
    expect: "3"
"#;
    let playbook = PLAYBOOK.replace("  - name: motd\n    template: motd.j2\n    dest: /etc/motd-rectify\n    mode: \"0640\"\n    owner: root\n    group: root\n    notify: [restart demo]\n", "");
    let (inv, _) = setup(&fleet, &playbook, &[("baseline.yaml", baseline)]);
    let b = fleet.dir().join("baseline.yaml").display().to_string();
    let good_before = stat(&fleet, "good", "/etc/demo.conf");

    let out = run_rectify(&["fix", "-b", &b, "-i", &inv, "--check", "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(String::from_utf8_lossy(&fleet.read_file("drifted", "/etc/demo.conf")).contains("MaxThings 10"));

    let out = run_rectify(&["fix", "-b", &b, "-i", &inv, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["kind"], "fix");
    let d = host(&report, "drifted");
    assert_eq!(d["status"], "compliant");
    assert_eq!(d["results"][0]["before"], "fail");
    assert_eq!(d["results"][0]["status"], "pass");
    assert_eq!(d["changes"].as_array().unwrap().len(), 1);
    let g = host(&report, "good");
    assert_eq!(g["results"][0]["before"], "pass");
    assert!(g["changes"].as_array().unwrap().is_empty());
    assert!(String::from_utf8_lossy(&fleet.read_file("drifted", "/etc/demo.conf")).contains("MaxThings 3"));
    assert_eq!(
        stat(&fleet, "good", "/etc/demo.conf"),
        good_before,
        "the compliant host was not touched"
    );
    assert_eq!(stat(&fleet, "good", "/run/handler.log"), "missing");
}

/// Whether something accepts TCP connections on `address:22`.
fn port_open(address: &str) -> bool {
    let addr = format!("{address}:22").parse().unwrap();
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

#[test]
fn rollback_restores_an_earlier_run_and_refuses_files_changed_since() {
    let fleet = Fleet::start(vec![demo_host("web01")]);
    let playbook = format!(
        "{PLAYBOOK}  - name: api key\n    template: secret.j2\n    dest: /etc/api.key\n    mode: \"0600\"\n    sensitive: true\n"
    )
    .replace("handlers:", "secrets: [api_key]\nhandlers:")
    .replace("vars: {max_things: 3}", "vars: {max_things: 3, api_key: s3cr3t-v4lue}");
    // The handlers: section must follow the steps; move the appended step up.
    let playbook = {
        let (head, tail) = playbook.split_once("secrets: [api_key]\nhandlers:").unwrap();
        let (handlers, step) = tail.split_once("  - name: api key").unwrap();
        format!("{head}  - name: api key{step}secrets: [api_key]\nhandlers:{handlers}")
    };
    let (inv, pb) = setup(
        &fleet,
        &playbook,
        &[("motd.j2", "hello\n"), ("secret.j2", "key={{ api_key }}\n")],
    );
    fleet.exec(
        "web01",
        "printf 'key=old-key\\n' > /etc/api.key && chmod 640 /etc/api.key",
    );
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];

    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json", "--diff"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let run_id = report["run_id"].as_str().unwrap().to_string();
    assert_eq!(fleet.read_file("web01", "/etc/api.key"), b"key=s3cr3t-v4lue\n");
    // The secret is in no report and not in the state database.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cr3t"));
    for f in std::fs::read_dir(state.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"s3cr3t"),
            "secret in the state database"
        );
        assert!(
            !bytes.windows(7).any(|w| w == b"old-key"),
            "sensitive backup in the state database"
        );
    }

    // Roll back: everything as before, handlers run again.
    let out = run_rectify(&["rollback", &run_id, "-i", &inv, "--format", "json"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["kind"], "rollback");
    assert_eq!(host(&report, "web01")["status"], "changed");
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());
    assert!(stat(&fleet, "web01", "/etc/demo.conf").starts_with("600 0 0 "));
    assert_eq!(stat(&fleet, "web01", "/etc/motd-rectify"), "missing");
    assert_eq!(
        fleet.read_file("web01", "/etc/api.key"),
        b"key=old-key\n",
        "from the host's own backup"
    );
    assert!(stat(&fleet, "web01", "/etc/api.key").starts_with("640 "));
    assert_eq!(sh(&fleet, "web01", "cat /run/handler.log"), "restarted\nrestarted\n");

    // Apply again, then someone edits a file: rollback refuses that file
    // (with its diff), restores the others, and --force overwrites.
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &env);
    let second = json(&out)["run_id"].as_str().unwrap().to_string();
    fleet.exec("web01", "echo '# local edit' >> /etc/demo.conf");
    let out = run_rectify(&["rollback", &second, "-i", &inv, "--format", "json"], &env);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "error");
    assert!(h["error"].as_str().unwrap().contains("/etc/demo.conf"), "{h}");
    let refused = h["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["step"].as_str().unwrap().starts_with("refused"))
        .unwrap_or_else(|| panic!("{h}"));
    assert!(refused["diff"].as_str().unwrap().contains("+# local edit"), "{refused}");
    assert!(String::from_utf8_lossy(&fleet.read_file("web01", "/etc/demo.conf")).contains("# local edit"));
    assert_eq!(
        stat(&fleet, "web01", "/etc/motd-rectify"),
        "missing",
        "the other files are restored"
    );

    let out = run_rectify(&["rollback", &second, "-i", &inv, "--force", "--format", "json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(fleet.read_file("web01", "/etc/demo.conf"), DEMO.as_bytes());
}

/// The other step kinds, on what a host really has: a sysctl that is per
/// host here (kernel.hostname lives in the UTS namespace) with its persisted
/// file, copy, line removal, file removal and metadata, and commands guarded
/// by `unless` and `creates`.
#[test]
fn every_step_kind_applies_and_is_idempotent() {
    let spec = demo_host("web01")
        .file("legacy.cron", "* * * * * root /bin/true\n", 0o644)
        .file(
            "login.defs",
            "PASS_MAX_DAYS 99999\n#PASS_WARN_AGE 7\nPASS_WARN_AGE 3\n",
            0o644,
        );
    let fleet = Fleet::start(vec![spec]);
    let playbook = r#"name: kinds
steps:
  - sysctl: {key: kernel.hostname, value: renamed01, persist: /etc/sysctl.d/90-rectify.conf}
  - copy: {src: issue.txt, dest: /etc/issue.rectify, mode: "0644"}
  - line: {file: /etc/login.defs, regexp: '^PASS_MAX_DAYS', line: "PASS_MAX_DAYS 90"}
  - line: {file: /etc/login.defs, regexp: '^PASS_WARN_AGE', state: absent}
  - file: {path: /etc/legacy.cron, state: absent}
  - file: {path: /etc/demo.conf, mode: "0640", group: "65534"}
  - command: echo ran >> /run/commands.log
    unless: grep -q renamed01 /proc/sys/kernel/hostname
  - command: echo made > /run/made
    creates: /run/made
"#;
    let (inv, pb) = setup(&fleet, playbook, &[("issue.txt", "Authorized use only\n")]);
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(sh(&fleet, "web01", "cat /proc/sys/kernel/hostname"), "renamed01\n");
    assert_eq!(
        fleet.read_file("web01", "/etc/sysctl.d/90-rectify.conf"),
        b"kernel.hostname = renamed01\n"
    );
    assert_eq!(fleet.read_file("web01", "/etc/issue.rectify"), b"Authorized use only\n");
    assert_eq!(
        fleet.read_file("web01", "/etc/login.defs"),
        b"PASS_MAX_DAYS 90\n#PASS_WARN_AGE 7\n"
    );
    assert_eq!(stat(&fleet, "web01", "/etc/legacy.cron"), "missing");
    assert!(stat(&fleet, "web01", "/etc/demo.conf").starts_with("640 0 65534 "));
    // `unless` was checked before the sysctl step ran, so the command ran once.
    assert_eq!(sh(&fleet, "web01", "cat /run/commands.log"), "ran\n");
    assert_eq!(sh(&fleet, "web01", "cat /run/made"), "made\n");

    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(host(&report, "web01")["status"], "unchanged", "{report}");
    assert_eq!(sh(&fleet, "web01", "cat /run/commands.log"), "ran\n");
}

/// A verify failure undoes the kinds that are not files too: the live
/// sysctl value and a command's `rollback`.
#[test]
fn rollback_undoes_sysctl_values_and_runs_command_rollbacks() {
    let fleet = Fleet::start(vec![demo_host("web01")]);
    let playbook = r#"name: undo
steps:
  - sysctl: {key: kernel.hostname, value: temporary}
  - command: touch /run/installed
    creates: /run/installed
    rollback: rm -f /run/installed; echo undone > /run/undone
verify:
  - command: "false"
"#;
    let (inv, pb) = setup(&fleet, playbook, &[]);
    let out = run_rectify(&["apply", "-i", &inv, "-p", &pb, "--format", "json"], &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(host(&report, "web01")["status"], "rolled_back");
    assert_eq!(sh(&fleet, "web01", "cat /proc/sys/kernel/hostname"), "web01\n");
    assert_eq!(stat(&fleet, "web01", "/run/installed"), "missing");
    assert_eq!(sh(&fleet, "web01", "cat /run/undone"), "undone\n");
}

/// The shipped remediations: a host with stock sshd settings and loosened
/// account files is fixed by `rectify fix` with the shipped baselines, and
/// stays reachable over SSH with the hardened sshd.
#[test]
fn shipped_playbooks_fix_what_the_shipped_baselines_find() {
    let spec = HostSpec::new("stock")
        .sshd("X11Forwarding yes\nMaxAuthTries 6\nPermitUserEnvironment yes\n")
        .setup("chmod 0666 /etc/passwd; chmod 0644 /etc/shadow");
    let fleet = Fleet::start(vec![spec]);
    let (inv, _) = setup(&fleet, "name: unused\nsteps:\n  - command: 'true'\n", &[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ssh = root.join("baselines/ssh-hardening.yaml").display().to_string();
    let perms = root.join("baselines/file-permissions.yaml").display().to_string();

    let out = run_rectify(&["fix", "-b", &ssh, "-b", &perms, "-i", &inv, "--format", "json"], &[]);
    let report = json(&out);
    let h = host(&report, "stock");
    assert_ne!(h["status"], "error", "{h}");
    let linked: Vec<String> = [&ssh, &perms]
        .iter()
        .flat_map(|b| {
            let text = std::fs::read_to_string(b).unwrap();
            let mut ids = Vec::new();
            let mut current = None;
            for line in text.lines() {
                if let Some(id) = line.strip_prefix("  - id: ") {
                    current = Some(id.to_string());
                }
                // Rules with playbook steps (manual remediations run nothing).
                if line.trim_start().starts_with("remediation: {playbook") {
                    ids.push(current.clone().unwrap());
                }
            }
            ids
        })
        .collect();
    assert!(linked.len() > 15, "{linked:?}");
    let results = h["results"].as_array().unwrap();
    let mut fixed = 0;
    for r in results {
        let id = r["id"].as_str().unwrap();
        // A rule whose `when:` does not hold here (no /etc/crontab) is
        // skipped before and after: nothing to fix.
        if linked.iter().any(|l| l == id) && r["before"] != "skipped" {
            assert_eq!(r["status"], "pass", "{id} not fixed: {r}");
            if r["before"] == "fail" {
                fixed += 1;
            }
        }
    }
    assert!(fixed >= 6, "only {fixed} rules went from fail to pass: {h}");
    let config = String::from_utf8(fleet.read_file("stock", "/etc/ssh/sshd_config")).unwrap();
    assert!(
        config.contains("X11Forwarding no") && config.contains("MaxAuthTries 4"),
        "{config}"
    );
    assert!(stat(&fleet, "stock", "/etc/passwd").starts_with("644 0 0 "));
    assert!(stat(&fleet, "stock", "/etc/shadow").starts_with("640 0 "));
    // The second audit ran over SSH against the reloaded, hardened sshd.
    assert!(port_open(&fleet.address("stock")));
}

/// Two rectify processes on one host: the second finds the host locked and
/// changes nothing; the first finishes its transaction.
#[test]
fn a_second_apply_to_a_busy_host_is_refused() {
    let fleet = Fleet::start(vec![demo_host("web01")]);
    let slow = "name: slow\nsteps:\n  - setting: {file: /etc/demo.conf, key: Color, value: red}\n    notify: [slow]\nhandlers:\n  slow: sleep 4\n";
    let (inv, pb) = setup(&fleet, slow, &[]);
    let other = fleet.dir().join("other.yaml");
    std::fs::write(
        &other,
        "name: other\nsteps:\n  - setting: {file: /etc/demo.conf, key: MaxThings, value: 1}\n",
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let first = spawn_apply(&inv, &pb, state.path());
    assert!(wait_until(Duration::from_secs(30), || {
        String::from_utf8_lossy(&fleet.read_file("web01", "/etc/demo.conf")).contains("Color red")
    }));
    let out = run_rectify(
        &["apply", "-i", &inv, "-p", other.to_str().unwrap(), "--format", "json"],
        &[],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "{report}");
    let h = host(&report, "web01");
    assert_eq!(h["status"], "error");
    assert!(h["error"].as_str().unwrap().contains("locked by rectify run"), "{h}");

    let out = first.wait_with_output().unwrap();
    let report = json(&out);
    assert_eq!(host(&report, "web01")["status"], "changed", "{report}");
    assert_eq!(
        String::from_utf8(fleet.read_file("web01", "/etc/demo.conf")).unwrap(),
        "# demo service\nMaxThings 10\nColor red\n"
    );
}

#[test]
fn secrets_never_appear_in_process_arguments() {
    let fleet = Fleet::start(vec![demo_host("web01")]);
    // Every way a value reaches a remote command: a gather probe
    // (`unless`), a command step, a handler, a verify command.
    let secret = format!("S3cret-{}", std::process::id());
    let playbook = format!(
        "name: secrets\nvars: {{db_pass: {secret}}}\nsecrets: [db_pass]\nsteps:\n  - command: sleep 1; echo {{{{ db_pass }}}} > /etc/app.pass\n    unless: sleep 1; grep -qx {{{{ db_pass }}}} /etc/app.pass\n    notify: [check]\nhandlers:\n  check: sleep 1; test -n {{{{ db_pass }}}}\nverify:\n  - command: sleep 1; grep -qx {{{{ db_pass }}}} /etc/app.pass\n"
    );
    let (inv, pb) = setup(&fleet, &playbook, &[]);
    let state = tempfile::tempdir().unwrap();
    let mut apply = spawn_apply(&inv, &pb, state.path());
    // The hosts share this machine's process table: one `ps` sees the
    // controller and the host alike.
    let (mut leaked, mut seen_running) = (Vec::new(), 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while apply.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
        for line in String::from_utf8_lossy(&ps.stdout).lines() {
            if line.contains(&secret) {
                leaked.push(line.to_string());
            }
            // Each command sleeps first: this proves ps ran while they did.
            if line.trim() == "sleep 1" {
                seen_running += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = apply.wait_with_output().unwrap();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(host(&report, "web01")["status"], "changed", "{report}");
    assert_eq!(
        fleet.read_file("web01", "/etc/app.pass"),
        format!("{secret}\n").into_bytes()
    );
    assert!(seen_running > 0, "ps never caught a remote command running");
    assert!(leaked.is_empty(), "the secret was visible in ps: {leaked:?}");
}
