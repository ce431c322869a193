//! Round trips of the apply's protocol: each script is generated, run by a
//! real `sh` behind a noisy "login shell" (lines before and after, one
//! forging an answer with another nonce, and a prompt without a newline
//! that glues onto the first answer), and its answers parsed back. The
//! host's backup directory and lock are moved into a temp directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::shell::quote;
use crate::steps::plan::{FileAction, FileChange, FileFacts, FileKind, HostPlan, Op};

const NONCE: &str = "feedc0de0123456789abcdef01234567";

struct Host {
    dir: tempfile::TempDir,
    run_id: String,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        // The backup directory's parent is made mode 0700, as on a host.
        std::fs::create_dir(dir.path().join("backups")).unwrap();
        Host {
            dir,
            run_id: format!("test-{}", std::process::id()),
        }
    }

    fn bk(&self) -> PathBuf {
        self.dir.path().join("backups").join(&self.run_id)
    }

    fn lock(&self) -> PathBuf {
        self.dir.path().join("rectify.lock")
    }

    /// Runs `script` (with the host's paths moved here) behind a noisy
    /// login shell; returns its answers and exit status.
    fn run(&self, script: &str) -> (Replies, Option<i32>, String) {
        let local = script
            .replace(&backup_dir(&self.run_id), self.bk().to_str().unwrap())
            .replace(LOCK_DIR, self.lock().to_str().unwrap());
        let file = self.dir.path().join("script.sh");
        std::fs::write(&file, local).unwrap();
        let noisy = format!(
            "echo 'Welcome: restored 0'; echo 'RECTIFY:{}:ok:committed'; echo restored; printf 'motd> '; sh {}; rc=$?; \
             printf 'bye: timer'; exit $rc",
            "0".repeat(32),
            quote(file.to_str().unwrap()).unwrap()
        );
        let out = Command::new("sh").arg("-c").arg(noisy).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (Replies::parse(&out.stdout, NONCE), out.status.code(), stdout)
    }
}

fn regular(path: &Path, content: &[u8]) -> FileFacts {
    std::fs::write(path, content).unwrap();
    let meta = std::fs::metadata(path).unwrap();
    FileFacts {
        kind: FileKind::Regular,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        owner: String::new(),
        group: String::new(),
        content: Ok(content.to_vec()),
    }
}

/// A plan that rewrites `target` (validated by `validate`) and runs a
/// command that leaves a mark.
fn plan(target: &Path, old: &[u8], new: &[u8], validate: &str, mark: &Path) -> HostPlan {
    HostPlan {
        files: vec![FileChange {
            path: target.to_str().unwrap().to_string(),
            before: regular(target, old),
            action: FileAction::Write {
                content: new.to_vec(),
                mode: 0o640,
                owner: None,
                group: None,
            },
            validate: vec![validate.to_string()],
            sensitive: false,
            unsafe_writes: false,
        }],
        ops: vec![
            Op::File(0),
            Op::Command {
                command: format!("echo ran >> {}", quote(mark.to_str().unwrap()).unwrap()),
                rollback: Some(format!("rm -f -- {}", quote(mark.to_str().unwrap()).unwrap())),
                sensitive: false,
            },
        ],
        ..HostPlan::default()
    }
}

const OLD: &[u8] = b"# it's \"old\"\n$(id) `id`\n";
const NEW: &[u8] = b"new\0bytes\n\xff RECTIFY:x:ok:handlers\n";

