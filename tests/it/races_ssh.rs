//! Hostile local users: a non-root user (`alice`) owns a directory an
//! apply writes into and races every step from it — swapping the candidate
//! for a symbolic link while it is validated, swapping the target for one
//! while verify (and then the restore) runs, with the controller alive and
//! with only the dead-man timer left. Whatever she does, `/etc/victim`
//! (root's, 0600, outside every target) keeps its owner, mode and content:
//! by default the apply refuses the directory, and with `unsafe_writes:
//! true` it never writes, chowns or chmods through a link.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fleet::{apply_fleet, sh, wait_until, write, Fleet, HostSpec};

/// alice owns /etc/userapp (a directory under root's /etc), which holds
/// the target app.conf (root's, 0644); /etc/victim is what she is after.
fn host() -> Fleet {
    Fleet::start(vec![HostSpec::new("h").setup(
        "useradd -M alice && useradd -M appuser && mkdir /etc/userapp && chown alice /etc/userapp && \
         printf 'old\\n' > /etc/userapp/app.conf && chmod 0644 /etc/userapp/app.conf && \
         printf 'secret\\n' > /etc/victim && chmod 0600 /etc/victim",
    )])
}

/// Owner, mode and checksum of the victim, as the host sees them.
fn victim(fleet: &Fleet) -> String {
    sh(fleet, "h", "stat -c '%U %a' /etc/victim && sha256sum < /etc/victim")
}

const VICTIM: &str = "root 600\nb37e50cedcd3e3f1ff64f4afc0422084ae694253cf399326868e07a35f4a45fb  -\n";

/// Runs `script` as alice in the background, for at most `seconds`: the
/// loop ends by itself.
fn attack(fleet: &Fleet, seconds: u32, body: &str) {
    let script = format!("end=$(($(date +%s)+{seconds})); while [ \"$(date +%s)\" -lt \"$end\" ]; do {body}; done");
    let quoted = script.replace('\'', "'\\''");
    sh(
        fleet,
        "h",
        &format!("setsid su -s /bin/sh alice -c '{quoted}' </dev/null >/dev/null 2>&1 &"),
    );
}

/// Replace every candidate next to app.conf with a link to the victim.
const SWAP_CANDIDATES: &str = "for f in /etc/userapp/.app.conf.rectify-*; do [ -f \"$f\" ] && [ ! -L \"$f\" ] && ln -sfn /etc/victim /etc/userapp/.x && mv -f /etc/userapp/.x \"$f\"; done 2>/dev/null; :";

/// Once the change is committed (app.conf is appuser's), replace app.conf
/// with a link to the victim, again and again.
const SWAP_TARGET: &str = "f=/etc/userapp/app.conf; if [ -L $f ] || [ \"$(stat -c %U $f 2>/dev/null)\" = appuser ]; then ln -sfn /etc/victim /etc/userapp/.y && mv -f /etc/userapp/.y $f; fi 2>/dev/null; :";

fn playbook(opt_in: bool, step: &str, verify: &str) -> String {
    let opt = if opt_in { "    unsafe_writes: true\n" } else { "" };
    format!("name: races\nsteps:\n{step}{opt}{verify}")
}

const COPY: &str = "  - copy: {src: app.conf, dest: /etc/userapp/app.conf, owner: appuser, mode: \"0640\"}\n    validate: sleep 3; test -f {path}\n";
const META: &str = "  - file: {path: /etc/userapp/app.conf, owner: appuser, mode: \"0640\"}\n";
const FAILING_VERIFY: &str = "verify:\n  - command: sleep 4; false\n";

fn apply(fleet: &Fleet, playbook: &str) -> (Option<i32>, serde_json::Value) {
    write(fleet.dir(), "app.conf", "new\n");
    let (code, report) = apply_fleet(fleet, playbook, &[]);
    (code, report["hosts"][0].clone())
}

fn assert_victim_intact(fleet: &Fleet) {
    // Let a still-running attacker loop finish before judging.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(victim(fleet), VICTIM, "the victim changed");
    assert_eq!(
        sh(fleet, "h", "ls -A /etc | grep -c rectify- || true").trim(),
        "0",
        "something was written next to the victim"
    );
}

#[test]
fn victim_checksum_is_what_the_tests_compare_with() {
    let fleet = host();
    assert_eq!(victim(&fleet), VICTIM);
}

