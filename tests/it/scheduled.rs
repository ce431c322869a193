//! Scheduled compliance exactly as the README writes it: the cron line,
//! taken from README.md (so the two cannot drift apart), run the way cron
//! runs it, and what a scheduler or a monitoring check sees when a run
//! cannot start (a held lock, bad input, a usage error with
//! `--format nagios`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fleet::{rectify_in, report, Fleet, HostSpec};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The body of the README's first fenced block of `lang`.
fn block(readme: &str, lang: &str) -> String {
    let start = readme
        .find(&format!("```{lang}\n"))
        .unwrap_or_else(|| panic!("README has no ```{lang} block"));
    let body = &readme[start + lang.len() + 4..];
    body[..body.find("```").unwrap()].to_string()
}

/// The command of the README's `/etc/cron.d` line: what follows the five
/// time fields and the user, as cron hands it to `/bin/sh -c`.
fn cron_command(readme: &str) -> String {
    let block = block(readme, "cron");
    let line = block
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .expect("a cron line");
    let mut rest = line;
    for _ in 0..6 {
        rest = rest.trim_start();
        rest = &rest[rest.find(char::is_whitespace).expect("six fields before the command")..];
    }
    rest.trim().to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copies the shipped baselines (and nothing else: no playbooks beside
/// them) into `dir`.
fn copy_baselines(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn the_readme_cron_line_runs_as_cron_runs_it() {
    let readme = readme();
    let command = cron_command(&readme);
    assert!(!command.contains('%'), "cron turns % into newlines: {command}");
    // Both examples name the same binary and keep history in one place.
    let unit = block(&readme, "ini");
    let exec_start = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let binary = exec_start.split_whitespace().next().unwrap();
    assert!(command.contains(&format!("{binary} audit ")), "{command}");
    let state_env = unit
        .lines()
        .find_map(|l| l.strip_prefix("Environment="))
        .expect("Environment=");
    assert!(
        command.starts_with(&format!("{state_env} ")),
        "cron and systemd keep history in different places: {command} / {state_env}"
    );

    let fleet = Fleet::start(vec![HostSpec::new("web01")]);
    let t = tempfile::tempdir().unwrap();
    let t = t.path();
    for d in ["etc-upper", "etc-work", "varlib-upper", "varlib-work", "bin"] {
        std::fs::create_dir_all(t.join(d)).unwrap();
    }
    // /etc/rectify as the README's set-up leaves it: the shipped baselines
    // without playbooks/, and an inventory.
    copy_baselines(&t.join("etc-upper/rectify/baselines"));
    std::fs::write(t.join("etc-upper/rectify/inventory.yaml"), fleet.inventory_yaml()).unwrap();
    // The binary where `cargo install --root /usr/local` puts it.
    std::os::unix::fs::symlink(crate::fleet::rectify_bin(), t.join("bin/rectify")).unwrap();
    // logger(1) writes where the test can read it.
    let logged = t.join("logged");
    let logger = t.join("logger");
    std::fs::write(
        &logger,
        format!(
            "#!/bin/sh\nprintf '%s|%s\\n' \"$*\" \"$(cat)\" >> '{}'\n",
            logged.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&logger, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A private mount namespace: /etc and /var/lib overlaid (so neither
    // /etc/rectify nor /var/lib/rectify exist on this machine), /run/lock
    // and /root empty, /usr/local/bin holding rectify. Then cron's
    // environment (Debian cron: SHELL, PATH=/usr/bin:/bin, HOME, LOGNAME)
    // and nothing else.
    let script = format!(
        "set -e\n\
         mount -t overlay overlay -o lowerdir=/etc,upperdir={t}/etc-upper,workdir={t}/etc-work /etc\n\
         mount -t overlay overlay -o lowerdir=/var/lib,upperdir={t}/varlib-upper,workdir={t}/varlib-work /var/lib\n\
         mount -t tmpfs tmpfs /run/lock\n\
         mount -t tmpfs -o mode=0700 tmpfs /root\n\
         mount --bind {t}/bin /usr/local/bin\n\
         mount --bind {t}/logger /usr/bin/logger\n\
         cd /\n\
         exec env -i SHELL=/bin/sh PATH=/usr/bin:/bin HOME=/root LOGNAME=root /bin/sh -c \"$CRON_COMMAND\"\n",
        t = t.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--fork", "sh", "-c", &script])
        .env("CRON_COMMAND", &command)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // cron mails whatever the job prints: nothing, on drift.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "cron mail");
    assert_eq!(stderr(&out), "", "cron mail");
    // The exit code went to syslog, as the line says: drift is 1 (not 2:
    // the remediation playbooks the baseline names are not there).
    let logged = std::fs::read_to_string(&logged).expect("logger ran");
    assert_eq!(logged, "-t rectify -p auth.warning|rectify nightly audit exited 1\n");

    // The reports directory was made, 0750, with the three dated reports.
    let reports = t.join("varlib-upper/rectify/reports");
    let mode = std::fs::metadata(&reports)
        .expect("reports directory")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
    let mut names: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(&names[1])).unwrap()).unwrap();
    let date = &json["started"].as_str().unwrap()[..10];
    assert_eq!(
        names,
        [
            format!("audit-{date}.html"),
            format!("audit-{date}.json"),
            format!("audit-{date}.xml")
        ]
    );
    let web01 = report::host(&json, "web01");
    assert_eq!(web01["status"], "drift", "{web01:#}");
    assert!(web01["error"].is_null(), "{web01:#}");
    assert!(!report::failing_rules(web01).is_empty());
    let xml = std::fs::read_to_string(reports.join(format!("audit-{date}.xml"))).unwrap();
    assert!(xml.contains("<testsuite name=\"web01\""), "{xml}");

    // The run is in the state directory both examples name.
    let state = t.join("varlib-upper/rectify/state");
    let envs = [("RECTIFY_STATE_DIR", state.to_str().unwrap())];
    let runs = rectify_in(&["runs"], t, &envs);
    let run_id = json["run_id"].as_str().unwrap();
    let line = stdout(&runs)
        .lines()
        .find(|l| l.contains(run_id))
        .unwrap_or_else(|| panic!("run {run_id} not recorded: {}", stdout(&runs)))
        .to_string();
    assert!(line.contains("audit"), "{line}");
    let shown = rectify_in(&["show", run_id, "--format", "json"], t, &envs);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    assert_eq!(report::json(&shown)["hosts"], json["hosts"]);
}

#[test]
fn fix_and_validate_still_need_the_remediation_playbooks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_baselines(&d.join("baselines"));
    let state = d.join("state");
    let envs = [("RECTIFY_STATE_DIR", state.to_str().unwrap())];
    let out = rectify_in(&["validate", "baselines/ssh-hardening.yaml"], d, &envs);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("remediation playbook"), "{}", stderr(&out));
    let out = rectify_in(
        &["fix", "--local", "-b", "baselines/ssh-hardening.yaml", "--check"],
        d,
        &envs,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("remediation playbook"), "{}", stderr(&out));
}

/// A run holding `lock` for about two seconds.
fn hold_lock(d: &Path, lock: &str) -> std::process::Child {
    std::fs::write(
        d.join("slow.yaml"),
        "name: slow\nrules:\n  - id: SLOW\n    command: sleep 2; echo done\n    expect: done\n",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args([
            "audit",
            "--local",
            "-b",
            "slow.yaml",
            "--lock",
            lock,
            "--format",
            "json",
        ])
        .current_dir(d)
        .env("HOME", d)
        .env("RECTIFY_STATE_DIR", d.join("state-slow"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let held = crate::fleet::wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(d.join(lock)).is_ok_and(|t| t.starts_with("pid "))
    });
    assert!(held, "the first run never took the lock");
    child
}

#[test]
fn a_held_lock_names_its_holder_and_a_nagios_check_says_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("fast.yaml"),
        "name: fast\nrules:\n  - id: FAST\n    command: echo ok\n    expect: ok\n",
    )
    .unwrap();
    let first = hold_lock(d, "nightly.lock");
    let pid = first.id();
    let out = rectify_in(
        &["audit", "--local", "-b", "fast.yaml", "--lock", "nightly.lock"],
        d,
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "another run holds the lock nightly.lock (pid {pid}, rectify audit, since "
        )),
        "{}",
        stderr(&out)
    );
    let out = rectify_in(
        &[
            "audit",
            "--local",
            "-b",
            "fast.yaml",
            "--lock",
            "nightly.lock",
            "--format",
            "nagios",
        ],
        d,
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let line = stdout(&out);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with(&format!(
            "RECTIFY UNKNOWN - another run holds the lock nightly.lock (pid {pid}"
        )),
        "{line}"
    );
    assert_eq!(first.wait_with_output().unwrap().status.code(), Some(0));
}