#[test]
fn a_change_commits_and_rolls_back_through_a_noisy_login_shell() {
    let host = Host::new();
    let target = host.dir.path().join("it's a file");
    let mark = host.dir.path().join("mark");
    let plan = plan(&target, OLD, NEW, "grep -q bytes {path}", &mark);
    let script = change(&host.run_id, &plan, &["true".to_string()], None, 5, NONCE).unwrap();
    let (r, code, stdout) = host.run(&script);
    assert_eq!(code, Some(0), "{stdout}");
    for phase in ["locked", "uploaded", "prepared", "0", "1", "committed", "handlers"] {
        assert!(r.has(phase), "{phase}: {r:?}");
    }
    assert_eq!((r.failed, r.rejected, r.handler), (None, None, None));
    assert_eq!(std::fs::read(&target).unwrap(), NEW);
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o640);
    assert!(mark.exists() && host.bk().join("restore.sh").exists() && host.lock().join("run").exists());

    let (r, code, stdout) = host.run(&rollback(&host.run_id, NONCE).unwrap());
    assert_eq!((r.rollback, code), (Some(Rollback::Restored(0)), Some(0)), "{stdout}");
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    assert!(!mark.exists(), "the command's rollback ran");
    assert!(!host.lock().exists(), "the restore released the lock");

    let (r, _, stdout) = host.run(&settled(&host.run_id, NONCE).unwrap());
    assert_eq!(r.settled, Some(Settlement::Restored), "{stdout}");
    // A second rollback finds the run settled by the controller.
    let (r, _, _) = host.run(&rollback(&host.run_id, NONCE).unwrap());
    assert_eq!(r.rollback, Some(Rollback::Busy));
}

/// The host's own check, for when the directory changed since planning:
/// a target in a directory another user owns is refused before anything
/// is written, unless its step allowed it.
#[test]
fn a_directory_another_user_owns_is_refused_on_the_host() {
    let host = Host::new();
    let dir = host.dir.path().join("theirs");
    std::fs::create_dir(&dir).unwrap();
    let target = dir.join("conf");
    let mark = host.dir.path().join("mark");
    let mut plan = plan(&target, OLD, NEW, "true", &mark);
    std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
    let (r, code, stdout) = host.run(&change(&host.run_id, &plan, &[], None, 5, NONCE).unwrap());
    assert_eq!(code, Some(1), "{stdout}");
    let (op, message) = r.failed.clone().unwrap();
    assert_eq!(op, "trust0");
    assert!(
        message.contains("is owned by uid 65534, not root") && message.contains("unsafe_writes"),
        "{message}"
    );
    assert!(!r.has("uploaded") && !host.lock().exists() && !mark.exists());
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "a candidate was left behind"
    );

    plan.files[0].unsafe_writes = true;
    let (_, code, stdout) = host.run(&change(&host.run_id, &plan, &[], None, 5, NONCE).unwrap());
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(std::fs::read(&target).unwrap(), NEW);
}

#[test]
fn a_rejected_candidate_changes_nothing_and_releases_the_lock() {
    let host = Host::new();
    let target = host.dir.path().join("conf");
    let mark = host.dir.path().join("mark");
    let plan = plan(&target, OLD, NEW, "echo 'no: line 1'; echo bad; exit 1", &mark);
    let (r, code, _) = host.run(&change(&host.run_id, &plan, &[], None, 5, NONCE).unwrap());
    assert_eq!(code, Some(1));
    assert!(r.has("locked") && !r.has("uploaded"));
    assert_eq!(r.rejected, Some((0, "no: line 1 bad".into())));
    assert_eq!(r.failed, Some(("validate0".into(), "rejected".into())));
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    let left: Vec<_> = std::fs::read_dir(host.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !left.iter().any(|n| n.to_string_lossy().contains(".rectify-")),
        "{left:?}"
    );
    assert!(!host.lock().exists());
    // Nothing was backed up, so a rollback has nothing to do.
    let (r, _, _) = host.run(&rollback(&host.run_id, NONCE).unwrap());
    assert_eq!(r.rollback, Some(Rollback::Nothing));
}

