//! The auditd baseline on real hosts: auditd.conf's disk-full actions and
//! the rules files in /etc/audit/rules.d, read as augenrules reads them.
//!
//! The fleet hosts share this machine's kernel, and the kernel's audit
//! rules are not namespaced: loading rules (let alone `-e 2`) from a test
//! would change this machine until reboot. So no auditd runs, the test
//! first checks that none is registered with the kernel (`auditctl -s`
//! says pid 0: the playbook's handlers then load nothing), and at the end
//! that the kernel's rule list (`auditctl -l`, read only) is what it was.
//! The truth for the rules files is the audit tools' own offline work:
//! `augenrules` (run by the handler without `--load`) merges rules.d into
//! /etc/audit/audit.rules, which must then hold every line of the shipped
//! files with `-e 2` last, and `ausyscall` knows every syscall named.

use crate::fleet::report::{host, json, rule};
use crate::fleet::{run_rectify, sh, stat, Fleet, HostSpec};

/// A site's partial rules: the identity watch on /etc/passwd only, two of
/// the clock syscalls for b64 only, a commented-out shadow watch.
const PARTIAL: &str =
    "-w /etc/passwd -p wa -k identity\n-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change\n\
                       # -w /etc/shadow -p wa -k identity\n-e 1\n";

/// Every topic covered, in the other spellings augenrules accepts: path
/// and perm filters, `exit,always`, split `-S` options, wider permissions,
/// a trailing slash, and `-e 2` not last in the file.
const COMPLETE: &str = "-e 2\n\
-a exit,always -F arch=b64 -S adjtimex -S settimeofday -S clock_settime -k time\n\
-a always,exit -F arch=b32 -S adjtimex,settimeofday,clock_settime -k time\n\
-a always,exit -F path=/etc/localtime -F perm=rwa -k time\n\
-w /etc/group -p aw\n-w /etc/passwd -p rwxa\n-w /etc/gshadow -p wa\n-w /etc/shadow -p wa\n-w /etc/security/opasswd -p wa\n\
-w /etc/sudoers -p wa\n-w /etc/sudoers.d/ -p wa\n\
-w /var/log/lastlog -p wa\n-w /var/run/faillock/ -p wa\n\
-w /var/run/utmp -p wa\n-w /var/log/wtmp -p wa\n-w /var/log/btmp -p wa\n\
-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown,setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000\n\
-a always,exit -F arch=b32 -S chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown,setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr -F auid>=1000\n\
-a always,exit -F arch=b64 -S mount\n-a always,exit -F arch=b32 -S mount\n\
-a always,exit -F arch=b64 -S unlink,unlinkat,rename,renameat\n-a always,exit -F arch=b32 -S unlink,unlinkat,rename,renameat\n\
-a always,exit -F arch=b64 -S init_module,finit_module,delete_module\n-w /usr/bin/kmod -p x\n\
-a always,exit -F arch=b64 -S sethostname,setdomainname\n-a always,exit -F arch=b32 -S sethostname,setdomainname\n\
-w /etc/issue -p wa\n-w /etc/issue.net -p wa\n-w /etc/hosts -p wa\n-w /etc/hostname -p wa\n\
-w /etc/apparmor -p wa\n-w /etc/apparmor.d -p wa\n-w /var/log/sudo.log -p wa\n\
-a always,exit -F path=/usr/bin/chcon -F perm=x\n-w /usr/bin/setfacl -p x\n-a always,exit -F path=/usr/bin/chacl -F perm=rx\n\
-a always,exit -F path=/usr/sbin/usermod -F perm=x\n";

fn rectify(cmd: &str, inv: &str, limit: &str) -> serde_json::Value {
    let baseline = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("baselines/auditd.yaml");
    let out = run_rectify(
        &[
            cmd,
            "-i",
            inv,
            "-b",
            baseline.to_str().unwrap(),
            "--format",
            "json",
            "--limit",
            limit,
        ],
        &[],
    );
    json(&out)
}

