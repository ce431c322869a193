//! sshd values beyond the text of the files, each compared with the
//! host's own `sshd -T [-C …]`: a key set nowhere shows sshd's compiled-in
//! default (every keyword of rectify's table for this machine's release);
//! algorithm lists edited with `+`/`-`/`^` in drop-ins and `Match` blocks
//! are the lists sshd uses; `MaxStartups` is judged as a triple; and
//! `source: daemon` asks the host's sshd itself, an error with sshd's own
//! words where it refuses (invalid configuration, not root).

use rectify::conftext::sshd_defaults::{self, Release};

use crate::fleet::report::{host, json, rule};
use crate::fleet::{audit_fleet, audit_json, audit_text, sh, write, Fleet, HostSpec};

const BARE: &str = "/etc/ssh/bare/sshd_config";
const DROPINS: &str = "ssh/sshd_config.d";

/// The value of `keyword` in an `sshd -T` output, its lines joined by one
/// space.
fn value(dump: &str, keyword: &str) -> String {
    dump.lines()
        .filter_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sshd -T -f FILE [-C SPEC]` on a host, all of it.
fn dump(fleet: &Fleet, name: &str, file: &str, spec: Option<&str>) -> String {
    let c = spec.map(|s| format!(" -C {s}")).unwrap_or_default();
    sh(fleet, name, &format!("sshd -T -f {file}{c} 2>&1"))
}

/// A main file that includes its drop-ins first, as Debian's does; this
/// machine's own drop-ins are kept out of the host's view.
fn debian(name: &str, own_lines: &str) -> HostSpec {
    HostSpec::new(name)
        .sshd(&format!("Include /etc/ssh/sshd_config.d/*.conf\n{own_lines}"))
        .setup("for f in /etc/ssh/sshd_config.d/*; do case $f in */1*.conf|*/2*.conf|*/5*.conf) ;; *) rm -f \"$f\" ;; esac; done")
}

#[test]
fn a_key_set_nowhere_shows_the_default_sshd_t_prints() {
    let fleet = Fleet::start(vec![HostSpec::new("bare").file(
        "ssh/bare/sshd_config",
        "# nothing set\n",
        0o644,
    )]);
    let version = sh(&fleet, "bare", "sshd -V 2>&1");
    let defaults = sshd_defaults::for_release(Release::parse(&version));
    assert_eq!(
        defaults.assumed, None,
        "this machine's sshd ({version}) has a table of its own"
    );
    let keywords: Vec<&str> = defaults.table.keywords().collect();
    let mut text = String::from("name: defaults\nrules:\n");
    for (i, k) in keywords.iter().enumerate() {
        text.push_str(&format!(
            "  - {{id: D{i}, file: {BARE}, setting: {k}, expect: {{regex: ''}}}}\n"
        ));
    }
    // What a rule makes of the default: it counts, unless `default: fails`.
    for extra in [
        "{id: PASSWORD, setting: PasswordAuthentication, expect: 'no'",
        "{id: X11, setting: X11Forwarding, expect: 'no'",
        "{id: X11-WRITTEN, setting: X11Forwarding, expect: 'no', default: fails",
        "{id: TRIES, setting: MaxAuthTries, expect: {max: 4}",
    ] {
        text.push_str(&format!("  - {extra}, file: {BARE}}}\n"));
    }
    let (code, report) = audit_fleet(&fleet, &text, &[]);
    assert_eq!(code, Some(1), "{report:#}");
    let bare = host(&report, "bare");
    let truth = dump(&fleet, "bare", BARE, None);
    for (i, k) in keywords.iter().enumerate() {
        let daemon = value(&truth, k);
        assert!(!daemon.is_empty(), "sshd -T prints no {k}:\n{truth}");
        let r = rule(bare, &format!("D{i}"));
        assert_eq!(r["actual"], format!("{daemon} (default)"), "{k}: {r:#}");
        assert_eq!(r["actual_default"], true, "{k}: {r:#}");
        assert_eq!(r["status"], "pass", "{k}: {r:#}");
    }
    // The verdicts agree with the daemon's values.
    assert_eq!(value(&truth, "passwordauthentication"), "yes");
    assert_eq!(rule(bare, "PASSWORD")["status"], "fail");
    assert_eq!(rule(bare, "PASSWORD")["actual"], "yes (default)");
    assert_eq!(value(&truth, "x11forwarding"), "no");
    assert_eq!(rule(bare, "X11")["status"], "pass");
    let written = rule(bare, "X11-WRITTEN");
    assert_eq!(written["status"], "fail", "{written:#}");
    assert!(
        written["message"].as_str().unwrap().contains("default: fails"),
        "{written:#}"
    );
    assert_eq!(value(&truth, "maxauthtries"), "6");
    assert_eq!(rule(bare, "TRIES")["status"], "fail");
    // A value a line sets is not marked.
    let main = audit_fleet(
        &fleet,
        "name: m\nrules:\n  - {id: SET, file: /etc/ssh/sshd_config, setting: PasswordAuthentication, expect: 'no'}\n",
        &[],
    )
    .1;
    let set = rule(host(&main, "bare"), "SET");
    assert_eq!(
        (set["actual"].as_str(), set.get("actual_default")),
        (Some("no"), None),
        "{set:#}"
    );

    // The terminal report says it the same way.
    let baseline = write(fleet.dir(), "text.yaml", &text);
    let out = audit_text(&fleet.write_inventory(), &baseline, &[]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("actual:   yes (default)"), "{shown}");
}

/// (rule id, keyword as written, `sshd -T` keyword, expectation in YAML,
/// `match:` or none).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const CBC: &str = "[aes128-cbc, aes192-cbc, aes256-cbc, 3des-cbc]";
const LIST_CASES: &[Case] = &[
    (
        "C-NOCBC",
        "Ciphers",
        "ciphers",
        "{none_of: [aes128-cbc, aes192-cbc, aes256-cbc, 3des-cbc]}",
        None,
    ),
    (
        "C-AEAD",
        "ciphers",
        "ciphers",
        "{subset_of: [chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com]}",
        None,
    ),
    (
        "M-NOSHA1",
        "MACs",
        "macs",
        "{none_of: [hmac-sha1, hmac-sha1-etm@openssh.com, hmac-md5, umac-64@openssh.com]}",
        None,
    ),
    (
        "M-ETM",
        "MACs",
        "macs",
        "{contains: [hmac-sha2-512-etm@openssh.com]}",
        None,
    ),
    (
        "K-FIRST",
        "KexAlgorithms",
        "kexalgorithms",
        "{regex: '^curve25519-sha256,'}",
        None,
    ),
    (
        "K-NODH1",
        "KexAlgorithms",
        "kexalgorithms",
        "{none_of: [diffie-hellman-group1-sha1, diffie-hellman-group14-sha1]}",
        None,
    ),
    (
        "H-NONIST",
        "HostKeyAlgorithms",
        "hostkeyalgorithms",
        "{none_of: [ecdsa-sha2-nistp256, ecdsa-sha2-nistp384]}",
        None,
    ),
    (
        "P-NORSA",
        "PubkeyAcceptedKeyTypes",
        "pubkeyacceptedalgorithms",
        "{none_of: [ssh-rsa]}",
        None,
    ),
    (
        "P-ALICE",
        "PubkeyAcceptedAlgorithms",
        "pubkeyacceptedalgorithms",
        "{none_of: [rsa-sha2-512, ssh-rsa]}",
        Some("user=alice,host=x,addr=10.1.2.3"),
    ),
    (
        "CA-ED",
        "CASignatureAlgorithms",
        "casignaturealgorithms",
        "{regex: '^ssh-ed25519,'}",
        None,
    ),
    (
        "HB-NORSA",
        "HostbasedAcceptedAlgorithms",
        "hostbasedacceptedalgorithms",
        "{none_of: [ssh-rsa]}",
        None,
    ),
];

/// Whether the daemon's value satisfies a case's expectation, by plain
/// set logic on the host's answer.
fn holds(id: &str, daemon: &str) -> bool {
    let words: Vec<&str> = daemon.split(',').collect();
    let none_of = |bad: &[&str]| !words.iter().any(|w| bad.contains(w));
    match id {
        "C-NOCBC" => none_of(&["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"]),
        "C-AEAD" => words.iter().all(|w| {
            [
                "chacha20-poly1305@openssh.com",
                "aes256-gcm@openssh.com",
                "aes128-gcm@openssh.com",
            ]
            .contains(w)
        }),
        "M-NOSHA1" => none_of(&[
            "hmac-sha1",
            "hmac-sha1-etm@openssh.com",
            "hmac-md5",
            "umac-64@openssh.com",
        ]),
        "M-ETM" => words.contains(&"hmac-sha2-512-etm@openssh.com"),
        "K-FIRST" => words.first() == Some(&"curve25519-sha256"),
        "K-NODH1" => none_of(&["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"]),
        "H-NONIST" => none_of(&["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"]),
        "P-NORSA" | "HB-NORSA" => none_of(&["ssh-rsa"]),
        "P-ALICE" => none_of(&["rsa-sha2-512", "ssh-rsa"]),
        "CA-ED" => words.first() == Some(&"ssh-ed25519"),
        other => panic!("no case {other}"),
    }
}

/// Three hosts whose drop-ins and `Match` blocks edit the default lists
/// every way sshd allows; the main file's own (later) lines lose.
fn list_hosts() -> Vec<HostSpec> {
    vec![
        debian("edits", "Ciphers aes128-cbc\n")
            .file(
                &format!("{DROPINS}/10-crypto.conf"),
                "# hardening, the short way\nCiphers -*cbc\nMACs +hmac-sha1\nKexAlgorithms ^curve25519-sha256\nHostKeyAlgorithms -*nistp*,sk-*\n",
                0o644,
            )
            .file(
                &format!("{DROPINS}/20-users.conf"),
                "PubkeyAcceptedKeyTypes +ssh-rsa\nCASignatureAlgorithms -rsa-sha2-256\n\
                 Match User alice\n  PubkeyAcceptedAlgorithms -rsa*,ssh-rsa*\n  HostbasedAcceptedAlgorithms ^ssh-ed25519\n",
                0o644,
            ),
        debian("weak", "")
            .file(
                &format!("{DROPINS}/10-legacy.conf"),
                "Ciphers +aes128-cbc,3des-cbc\nMACs=+hmac-md5\nkexalgorithms +diffie-hellman-group1-sha1\n\
                 HostbasedAcceptedAlgorithms +ssh-rsa\nMatch all\n  PubkeyAcceptedAlgorithms +ssh-rsa\n",
                0o644,
            )
            .file(
                &format!("{DROPINS}/20-users.conf"),
                "Match User alice\n  PubkeyAcceptedAlgorithms ^rsa-sha2-512,ssh-ed25519\n",
                0o644,
            ),
        debian("strict", "KexAlgorithms diffie-hellman-group14-sha1\n").file(
            &format!("{DROPINS}/10-strict.conf"),
            "Ciphers -*-ctr,chacha20*\nMACs \"-umac*,*sha1*\"\nKexAlgorithms -diffie-hellman*,ecdh*,sntrup*\n\
             CASignatureAlgorithms ^ssh-ed25519\nHostKeyAlgorithms -ecdsa*\n",
            0o644,
        ),
    ]
}

#[test]
fn edited_algorithm_lists_are_the_lists_sshd_uses() {
    let fleet = Fleet::start(list_hosts());
    let mut text = String::from("name: lists\nrules:\n");
    for (id, key, _, expect, conn) in LIST_CASES {
        let m = conn.map_or(String::new(), |_| {
            ", match: {user: alice, host: x, addr: 10.1.2.3}".into()
        });
        text.push_str(&format!(
            "  - {{id: {id}, file: /etc/ssh/sshd_config, setting: {key}, expect: {expect}{m}}}\n"
        ));
    }
    assert!(text.contains(CBC));
    let (code, report) = audit_fleet(&fleet, &text, &[]);
    assert_eq!(code, Some(1), "{report:#}");
    let mut failing = Vec::new();
    for name in ["edits", "weak", "strict"] {
        let h = host(&report, name);
        for (id, _, keyword, _, conn) in LIST_CASES {
            let r = rule(h, id);
            // Every connection: the global value and those the `Match User
            // alice` blocks give; or the rule's one connection.
            let specs: Vec<Option<&str>> = match conn {
                Some(c) => vec![Some(c)],
                None => vec![
                    None,
                    Some("user=alice,host=x,addr=10.1.2.3"),
                    Some("user=bob,host=x,addr=10.1.2.3"),
                ],
            };
            let answers: Vec<String> = specs
                .iter()
                .map(|s| value(&dump(&fleet, name, "/etc/ssh/sshd_config", *s), keyword))
                .collect();
            assert!(answers.iter().all(|a| !a.is_empty()), "{name} {keyword}: {answers:?}");
            let daemon_pass = answers.iter().all(|a| holds(id, a));
            let want = if daemon_pass { "pass" } else { "fail" };
            assert_eq!(
                r["status"], want,
                "{name} {id}: sshd says {answers:?}, rectify says {r:#}"
            );
            // The list rectify shows is the one sshd prints (for the rule's
            // connection, or globally), before where it comes from.
            let shown = r["actual"].as_str().unwrap_or_default();
            let first = shown.split([' ', ';']).next().unwrap_or_default();
            assert_eq!(first, answers[0], "{name} {id}: {r:#}");
            if !daemon_pass {
                failing.push(format!("{name} {id}"));
            }
        }
    }
    // Neither all passing nor all failing: the comparison is not vacuous.
    assert!(failing.len() >= 8 && failing.len() <= 25, "{failing:?}");
    assert!(failing.contains(&"weak C-NOCBC".to_string()), "{failing:?}");
    assert!(!failing.contains(&"edits C-NOCBC".to_string()), "{failing:?}");
    // A Match block's edited list that fails is named with its criteria.
    let weak_rsa = rule(host(&report, "weak"), "P-NORSA");
    assert!(
        weak_rsa["actual"]
            .as_str()
            .unwrap()
            .contains("(from /etc/ssh/sshd_config.d/10-legacy.conf:6)"),
        "{weak_rsa:#}"
    );
    let edits = rule(host(&report, "edits"), "HB-NORSA");
    assert_eq!(edits["status"], "pass", "{edits:#}");
}

