//! The shipped log-permissions baseline and its playbook on a fleet whose
//! `/var/log` is a tmpfs of each host's own: a drifted host fails every rule,
//! naming the files `stat` inside the host says are too open; `fix` makes
//! every rule pass without following a local user's symlinks to
//! /etc/shadow and /etc/passwd planted in her own directory under
//! /var/log; a compliant host is left untouched (modes, mtimes, ctimes).

use std::path::Path;

use crate::fleet::report::{failing_rules, host, json, rule};
use std::time::Duration;

use crate::fleet::{run_rectify, sh, wait_until, Fleet, HostSpec};

const RULES: [&str; 9] = [
    "LOG-PERM-ALL",
    "LOG-PERM-SYSLOG",
    "LOG-PERM-AUTH-LOG",
    "LOG-PERM-MESSAGES",
    "LOG-PERM-SECURE",
    "LOG-PERM-WTMP",
    "LOG-PERM-BTMP",
    "LOG-PERM-LASTLOG",
    "LOG-PERM-JOURNAL",
];

/// Every host gets a /var/log of its own (the machine's must stay as it
/// is), built from `files`: lines "mode owner:group path" (a path ending
/// in `/` is a directory).
fn var_log(files: &str) -> String {
    let mut script = String::from("mount -t tmpfs -o mode=0755 tmpfs /var/log");
    for line in files.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut p = line.split_whitespace();
        let (mode, owner, path) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
        if path.ends_with('/') {
            script += &format!(" && mkdir -p {path}");
        } else {
            script += &format!(" && echo 'a log line' > {path}");
        }
        script += &format!(" && chown {owner} {path} && chmod {mode} {path}");
    }
    script
}

/// The host's own answer for LOG-PERM-ALL: every regular file under
/// /var/log (symlinks not followed) with a bit beyond 0640, or beyond 0664
/// for the login records.
fn too_open_by_host(fleet: &Fleet, name: &str) -> Vec<String> {
    let out = sh(fleet, name, "find /var/log -xdev -type f -exec stat -c '%a %n' {} +");
    let mut bad: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let (mode, path) = l.split_once(' ')?;
            let mode = u32::from_str_radix(mode, 8).ok()?;
            let base = path.rsplit('/').next().unwrap();
            let login = ["wtmp", "btmp", "lastlog"].iter().any(|p| base.starts_with(p));
            let allowed = if login { 0o664 } else { 0o640 };
            (mode & !allowed != 0).then(|| path.to_string())
        })
        .collect();
    bad.sort();
    bad
}

/// "mode owner:group" of a path as the host's `stat -L` sees it.
fn stat_l(fleet: &Fleet, name: &str, path: &str) -> String {
    sh(fleet, name, &format!("stat -L -c '%a %U:%G' {path}"))
        .trim()
        .to_string()
}

const DRIFTED: &str = "
    0644 root:adm /var/log/syslog
    0604 root:adm /var/log/auth.log
    0644 root:root /var/log/messages
    0666 root:root /var/log/secure
    0666 root:root /var/log/wtmp
    0644 root:utmp /var/log/btmp
    0666 root:utmp /var/log/lastlog
    0644 root:root /var/log/dpkg.log
    0755 root:root /var/log/apt/
    0744 root:root /var/log/apt/history.log
    2755 root:systemd-journal /var/log/journal/
    2755 root:systemd-journal /var/log/journal/0123456789abcdef0123456789abcdef/
    0644 root:systemd-journal /var/log/journal/0123456789abcdef0123456789abcdef/system.journal
    0755 alice:alice /var/log/alice/
    0600 alice:alice /var/log/alice/app.log
";

const TIDY: &str = "
    0640 root:adm /var/log/syslog
    0600 root:adm /var/log/auth.log
    0664 root:utmp /var/log/wtmp
    0660 root:utmp /var/log/btmp
    0664 root:utmp /var/log/lastlog
    0640 root:root /var/log/dpkg.log
    0755 root:root /var/log/apt/
    0640 root:root /var/log/apt/history.log
    2755 root:systemd-journal /var/log/journal/
    2755 root:systemd-journal /var/log/journal/0123456789abcdef0123456789abcdef/
    0640 root:systemd-journal /var/log/journal/0123456789abcdef0123456789abcdef/system.journal
";

