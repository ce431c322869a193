//! `when:` on rules and baselines: hosts that look like different distros
//! (their own `/etc/os-release`), with and without a file, a package, a
//! service, and with inventory vars. Every expected verdict is derived
//! from the host's own answer (`cat /etc/os-release`, `dpkg-query -W`,
//! `test -e`), never from rectify. Also the list and range expectations on
//! real sshd configurations, judged against `sshd -T`.

use std::path::Path;
use std::process::Command;

use crate::fleet::report::{host, json, rule};
use crate::fleet::{audit_fleet, audit_json, rectify_bin, sh, write, Fleet, HostSpec};

const DEBIAN: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                      VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
const UBUNTU: &str = "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\n\
                      VERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\n";
const ALMA: &str = "NAME=\"AlmaLinux\"\nVERSION=\"9.3 (Shamrock Pampas Cat)\"\nID=\"almalinux\"\n\
                    ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPLATFORM_ID=\"platform:el9\"\n";
const ALPINE: &str = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n";

/// One key of the host's os-release, as a shell reading it sees it: the
/// file sourced in a subshell, the way systemd documents reading it.
fn os_release(fleet: &Fleet, name: &str, key: &str) -> String {
    sh(
        fleet,
        name,
        &format!("f=/etc/os-release; [ -e $f ] || f=/usr/lib/os-release; (. $f; printf %s \"${key}\")"),
    )
}

fn status<'a>(report: &'a serde_json::Value, host_name: &str, id: &str) -> &'a str {
    rule(host(report, host_name), id)["status"].as_str().unwrap()
}

fn message<'a>(report: &'a serde_json::Value, host_name: &str, id: &str) -> &'a str {
    rule(host(report, host_name), id)["message"].as_str().unwrap_or("")
}