fn ids(report: &serde_json::Value, name: &str) -> Vec<String> {
    host(report, name)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn auditd_drift_fails_fix_writes_rules_augenrules_merges_and_the_kernel_is_untouched() {
    // Never load anything into the shared kernel: no auditd may be running.
    let status = std::process::Command::new("auditctl")
        .arg("-s")
        .output()
        .expect("auditctl (package auditd)");
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.lines().any(|l| l == "pid 0"),
        "an auditd runs on this machine: {status}"
    );
    let kernel_rules = |f: &Fleet| sh(f, "drift", "auditctl -l");

    let fleet = Fleet::start(vec![
        HostSpec::new("drift")
            .file("audit/rules.d/10-site.rules", PARTIAL, 0o640)
            .file("default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"audit_backlog_limit=64\"\n", 0o644)
            .setup("mkdir -p /etc/apparmor.d && chmod 0644 /etc/audit/auditd.conf && rm -f /etc/rc[2345].d/S*auditd"),
        HostSpec::new("good")
            .file(
                "audit/auditd.conf",
                "log_file = /var/log/audit/audit.log\nmax_log_file_action = KEEP_LOGS\nspace_left_action = email\n\
                 action_mail_acct = root\nadmin_space_left_action = halt\ndisk_full_action = HALT\ndisk_error_action = single\n",
                0o640,
            )
            .file("audit/rules.d/99-site.rules", COMPLETE, 0o640)
            .file("default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"console=ttyS0 audit=1 audit_backlog_limit=16384\"\n", 0o644)
            .setup("mkdir -p /etc/apparmor.d && rm -f /etc/audit/rules.d/audit.rules && augenrules >/dev/null"),
    ]);
    let inv = fleet.write_inventory().display().to_string();
    let loaded_before = kernel_rules(&fleet);

    // 1. Every rule fails on the drifted host (stock Debian auditd.conf and
    // a partial rules.d) and passes on the complete one.
    let report = rectify("audit", &inv, "drift,good");
    let all = ids(&report, "drift");
    assert_eq!(all.len(), 27, "{all:?}");
    for id in &all {
        assert_eq!(rule(host(&report, "drift"), id)["status"], "fail", "drift {id}");
        assert_eq!(
            rule(host(&report, "good"), id)["status"],
            "pass",
            "good {id}: {}",
            rule(host(&report, "good"), id)
        );
    }
    // What is missing is named; what the site file has is not.
    let identity = rule(host(&report, "drift"), "AUDIT-RULES-IDENTITY");
    assert_eq!(
        identity["actual"], "missing: w:/etc/group:wa w:/etc/gshadow:wa w:/etc/shadow:wa w:/etc/security/opasswd:wa",
        "{identity}"
    );
    let time = rule(host(&report, "drift"), "AUDIT-RULES-TIME-CHANGE");
    assert_eq!(
        time["actual"],
        "missing: b64:clock_settime b32:adjtimex b32:settimeofday b32:clock_settime w:/etc/localtime:wa"
    );

    // 2. fix: the auditd.conf lines are edited in place, one rules file per
    // failing topic is written, and augenrules (offline) merges them.
    let good_before: Vec<String> = [
        "/etc/audit/auditd.conf",
        "/etc/audit/rules.d/99-site.rules",
        "/etc/audit/audit.rules",
    ]
    .iter()
    .map(|p| stat(&fleet, "good", p))
    .collect();
    let fixed = rectify("fix", &inv, "drift,good");
    let d = host(&fixed, "drift");
    for id in &all {
        let r = rule(d, id);
        if [
            "AUDIT-SPACE-LEFT-ACTION",
            "AUDIT-SERVICE-ENABLED",
            "AUDIT-BOOT-AUDIT",
            "AUDIT-BOOT-BACKLOG",
        ]
        .contains(&id.as_str())
        {
            assert_eq!(r["status"], "fail", "{r}");
            assert!(r["remediation"]["manual"].as_str().is_some_and(|t| t.len() > 40), "{r}");
            assert!(d["warnings"].to_string().contains(id.as_str()), "{d}");
        } else {
            assert_eq!(r["status"], "pass", "drift {id} not fixed: {r}");
        }
    }
    assert!(d["warnings"].to_string().contains("AUDIT-SPACE-LEFT-ACTION"), "{d}");
    let conf = sh(
        &fleet,
        "drift",
        "grep -E '^(max_log_file_action|space_left_action|admin_space_left_action|disk_full_action|disk_error_action) ' /etc/audit/auditd.conf",
    );
    assert_eq!(
        conf,
        "max_log_file_action = keep_logs\nspace_left_action = SYSLOG\nadmin_space_left_action = single\ndisk_full_action = single\ndisk_error_action = syslog\n"
    );
    assert!(stat(&fleet, "drift", "/etc/audit/auditd.conf").starts_with("640 0 0 "));
    // The site's file is kept; the audit tools' merge holds every shipped
    // line, with -e 2 moved last.
    assert_eq!(sh(&fleet, "drift", "cat /etc/audit/rules.d/10-site.rules"), PARTIAL);
    let merged = sh(&fleet, "drift", "cat /etc/audit/audit.rules");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/files");
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("audit-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            stat(
                &fleet,
                "drift",
                &format!("/etc/audit/rules.d/50-rectify-{}", &name[6..])
            )
            .split(' ')
            .take(3)
            .collect::<Vec<_>>(),
            ["640", "0", "0"],
            "{name}"
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(
                merged.lines().any(|m| m == line),
                "{name}: {line} not in audit.rules:\n{merged}"
            );
            // Every syscall named is one the audit tools know for its arch.
            if let Some(arch) = line.split("arch=").nth(1).and_then(|r| r.split(' ').next()) {
                let calls = line.split("-S ").nth(1).unwrap().split(' ').next().unwrap();
                let machine = if arch == "b64" { "x86_64" } else { "i386" };
                for call in calls.split(',') {
                    assert!(
                        fleet
                            .exec("drift", &format!("ausyscall {machine} {call}"))
                            .status
                            .success(),
                        "{arch} {call}"
                    );
                }
            }
        }
    }
    assert_eq!(merged.lines().rfind(|l| !l.is_empty()), Some("-e 2"), "{merged}");
    // The compliant host: nothing changed, stricter values stay.
    assert_eq!(host(&fixed, "good")["changes"], serde_json::json!([]), "{fixed}");
    let good_after: Vec<String> = [
        "/etc/audit/auditd.conf",
        "/etc/audit/rules.d/99-site.rules",
        "/etc/audit/audit.rules",
    ]
    .iter()
    .map(|p| stat(&fleet, "good", p))
    .collect();
    assert_eq!(good_before, good_after);
    assert!(sh(&fleet, "good", "cat /etc/audit/auditd.conf").contains("admin_space_left_action = halt\n"));

    // 3. Nothing reached the kernel: no auditd, the same (empty) rule list.
    assert_eq!(kernel_rules(&fleet), loaded_before);
    let status = sh(&fleet, "drift", "auditctl -s");
    assert!(
        status.lines().any(|l| l == "pid 0") && status.lines().any(|l| l == "enabled 0"),
        "{status}"
    );

    // A second fix changes nothing more.
    let again = rectify("fix", &inv, "drift");
    assert_eq!(host(&again, "drift")["changes"], serde_json::json!([]), "{again}");
}