#[test]
fn drifted_logs_fail_named_fix_tightens_them_and_never_follows_a_users_symlink() {
    // alice plants symlinks to /etc/shadow and /etc/passwd in the directory
    // she owns under /var/log; /etc/passwd at 0644 has bits a chmod that
    // followed them would take away.
    let drifted = HostSpec::new("drift").setup(&format!(
        "useradd -M alice && {} && su -s /bin/sh alice -c 'ln -s /etc/shadow /var/log/alice/shadow.log && ln -s /etc/passwd /var/log/alice/passwd.log'",
        var_log(DRIFTED)
    ));
    let tidy = HostSpec::new("tidy").setup(&var_log(TIDY));
    let fleet = Fleet::start(vec![drifted, tidy]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let baseline = root.join("baselines/log-permissions.yaml").display().to_string();
    let inv = fleet.write_inventory().display().to_string();
    let run = |command: &str| {
        let out = run_rectify(&[command, "-b", &baseline, "-i", &inv, "--format", "json"], &[]);
        (out.status.code(), json(&out))
    };

    let targets = "/etc/shadow /etc/passwd";
    let targets_before = sh(&fleet, "drift", &format!("stat -c '%a %U:%G %Y %Z %n' {targets}"));
    assert!(targets_before.starts_with("640 root:shadow"), "{targets_before}");
    assert!(targets_before.contains("644 root:root"), "{targets_before}");
    let tidy_state = || {
        sh(
            &fleet,
            "tidy",
            "find /var/log -exec stat -c '%a %U:%G %Y %Z %n' {} + | sort",
        )
    };
    let tidy_before = tidy_state();

    let (code, report) = run("audit");
    assert_eq!(code, Some(1), "{report}");
    let d = host(&report, "drift");
    assert_eq!(failing_rules(d), RULES, "{d}");
    // LOG-PERM-ALL names exactly the files the host's stat says are too open
    // (the planted symlinks are not regular files and not among them).
    let expected = too_open_by_host(&fleet, "drift");
    assert_eq!(
        expected,
        [
            "/var/log/apt/history.log",
            "/var/log/auth.log",
            "/var/log/dpkg.log",
            "/var/log/journal/0123456789abcdef0123456789abcdef/system.journal",
            "/var/log/lastlog",
            "/var/log/messages",
            "/var/log/secure",
            "/var/log/syslog",
            "/var/log/wtmp",
        ]
        .map(String::from)
    );
    let all = rule(d, "LOG-PERM-ALL");
    let mut named: Vec<String> = all["actual"].as_str().unwrap().split(' ').map(String::from).collect();
    named.sort();
    assert_eq!(named, expected, "{all}");
    for (id, path, max) in [
        ("LOG-PERM-SYSLOG", "/var/log/syslog", 0o640),
        ("LOG-PERM-AUTH-LOG", "/var/log/auth.log", 0o640),
        ("LOG-PERM-MESSAGES", "/var/log/messages", 0o640),
        ("LOG-PERM-SECURE", "/var/log/secure", 0o640),
        ("LOG-PERM-BTMP", "/var/log/btmp", 0o660),
        ("LOG-PERM-LASTLOG", "/var/log/lastlog", 0o664),
        ("LOG-PERM-JOURNAL", "/var/log/journal/*/*.journal", 0o640),
    ] {
        let (mode, _) = stat_l(&fleet, "drift", path)
            .split_once(' ')
            .map(|(m, o)| (m.to_string(), o.to_string()))
            .unwrap();
        assert_ne!(
            u32::from_str_radix(&mode, 8).unwrap() & !max,
            0,
            "{id}: the host says {path} is {mode}"
        );
        let r = rule(d, id);
        assert!(r["actual"].as_str().unwrap().contains(&format!("0{mode}")), "{id}: {r}");
    }
    // wtmp's mode is allowed; its group root is what fails.
    assert_eq!(stat_l(&fleet, "drift", "/var/log/wtmp"), "666 root:root");
    assert!(
        rule(d, "LOG-PERM-WTMP")["actual"].as_str().unwrap().contains("root"),
        "{d}"
    );
    let t = host(&report, "tidy");
    assert!(failing_rules(t).is_empty(), "{t}");
    for id in ["LOG-PERM-MESSAGES", "LOG-PERM-SECURE"] {
        assert_eq!(rule(t, id)["status"], "skipped", "{t}");
    }

    let (code, fixed) = run("fix");
    assert_eq!(code, Some(0), "{fixed}");
    assert!(too_open_by_host(&fleet, "drift").is_empty());
    for (path, want) in [
        ("/var/log/syslog", "640 root:adm"),
        ("/var/log/auth.log", "600 root:adm"),
        ("/var/log/messages", "640 root:root"),
        ("/var/log/secure", "640 root:root"),
        ("/var/log/wtmp", "664 root:utmp"),
        ("/var/log/btmp", "640 root:utmp"),
        ("/var/log/lastlog", "664 root:utmp"),
        ("/var/log/dpkg.log", "640 root:root"),
        ("/var/log/apt/history.log", "640 root:root"),
        (
            "/var/log/journal/0123456789abcdef0123456789abcdef/system.journal",
            "640 root:systemd-journal",
        ),
        ("/var/log/alice/app.log", "600 alice:alice"),
    ] {
        assert_eq!(stat_l(&fleet, "drift", path), want, "{path}");
    }
    // The symlinks' targets kept mode, owner, mtime and ctime.
    assert_eq!(
        sh(&fleet, "drift", &format!("stat -c '%a %U:%G %Y %Z %n' {targets}")),
        targets_before
    );
    assert_eq!(tidy_state(), tidy_before, "the compliant host was touched");

    let (code, report) = run("audit");
    assert_eq!(code, Some(0), "{report}");
    for id in RULES {
        assert_eq!(rule(host(&report, "drift"), id)["status"], "pass", "{report}");
    }
    let (code, again) = run("fix");
    assert_eq!(code, Some(0), "{again}");
    assert_eq!(
        sh(&fleet, "drift", &format!("stat -c '%a %U:%G %Y %Z %n' {targets}")),
        targets_before
    );
}

/// While `fix` runs, alice keeps swapping a log in a directory she owns and
/// in a group-writable one of group alice for a symlink to /etc/passwd:
/// fix never enters either directory, so /etc/passwd keeps its mode, and
/// her own too-open logs there are left as they are and still named.
#[test]
fn fix_leaves_directories_a_user_can_write_alone_while_she_races_it() {
    let spec = HostSpec::new("race").setup(&format!(
        "useradd -M alice && {} && chgrp alice /var/log/shared",
        var_log(
            "0644 root:root /var/log/dpkg.log
             0755 alice:alice /var/log/alice/
             0644 alice:alice /var/log/alice/own.log
             0775 root:root /var/log/shared/
             0644 root:root /var/log/shared/app.log",
        )
    ));
    let fleet = Fleet::start(vec![spec]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let baseline = root.join("baselines/log-permissions.yaml").display().to_string();
    let inv = fleet.write_inventory().display().to_string();
    let run = |command: &str| {
        let out = run_rectify(&[command, "-b", &baseline, "-i", &inv, "--format", "json"], &[]);
        (out.status.code(), json(&out))
    };
    let passwd = || sh(&fleet, "race", "stat -c '%a %U:%G %Y %Z' /etc/passwd");
    let before = passwd();
    assert!(before.starts_with("644 root:root"), "{before}");

    // Bounded: 2,000 rounds in each directory, then a 0600 marker.
    sh(
        &fleet,
        "race",
        "su -s /bin/sh alice -c 'for d in /var/log/alice /var/log/shared; do ( i=0; while [ $i -lt 2000 ]; do \
         echo x > $d/t.log; chmod 0644 $d/t.log; rm -f $d/t.log; ln -s /etc/passwd $d/t.log; rm -f $d/t.log; i=$((i+1)); done; \
         umask 077; : > $d/done ) & done' >/dev/null 2>&1 &",
    );
    let (_, fixed) = run("fix");
    let racing = sh(
        &fleet,
        "race",
        "ls /var/log/alice/done /var/log/shared/done 2>/dev/null | wc -l",
    );
    assert!(
        wait_until(Duration::from_secs(120), || {
            sh(
                &fleet,
                "race",
                "ls /var/log/alice/done /var/log/shared/done 2>/dev/null | wc -l",
            )
            .trim()
                == "2"
        }),
        "the race loops did not end"
    );
    assert_eq!(racing.trim(), "0", "the race was over before fix ended: {fixed}");
    assert_eq!(passwd(), before, "fix followed alice's symlink: {fixed}");
    assert_eq!(stat_l(&fleet, "race", "/var/log/dpkg.log"), "640 root:root");
    assert_eq!(stat_l(&fleet, "race", "/var/log/alice/own.log"), "644 alice:alice");
    assert_eq!(stat_l(&fleet, "race", "/var/log/shared/app.log"), "644 root:root");

    let (code, report) = run("audit");
    assert_eq!(code, Some(1), "{report}");
    let all = rule(host(&report, "race"), "LOG-PERM-ALL");
    let mut named: Vec<&str> = all["actual"].as_str().unwrap().split(' ').collect();
    named.sort();
    assert_eq!(named, ["/var/log/alice/own.log", "/var/log/shared/app.log"], "{all}");
}