#[test]
fn rules_apply_by_os_file_package_service_command_and_var() {
    let fleet = Fleet::start(vec![
        HostSpec::new("deb")
            .file("os-release", DEBIAN, 0o644)
            .file("rectify-marker", "x\n", 0o644),
        HostSpec::new("ubu").file("os-release", UBUNTU, 0o644),
        HostSpec::new("alma").file("os-release", ALMA, 0o644),
        HostSpec::new("alp").file("os-release", ALPINE, 0o644),
        // No /etc/os-release: the fallback /usr/lib/os-release (this
        // machine's) is what the host says it is.
        HostSpec::new("bare").setup("rm -f /etc/os-release"),
    ]);
    let hosts = ["deb", "ubu", "alma", "alp", "bare"];
    let inventory = fleet
        .inventory_yaml()
        .replace("  deb: {address:", "  deb: {vars: {role: web}, address:")
        .replace("  alma: {address:", "  alma: {vars: {role: db}, address:");
    let inventory = write(fleet.dir(), "inv-vars.yaml", &inventory);
    let baseline = write(
        fleet.dir(),
        "when.yaml",
        r#"
name: when
rules:
  - {id: DEB-FAMILY, when: {os: [debian, ubuntu]}, command: "true", exit_code: 0}
  - {id: RHEL9, when: {os_like: rhel, version: ">= 9"}, command: "true", exit_code: 0}
  - {id: DEB12, when: {os: debian, version: ">= 12"}, command: "true", exit_code: 0}
  - {id: LIKE-DEBIAN, when: {os_like: debian}, command: "true", exit_code: 0}
  - {id: MARKED, when: {file: /etc/rectify-marker}, command: "false", exit_code: 0}
  - {id: UNMARKED, when: {not: {file: /etc/rectify-marker}}, command: "true", exit_code: 0}
  - {id: HAS-SSHD-PKG, when: {package: openssh-server}, command: "true", exit_code: 0}
  - {id: NO-SUCH-PKG, when: {package: rectify-no-such-package}, command: "true", exit_code: 0}
  - {id: HAS-SSH-SVC, when: {service: ssh}, command: "true", exit_code: 0}
  - {id: NO-SUCH-SVC, when: {service: rectify-no-such-service}, command: "true", exit_code: 0}
  - {id: CMD, when: {command: "test -e /etc/rectify-marker"}, command: "true", exit_code: 0}
  - {id: WEB, when: {var: {role: web}}, command: "true", exit_code: 0}
  - {id: ALL-OF, when: [{os_like: debian}, {not: {var: {role: web}}}], command: "true", exit_code: 0}
"#,
    );
    let out = audit_json(&inventory, &baseline, &[]);
    let report = json(&out);
    // MARKED fails on deb (drift); every other rule passes or is skipped.
    assert_eq!(out.status.code(), Some(1), "{report:#}");

    for h in hosts {
        let id = os_release(&fleet, h, "ID");
        let like = os_release(&fleet, h, "ID_LIKE");
        let version = os_release(&fleet, h, "VERSION_ID");
        let family = [id.as_str()]
            .into_iter()
            .chain(like.split_whitespace())
            .collect::<Vec<_>>();
        let major: u32 = version.split('.').next().unwrap().parse().unwrap();
        let marker = sh(&fleet, h, "test -e /etc/rectify-marker && echo yes") == "yes\n";
        let pkg = sh(&fleet, h, "dpkg-query -W -f='${Status}' openssh-server 2>/dev/null").ends_with(" installed");
        let svc = sh(&fleet, h, "test -e /etc/init.d/ssh && echo yes") == "yes\n";
        let web = h == "deb";
        let expect = |id_: &str, applies: bool, when_applies: &str| {
            let got = status(&report, h, id_);
            let want = if applies { when_applies } else { "skipped" };
            assert_eq!(
                got, want,
                "{id_} on {h} (os {id}, like {like:?}, version {version}): {report:#}"
            );
            if !applies {
                let m = message(&report, h, id_);
                assert!(m.starts_with("not applicable: "), "{id_} on {h}: {m:?}");
            }
        };
        expect("DEB-FAMILY", ["debian", "ubuntu"].contains(&id.as_str()), "pass");
        expect("RHEL9", family.contains(&"rhel") && major >= 9, "pass");
        expect("DEB12", id == "debian" && major >= 12, "pass");
        expect("LIKE-DEBIAN", family.contains(&"debian"), "pass");
        expect("MARKED", marker, "fail");
        expect("UNMARKED", !marker, "pass");
        expect("HAS-SSHD-PKG", pkg, "pass");
        expect("NO-SUCH-PKG", false, "pass");
        expect("HAS-SSH-SVC", svc, "pass");
        expect("NO-SUCH-SVC", false, "pass");
        expect("CMD", marker, "pass");
        expect("WEB", web, "pass");
        expect("ALL-OF", family.contains(&"debian") && !web, "pass");
    }
    // The reasons name what the host is and what the rule wants.
    assert_eq!(
        message(&report, "alp", "DEB-FAMILY"),
        "not applicable: os is alpine, rule wants debian, ubuntu"
    );
    assert_eq!(
        message(&report, "alma", "MARKED"),
        "not applicable: file /etc/rectify-marker does not exist"
    );
    assert_eq!(
        message(&report, "ubu", "NO-SUCH-PKG"),
        "not applicable: package rectify-no-such-package is not installed"
    );
    // Skipped rules are counted as such, not as drift.
    let alp = host(&report, "alp");
    assert_eq!(alp["status"], "compliant", "{alp:#}");
}

#[test]
fn a_baseline_that_does_not_apply_skips_every_rule_and_is_not_drift() {
    let fleet = Fleet::start(vec![
        HostSpec::new("marked").file("rectify-marker", "x\n", 0o644),
        HostSpec::new("plain"),
    ]);
    let text = "name: marked-only\nwhen: {file: /etc/rectify-marker}\nrules:\n\
                - {id: A, command: \"false\", exit_code: 0}\n\
                - {id: B, when: {os: debian}, file: /etc/rectify-marker, setting: x, expect: y}\n";
    let (code, report) = audit_fleet(&fleet, text, &[]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        sh(&fleet, "plain", "test -e /etc/rectify-marker || echo missing"),
        "missing\n"
    );
    for id in ["A", "B"] {
        assert_eq!(status(&report, "plain", id), "skipped");
        assert_eq!(
            message(&report, "plain", id),
            "not applicable: baseline marked-only: file /etc/rectify-marker does not exist"
        );
        assert_eq!(status(&report, "marked", id), "fail");
    }
    assert_eq!(host(&report, "plain")["status"], "compliant");

    // Not applicable anywhere: every rule skipped, exit 0.
    let text = text.replace("rectify-marker}", "rectify-nowhere}");
    let (code, report) = audit_fleet(&fleet, &text, &[]);
    assert_eq!(code, Some(0), "{report:#}");
    let summary = &report["summary"];
    assert_eq!(
        (
            &summary["compliant"],
            &summary["drift"],
            &summary["rules_fail"],
            &summary["rules_skipped"]
        ),
        (&2.into(), &0.into(), &0.into(), &4.into()),
        "{summary:#}"
    );
    for h in ["marked", "plain"] {
        assert_eq!(status(&report, h, "A"), "skipped");
        assert_eq!(host(&report, h)["status"], "compliant");
    }
}

