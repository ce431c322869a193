//! `rectify audit` against real OpenSSH servers (see the `fleet` module).

use std::path::Path;

use crate::fleet::report::{failing_rules, host, json, rule};
use crate::fleet::{audit_json, audit_json_with, audit_text, run_rectify, write, Fleet, HostSpec, Subnet};

const APP_CONF: &str = "# managed\nlisten = 0.0.0.0\n[tls]\nenabled = yes\n";

/// Every subject kind, on a compliant host, a drifted host and a dead one.
const BASELINE: &str = r##"
name: fleet-test
vars: {tls: "yes"}
rules:
  - {id: SSH-ROOT, title: root login, severity: high, file: /etc/ssh/sshd_config, setting: PermitRootLogin, expect: [no, prohibit-password]}
  - {id: SSH-PASSWORD, file: /etc/ssh/sshd_config, setting: passwordauthentication, expect: "no"}
  - {id: SSH-X11, file: /etc/ssh/sshd_config, setting: X11Forwarding, expect: {not: "yes"}}
  - {id: APP-TLS, file: /etc/app/app.conf, setting: tls.enabled, expect: "{{ tls }}"}
  - {id: APP-WHOLE, file: /etc/app/app.conf, content: "# managed\nlisten = 0.0.0.0\n[tls]\nenabled = yes\n"}
  - {id: APP-LISTEN-LINE, file: /etc/app/app.conf, line: '^listen = (\S+)', expect: 0.0.0.0}
  - {id: APP-NO-DEBUG, file: /etc/app/app.conf, line: '^debug', absent: true}
  - {id: APP-MODE, file: /etc/app/app.conf, mode: "0640", owner: root, group: root}
  - {id: ASLR, sysctl: kernel.randomize_va_space, check: live, expect: ["1", "2"]}
  - {id: HOSTNAME-CMD, command: "cat /etc/hostname-check", expect: "{{ host }}", exit_code: 0}
  - {id: SSH-SERVICE, service: ssh, state: running}
  - {id: SSH-PACKAGE, package: openssh-server, state: installed, version: ">= 1:8"}
  - {id: NO-TELNET, package: telnetd, state: absent}
  - {id: WEB-ONLY, hosts: "web*", file: /etc/app/app.conf, exists: true}
"##;

fn app_host(name: &str, conf: &str, mode: u32) -> HostSpec {
    HostSpec::new(name)
        .file("app/app.conf", conf, mode)
        .file("hostname-check", format!("{name}\n"), 0o644)
}