#[test]
fn a_locked_host_is_reported_busy() {
    let host = Host::new();
    std::fs::create_dir(host.lock()).unwrap();
    std::fs::write(host.lock().join("run"), "other-run\n").unwrap();
    let target = host.dir.path().join("conf");
    let plan = plan(&target, OLD, NEW, "true", &host.dir.path().join("mark"));
    let (r, code, _) = host.run(&change(&host.run_id, &plan, &[], None, 5, NONCE).unwrap());
    assert_eq!((r.busy.as_deref(), code), (Some("other-run"), Some(1)));
    assert!(!r.has("locked"));
    assert!(host.lock().exists(), "someone else's lock stays");
}

#[test]
fn a_failing_handler_is_named_and_stops_the_change() {
    let host = Host::new();
    let target = host.dir.path().join("conf");
    let plan = plan(&target, OLD, NEW, "true", &host.dir.path().join("mark"));
    let handlers = ["true".to_string(), "echo reload: failed >&2; exit 2".to_string()];
    let (r, code, _) = host.run(&change(&host.run_id, &plan, &handlers, None, 5, NONCE).unwrap());
    assert_eq!(code, Some(1));
    assert!(r.has("committed") && !r.has("handlers"));
    assert_eq!(r.handler, Some((1, "reload: failed".into())));
}

#[test]
fn verify_confirms_once_and_a_failing_check_is_answered() {
    let host = Host::new();
    let target = host.dir.path().join("conf");
    let plan = plan(&target, OLD, NEW, "true", &host.dir.path().join("mark"));
    host.run(&change(&host.run_id, &plan, &[], None, 5, NONCE).unwrap());

    let checks = ["true".to_string(), "echo 'not: yet'; exit 3".to_string()];
    let (r, code, _) = host.run(&verify_and_confirm(&host.run_id, &checks, NONCE).unwrap());
    assert_eq!((r.verify.clone(), code), (Some((1, "not: yet".into())), Some(1)));
    assert!(!r.has("committed") && host.lock().exists());

    let (r, code, _) = host.run(&verify_and_confirm(&host.run_id, &checks[..1], NONCE).unwrap());
    assert!(r.has("committed") && !r.has("timer") && code == Some(0), "{r:?}");
    assert!(host.bk().join("committed").exists() && !host.lock().exists());
    let (r, _, _) = host.run(&settled(&host.run_id, NONCE).unwrap());
    assert_eq!(r.settled, Some(Settlement::Committed));
    // The run is settled: confirming again finds it decided.
    let (r, _, _) = host.run(&verify_and_confirm(&host.run_id, &[], NONCE).unwrap());
    assert!(r.has("timer") && !r.has("committed"));
}

#[test]
fn the_timer_settles_a_run_the_controller_then_leaves_alone() {
    let host = Host::new();
    let target = host.dir.path().join("conf");
    let plan = plan(&target, OLD, NEW, "true", &host.dir.path().join("mark"));
    let script = change(&host.run_id, &plan, &[], Some(1), 5, NONCE).unwrap();
    let (r, _, _) = host.run(&script);
    assert!(r.has("handlers"));
    // The timer (1 s) restores on its own, detached.
    let restored = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        host.bk().join("restored").exists()
    });
    assert!(restored, "the dead-man timer restored the run");
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    let (r, _, _) = host.run(&rollback(&host.run_id, NONCE).unwrap());
    assert_eq!(r.rollback, Some(Rollback::Timer));
    let (r, _, _) = host.run(&settled(&host.run_id, NONCE).unwrap());
    assert_eq!(r.settled, Some(Settlement::Restored));
}

#[test]
fn values_reach_the_script_only_quoted() {
    let host = Host::new();
    let target = host.dir.path().join("$(touch pwned) ';x");
    let plan = plan(&target, OLD, NEW, "true", &host.dir.path().join("`touch pwned`"));
    let (r, _, stdout) = host.run(&change(&host.run_id, &plan, &["true".into()], None, 5, NONCE).unwrap());
    assert!(r.has("handlers"), "{stdout}");
    assert_eq!(std::fs::read(&target).unwrap(), NEW);
    assert!(!host.dir.path().join("pwned").exists() && !Path::new("pwned").exists());
}
