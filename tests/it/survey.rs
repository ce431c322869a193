//! `rectify survey`: every host asked one question, hosts grouped by
//! answer (outliers first, majority last, diffs from the majority), each
//! answer checked against what the host itself says (`cat`, `sysctl -n`,
//! `sshd -T`, `dpkg-query`); a silent host bounded by the connect timeout;
//! hostile command output bounded and shown safely; the survey recorded,
//! listed and shown again; the majority captured as a baseline that fails
//! exactly the outliers.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::fleet::report::json;
use crate::fleet::{audit_json, run_rectify, sh, write, Fleet, HostSpec};

const DEMO: &str = "color blue\nsize 3\n";

fn survey(inv: &Path, state: &Path, args: &[&str]) -> Output {
    let mut all = vec!["survey", "-i", inv.to_str().unwrap(), "--connect-timeout", "3"];
    all.extend_from_slice(args);
    run_rectify(&all, &[("RECTIFY_STATE_DIR", state.to_str().unwrap())])
}

/// Checks `value` against docs/survey.schema.json.
fn check_schema(value: &Value) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/survey.schema.json");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let index = compiler
        .compile(path.to_str().unwrap(), &mut schemas)
        .unwrap_or_else(|e| panic!("{e:#}"));
    schemas.validate(value, index).map_err(|e| format!("{e:#}"))
}

/// `survey … --format json`: its exit code and JSON, which must match
/// docs/survey.schema.json.
fn survey_json(inv: &Path, state: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = survey(inv, state, &[args, &["--format", "json"]].concat());
    let value = json(&out);
    if let Err(e) = check_schema(&value) {
        panic!("{e}\n{value}");
    }
    (out.status.code(), value)
}

/// Each host's group: host → the group's JSON.
fn by_host(s: &Value) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for g in s["groups"].as_array().unwrap() {
        for h in g["hosts"].as_array().unwrap() {
            map.insert(h.as_str().unwrap().to_string(), g.clone());
        }
    }
    map
}

/// The groups' host lists, in the order shown.
fn order(s: &Value) -> Vec<String> {
    s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["compact"].as_str().unwrap().to_string())
        .collect()
}

const LIVE: [&str; 6] = ["web01", "web02", "web03", "web04", "web05", "web06"];