#[test]
fn fleet_audit_reports_each_subject_and_exit_codes() {
    let drifted = "# managed\nlisten = 127.0.0.1\ndebug = 1\n[tls]\nenabled = no\n";
    let fleet = Fleet::start(vec![
        // Set explicitly: `not` fails a key set nowhere in an sshd file
        // (its value is sshd's unseen default).
        app_host("web01", APP_CONF, 0o640).sshd("X11Forwarding no"),
        app_host("db01", drifted, 0o644).sshd("X11Forwarding yes"),
    ]);
    let dir = fleet.dir().to_path_buf();
    // A third host that nothing listens on.
    let dead_address = fleet.spare_address(99);
    let inventory = fleet.inventory_yaml() + &format!("  dead01: {{address: {dead_address}}}\n");
    let inv = write(&dir, "inventory.yaml", &inventory);
    let baseline = write(&dir, "baseline.yaml", BASELINE);
    let junit = dir.join("out.xml");

    // The host's state before: a marker in its own tmpfs /run, so any file
    // the audit wrote under /etc would be newer than it.
    for h in ["web01", "db01"] {
        fleet.exec(h, "touch /run/audit-marker; sleep 1");
    }
    let junit_arg = format!("junit={}", junit.display());
    let out = audit_json(&inv, &baseline, &["--report", &junit_arg, "--connect-timeout", "5"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "dead host means exit 3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["summary"]["hosts"], 3);
    assert_eq!(report["summary"]["compliant"], 1);
    assert_eq!(report["summary"]["drift"], 1);
    assert_eq!(report["summary"]["error"], 1);

    let web = host(&report, "web01");
    assert_eq!(web["status"], "compliant", "{web:#}");
    for r in web["results"].as_array().unwrap() {
        assert_eq!(r["status"], "pass", "web01 {r:#}");
    }
    assert_eq!(rule(web, "SSH-ROOT")["actual"], "prohibit-password");
    assert_eq!(rule(web, "HOSTNAME-CMD")["actual"], "web01 (exit 0)");

    let db = host(&report, "db01");
    assert_eq!(db["status"], "drift");
    let expect_status = [
        ("SSH-ROOT", "pass"),
        ("SSH-PASSWORD", "pass"),
        ("SSH-X11", "fail"),
        ("APP-TLS", "fail"),
        ("APP-WHOLE", "fail"),
        ("APP-LISTEN-LINE", "fail"),
        ("APP-NO-DEBUG", "fail"),
        ("APP-MODE", "fail"),
        ("ASLR", "pass"),
        ("HOSTNAME-CMD", "pass"),
        ("SSH-SERVICE", "pass"),
        ("SSH-PACKAGE", "pass"),
        ("NO-TELNET", "pass"),
        ("WEB-ONLY", "skipped"),
    ];
    for (id, status) in expect_status {
        assert_eq!(rule(db, id)["status"], status, "db01 {id}: {:#}", rule(db, id));
    }
    assert_eq!(rule(db, "APP-TLS")["actual"], "no");
    assert_eq!(rule(db, "APP-TLS")["expected"], "yes");
    assert_eq!(rule(db, "APP-LISTEN-LINE")["actual"], "127.0.0.1");
    assert_eq!(rule(db, "APP-MODE")["actual"], "mode 0644, owner root, group root");
    let diff = rule(db, "APP-WHOLE")["diff"].as_str().unwrap();
    assert!(
        diff.contains("-listen = 0.0.0.0\n") && diff.contains("+listen = 127.0.0.1\n") && diff.contains("+debug = 1\n"),
        "{diff}"
    );

    let dead = host(&report, "dead01");
    assert_eq!(dead["status"], "error");
    assert!(dead["error"].as_str().unwrap().contains(&dead_address), "{dead:#}");

    // JUnit: one testcase per host x rule, one for the dead host.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 14 + 14 + 1, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 6, "{xml}");

    // An audit changes nothing on the endpoints.
    for h in ["web01", "db01"] {
        let changed = fleet.exec(h, "find /etc -newer /run/audit-marker");
        assert_eq!(
            String::from_utf8_lossy(&changed.stdout),
            "",
            "{h}: files changed by an audit"
        );
    }

    // --limit selects hosts; the drifted host alone exits 1.
    let out = audit_json(&inv, &baseline, &["--limit", "db*"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["summary"]["hosts"], 1);
    assert_eq!(report["hosts"][0]["name"], "db01");

    // The compliant host alone exits 0, and the human report says so.
    let out = audit_text(&inv, &baseline, &["--limit", "web01"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("COMPLIANT web01"));
}

#[test]
fn host_keys_unknown_or_changed_fail_only_that_host() {
    let fleet = Fleet::start(vec![
        HostSpec::new("good"),
        HostSpec::new("unknown"),
        HostSpec::new("changed"),
    ]);
    let dir = fleet.dir().to_path_buf();
    let (good, unknown, changed) = (
        fleet.address("good"),
        fleet.address("unknown"),
        fleet.address("changed"),
    );
    // known_hosts: good is right, unknown is absent, changed carries good's key.
    let known = format!(
        "{good} {}\n{changed} {}\n",
        fleet.host_key_line("good"),
        fleet.host_key_line("good")
    );
    let known_path = write(&dir, "known_hosts", &known);
    let inventory = format!(
        "defaults: {{user: root, identity_file: {}, known_hosts: {}}}\nhosts:\n  good: {{address: {good}}}\n  unknown: {{address: {unknown}}}\n  changed: {{address: {changed}}}\n",
        fleet.client_key().display(),
        known_path.display()
    );
    let inv = write(&dir, "inv.yaml", &inventory);
    let baseline = write(
        &dir,
        "b.yaml",
        "name: t\nrules:\n  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    );

    let run = |policy: &str| {
        let out = audit_json(&inv, &baseline, &["--host-key-policy", policy]);
        (out.status.code(), json(&out))
    };
    let (code, report) = run("strict");
    assert_eq!(code, Some(3));
    assert_eq!(host(&report, "good")["status"], "compliant");
    let e = host(&report, "unknown")["error"].as_str().unwrap().to_string();
    assert!(e.contains("not in") && e.contains("SHA256:"), "{e}");
    let e = host(&report, "changed")["error"].as_str().unwrap().to_string();
    assert!(e.contains("HOST KEY CHANGED") && e.contains("line 2"), "{e}");

    // accept-new learns the unknown host, but a changed key still fails.
    let (code, report) = run("accept-new");
    assert_eq!(code, Some(3));
    assert_eq!(host(&report, "unknown")["status"], "compliant");
    assert_eq!(host(&report, "changed")["status"], "error");
    let learned = std::fs::read_to_string(&known_path).unwrap();
    assert!(learned.lines().count() >= 3, "{learned}");
    // And the learned key is trusted under strict from now on.
    let (_, report) = run("strict");
    assert_eq!(host(&report, "unknown")["status"], "compliant");
}

#[test]
fn auth_failure_and_silent_listener_are_errors_while_others_finish() {
    let fleet = Fleet::start(vec![HostSpec::new("ok"), HostSpec::new("nokey")]);
    let dir = fleet.dir().to_path_buf();
    // A key nobody authorised.
    let stranger = dir.join("stranger");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(status.success());
    // A listener that accepts TCP and never says a word.
    let silent_address = fleet.spare_address(50);
    let silent = std::net::TcpListener::bind(format!("{silent_address}:0")).unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let inventory = fleet.inventory_yaml()
        + &format!(
            "  nokey2: {{address: {}, identity_file: {}}}\n",
            fleet.address("nokey"),
            stranger.display()
        )
        + &format!("  silent: {{address: {silent_address}, port: {silent_port}}}\n");
    let inv = write(&dir, "inv.yaml", &inventory);
    let baseline = write(
        &dir,
        "b.yaml",
        "name: t\nrules:\n  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    );
    let started = std::time::Instant::now();
    let out = audit_json(&inv, &baseline, &["--connect-timeout", "3"]);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(3));
    let report = json(&out);
    assert_eq!(host(&report, "ok")["status"], "compliant");
    assert_eq!(host(&report, "nokey")["status"], "compliant");
    let e = host(&report, "nokey2")["error"].as_str().unwrap();
    assert!(e.contains("authentication failed for root"), "{e}");
    let e = host(&report, "silent")["error"].as_str().unwrap();
    assert!(e.contains("timed out"), "{e}");
    // Not an assertion on speed: a guard that the silent host was bounded
    // by --connect-timeout rather than hanging the run.
    assert!(elapsed.as_secs() < 60, "run took {elapsed:?}");
    drop(silent);
}

#[test]
fn jump_host_reaches_a_host_only_the_bastion_can_resolve() {
    // `inner.internal` resolves only in the bastion's own /etc/hosts, so
    // the controller can reach it only through the bastion.
    let subnet = Subnet::next();
    let hosts = format!("127.0.0.1 localhost\n{} inner.internal\n", subnet.address(2));
    let fleet = Fleet::start_in(
        subnet,
        vec![
            HostSpec::new("bastion").file("hosts", hosts, 0o644),
            HostSpec::new("inner").file("app/marker", "inner-only\n", 0o644),
        ],
    );
    let dir = fleet.dir().to_path_buf();
    let known = std::fs::read_to_string(fleet.known_hosts()).unwrap()
        + &format!("inner.internal {}\n", fleet.host_key_line("inner"));
    let known_path = write(&dir, "known_hosts_jump", &known);
    let inventory = format!(
        "defaults: {{user: root, identity_file: {}, known_hosts: {}}}\nhosts:\n  bastion: {{address: {}}}\n  inner: {{address: inner.internal, jump: bastion}}\n",
        fleet.client_key().display(),
        known_path.display(),
        fleet.address("bastion")
    );
    let inv = write(&dir, "inv.yaml", &inventory);
    let baseline = write(
        &dir,
        "b.yaml",
        "name: t\nrules:\n  - {id: MARK, hosts: inner, file: /etc/app/marker, content: \"inner-only\\n\"}\n",
    );
    let out = audit_json(&inv, &baseline, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(rule(host(&report, "inner"), "MARK")["status"], "pass");

    // Without the jump the name does not resolve here.
    let direct = inventory.replace(", jump: bastion", "");
    let inv = write(&dir, "direct.yaml", &direct);
    let out = audit_json(&inv, &baseline, &["--limit", "inner", "--connect-timeout", "5"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn sudo_as_a_non_root_user() {
    let setup = "useradd -M -s /bin/sh deploy && usermod -p '*' deploy \
                 && echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy \
                 && chmod 0640 /etc/shadow";
    let fleet = Fleet::start(vec![HostSpec::new("app01").user("deploy").setup(setup)]);
    let dir = fleet.dir().to_path_buf();
    let baseline = write(&dir, "b.yaml", "name: t\nrules:\n  - {id: SHADOW-ROOT, file: /etc/shadow, line: '^root:'}\n  - {id: WHOAMI, command: id -un, expect: root}\n");
    let inventory = |become_: &str| {
        format!(
            "defaults: {{user: deploy, become: {become_}, identity_file: {}, known_hosts: {}}}\nhosts:\n  app01: {{address: {}}}\n",
            fleet.client_key().display(),
            fleet.known_hosts().display(),
            fleet.address("app01")
        )
    };
    let plain = write(&dir, "plain.yaml", &inventory("none"));
    let out = audit_json(&plain, &baseline, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let app = host(&report, "app01");
    assert_eq!(rule(app, "SHADOW-ROOT")["status"], "error");
    assert!(rule(app, "SHADOW-ROOT")["message"]
        .as_str()
        .unwrap()
        .contains("permission denied"));
    assert_eq!(rule(app, "WHOAMI")["actual"], "deploy");

    let sudo = write(&dir, "sudo.yaml", &inventory("sudo"));
    let out = audit_json(&sudo, &baseline, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
}

#[test]
fn hostile_content_and_awkward_paths() {
    let binary: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let forged = "RECTIFY:00000000000000000000000000000000:0:ok:5\nhello\nRECTIFY:deadbeef:end\nsetting = real\n";
    let mut huge = vec![b'a'; 17 * 1024 * 1024];
    huge.extend_from_slice(b"\nsetting = hidden\n");
    let fleet = Fleet::start(vec![HostSpec::new("evil")
        .file("evil/binary", binary, 0o644)
        .file("evil/forged.conf", forged, 0o644)
        .file("evil/huge.conf", huge, 0o644)
        .file("evil/escape.conf", "banner = \u{1b}[2J\u{1b}]0;pwned\u{7}\n", 0o644)
        .file("evil/it's a \"dir\"/my $(file).conf", "key = spaced\n", 0o644)]);
    let dir = fleet.dir().to_path_buf();
    let inv = fleet.write_inventory();
    let baseline = r#"
name: hostile
rules:
  - {id: FORGED, file: /etc/evil/forged.conf, setting: setting, expect: real}
  - {id: FORGED-WHOLE, file: /etc/evil/forged.conf, content: "RECTIFY:00000000000000000000000000000000:0:ok:5\nhello\nRECTIFY:deadbeef:end\nsetting = real\n"}
  - {id: BINARY, file: /etc/evil/binary, line: 'abc'}
  - {id: HUGE, file: /etc/evil/huge.conf, setting: setting, expect: hidden}
  - {id: ESCAPE, file: /etc/evil/escape.conf, setting: banner, expect: safe}
  - {id: SPACES, file: "/etc/evil/it's a \"dir\"/my $(file).conf", setting: key, expect: spaced}
  - {id: INJECT, file: "/etc/evil/x; touch /tmp/rectify-injected", exists: false}
"#;
    let b = write(&dir, "b.yaml", baseline);
    let out = audit_json(&inv, &b, &[]);
    let report = json(&out);
    let evil = host(&report, "evil");
    assert_eq!(rule(evil, "FORGED")["status"], "pass", "{evil:#}");
    assert_eq!(rule(evil, "FORGED-WHOLE")["status"], "pass");
    assert_eq!(rule(evil, "BINARY")["status"], "pass");
    assert_eq!(rule(evil, "HUGE")["status"], "error");
    assert!(rule(evil, "HUGE")["message"].as_str().unwrap().contains("size limit"));
    assert_eq!(rule(evil, "SPACES")["status"], "pass");
    assert_eq!(rule(evil, "INJECT")["status"], "pass");
    assert_eq!(
        fleet.exec("evil", "test -e /tmp/rectify-injected; echo $?").stdout,
        b"1\n"
    );

    // The human report shows the escape sequence as text.
    let out = audit_text(&inv, &b, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\u{1b}'), "raw ESC reached the terminal report");
    assert!(text.contains("\\x1b[2J"), "{text}");
}

#[test]
fn ad_hoc_targets_use_the_users_ssh_files() {
    let fleet = Fleet::start(vec![HostSpec::new("adhoc")]);
    let home = fleet.dir().join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::copy(fleet.client_key(), home.join(".ssh/id_ed25519")).unwrap();
    std::fs::copy(fleet.known_hosts(), home.join(".ssh/known_hosts")).unwrap();
    let b = write(
        fleet.dir(),
        "b.yaml",
        "name: t\nrules:\n  - {id: HOST, command: hostname, expect: adhoc}\n",
    );
    let target = format!("root@{}:22", fleet.address("adhoc"));
    let out = run_rectify(
        &["audit", "-t", &target, "-b", b.to_str().unwrap(), "--format", "json"],
        &[("HOME", home.to_str().unwrap()), ("SSH_AUTH_SOCK", "")],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["hosts"][0]["name"], fleet.address("adhoc"));

    // A Host alias from ~/.ssh/config: HostName, User and IdentityFile apply.
    let alias_key = fleet.dir().join("alias_key");
    std::fs::copy(fleet.client_key(), &alias_key).unwrap();
    std::fs::remove_file(home.join(".ssh/id_ed25519")).unwrap();
    std::fs::write(
        home.join(".ssh/config"),
        format!(
            "Host adhoc-alias\n  HostName {}\n  User root\n  IdentityFile {}\n",
            fleet.address("adhoc"),
            alias_key.display()
        ),
    )
    .unwrap();
    let out = run_rectify(
        &[
            "audit",
            "-t",
            "adhoc-alias",
            "-b",
            b.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[("HOME", home.to_str().unwrap()), ("SSH_AUTH_SOCK", "")],
    );
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["hosts"][0]["name"], "adhoc-alias");
    assert_eq!(report["hosts"][0]["address"], fleet.address("adhoc"));
}

#[test]
fn shipped_ssh_baseline_passes_a_hardened_host_and_names_the_drift_of_a_default_one() {
    let hardened =
        "PermitEmptyPasswords no\nX11Forwarding no\nMaxAuthTries 4\nClientAliveInterval 300\nClientAliveCountMax 3\n\
                    LoginGraceTime 1m\nAllowTcpForwarding no\nIgnoreRhosts yes\nHostbasedAuthentication no\n\
                    PermitUserEnvironment no\nLogLevel VERBOSE\nMaxSessions 10\nBanner /etc/issue.net\nMACs -hmac-sha1*,umac-64*,hmac-md5*,hmac-ripemd160*,hmac-sha2-256,hmac-sha2-512,umac-128@openssh.com\nStrictModes yes\nUsePAM yes\nAllowAgentForwarding no\nDisableForwarding yes\nIgnoreUserKnownHosts yes\nAllowUsers root";
    let fleet = Fleet::start(vec![
        HostSpec::new("hardened").sshd(hardened).setup(
            "chmod 0600 /etc/ssh/sshd_config && sed -i 's/^MaxStartups .*/MaxStartups 10:30:60/' /etc/ssh/sshd_config",
        ),
        HostSpec::new("stock").sshd("X11Forwarding yes\nMaxAuthTries 6"),
    ]);
    let inv = fleet.write_inventory();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/ssh-hardening.yaml");
    let out = audit_json(&inv, &shipped, &[]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let hardened = host(&report, "hardened");
    assert_eq!(hardened["status"], "compliant", "{hardened:#}");
    let stock = host(&report, "stock");
    let failed = failing_rules(stock);
    for id in [
        "SSH-X11-FORWARDING",
        "SSH-MAX-AUTH-TRIES",
        "SSH-TCP-FORWARDING",
        "SSH-CONFIG-PERMISSIONS",
        "SSH-BANNER",
    ] {
        assert!(failed.contains(&id), "{id} should fail on the stock host: {failed:?}");
    }
    for id in ["SSH-ROOT-LOGIN", "SSH-PASSWORD-AUTH"] {
        assert!(!failed.contains(&id), "{id} passes on the stock host: {failed:?}");
    }
    assert_eq!(rule(stock, "SSH-MAX-AUTH-TRIES")["actual"], "6");
    assert_eq!(rule(stock, "SSH-MAX-AUTH-TRIES")["expected"], "<= 4");
}

fn keygen(path: &Path, passphrase: &str) {
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn encrypted_key_agent_hashed_known_hosts_and_nonstandard_port() {
    let keys = tempfile::tempdir().unwrap();
    let encrypted = keys.path().join("enc");
    let agent_key = keys.path().join("agent");
    keygen(&encrypted, "s3cret-phrase");
    keygen(&agent_key, "");
    let authorize = format!(
        "cat {} {} >> /etc/ssh/keys/root",
        encrypted.with_extension("pub").display(),
        agent_key.with_extension("pub").display()
    );
    let fleet = Fleet::start(vec![HostSpec::new("keys").setup(&authorize).sshd("Port 2222")]);
    let dir = fleet.dir().to_path_buf();
    let addr = fleet.address("keys");
    let b = write(
        &dir,
        "b.yaml",
        "name: t\nrules:\n  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}\n",
    );

    // Hashed known_hosts, with the [host]:port form for port 2222.
    let known = dir.join("known_hashed");
    std::fs::write(&known, format!("[{addr}]:2222 {}\n", fleet.host_key_line("keys"))).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(&known)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !std::fs::read_to_string(&known).unwrap().contains(&addr),
        "known_hosts should be hashed"
    );

    let inventory = |identity: &str| {
        format!(
            "defaults: {{user: root, known_hosts: {}{identity}}}\nhosts:\n  keys: {{address: {addr}, port: 2222}}\n",
            known.display()
        )
    };
    let empty_home = dir.join("home");
    std::fs::create_dir_all(&empty_home).unwrap();
    let home = empty_home.to_str().unwrap();

    // Encrypted key: the passphrase comes from the environment, never from argv.
    let inv = write(
        &dir,
        "enc.yaml",
        &inventory(&format!(", identity_file: {}", encrypted.display())),
    );
    let audit = |envs: &[(&str, &str)]| audit_json_with(&inv, &b, &[], envs);
    let out = audit(&[("RECTIFY_KEY_PASSPHRASE", "s3cret-phrase"), ("HOME", home)]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
    // Without it, and with no terminal to ask on, that host fails clearly.
    let out = audit(&[("HOME", home)]);
    assert_eq!(out.status.code(), Some(3));
    let e = json(&out)["hosts"][0]["error"].as_str().unwrap().to_string();
    assert!(e.contains("RECTIFY_KEY_PASSPHRASE"), "{e}");
    let out = audit(&[("RECTIFY_KEY_PASSPHRASE", "wrong"), ("HOME", home)]);
    assert_eq!(out.status.code(), Some(3));

    // ssh-agent: no identity_file, no ~/.ssh keys, only the agent holds the key.
    let sock = keys.path().join("agent.sock");
    let agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .spawn()
        .unwrap();
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = KillOnDrop(agent);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sock.exists() {
        assert!(std::time::Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&agent_key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let inv = write(&dir, "agent.yaml", &inventory(""));
    let audit = |envs: &[(&str, &str)]| audit_json_with(&inv, &b, &[], envs);
    let out = audit(&[("SSH_AUTH_SOCK", sock.to_str().unwrap()), ("HOME", home)]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = audit(&[("SSH_AUTH_SOCK", ""), ("HOME", home)]);
    assert_eq!(out.status.code(), Some(3), "no agent, no keys: auth must fail");
}
