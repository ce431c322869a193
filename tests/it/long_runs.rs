//! Long audits of a fleet: Ctrl-C with one host hung keeps the hosts that
//! finished (printed, recorded in `runs`), the rest `interrupted`, exit
//! 130; `--retries N` tries a host whose connection was refused again
//! after the others, and reports how many attempts it took.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fleet::{rectify_in, report, sh, wait_until, write, Fleet, HostSpec};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn ctrl_c_keeps_the_hosts_that_finished() {
    let names: Vec<String> = (1..=30).map(|i| format!("h{i:02}")).collect();
    let specs = names
        .iter()
        .map(|n| {
            let spec = HostSpec::new(n);
            if n == "h07" {
                spec.file("hang", "", 0o644)
            } else {
                spec
            }
        })
        .collect();
    let fleet = Fleet::start(specs);
    let d = fleet.dir();
    let inventory = fleet.write_inventory();
    // On h07 the probe hangs (a stuck NFS mount, a wedged daemon).
    write(
        d,
        "b.yaml",
        "name: probe\nrules:\n  - id: PROBE\n    command: touch /run/audited; if [ -e /etc/hang ]; then touch /run/hanging; sleep 300; fi; echo ok\n    expect: ok\n",
    );
    let state = d.join("state");
    let child = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args([
            "audit",
            "-i",
            inventory.to_str().unwrap(),
            "-b",
            "b.yaml",
            "--format",
            "json",
        ])
        .args(["--command-timeout", "600"])
        .current_dir(d)
        .env("RECTIFY_STATE_DIR", &state)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every host has run the probe, h07 is stuck in it: then Ctrl-C.
    let all_probed = wait_until(Duration::from_secs(60), || {
        names
            .iter()
            .all(|n| sh(&fleet, n, "test -e /run/audited && echo y").trim() == "y")
    });
    assert!(all_probed, "not every host was probed");
    assert_eq!(sh(&fleet, "h07", "test -e /run/hanging && echo y").trim(), "y");
    // The other 29 reports are complete a moment after their probe ran.
    std::thread::sleep(Duration::from_secs(2));
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(20),
        "took {:?} after Ctrl-C",
        sent.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted: 1 of 30 hosts not audited"),
        "{}",
        stderr(&out)
    );

    let json = report::json(&out);
    assert_eq!(json["summary"]["hosts"], 30);
    assert_eq!(json["summary"]["compliant"], 29, "{:#}", json["summary"]);
    assert_eq!(json["summary"]["interrupted"], 1, "{:#}", json["summary"]);
    let h07 = report::host(&json, "h07");
    assert_eq!(h07["status"], "interrupted", "{h07:#}");
    assert!(h07["error"].as_str().unwrap().contains("interrupted"), "{h07:#}");
    for n in names.iter().filter(|n| *n != "h07") {
        let h = report::host(&json, n);
        assert_eq!(h["status"], "compliant", "{h:#}");
        assert_eq!(report::rule(h, "PROBE")["status"], "pass", "{h:#}");
    }

    // Recorded: `runs` lists it with exit 130, `show` gives the same hosts.
    let envs = [("RECTIFY_STATE_DIR", state.to_str().unwrap())];
    let run_id = json["run_id"].as_str().unwrap();
    let runs = rectify_in(&["runs"], d, &envs);
    let runs = String::from_utf8_lossy(&runs.stdout).into_owned();
    let line = runs
        .lines()
        .find(|l| l.contains(run_id))
        .unwrap_or_else(|| panic!("{run_id} not in runs:\n{runs}"));
    assert!(line.split_whitespace().any(|w| w == "130"), "{line}");
    let shown = report::json(&rectify_in(&["show", run_id, "--format", "json"], d, &envs));
    assert_eq!(shown["hosts"], json["hosts"]);
}