#[test]
fn a_nagios_check_that_cannot_run_prints_one_unknown_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("bad.yaml"), "name: bad\nrules:\n  - id: A\n    bogus: 1\n").unwrap();
    std::fs::write(
        d.join("ok.yaml"),
        "name: ok\nrules:\n  - id: OK\n    command: echo ok\n    expect: ok\n",
    )
    .unwrap();
    for (args, says) in [
        // a usage error (clap's), either spelling of the option
        (
            vec!["audit", "--local", "-b", "ok.yaml", "--bogus", "--format", "nagios"],
            "usage: ",
        ),
        (vec!["audit", "--format=nagios", "--local"], "usage: "),
        // bad input: an invalid baseline, a missing one, an unwritable report
        (
            vec!["audit", "--local", "-b", "bad.yaml", "--format", "nagios"],
            "bad.yaml",
        ),
        (
            vec!["audit", "--local", "-b", "missing.yaml", "--format", "nagios"],
            "missing.yaml",
        ),
        (
            vec![
                "audit",
                "--local",
                "-b",
                "ok.yaml",
                "--format",
                "nagios",
                "--report",
                "json=ok.yaml/r.json",
            ],
            "cannot write ok.yaml/r.json",
        ),
    ] {
        let out = rectify_in(&args, d, &[("RECTIFY_STATE_DIR", d.join("state").to_str().unwrap())]);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
        assert!(text.starts_with("RECTIFY UNKNOWN - "), "{args:?}: {text}");
        assert!(text.contains(says), "{args:?}: {text}");
        assert!(!stderr(&out).is_empty(), "{args:?}: the error is on stderr too");
    }
    // Help is not a check: it still prints help and exits 0.
    let out = rectify_in(&["audit", "--help", "--format", "nagios"], d, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).starts_with("RECTIFY"));
}