#[test]
fn a_survey_groups_hosts_by_what_they_answer_and_records_it() {
    let same = |name: &str| {
        HostSpec::new(name)
            .file("demo.conf", DEMO, 0o644)
            .sshd("X11Forwarding no")
    };
    let fleet = Fleet::start(vec![
        same("web01"),
        same("web02"),
        same("web03"),
        HostSpec::new("web04")
            .file("demo.conf", "color red\nsize 3\n", 0o644)
            .sshd("X11Forwarding yes"),
        HostSpec::new("web05"),
        // A FIFO where the file should be: read by nothing, it would block.
        HostSpec::new("web06").setup("mkfifo -m 644 /etc/demo.conf"),
    ]);
    let dir = fleet.dir().to_path_buf();
    let state = tempfile::tempdir().unwrap();
    let live_inv = fleet.write_inventory();
    // A listener that accepts TCP and never says a word.
    let silent_address = fleet.spare_address(50);
    let silent = std::net::TcpListener::bind(format!("{silent_address}:0")).unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let inv = write(
        &dir,
        "inv-dead.yaml",
        &(fleet.inventory_yaml() + &format!("  dead: {{address: {silent_address}, port: {silent_port}}}\n")),
    );

    // A file: three agree, one differs, one has none, one has a FIFO, one
    // is not reached.
    let started = std::time::Instant::now();
    let baseline = dir.join("majority.yaml");
    let (code, s) = survey_json(
        &inv,
        state.path(),
        &[
            "--file",
            "/etc/demo.conf",
            "--capture-baseline",
            baseline.to_str().unwrap(),
        ],
    );
    // Not a measure of speed: a guard that the silent host was bounded by
    // --connect-timeout rather than holding the survey.
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    assert_eq!(code, Some(3), "a host not reached: {s}");
    assert_eq!(order(&s), ["dead", "web04", "web05", "web06", "web[01-03]"], "{s}");
    let groups = by_host(&s);
    assert_eq!(groups["dead"]["kind"], "unreachable");
    assert!(groups["dead"]["error"].as_str().unwrap().contains("timed out"), "{s}");
    assert_eq!(groups["web01"]["majority"], true);
    for host in LIVE {
        let g = &groups[host];
        let kind = sh(
            &fleet,
            host,
            "if [ -p /etc/demo.conf ]; then echo fifo; elif [ -f /etc/demo.conf ]; then echo file; \
             elif [ -e /etc/demo.conf ]; then echo other; else echo none; fi",
        );
        match kind.trim() {
            "file" => {
                assert_eq!(g["state"], "value", "{host}: {s}");
                let on_host = fleet.exec(host, "cat /etc/demo.conf").stdout;
                assert_eq!(g["answer"].as_str().unwrap().as_bytes(), on_host, "{host}");
            }
            "fifo" => assert_eq!(g["state"], "not a regular file", "{host}: {s}"),
            "none" => assert_eq!(g["state"], "missing", "{host}: {s}"),
            other => panic!("{host}: {other}"),
        }
    }
    let diff = groups["web04"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("--- web[01-03]") && diff.contains("+++ web04") && diff.contains("-color blue\n+color red\n"),
        "{diff}"
    );
    assert!(groups["web05"]["diff"].as_str().unwrap().contains("+[missing]"), "{s}");

    // The majority's answer as a baseline: auditing the fleet with it
    // fails exactly the outliers (the FIFO cannot be read: an error).
    let out = audit_json(&live_inv, &baseline, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for h in report["hosts"].as_array().unwrap() {
        let name = h["name"].as_str().unwrap();
        let status = h["results"][0]["status"].as_str().unwrap();
        let expected = match name {
            "web04" | "web05" => "fail",
            "web06" => "error",
            _ => "pass",
        };
        assert_eq!(status, expected, "{name}: {report}");
        assert_eq!(h["results"][0]["id"], "SURVEY-FILE-ETC-DEMO-CONF");
    }

    // A setting, as written in sshd_config; the host's own sshd -T agrees.
    let (code, s) = survey_json(
        &live_inv,
        state.path(),
        &["--setting", "/etc/ssh/sshd_config:X11Forwarding"],
    );
    assert_eq!(code, Some(1), "answers differ: {s}");
    assert_eq!(order(&s), ["web04", "web[05-06]", "web[01-03]"], "{s}");
    let groups = by_host(&s);
    for host in LIVE {
        let g = &groups[host];
        let set = sh(&fleet, host, "grep -ci '^x11forwarding' /etc/ssh/sshd_config");
        if set.trim() == "0" {
            assert_eq!(g["state"], "not set", "{host}: {s}");
        } else {
            let daemon = sh(&fleet, host, "sshd -T | grep '^x11forwarding '");
            let answer = g["answer"].as_str().unwrap().to_lowercase();
            assert_eq!(daemon.trim(), format!("x11forwarding {answer}"), "{host}: {s}");
        }
    }

    // A sysctl, live: every host its own hostname, each its own group.
    let (code, s) = survey_json(&live_inv, state.path(), &["--sysctl", "kernel.hostname"]);
    assert_eq!(code, Some(1), "{s}");
    assert_eq!(s["groups"].as_array().unwrap().len(), 6, "{s}");
    let groups = by_host(&s);
    for host in LIVE {
        assert_eq!(
            groups[host]["answer"].as_str().unwrap(),
            sh(&fleet, host, "sysctl -n kernel.hostname").trim(),
            "{host}"
        );
        assert_eq!(groups[host]["count"], 1);
    }

    // A package: the same everywhere, as dpkg-query says on each host.
    let (code, s) = survey_json(&live_inv, state.path(), &["--package", "openssh-server"]);
    assert_eq!(code, Some(0), "all agree: {s}");
    assert_eq!(s["agree"], true);
    let groups = by_host(&s);
    for host in LIVE {
        let version = sh(&fleet, host, "dpkg-query -W -f '${Version}' openssh-server");
        assert_eq!(
            groups[host]["answer"].as_str().unwrap(),
            format!("installed {version}\n"),
            "{host}"
        );
    }

    // Hostile output: 5 MB, not UTF-8, terminal escapes; bounded and shown
    // as text.
    let hostile = "case $(hostname) in web04) yes | head -c 5000000;; \
                   web05) printf '\\377\\376bad\\n';; \
                   web03) printf '\\033]0;pwned\\007\\033[2Jclear\\n';; \
                   *) echo same;; esac";
    let (code, s) = survey_json(&live_inv, state.path(), &["--command", hostile]);
    assert_eq!(code, Some(1), "{s}");
    let groups = by_host(&s);
    assert_eq!(groups["web01"]["majority"], true);
    assert_eq!(groups["web01"]["answer"], "same\n");
    assert_eq!(groups["web04"]["state"], "cut", "{s}");
    assert!(groups["web04"]["answer"].as_str().unwrap().len() <= 64 * 1024 + 16);
    assert!(
        groups["web05"]["answer"]
            .as_str()
            .unwrap()
            .contains("\u{fffd}\u{fffd}bad"),
        "{s}"
    );
    let out = survey(&live_inv, state.path(), &["--command", hostile]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    assert!(text.contains("\\x1b]0;pwned\\x07\\x1b[2Jclear"), "{text}");
    assert!(
        text.lines().count() < 200,
        "the 5 MB answer is cut on the terminal: {} lines",
        text.lines().count()
    );

    // Recorded: listed by `runs`, shown again by `show` as it was grouped.
    let envs = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];
    let runs = run_rectify(&["runs"], &envs);
    let listing = String::from_utf8_lossy(&runs.stdout);
    assert_eq!(
        listing.lines().filter(|l| l.contains(" survey ")).count(),
        6,
        "{listing}"
    );
    let last = run_rectify(&["show", "last-survey"], &envs);
    assert!(
        String::from_utf8_lossy(&last.stdout).contains("pwned"),
        "the newest survey is the terminal one"
    );
    let shown = run_rectify(&["show", s["run_id"].as_str().unwrap(), "--format", "json"], &envs);
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let again = json(&shown);
    check_schema(&again).unwrap();
    // The schema is strict: an unknown kind, a missing field, a stray one.
    for spoil in [
        |v: &mut Value| v["groups"][0]["kind"] = "other".into(),
        |v: &mut Value| drop(v["groups"][0].as_object_mut().unwrap().remove("hosts")),
        |v: &mut Value| v["extra"] = 1.into(),
    ] {
        let mut broken = again.clone();
        spoil(&mut broken);
        assert!(check_schema(&broken).is_err(), "{broken}");
    }
    assert_eq!(again, s, "show prints the survey as it was printed");
    drop(silent);
}

#[test]
fn answers_of_secret_files_are_grouped_but_never_shown_or_stored() {
    let fleet = Fleet::start(vec![
        HostSpec::new("a"),
        HostSpec::new("b").setup("echo 'x:!:1::::::' >> /etc/shadow"),
    ]);
    let state = tempfile::tempdir().unwrap();
    let inv = fleet.write_inventory();
    let (code, s) = survey_json(&inv, state.path(), &["--file", "/etc/shadow"]);
    assert_eq!(code, Some(1), "{s}");
    assert_eq!(s["sensitive"], true);
    for g in s["groups"].as_array().unwrap() {
        assert!(g["answer"].is_null() && g["diff"].is_null(), "{s}");
    }
    let shadow = sh(&fleet, "a", "cat /etc/shadow");
    let root_line = shadow.lines().find(|l| l.starts_with("root:")).unwrap();
    // The database and its write-ahead log.
    for entry in std::fs::read_dir(state.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(root_line), "the shadow file reached the state database");
    }
    let refused = survey(
        &inv,
        state.path(),
        &["--file", "/etc/shadow", "--capture-baseline", "/tmp/never.yaml"],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(!Path::new("/tmp/never.yaml").exists());
}

#[test]
fn ctrl_c_keeps_the_answers_already_given() {
    let fleet = Fleet::start(vec![HostSpec::new("fast"), HostSpec::new("slow")]);
    let state = tempfile::tempdir().unwrap();
    let inv = fleet.write_inventory();
    let child = std::process::Command::new(crate::fleet::rectify_bin())
        .args(["survey", "-i", inv.to_str().unwrap(), "--format", "json", "--command"])
        .arg("case $(hostname) in slow) sleep 60;; *) echo fast;; esac")
        .env("RECTIFY_STATE_DIR", state.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once fast has answered (its session is gone), slow is still asleep.
    assert!(crate::fleet::wait_until(std::time::Duration::from_secs(30), || {
        sh(&fleet, "slow", "pgrep -x sleep >/dev/null && echo yes") == "yes\n"
    }));
    std::thread::sleep(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let s = json(&out);
    let groups = by_host(&s);
    assert_eq!(groups["fast"]["answer"], "fast\n", "{s}");
    assert_eq!(groups["slow"]["kind"], "unreachable", "{s}");
    assert!(groups["slow"]["error"].as_str().unwrap().contains("interrupted"), "{s}");
    let runs = run_rectify(&["runs"], &[("RECTIFY_STATE_DIR", state.path().to_str().unwrap())]);
    assert!(
        String::from_utf8_lossy(&runs.stdout).contains(s["run_id"].as_str().unwrap()),
        "recorded"
    );
}