#[test]
fn a_host_that_timed_out_is_tried_again_after_the_others() {
    let fleet = Fleet::start(vec![HostSpec::new("web01"), HostSpec::new("web02")]);
    let d = fleet.dir();
    // late01 is at an address where, at first, a listener accepts and never
    // answers (a server too busy to take the connection): a connect timeout.
    let late = fleet.spare_address(77);
    let silent = std::net::TcpListener::bind(format!("{late}:22")).unwrap();
    // Its host key is web01's, whose sshd will be started there later.
    let web01 = fleet.address("web01");
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    let lines: String = known
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{web01} ")))
        .map(|key| format!("{late} {key}\n"))
        .collect();
    std::fs::write(fleet.known_hosts(), format!("{known}{lines}")).unwrap();
    let inventory = format!("{}  late01: {{address: {late}}}\n", fleet.inventory_yaml());
    write(d, "inv.yaml", &inventory);
    write(
        d,
        "b.yaml",
        "name: probe\nrules:\n  - {id: PROBE, command: echo ok, expect: ok}\n",
    );
    let state = d.join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["audit", "-i", "inv.yaml", "-b", "b.yaml", "--format", "json"])
        .args(["--connect-timeout", "5", "--retries", "1"])
        .current_dir(d)
        .env("RECTIFY_STATE_DIR", &state)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first attempt has connected and waits for a banner; from now on
    // the address is a real sshd (bounded: it is up within seconds).
    silent.set_nonblocking(true).unwrap();
    let mut first_attempt = None;
    let connected = wait_until(Duration::from_secs(30), || {
        first_attempt = silent.accept().ok();
        first_attempt.is_some() || child.try_wait().unwrap().is_some()
    });
    let Some(first_attempt) = first_attempt.filter(|_| connected) else {
        let _ = child.kill();
        panic!(
            "rectify never connected to late01: {}",
            stderr(&child.wait_with_output().unwrap())
        );
    };
    drop(silent);
    let config = format!(
        "sed -e 's/^ListenAddress .*/ListenAddress {late}/' -e 's|^PidFile .*|PidFile /run/sshd-late.pid|' \
         /etc/ssh/sshd_config > /run/sshd-late.conf && /usr/sbin/sshd -f /run/sshd-late.conf"
    );
    let started = fleet.exec("web01", &config);
    assert!(started.status.success(), "{}", stderr(&started));
    assert!(
        wait_until(Duration::from_secs(10), || crate::fleet::answers_ssh(&late)),
        "the late sshd did not come up"
    );
    let out = child.wait_with_output().unwrap();
    drop(first_attempt);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = report::json(&out);
    let late01 = report::host(&json, "late01");
    assert_eq!(late01["status"], "compliant", "{late01:#}");
    assert_eq!(late01["attempts"], 2, "{late01:#}");
    assert_eq!(report::rule(late01, "PROBE")["status"], "pass");
    for h in ["web01", "web02"] {
        assert_eq!(report::host(&json, h)["attempts"], 1);
    }
}

#[test]
fn without_retries_a_refused_host_is_an_error_after_one_attempt() {
    let fleet = Fleet::start(vec![HostSpec::new("web01")]);
    let d = fleet.dir();
    let inventory = format!(
        "{}  gone01: {{address: {}}}\n",
        fleet.inventory_yaml(),
        fleet.spare_address(78)
    );
    write(d, "inv.yaml", &inventory);
    write(
        d,
        "b.yaml",
        "name: probe\nrules:\n  - {id: PROBE, command: echo ok, expect: ok}\n",
    );
    let envs = [("RECTIFY_STATE_DIR", d.join("state").to_str().unwrap().to_string())];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for (retries, attempts) in [("0", 1), ("2", 3)] {
        let out = rectify_in(
            &[
                "audit",
                "-i",
                "inv.yaml",
                "-b",
                "b.yaml",
                "--format",
                "json",
                "--retries",
                retries,
            ],
            d,
            &envs,
        );
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let json = report::json(&out);
        let gone = report::host(&json, "gone01");
        assert_eq!(gone["status"], "error", "{gone:#}");
        assert!(gone["error"].as_str().unwrap().contains("refused"), "{gone:#}");
        assert_eq!(gone["attempts"], attempts, "--retries {retries}: {gone:#}");
        assert_eq!(report::host(&json, "web01")["attempts"], 1);
    }
}