#[test]
fn max_startups_is_judged_as_the_triple_sshd_uses() {
    // A configuration beside the running one (whose harness line would
    // override these: a later MaxStartups line wins in sshd).
    const MS: &str = "/etc/ssh/ms/sshd_config";
    let ms_host = |name: &str, main: &str| HostSpec::new(name).file("ssh/ms/sshd_config", main, 0o644);
    let hosts = vec![
        // The drop-in's line comes first and loses to the main file's.
        ms_host("ten", "Include /etc/ssh/ms/conf.d/*.conf\nMaxStartups 10\n").file(
            "ssh/ms/conf.d/10-limits.conf",
            "MaxStartups 30:30:100\n",
            0o644,
        ),
        ms_host("within", "MaxStartups 10:30:60\n"),
        ms_host("rate", "maxstartups 5:50:60\n"),
        ms_host("full", "MaxStartups=10:30:61\n"),
        ms_host("unset", "# sshd's default\n"),
    ];
    let fleet = Fleet::start(hosts);
    let mut baseline = String::from("name: ms\nrules:\n");
    for (id, expect) in [
        ("MAX", "{max: '10:30:60'}"),
        ("EQ", "'10:30:10'"),
        ("RANGE", "{min: '1:10:10', max: '10:30:60'}"),
    ] {
        baseline.push_str(&format!(
            "  - {{id: {id}, file: {MS}, setting: MaxStartups, expect: {expect}}}\n"
        ));
    }
    let (_, report) = audit_fleet(&fleet, &baseline, &[]);
    let triple = |s: &str| -> [u64; 3] {
        let v: Vec<u64> = s.split(':').map(|n| n.parse().unwrap()).collect();
        [v[0], v[1], v[2]]
    };
    let mut seen = Vec::new();
    for name in ["ten", "within", "rate", "full", "unset"] {
        let h = host(&report, name);
        let daemon = value(&dump(&fleet, name, MS, None), "maxstartups");
        let t = triple(&daemon);
        for id in ["MAX", "EQ", "RANGE"] {
            let pass = match id {
                "MAX" => t[0] <= 10 && t[1] <= 30 && t[2] <= 60,
                "EQ" => t == [10, 30, 10],
                _ => (0..3).all(|i| t[i] >= [1, 10, 10][i] && t[i] <= [10, 30, 60][i]),
            };
            let r = rule(h, id);
            assert_eq!(
                r["status"],
                if pass { "pass" } else { "fail" },
                "{name} {id}: sshd says {daemon}, {r:#}"
            );
            let shown = r["actual"].as_str().unwrap();
            assert_eq!(shown.split(' ').next().unwrap(), daemon, "{name} {id}: {r:#}");
            seen.push(format!("{name} {id} {daemon} {}", r["status"].as_str().unwrap()));
        }
    }
    // `MaxStartups 10` is 10:30:10 for sshd and for the rule; each number
    // is bounded.
    for line in [
        "ten EQ 10:30:10 pass",
        "within MAX 10:30:60 pass",
        "rate MAX 5:50:60 fail",
        "full MAX 10:30:61 fail",
        "unset MAX 10:30:100 fail",
    ] {
        assert!(seen.contains(&line.to_string()), "{line}: {seen:?}");
    }
}

