//! The shipped kernel and system content on real hosts: the kernel-network,
//! kernel-hardening, kernel-modules, filesystems, core-dumps and banners
//! baselines. For each, hosts drifted on every rule fail each; `fix` makes
//! every rule with an automatic remediation pass and names the manual
//! ones, running nothing for them; a compliant host, stricter in places, is
//! left untouched (mtimes too). Verdicts and results are checked against
//! the host's own tools: procps `sysctl` (live) and `sysctl --system`
//! (persisted), kmod's `modprobe -n -v`, the kernel itself (a device node
//! that cannot be opened, a program that cannot run, a setuid bit that does
//! not count), pam_limits through `su`, and CIS's own grep for banners.
//!
//! Live kernel values are shared by every fleet host and this machine, so
//! the sysctl hosts get a tmpfs over /proc/sys in their own mount
//! namespace, one plain file per key: rectify and procps read and write
//! those files there, and the real kernel is never written.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{run_rectify, sh, stat, wait_until, Fleet, HostSpec};
use crate::sysctl_persisted::procps_loads;
use std::time::Duration;

fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `rectify CMD -i INVENTORY --format json --limit HOSTS -b …` for the
/// shipped baselines named, plus `extra`.
fn run(fleet: &Fleet, cmd: &str, limit: &str, baselines: &[&str], extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let inv = fleet.write_inventory().display().to_string();
    let mut args: Vec<String> = vec![
        cmd.into(),
        "-i".into(),
        inv,
        "--format".into(),
        "json".into(),
        "--limit".into(),
        limit.into(),
    ];
    for b in baselines {
        args.push("-b".into());
        args.push(root().join(format!("baselines/{b}.yaml")).display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_rectify(&args, &[]);
    (out.status.code(), json(&out))
}

/// The ids of a host's results.
fn ids(h: &serde_json::Value) -> Vec<String> {
    h["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// After `fix`: every rule that failed before and has a playbook
/// remediation passes, every manual one still fails and is named in the
/// host's warning; returns the ids of the manual ones.
fn fixed_or_named(report: &serde_json::Value, name: &str) -> Vec<String> {
    let h = host(report, name);
    assert_ne!(h["status"], "rolled_back", "{h}");
    let mut manual = Vec::new();
    for r in h["results"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        // Skipped, or passing before: nothing to fix.
        if r["status"] == "skipped" || r["before"] == "pass" {
            continue;
        }
        match r["remediation"]["manual"].as_str() {
            Some(text) => {
                assert_eq!(r["status"], "fail", "{name} {id}: a manual rule was fixed: {r}");
                assert!(text.len() > 40, "{r}");
                manual.push(id.to_string());
            }
            None => {
                assert_eq!(r["status"], "pass", "{name} {id} not fixed: {r}");
                assert_eq!(r["before"], "fail", "{name} {id}: {r}");
            }
        }
    }
    let warnings = h["warnings"].to_string();
    for id in &manual {
        assert!(
            warnings.contains("needs a manual fix") && warnings.contains(id.as_str()),
            "{name}: {id} not named: {warnings}"
        );
    }
    manual
}

// ---------------------------------------------------------------- sysctl

/// Every key of the kernel-network and kernel-hardening baselines: the
/// drifted host's live value, the value `fix` sets, the compliant host's
/// (stricter where the rule allows).
const SYSCTL: &[(&str, &str, &str, &str)] = &[
    ("net.ipv4.ip_forward", "1", "0", "0"),
    ("net.ipv4.conf.all.send_redirects", "1", "0", "0"),
    ("net.ipv4.conf.default.send_redirects", "1", "0", "0"),
    ("net.ipv4.conf.all.accept_redirects", "1", "0", "0"),
    ("net.ipv4.conf.default.accept_redirects", "1", "0", "0"),
    ("net.ipv4.conf.all.secure_redirects", "1", "0", "0"),
    ("net.ipv4.conf.default.secure_redirects", "1", "0", "0"),
    ("net.ipv6.conf.all.accept_redirects", "1", "0", "0"),
    ("net.ipv6.conf.default.accept_redirects", "1", "0", "0"),
    ("net.ipv4.conf.all.accept_source_route", "1", "0", "0"),
    ("net.ipv6.conf.all.accept_source_route", "1", "0", "0"),
    ("net.ipv4.conf.all.log_martians", "0", "1", "1"),
    ("net.ipv4.icmp_echo_ignore_broadcasts", "0", "1", "1"),
    ("net.ipv4.icmp_ignore_bogus_error_responses", "0", "1", "1"),
    ("net.ipv4.conf.all.rp_filter", "0", "1", "2"),
    ("net.ipv4.tcp_syncookies", "0", "1", "1"),
    ("kernel.randomize_va_space", "1", "2", "2"),
    ("kernel.kptr_restrict", "0", "1", "2"),
    ("kernel.dmesg_restrict", "0", "1", "1"),
    ("fs.protected_hardlinks", "0", "1", "1"),
    ("fs.protected_symlinks", "0", "1", "1"),
    ("fs.suid_dumpable", "2", "0", "0"),
    ("net.ipv6.conf.all.forwarding", "1", "0", "0"),
    ("net.ipv6.conf.all.accept_ra", "1", "0", "0"),
    ("net.ipv6.conf.default.accept_ra", "1", "0", "0"),
    ("net.ipv4.conf.default.rp_filter", "0", "1", "2"),
    ("net.ipv4.conf.default.log_martians", "0", "1", "1"),
    ("net.ipv4.conf.default.accept_source_route", "1", "0", "0"),
    ("net.ipv6.conf.default.accept_source_route", "1", "0", "0"),
    ("kernel.yama.ptrace_scope", "0", "1", "2"),
    ("fs.protected_fifos", "0", "1", "2"),
    ("fs.protected_regular", "0", "2", "2"),
    ("kernel.unprivileged_bpf_disabled", "0", "2", "1"),
    ("net.core.bpf_jit_harden", "0", "2", "2"),
    ("kernel.sysrq", "176", "0", "0"),
    ("kernel.perf_event_paranoid", "1", "2", "3"),
    ("vm.mmap_min_addr", "4096", "65536", "65536"),
    ("kernel.panic_on_oops", "0", "1", "1"),
    ("user.max_user_namespaces", "63234", "0", "0"),
    // Last: `fix` leaves its live value (a manual rule) and persists 1.
    ("kernel.kexec_load_disabled", "0", "0", "1"),
];

fn proc_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

/// Setup that puts a tmpfs over /proc/sys in the host's mount namespace
/// with one file per key holding `value(key)`; the harness runs it with
/// `set -e`, so a host whose mount failed does not start.
fn fake_proc_sys(value: impl Fn(usize) -> &'static str) -> String {
    let mut script = String::from("mount -t tmpfs tmpfs /proc/sys");
    for (i, (key, ..)) in SYSCTL.iter().enumerate() {
        let path = proc_path(key);
        let dir = path.rsplit_once('/').unwrap().0;
        script.push_str(&format!(" && mkdir -p {dir} && echo {} > {path}", value(i)));
    }
    script
}

/// What procps `sysctl -n` reads on that host for every key.
fn live_values(fleet: &Fleet, name: &str) -> Vec<String> {
    let keys: Vec<&str> = SYSCTL.iter().map(|(k, ..)| *k).collect();
    sh(fleet, name, &format!("sysctl -n {}", keys.join(" ")))
        .lines()
        .map(str::to_string)
        .collect()
}

fn sysctl_keys() -> Vec<(&'static str, String)> {
    SYSCTL
        .iter()
        .map(|(k, ..)| (*k, proc_path(k).trim_start_matches("/proc/sys/").to_string()))
        .collect()
}

/// Drifted: every live value wrong; persisted values wrong in a stock-like
/// drop-in, a /run drop-in, or missing (the fs.protected_* ones come right
/// from procps' own /usr/lib/sysctl.d/99-protect-links.conf, as on Debian).
fn sysctl_drifted(name: &str) -> HostSpec {
    HostSpec::new(name)
        .file(
            "sysctl.d/10-vendor.conf",
            "# a vendor's tuning\nnet.ipv4.ip_forward = 1\nkernel.kptr_restrict=0\nkernel.sysrq = 176\n\
             kernel.kexec_load_disabled = 0\nkernel.perf_event_paranoid = 1\n",
            0o644,
        )
        .setup(&format!(
            "mkdir -p /run/sysctl.d && printf 'net.ipv6.conf.all.forwarding = 1\\n' > /run/sysctl.d/50-router.conf && {}",
            fake_proc_sys(|i| SYSCTL[i].1)
        ))
}

fn sysctl_compliant(name: &str) -> HostSpec {
    let site: String = SYSCTL.iter().map(|(k, _, _, good)| format!("{k} = {good}\n")).collect();
    HostSpec::new(name)
        .file("sysctl.d/90-site.conf", site, 0o644)
        .setup(&fake_proc_sys(|i| SYSCTL[i].3))
}

#[test]
fn sysctl_rules_fail_drifted_hosts_fix_sets_live_and_persisted_values_and_compliant_hosts_stay() {
    let fleet = Fleet::start(vec![sysctl_drifted("d"), sysctl_compliant("good")]);
    // The kernel is never written: each host sees a tmpfs at /proc/sys.
    for h in ["d", "good"] {
        assert_eq!(
            sh(&fleet, h, "findmnt -kn -o FSTYPE -M /proc/sys").trim(),
            "tmpfs",
            "{h}"
        );
    }
    let baselines = ["kernel-network", "kernel-hardening"];
    let owned = sysctl_keys();
    let keys: Vec<(&str, &str)> = owned.iter().map(|(k, p)| (*k, p.as_str())).collect();
    let drifted: Vec<&str> = SYSCTL.iter().map(|s| s.1).collect();
    assert_eq!(live_values(&fleet, "d"), drifted);

    // 1. The audit: every rule fails on the drifted host, passes on the
    // compliant one.
    let (code, report) = run(&fleet, "audit", "d,good", &baselines, &[]);
    assert_eq!(code, Some(1), "{report}");
    let all = ids(host(&report, "d"));
    assert_eq!(all.len(), 29 + 12, "{all:?}");
    for id in &all {
        let r = rule(host(&report, "d"), id);
        assert_eq!(r["status"], "fail", "d {id}: {r}");
        let r = rule(host(&report, "good"), id);
        assert_eq!(r["status"], "pass", "good {id}: {r}");
    }
    // Persisted values as procps loads them: from the vendor drop-in, the
    // /run drop-in, procps' 99-protect-links.conf, or nothing.
    let loaded = procps_loads(&fleet, "d", &keys);
    let by_key = |k: &str| loaded[SYSCTL.iter().position(|s| s.0 == k).unwrap()].clone();
    assert_eq!(by_key("net.ipv4.ip_forward").as_deref(), Some("1"));
    assert_eq!(by_key("net.ipv6.conf.all.forwarding").as_deref(), Some("1"));
    assert_eq!(by_key("fs.protected_fifos").as_deref(), Some("1"));
    assert_eq!(by_key("kernel.sysrq").as_deref(), Some("176"));
    assert_eq!(by_key("net.ipv4.tcp_syncookies"), None);
    let r = rule(host(&report, "d"), "FS-PROTECTED-FIFOS");
    assert!(r["message"].as_str().unwrap().starts_with("live: "), "{r}");
    let r = rule(host(&report, "d"), "KERNEL-KEXEC-DISABLED-PERSISTED");
    assert_eq!(r["actual"], "0", "{r}");

    // 2. fix: every value set live and where the next boot loads it, except
    // kexec's live switch, which is manual.
    let watched = ["/etc/sysctl.d/90-site.conf", "/etc/sysctl.d/99-rectify-hardening.conf"];
    let good_before: Vec<String> = watched.iter().map(|p| stat(&fleet, "good", p)).collect();
    let good_live = live_values(&fleet, "good");
    let (code, report) = run(&fleet, "fix", "d,good", &baselines, &[]);
    assert_eq!(code, Some(1), "the manual rule still fails: {report}");
    assert_eq!(fixed_or_named(&report, "d"), ["KERNEL-KEXEC-DISABLED-LIVE"]);
    let mut want: Vec<&str> = SYSCTL.iter().map(|s| s.2).collect();
    assert_eq!(live_values(&fleet, "d"), want, "live after fix");
    // kexec: persisted only.
    *want.last_mut().unwrap() = "1";
    let loaded = procps_loads(&fleet, "d", &keys);
    let loaded: Vec<&str> = loaded.iter().map(|v| v.as_deref().unwrap_or("(none)")).collect();
    assert_eq!(loaded, want, "persisted after fix");
    assert_eq!(
        sh(&fleet, "d", "cat /etc/sysctl.d/99-rectify-kexec.conf | grep -v '^#'"),
        "kernel.kexec_load_disabled = 1\n"
    );
    // The compliant host: nothing written, stricter values kept.
    assert_eq!(host(&report, "good")["changes"], serde_json::json!([]), "{report}");
    let good_after: Vec<String> = watched.iter().map(|p| stat(&fleet, "good", p)).collect();
    assert_eq!(good_after, good_before);
    assert_eq!(good_before[1], "missing");
    assert_eq!(live_values(&fleet, "good"), good_live);

    // A second fix changes nothing more.
    let (_, again) = run(&fleet, "fix", "d", &baselines, &[]);
    assert_eq!(host(&again, "d")["changes"], serde_json::json!([]), "{again}");
}

// ---------------------------------------------------------------- modules

/// The modules of baselines/kernel-modules.yaml, as modprobe is asked for them.
const MODULES: &[&str] = &[
    "cramfs",
    "freevxfs",
    "hfs",
    "hfsplus",
    "jffs2",
    "udf",
    "squashfs",
    "usb-storage",
    "dccp",
    "tipc",
    "rds",
    "sctp",
    "overlay",
    "bluetooth",
    "firewire-core",
    "atm",
    "can",
];

fn kmod_id(module: &str) -> String {
    format!("KMOD-{}", module.to_uppercase().replace('-', ""))
}

/// kmod's own answer: `modprobe -n -v` would run /bin/false or /bin/true,
/// and nothing else, instead of loading the module, and the module is
/// blacklisted.
fn modprobe_disables(fleet: &Fleet, name: &str, module: &str) -> bool {
    let dry = sh(fleet, name, &format!("modprobe -n -v {module} 2>&1 | head -n 1"));
    let normalised = module.replace('-', "_");
    let blacklisted = sh(
        fleet,
        name,
        &format!("modprobe --showconfig | grep -cx 'blacklist {normalised}'"),
    );
    ["install /bin/false", "install /bin/true"].contains(&dry.trim()) && blacklisted.trim() != "0"
}

#[test]
fn module_rules_follow_modprobe_and_fix_writes_one_file_per_module() {
    // Drifted: blacklisted only, an install command without blacklist, an
    // install command that loads the module (alone, and after /bin/true),
    // a /run file hidden by an empty file of the same name in /etc, a
    // commented line, nothing.
    let drifted = HostSpec::new("d")
        .file(
            "modprobe.d/90-local.conf",
            "blacklist cramfs\ninstall usb-storage /bin/true\ninstall sctp /sbin/modprobe --ignore-install sctp\n\
             # install dccp /bin/false\ninstall can /bin/true && /sbin/modprobe --ignore-install can\nblacklist can\n",
            0o644,
        )
        .file("modprobe.d/blacklist-rare.conf", "", 0o644)
        .setup(
            "mkdir -p /run/modprobe.d && printf 'install tipc /bin/false\\nblacklist tipc\\ninstall rds /bin/false\\nblacklist rds\\n' \
             > /run/modprobe.d/blacklist-rare.conf",
        );
    // Compliant: /bin/true and /bin/false, underscores and dashes.
    let mut cis = String::new();
    for (i, m) in MODULES.iter().enumerate() {
        let spelled = if *m == "usb-storage" { "usb_storage" } else { m };
        let cmd = if i % 2 == 0 { "/bin/true" } else { "/bin/false" };
        cis.push_str(&format!("install {spelled} {cmd}\nblacklist {m}\n"));
    }
    let good = HostSpec::new("good").file("modprobe.d/cis.conf", cis, 0o644);
    let fleet = Fleet::start(vec![drifted, good]);
    let baselines = ["kernel-modules"];

    let (code, report) = run(&fleet, "audit", "d,good", &baselines, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(ids(host(&report, "d")).len(), MODULES.len());
    for m in MODULES {
        for (h, want) in [("d", false), ("good", true)] {
            assert_eq!(modprobe_disables(&fleet, h, m), want, "{h} {m}: the host's modprobe");
            let r = rule(host(&report, h), &kmod_id(m));
            assert_eq!(r["status"], if want { "pass" } else { "fail" }, "{h} {m}: {r}");
        }
    }
    let r = rule(host(&report, "d"), "KMOD-SCTP");
    assert_eq!(
        r["actual"], "install /sbin/modprobe --ignore-install sctp, not blacklisted",
        "{r}"
    );
    let r = rule(host(&report, "d"), "KMOD-CAN");
    assert_eq!(
        r["actual"], "install /bin/true && /sbin/modprobe --ignore-install can, blacklisted",
        "{r}"
    );
    let r = rule(host(&report, "d"), "KMOD-TIPC");
    assert_eq!(r["actual"], "no install command, not blacklisted", "{r}");

    let good_before = stat(&fleet, "good", "/etc/modprobe.d/cis.conf");
    let (code, report) = run(&fleet, "fix", "d,good", &baselines, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert!(fixed_or_named(&report, "d").is_empty());
    for m in MODULES {
        assert!(modprobe_disables(&fleet, "d", m), "d {m} after fix");
        assert_eq!(
            sh(&fleet, "d", &format!("modprobe -n -v {m} 2>&1")).trim(),
            "install /bin/false",
            "{m}"
        );
        assert!(stat(&fleet, "d", &format!("/etc/modprobe.d/60-rectify-{m}.conf")).starts_with("644 0 0 "));
    }
    // The compliant host: nothing written.
    assert_eq!(host(&report, "good")["changes"], serde_json::json!([]), "{report}");
    assert_eq!(stat(&fleet, "good", "/etc/modprobe.d/cis.conf"), good_before);
    assert_eq!(sh(&fleet, "good", "ls /etc/modprobe.d"), "cis.conf\n");
}

// ---------------------------------------------------------------- mounts

/// The mount points of baselines/filesystems.yaml, with their rule id part.
const MOUNTS: &[(&str, &str)] = &[
    ("/tmp", "TMP"),
    ("/dev/shm", "DEVSHM"),
    ("/home", "HOME"),
    ("/var", "VAR"),
    ("/var/tmp", "VARTMP"),
    ("/var/log", "VARLOG"),
    ("/var/log/audit", "VARLOGAUDIT"),
];

/// The kernel's own answer for `path`: whether it is a mount point
/// (`mountpoint`), and its nodev, nosuid, noexec flags (statvfs(2)'s
/// f_flag, a different system call from the mount table findmnt reads).
fn kernel_mount(fleet: &Fleet, name: &str, path: &str) -> (bool, [bool; 3]) {
    let out = sh(
        fleet,
        name,
        &format!(
            "if mountpoint -q {path}; then echo yes; else echo no; fi; \
             python3 -c 'import os, sys; f = os.statvfs(sys.argv[1]).f_flag; \
             print(*[str(bool(f & b)) for b in (os.ST_NODEV, os.ST_NOSUID, os.ST_NOEXEC)])' {path} 2>/dev/null || echo gone"
        ),
    );
    let mut lines = out.lines();
    let mounted = lines.next() == Some("yes");
    let flags: Vec<bool> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|w| w == "True")
        .collect();
    (mounted, [0, 1, 2].map(|i| flags.get(i).copied().unwrap_or(false)))
}

/// A tmpfs with `options` on each path (created inside an earlier tmpfs
/// where needed), in the host's mount namespace only. The fleets' own
/// directories under /tmp (where the harness keeps each sshd's pid file)
/// are bound back into a new /tmp, as submounts that leave /tmp's own
/// mount as it is.
fn mounts(paths: &[&str], options: &str) -> String {
    paths
        .iter()
        .map(|p| {
            let mut m = format!("mkdir -p {p} && mount -t tmpfs -o {options} tmpfs {p}");
            if *p == "/tmp" {
                m = format!(
                    "mkdir -p /run/oldtmp && mount --bind /tmp /run/oldtmp && {m} && \
                     for d in /run/oldtmp/rectify-fleet-*; do mkdir -p \"/tmp/${{d##*/}}\" && mount --bind \"$d\" \"/tmp/${{d##*/}}\"; done"
                );
            }
            m
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

#[test]
fn mount_rules_follow_the_kernel_and_fix_names_them_manual_and_changes_nothing() {
    let all = ["/tmp", "/dev/shm", "/home", "/var/tmp", "/var/log", "/var/log/audit"];
    // bare: nothing of its own mounted (/dev/shm is this machine's tmpfs,
    // without options); loose: every path a tmpfs without options; good:
    // every path with the options (/dev/shm's stacked over the machine's).
    // /var itself cannot be a mount on a test host (the harness mounts
    // /var/backups in it), so its rules are skipped or fail everywhere.
    let fleet = Fleet::start(vec![
        HostSpec::new("bare").setup("useradd -M alice"),
        HostSpec::new("loose").setup(&format!("useradd -M alice && {}", mounts(&all, "mode=1777"))),
        HostSpec::new("good").setup(&format!(
            "useradd -M alice && {} && {}",
            mounts(
                &["/tmp", "/dev/shm", "/var/tmp", "/var/log", "/var/log/audit"],
                "mode=1777,nodev,nosuid,noexec"
            ),
            mounts(&["/home"], "nodev,nosuid")
        )),
    ]);
    let baselines = ["filesystems"];
    let (code, report) = run(&fleet, "audit", "bare,loose,good", &baselines, &[]);
    assert_eq!(code, Some(1), "{report}");
    let mut failed = std::collections::BTreeMap::<&str, usize>::new();
    for h in ["bare", "loose", "good"] {
        for (path, part) in MOUNTS {
            let (mounted, flags) = kernel_mount(&fleet, h, path);
            let r = rule(host(&report, h), &format!("MNT-{part}-SEPARATE"));
            assert_eq!(r["status"], if mounted { "pass" } else { "fail" }, "{h} {path}: {r}");
            for (i, option) in ["NODEV", "NOSUID", "NOEXEC"].iter().enumerate() {
                let id = format!("MNT-{part}-{option}");
                if !ids(host(&report, h)).contains(&id) {
                    continue;
                }
                let r = rule(host(&report, h), &id);
                let want = match (mounted, flags[i]) {
                    (false, _) => "skipped",
                    (true, true) => "pass",
                    (true, false) => "fail",
                };
                assert_eq!(r["status"], want, "{h} {id}: {r}");
                if want == "fail" {
                    *failed.entry(h).or_default() += 1;
                }
            }
        }
    }
    // Each drifted host fails every rule that applies to it but /dev/shm's
    // separate one (always a tmpfs); the loose host every option rule.
    assert_eq!(failed.get("loose"), Some(&17), "{failed:?}");
    assert_eq!(failed.get("bare"), Some(&3), "{failed:?}");
    assert_eq!(failed.get("good"), None, "{failed:?}");
    // The kernel's behaviour agrees: on good's /tmp a program cannot run,
    // on loose's it can; a device node on good's /dev/shm cannot be opened.
    let exec = "cp /bin/true /tmp/t && if /tmp/t; then echo ran; else echo refused; fi; rm -f /tmp/t";
    assert_eq!(sh(&fleet, "good", exec).trim(), "refused");
    assert_eq!(sh(&fleet, "loose", exec).trim(), "ran");
    let dev = "mknod /dev/shm/n c 1 3 && if (: > /dev/shm/n) 2>/dev/null; then echo opened; else echo refused; fi; rm -f /dev/shm/n";
    assert_eq!(sh(&fleet, "good", dev).trim(), "refused");
    assert_eq!(sh(&fleet, "loose", dev).trim(), "opened");
    // and a setuid copy of id(1) on loose's /home runs as its owner.
    let suid = "cp /usr/bin/id /home/id && chmod 4755 /home/id && su -s /bin/sh alice -c '/home/id -u'; rm -f /home/id";
    assert_eq!(sh(&fleet, "loose", suid).trim(), "0");
    assert_ne!(sh(&fleet, "good", suid).trim(), "0");

    // fix: every rule is manual; nothing runs, the mounts stay, the
    // warning names them.
    let table = |h: &str| sh(&fleet, h, "findmnt -kn -o TARGET,OPTIONS");
    let before: Vec<String> = ["bare", "loose"].iter().map(|h| table(h)).collect();
    let (code, report) = run(&fleet, "fix", "bare,loose", &baselines, &[]);
    assert_eq!(code, Some(1), "{report}");
    // loose: its 17 option rules and /var's separate one.
    assert_eq!(fixed_or_named(&report, "loose").len(), 18);
    assert_eq!(fixed_or_named(&report, "bare").len(), 9);
    for h in ["bare", "loose"] {
        assert_eq!(host(&report, h)["changes"], serde_json::json!([]), "{h}: {report}");
    }
    let after: Vec<String> = ["bare", "loose"].iter().map(|h| table(h)).collect();
    assert_eq!(after, before);
}

// ---------------------------------------------------------------- core dumps, banners

const STOCK_MOTD: &str = "\nThe programs included with the Debian GNU/Linux system are free software;\n\
the exact distribution terms for each program are described in the\nindividual files in /usr/share/doc/*/copyright.\n";

/// CIS's own audit for banners: lines naming the OS (its os-release ID) or
/// holding getty's OS escapes.
fn cis_banner_grep(fleet: &Fleet, name: &str, path: &str) -> String {
    sh(
        fleet,
        name,
        &format!(
            "grep -Eis \"(\\\\\\\\v|\\\\\\\\r|\\\\\\\\m|\\\\\\\\s|$(grep '^ID=' /etc/os-release | cut -d= -f2 | sed -e 's/\"//g'))\" {path}"
        ),
    )
}

/// What systemd reads for a coredump.conf key: the last assignment of
/// `systemd-analyze cat-config` (the main file, then the drop-ins).
fn coredump_setting(fleet: &Fleet, name: &str, key: &str) -> Option<String> {
    sh(fleet, name, "systemd-analyze cat-config systemd/coredump.conf")
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}=")).map(|v| v.trim().to_string()))
}

/// The hard core limit pam_limits gives a login of alice (through su).
fn hard_core_limit(fleet: &Fleet, name: &str) -> String {
    sh(fleet, name, "su -s /bin/sh alice -c 'ulimit -H -c'")
        .trim()
        .to_string()
}

/// Stock-like core-dump and banner drift: a limits.d file raising the
/// hard limit, systemd-coredump keeping dumps, banners naming Debian and
/// its release (directly and through getty escapes), loose modes.
fn core_drifted(name: &str) -> HostSpec {
    HostSpec::new(name)
        .file(
            "security/limits.conf",
            "*               hard    core            0\n",
            0o644,
        )
        .file(
            "security/limits.d/90-dev.conf",
            "# developers want cores\n*\thard\tcore\tunlimited\n",
            0o644,
        )
        .file(
            "systemd/coredump.conf",
            "[Coredump]\nStorage=external\n#Compress=yes\nProcessSizeMax=2G\n",
            0o644,
        )
        .file("systemd/coredump.conf.d/50-keep.conf", "[Coredump]\nMaxUse=1G\n", 0o644)
        .file("issue", "Debian GNU/Linux 12 \\n \\l\n\n", 0o664)
        .file("issue.net", "Welcome to \\s \\r\n", 0o644)
        .file("motd", STOCK_MOTD, 0o666)
        .setup("useradd -M alice && chgrp adm /etc/issue.net")
}

#[test]
fn core_dump_and_banner_rules_agree_with_pam_systemd_and_cis_and_fix_repairs_them() {
    let good = HostSpec::new("good")
        .file("security/limits.conf", "*\thard\tcore\tunlimited\n", 0o644)
        .file("security/limits.d/50-cis.conf", "*  -  core  0 # both limits\n", 0o644)
        .file(
            "systemd/coredump.conf",
            "[Coredump]\n#Storage=external\n#ProcessSizeMax=2G\n",
            0o644,
        )
        .file(
            "systemd/coredump.conf.d/50-site.conf",
            "[Coredump]\nStorage=none\nProcessSizeMax=0\n",
            0o644,
        )
        .file("issue", "Authorised access only.\n", 0o600)
        .file("issue.net", "Authorised access only.\n", 0o644)
        .file("motd", "Site rules apply: see the wiki.\n", 0o444)
        .setup("useradd -M alice");
    let fleet = Fleet::start(vec![core_drifted("d"), core_drifted("r"), good]);
    let baselines = ["core-dumps", "banners"];

    // The hosts' own answers.
    assert_eq!(hard_core_limit(&fleet, "d"), "unlimited");
    assert_eq!(hard_core_limit(&fleet, "good"), "0");
    assert_eq!(coredump_setting(&fleet, "d", "Storage").as_deref(), Some("external"));
    assert_eq!(coredump_setting(&fleet, "good", "Storage").as_deref(), Some("none"));
    assert_eq!(coredump_setting(&fleet, "good", "ProcessSizeMax").as_deref(), Some("0"));
    for f in ["/etc/issue", "/etc/issue.net", "/etc/motd"] {
        assert_ne!(cis_banner_grep(&fleet, "d", f), "", "d {f}");
        assert_eq!(cis_banner_grep(&fleet, "good", f), "", "good {f}");
    }

    let (code, report) = run(&fleet, "audit", "d,r,good", &baselines, &[]);
    assert_eq!(code, Some(1), "{report}");
    let all = ids(host(&report, "d"));
    assert_eq!(all.len(), 3 + 6, "{all:?}");
    for id in &all {
        assert_eq!(rule(host(&report, "d"), id)["status"], "fail", "d {id}");
        assert_eq!(rule(host(&report, "r"), id)["status"], "fail", "r {id}");
        assert_eq!(rule(host(&report, "good"), id)["status"], "pass", "good {id}");
    }
    assert_eq!(rule(host(&report, "d"), "CORE-HARD-LIMIT")["actual"], "unlimited");

    let watched = [
        "/etc/security/limits.conf",
        "/etc/security/limits.d/50-cis.conf",
        "/etc/systemd/coredump.conf",
        "/etc/systemd/coredump.conf.d/50-site.conf",
        "/etc/issue",
        "/etc/issue.net",
        "/etc/motd",
    ];
    let good_before: Vec<String> = watched.iter().map(|p| stat(&fleet, "good", p)).collect();
    let (code, report) = run(&fleet, "fix", "d,good", &baselines, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert!(fixed_or_named(&report, "d").is_empty());
    let good_report = report;
    assert_eq!(hard_core_limit(&fleet, "d"), "0");
    assert_eq!(coredump_setting(&fleet, "d", "Storage").as_deref(), Some("none"));
    assert_eq!(coredump_setting(&fleet, "d", "ProcessSizeMax").as_deref(), Some("0"));
    let banner = "Authorized users only. All activity may be monitored and reported.\n";
    for f in ["/etc/issue", "/etc/issue.net", "/etc/motd"] {
        assert_eq!(cis_banner_grep(&fleet, "d", f), "", "d {f}");
        assert_eq!(String::from_utf8(fleet.read_file("d", f)).unwrap(), banner, "{f}");
        assert!(stat(&fleet, "d", f).starts_with("644 0 0 "), "{f}");
    }
    // The compliant host: nothing written, its stricter modes kept.
    assert_eq!(
        host(&good_report, "good")["changes"],
        serde_json::json!([]),
        "{good_report}"
    );
    let good_after: Vec<String> = watched.iter().map(|p| stat(&fleet, "good", p)).collect();
    assert_eq!(good_after, good_before);
    assert!(good_after[4].starts_with("600 0 0 "));

    // A hostile local user writes the world-writable /etc/motd as fast as
    // she can while `fix` runs (a bounded loop that ends by itself after 6
    // seconds). What the first `fix` can do depends on what it caught: the
    // file just truncated by her `>` (nothing about the OS: only the mode
    // is wrong), mid-write (an error), or changed between reading and
    // writing (refused, as any file changed since it was planned). It never
    // leaves anything but her text or the banner; once her loop is over a
    // second `fix` makes every rule pass, and she cannot write it again.
    let started = std::time::Instant::now();
    sh(
        &fleet,
        "r",
        "su -s /bin/sh alice -c 'end=$(($(date +%s) + 6)); while [ $(date +%s) -lt $end ]; do \
           echo \"Debian GNU/Linux: alice was here\" > /etc/motd; done' >/dev/null 2>&1 &",
    );
    assert!(
        wait_until(Duration::from_secs(3), || sh(&fleet, "r", "cat /etc/motd")
            .contains("alice was here")),
        "alice's loop is not running"
    );
    let (_, report) = run(&fleet, "fix", "r", &baselines, &[]);
    let motd = String::from_utf8(fleet.read_file("r", "/etc/motd")).unwrap();
    assert!(
        ["", "Debian GNU/Linux: alice was here\n", banner].contains(&motd.as_str()),
        "{motd:?}: {report}"
    );
    std::thread::sleep(Duration::from_secs(7).saturating_sub(started.elapsed()));
    let (code, report) = run(&fleet, "fix", "r", &baselines, &[]);
    assert_eq!(code, Some(0), "{report}");
    for id in &all {
        assert_eq!(rule(host(&report, "r"), id)["status"], "pass", "r {id}");
    }
    assert_eq!(String::from_utf8(fleet.read_file("r", "/etc/motd")).unwrap(), banner);
    assert!(stat(&fleet, "r", "/etc/motd").starts_with("644 0 0 "));
    assert_eq!(
        sh(
            &fleet,
            "r",
            "su -s /bin/sh alice -c 'echo x > /etc/motd' 2>/dev/null && echo wrote || echo refused"
        )
        .trim(),
        "refused"
    );
}
