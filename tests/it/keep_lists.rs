//! `keep:` of the shipped ssh-hardening playbook judges an sshd algorithm
//! list by the list the daemon uses: a hand-written edit of the release's
//! default (`Ciphers -3des-cbc,…`) that already leaves no CBC cipher stays
//! as written, one that adds a CBC cipher is rewritten. Judged by the
//! host's own `sshd -T` and the files on the endpoint.

use std::path::Path;

use crate::fleet::report::{host, json};
use crate::fleet::{apply_json, run_rectify, sh, stat, Fleet, HostSpec};

const DROP_IN: &str = "/etc/ssh/sshd_config.d/50-ciphers.conf";

/// A host whose drop-in (sshd reads it first, through the `Include` at the
/// top of sshd_config, as Debian and Ubuntu ship it) sets `ciphers`; the
/// drop-in's mtime is set in the past so that a rewrite shows.
fn spec(name: &str, ciphers: &str) -> HostSpec {
    HostSpec::new(name)
        .sshd("Include /etc/ssh/sshd_config.d/*.conf")
        .setup(&format!(
            "mkdir -p /etc/ssh/sshd_config.d && printf '# local policy\\nCiphers {ciphers}\\n' > {DROP_IN} && touch -d '2020-01-02 03:04:05' {DROP_IN}"
        ))
}

/// `sshd -T`'s value of `keyword` (lower case) on that host.
fn sshd_t(fleet: &Fleet, name: &str, keyword: &str) -> String {
    let out = sh(fleet, name, "/usr/sbin/sshd -T -f /etc/ssh/sshd_config");
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{keyword} ")))
        .unwrap_or_else(|| panic!("sshd -T has no {keyword}: {out}"))
        .to_string()
}

fn ciphers(fleet: &Fleet, name: &str) -> String {
    sshd_t(fleet, name, "ciphers")
}

#[test]
fn a_compliant_list_edit_stays_and_a_loosening_one_is_rewritten() {
    let fleet = Fleet::start(vec![
        spec("removes", "-3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc"),
        spec("adds", "+3des-cbc"),
    ]);
    // The host's own word before: the removal leaves no CBC cipher, the
    // addition brings 3des-cbc in.
    assert!(
        !ciphers(&fleet, "removes").contains("cbc"),
        "{}",
        ciphers(&fleet, "removes")
    );
    assert!(
        ciphers(&fleet, "adds").contains("3des-cbc"),
        "{}",
        ciphers(&fleet, "adds")
    );
    let removes_text = fleet.read_file("removes", DROP_IN);
    let removes_stat = stat(&fleet, "removes", DROP_IN);

    let inv = fleet.write_inventory();
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/ssh-hardening.yaml");
    let out = apply_json(&inv, &playbook, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for name in ["removes", "adds"] {
        assert_eq!(host(&report, name)["status"], "changed", "{report}");
    }

    // The compliant edit: not a byte, not its mtime.
    assert_eq!(
        String::from_utf8_lossy(&fleet.read_file("removes", DROP_IN)),
        String::from_utf8_lossy(&removes_text)
    );
    assert_eq!(stat(&fleet, "removes", DROP_IN), removes_stat);
    assert!(
        !ciphers(&fleet, "removes").contains("cbc"),
        "{}",
        ciphers(&fleet, "removes")
    );

    // The loosening edit: its line rewritten where it is, and the daemon
    // uses no CBC cipher.
    let adds = String::from_utf8(fleet.read_file("adds", DROP_IN)).unwrap();
    assert_eq!(adds, "# local policy\nCiphers -*-cbc*,arcfour*\n");
    assert!(!ciphers(&fleet, "adds").contains("cbc"), "{}", ciphers(&fleet, "adds"));
}

/// The two MACs rules share the key: the level-1 step writes a removal
/// edit, the level-2 step an explicit list of the three encrypt-then-MAC
/// MACs. Fixing level 1, then level 2, then applying the whole playbook
/// (whose level-1 step runs again) and fixing level 1 again must leave the
/// level-2 list in place.
#[test]
fn the_level_one_macs_step_keeps_the_stricter_level_two_list() {
    const ETM: [&str; 3] = [
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com",
        "umac-128-etm@openssh.com",
    ];
    let fleet = Fleet::start(vec![HostSpec::new("pair")]);
    let inv = fleet.write_inventory().display().to_string();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let baseline = root.join("baselines/ssh-hardening.yaml").display().to_string();
    let playbook = root.join("playbooks/ssh-hardening.yaml");
    let fix = |rule: &str| {
        let out = run_rectify(
            &["fix", "-b", &baseline, "-i", &inv, "--rule", rule, "--format", "json"],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", json(&out));
    };
    let macs_lines = || {
        let config = String::from_utf8(fleet.read_file("pair", "/etc/ssh/sshd_config")).unwrap();
        config
            .lines()
            .filter(|l| l.starts_with("MACs"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // Stock 9.2 offers hmac-sha1 and umac-64: level 1 removes them.
    assert!(sshd_t(&fleet, "pair", "macs").contains("hmac-sha1"));
    fix("SSH-MACS-NO-WEAK");
    assert_eq!(macs_lines(), ["MACs -hmac-md5*,hmac-ripemd160*,hmac-sha1*,umac-64*"]);
    let level1 = sshd_t(&fleet, "pair", "macs");
    assert!(
        !level1.contains("sha1") && !level1.contains("umac-64") && level1.contains("hmac-sha2-256,"),
        "{level1}"
    );
    // Level 2 leaves only the encrypt-then-MAC ones.
    fix("SSH-MACS-ETM-ONLY");
    let strict = vec![format!("MACs {}", ETM.join(","))];
    assert_eq!(macs_lines(), strict);
    // The whole playbook (level-1 step included) and level 1 again.
    let out = apply_json(Path::new(&inv), &playbook, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", json(&out));
    fix("SSH-MACS-NO-WEAK");
    assert_eq!(macs_lines(), strict);
    let after: Vec<String> = sshd_t(&fleet, "pair", "macs").split(',').map(String::from).collect();
    assert!(after.iter().all(|m| ETM.contains(&m.as_str())), "{after:?}");
    // The second apply changes nothing at all.
    let out = apply_json(Path::new(&inv), &playbook, &[]);
    let report = json(&out);
    assert_eq!(host(&report, "pair")["status"], "unchanged", "{report}");
}