#[test]
fn a_bad_when_is_an_input_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(
        dir.path(),
        "b.yaml",
        "name: t\nrules:\n  - id: A\n    when: {os: debian, osx: 1}\n    command: \"true\"\n    exit_code: 0\n",
    );
    let out = Command::new(rectify_bin())
        .args(["validate", b.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("b.yaml:4:"), "{stderr}");
    assert!(stderr.contains("osx"), "{stderr}");
}

/// The shipped ssh baseline on a machine without sshd: run `--local` in a
/// mount namespace where /etc/ssh is an empty tmpfs.
#[test]
fn the_shipped_ssh_baseline_skips_a_machine_without_sshd() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/ssh-hardening.yaml");
    let script = format!(
        "mount -t tmpfs tmpfs /etc/ssh && test ! -e /etc/ssh/sshd_config && \
         NO_COLOR=1 RECTIFY_STATE_DIR=$(mktemp -d) '{}' audit --local -b '{}' --format json",
        rectify_bin().display(),
        shipped.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let hosts = report["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1);
    let results = hosts[0]["results"].as_array().unwrap();
    assert!(results.len() >= 10, "{report:#}");
    for r in results {
        assert_eq!(r["status"], "skipped", "{r:#}");
        assert_eq!(
            r["message"],
            "not applicable: baseline ssh-hardening: file /etc/ssh/sshd_config does not exist"
        );
    }
}

/// `sshd -T`'s value of `keyword` on that host.
fn sshd_t(fleet: &Fleet, name: &str, keyword: &str) -> String {
    let out = sh(fleet, name, "/usr/sbin/sshd -T -f /etc/ssh/sshd_config");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("sshd -T has no {keyword}: {out}"))
        .to_string()
}

#[test]
fn ranges_and_lists_on_sshd_settings_agree_with_sshd() {
    let fleet = Fleet::start(vec![
        HostSpec::new("strict").sshd(
            "LoginGraceTime 1m\nCiphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\nAllowUsers root alice",
        ),
        HostSpec::new("loose").sshd("LoginGraceTime 0\nCiphers aes128-cbc,aes256-gcm@openssh.com\nAllowUsers root"),
    ]);
    let (_, report) = audit_fleet(
        &fleet,
        r#"
name: lists
rules:
  - {id: GRACE, file: /etc/ssh/sshd_config, setting: LoginGraceTime, expect: {min: 1, max: 60}}
  - {id: NO-CBC, file: /etc/ssh/sshd_config, setting: Ciphers, expect: {none_of: [aes128-cbc, aes256-cbc, 3des-cbc]}}
  - {id: AEAD-ONLY, file: /etc/ssh/sshd_config, setting: Ciphers, expect: {subset_of: [chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com]}}
  - {id: ALICE, file: /etc/ssh/sshd_config, setting: AllowUsers, expect: {contains: alice}}
"#,
        &[],
    );
    for h in ["strict", "loose"] {
        // sshd -T prints LoginGraceTime in seconds.
        let grace: u64 = sshd_t(&fleet, h, "logingracetime").parse().unwrap();
        let ciphers = sshd_t(&fleet, h, "ciphers");
        let ciphers: Vec<&str> = ciphers.split(',').collect();
        let users_out = sh(
            &fleet,
            h,
            "/usr/sbin/sshd -T -f /etc/ssh/sshd_config | grep '^allowusers '",
        );
        let users: Vec<&str> = users_out
            .lines()
            .filter_map(|l| l.strip_prefix("allowusers "))
            .collect();
        let verdict = |ok: bool| if ok { "pass" } else { "fail" };
        assert_eq!(
            status(&report, h, "GRACE"),
            verdict((1..=60).contains(&grace)),
            "{h}: {grace}"
        );
        assert_eq!(
            status(&report, h, "NO-CBC"),
            verdict(!ciphers.iter().any(|c| c.ends_with("-cbc"))),
            "{h}: {ciphers:?}"
        );
        assert_eq!(
            status(&report, h, "AEAD-ONLY"),
            verdict(ciphers.iter().all(|c| c.contains("gcm") || c.starts_with("chacha20"))),
            "{h}: {ciphers:?}"
        );
        assert_eq!(
            status(&report, h, "ALICE"),
            verdict(users.contains(&"alice")),
            "{h}: {users:?}"
        );
    }
}