#[test]
fn source_daemon_judges_what_the_hosts_sshd_prints_and_says_why_it_cannot() {
    let daemon_host = debian("asked", "MaxAuthTries 3\n")
        .file(
            &format!("{DROPINS}/50-cloud-init.conf"),
            "PasswordAuthentication no\nCiphers -*cbc,aes128-ctr\n",
            0o644,
        )
        .file(
            &format!("{DROPINS}/20-exceptions.conf"),
            // `Match Group`: sshd judges it from the host's groups, which
            // the file reader cannot; sshd's answer is still the verdict.
            "Match Address 10.0.0.0/8\n  PasswordAuthentication yes\n  MaxAuthTries 10\n\
             Match Group staff\n  PasswordAuthentication yes\n",
            0o644,
        )
        .file(
            "ssh/broken/sshd_config",
            "PermitRootLogin no\nNoSuchKeyword yes\n",
            0o644,
        )
        .user("deploy")
        .setup(
            "for f in /etc/ssh/sshd_config.d/*; do case $f in */2*.conf|*/5*.conf) ;; *) rm -f \"$f\" ;; esac; done; \
             useradd -M -s /bin/sh deploy && usermod -p '*' deploy",
        );
    let fleet = Fleet::start(vec![daemon_host]);
    let main = "/etc/ssh/sshd_config";
    let broken = "/etc/ssh/broken/sshd_config";
    let mut baseline = String::from("name: daemon\nrules:\n");
    for (id, file, rest) in [
        ("PA", main, "setting: PasswordAuthentication, expect: 'no', source: daemon"),
        (
            "PA-OUT",
            main,
            "setting: PasswordAuthentication, expect: 'no', source: daemon, match: {user: bob, host: x, addr: 192.0.2.1}",
        ),
        (
            "PA-IN",
            main,
            "setting: PasswordAuthentication, expect: 'no', source: daemon, match: {user: bob, host: x, addr: 10.1.1.1}",
        ),
        ("TRIES", main, "setting: MaxAuthTries, expect: {max: 4}, source: daemon"),
        ("CIPHERS", main, &format!("setting: Ciphers, expect: {{none_of: {CBC}}}, source: daemon")),
        ("GRACE", main, "setting: LoginGraceTime, expect: {min: 1, max: 60}, source: daemon"),
        ("BROKEN", broken, "setting: PermitRootLogin, expect: 'no', source: daemon"),
        ("BROKEN-FILES", broken, "setting: PermitRootLogin, expect: 'no'"),
    ] {
        baseline.push_str(&format!("  - {{id: {id}, file: {file}, {rest}}}\n"));
    }
    let (code, report) = audit_fleet(&fleet, &baseline, &[]);
    assert_eq!(code, Some(1), "{report:#}");
    let h = host(&report, "asked");
    let global = dump(&fleet, "asked", main, None);
    let outside = dump(&fleet, "asked", main, Some("user=bob,host=x,addr=192.0.2.1"));
    let inside = dump(&fleet, "asked", main, Some("user=bob,host=x,addr=10.1.1.1"));

    // Globally no, but the Match Address block says yes: every connection
    // does not get `no`, and the block is named.
    assert_eq!(value(&global, "passwordauthentication"), "no");
    assert_eq!(value(&inside, "passwordauthentication"), "yes");
    let pa = rule(h, "PA");
    assert_eq!(pa["status"], "fail", "{pa:#}");
    assert!(
        pa["actual"]
            .as_str()
            .unwrap()
            .contains("(Match Address 10.0.0.0/8 at /etc/ssh/sshd_config.d/20-exceptions.conf:1)"),
        "{pa:#}"
    );
    assert!(
        pa["actual"].as_str().unwrap().contains("yes (Match Group staff at "),
        "{pa:#}"
    );
    for (id, dump) in [("PA-OUT", &outside), ("PA-IN", &inside)] {
        let daemon = value(dump, "passwordauthentication");
        let r = rule(h, id);
        assert_eq!(r["actual"], daemon, "{r:#}");
        assert_eq!(r["status"], if daemon == "no" { "pass" } else { "fail" }, "{r:#}");
    }
    // Set by the main file globally (3), by the block to 10: sshd -T says 3.
    assert_eq!(value(&global, "maxauthtries"), "3");
    let tries = rule(h, "TRIES");
    assert_eq!(tries["status"], "fail", "{tries:#}");
    assert!(
        tries["actual"].as_str().unwrap().starts_with("3; 10 (Match Address"),
        "{tries:#}"
    );
    let ciphers = rule(h, "CIPHERS");
    assert_eq!(ciphers["actual"], value(&global, "ciphers"), "{ciphers:#}");
    assert_eq!(ciphers["status"], "pass");
    // Set nowhere: sshd's own default, marked as such.
    assert_eq!(value(&global, "logingracetime"), "120");
    let grace = rule(h, "GRACE");
    assert_eq!(
        (grace["status"].as_str(), grace["actual"].as_str()),
        (Some("fail"), Some("120 (default)")),
        "{grace:#}"
    );
    assert_eq!(grace["actual_default"], true);

    // An invalid configuration: sshd's own first line, not the file reader.
    let refusal = sh(
        &fleet,
        "asked",
        "sshd -T -f /etc/ssh/broken/sshd_config 2>&1 >/dev/null | head -n 1",
    );
    assert!(refusal.contains("Bad configuration option"), "{refusal}");
    let broken = rule(h, "BROKEN");
    assert_eq!(broken["status"], "error", "{broken:#}");
    assert!(
        broken["message"].as_str().unwrap().contains(refusal.trim()),
        "{broken:#}"
    );
    assert_eq!(rule(h, "BROKEN-FILES")["status"], "pass");

    // Without root, sshd -T cannot read the host keys: an error in sshd's
    // words, the same the user would get.
    let as_deploy = sh(
        &fleet,
        "asked",
        "su -s /bin/sh deploy -c '/usr/sbin/sshd -T -f /etc/ssh/sshd_config' 2>&1 >/dev/null | head -n 1",
    );
    assert!(!as_deploy.trim().is_empty());
    let inventory = format!(
        "defaults: {{user: deploy, identity_file: {}, known_hosts: {}}}\nhosts:\n  asked: {{address: {}}}\n",
        fleet.client_key().display(),
        fleet.known_hosts().display(),
        fleet.address("asked")
    );
    let inventory = write(fleet.dir(), "deploy.yaml", &inventory);
    let baseline = write(fleet.dir(), "daemon.yaml", &baseline);
    let out = audit_json(&inventory, &baseline, &[]);
    let report = json(&out);
    let pa = rule(host(&report, "asked"), "PA");
    assert_eq!(pa["status"], "error", "{pa:#}");
    assert!(
        pa["message"].as_str().unwrap().contains(as_deploy.trim()),
        "sshd says {as_deploy:?}: {pa:#}"
    );
}

#[test]
fn source_and_default_are_checked_when_the_baseline_loads() {
    let fleet = Fleet::start(vec![HostSpec::new("one")]);
    for (rule_text, expected) in [
        ("{id: A, file: /etc/ssh/sshd_config, setting: Port, expect: '22', source: kernel}", "files or daemon"),
        ("{id: A, file: /etc/ssh/sshd_config, setting: Port, source: daemon}", "needs `expect`"),
        ("{id: A, file: /etc/app.conf, setting: Port, expect: '22', default: fails}", "sshd configurations"),
        ("{id: A, file: /etc/ssh/sshd_config, setting: Port, expect: '22', default: maybe}", "counts or fails"),
        (
            "{id: A, file: /etc/ssh/sshd_config, setting: Port, expect: '22', source: daemon, match: {user: 'a,addr=1.2.3.4', host: x, addr: 10.0.0.1}}",
            "cannot hold",
        ),
    ] {
        let baseline = write(fleet.dir(), "bad.yaml", &format!("name: bad\nrules:\n  - {rule_text}\n"));
        let out = audit_json(&fleet.write_inventory(), &baseline, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rule_text}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains("bad.yaml:3:"), "{rule_text}: {stderr}");
    }
}