#[test]
fn a_directory_a_user_owns_is_refused_by_default() {
    let fleet = host();
    attack(&fleet, 12, SWAP_CANDIDATES);
    // Refused at plan time: `--check` says so too; nothing is locked or
    // uploaded.
    for extra in [&["--check"][..], &[]] {
        write(fleet.dir(), "app.conf", "new\n");
        let (code, report) = apply_fleet(&fleet, &playbook(false, COPY, ""), extra);
        let h = &report["hosts"][0];
        assert_eq!(code, Some(3), "{h}");
        assert_eq!(h["status"], "error", "{h}");
        let error = h["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("/etc/userapp is owned by uid") && error.contains("unsafe_writes: true"),
            "{h}"
        );
    }
    assert_victim_intact(&fleet);
    assert_eq!(fleet.read_file("h", "/etc/userapp/app.conf"), b"old\n");
}

#[test]
fn a_metadata_change_in_a_user_directory_is_refused_by_default() {
    let fleet = host();
    attack(&fleet, 8, SWAP_TARGET);
    let (code, h) = apply(&fleet, &playbook(false, META, FAILING_VERIFY));
    assert_eq!(code, Some(3), "{h}");
    assert_eq!(h["status"], "error", "{h}");
    assert!(h["error"].as_str().unwrap_or_default().contains("unsafe_writes"), "{h}");
    assert_victim_intact(&fleet);
}

/// The candidate is swapped for a link to the victim while `validate`
/// sleeps: with the opt-in the apply either lands the bytes it wrote or
/// stops — it never chowns or chmods the link's target.
#[test]
fn a_candidate_swapped_for_a_link_during_validation_is_never_followed() {
    let fleet = host();
    attack(&fleet, 12, SWAP_CANDIDATES);
    let (code, h) = apply(&fleet, &playbook(true, COPY, ""));
    assert!(code == Some(0) || code == Some(1), "{h}");
    assert_victim_intact(&fleet);
    if code == Some(0) {
        assert_eq!(h["status"], "applied", "{h}");
        let target = sh(&fleet, "h", "stat -c '%F %U %a' /etc/userapp/app.conf");
        assert_eq!(target.trim(), "regular file appuser 640");
        assert_eq!(fleet.read_file("h", "/etc/userapp/app.conf"), b"new\n");
    } else {
        assert!(
            h["error"]
                .as_str()
                .unwrap_or_default()
                .contains("/etc/userapp/app.conf"),
            "{h}"
        );
    }
}

/// Verify fails, so the controller restores — while alice keeps replacing
/// the target with a link to the victim. The restore never chowns, chmods
/// or writes through it.
#[test]
fn a_restore_never_follows_a_link_planted_after_the_commit() {
    for step in [META, COPY] {
        let fleet = host();
        attack(&fleet, 14, SWAP_TARGET);
        let (code, h) = apply(&fleet, &playbook(true, step, FAILING_VERIFY));
        let status = h["status"].as_str().unwrap_or_default();
        assert!(status == "rolled_back" || status == "rollback_failed", "{h}");
        assert_ne!(code, Some(0), "{h}");
        assert_victim_intact(&fleet);
    }
}

/// The controller dies during verify; the dead-man timer restores the run
/// on its own while alice keeps replacing the target with a link.
#[test]
fn the_dead_man_restore_never_follows_a_link_either() {
    let fleet = host();
    write(fleet.dir(), "app.conf", "new\n");
    let pb = format!(
        "name: races\nconfirm_timeout: 6\nsteps:\n{META}    unsafe_writes: true\nverify:\n  - command: sleep 60\n"
    );
    let pb = write(fleet.dir(), "playbook.yaml", &pb);
    let inv = fleet.write_inventory();
    let state = tempfile::tempdir().unwrap();
    let mut child = Command::new(crate::fleet::rectify_bin())
        .args(["apply", "-i"])
        .arg(&inv)
        .arg("-p")
        .arg(&pb)
        .arg("--no-progress")
        .env("RECTIFY_STATE_DIR", state.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let committed = wait_until(Duration::from_secs(20), || {
        sh(&fleet, "h", "stat -c %U /etc/userapp/app.conf").trim() == "appuser"
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(committed, "the change never landed");
    attack(&fleet, 15, SWAP_TARGET);
    let settled = wait_until(Duration::from_secs(30), || {
        sh(
            &fleet,
            "h",
            "ls /var/backups/rectify/*/ 2>/dev/null | grep -cx 'restored\\|restore-failed' || true",
        )
        .trim()
            != "0"
    });
    assert!(settled, "the dead-man timer never settled the run");
    let by = sh(&fleet, "h", "cat /var/backups/rectify/*/decided/by");
    assert_eq!(by.trim(), "timer");
    std::thread::sleep(Duration::from_secs(1));
    assert_victim_intact(&fleet);
}
