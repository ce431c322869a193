//! Faults and hostile endpoints during audit (and a re-keyed host between
//! two applies), on real sshd hosts: the faulty host gets `error` with a
//! reason, its hostile content is bounded, and every other host finishes
//! with its correct results.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::fleet::report::{host, rule};
use crate::fleet::{answers_ssh, apply_fleet, audit_fleet, sh, wait_until, Fleet, HostSpec};
use serde_json::Value;

/// A host whose `/etc/color.conf` holds `color = <color>`.
fn color_host(name: &str, color: &str) -> HostSpec {
    HostSpec::new(name).file("color.conf", format!("color = {color}\n"), 0o644)
}

/// Two rules every host gets: one that passes everywhere, and one that
/// passes on a `blue` host and fails on a `red` one.
const COMMON_RULES: &str = r#"
  - {id: OS, sysctl: kernel.ostype, check: live, expect: Linux}
  - {id: COLOR, file: /etc/color.conf, line: '^color = (\S+)', expect: blue}
"#;

/// The healthy hosts finished with their correct results: `blue` is
/// compliant, `red` fails exactly COLOR.
fn assert_healthy_hosts(report: &Value) {
    let blue = host(report, "blue");
    assert_eq!(blue["status"], "compliant", "{blue}");
    assert_eq!(rule(blue, "OS")["status"], "pass", "{blue}");
    assert_eq!(rule(blue, "COLOR")["status"], "pass", "{blue}");
    let red = host(report, "red");
    assert_eq!(red["status"], "drift", "{red}");
    assert_eq!(rule(red, "OS")["status"], "pass", "{red}");
    assert_eq!(rule(red, "COLOR")["status"], "fail", "{red}");
    assert_eq!(rule(red, "COLOR")["actual"], "red", "{red}");
}

/// Every sshd process of one host (listener and sessions: processes whose
/// name starts with `sshd` in that host's mount namespace) is SIGKILLed
/// while its audit's command runs: the live connection drops.
#[test]
fn sshd_killed_mid_audit_is_an_error_while_others_finish() {
    let fleet = Fleet::start(vec![
        color_host("blue", "blue"),
        color_host("victim", "blue"),
        color_host("red", "red"),
    ]);
    let baseline = format!(
        "name: killed\nrules:{COMMON_RULES}  - {{id: SLOW, hosts: victim, command: 'touch /run/slow-started; sleep 8; echo done', expect: done}}\n"
    );
    std::thread::scope(|s| {
        let run = s.spawn(|| audit_fleet(&fleet, &baseline, &[]));
        // The audit's command is running on victim: kill its sshd's.
        let started = || fleet.exec("victim", "test -e /run/slow-started").status.success();
        assert!(
            wait_until(Duration::from_secs(60), started),
            "victim: `test -e /run/slow-started` did not succeed within 60 s"
        );
        let kill = fleet.exec("victim", "pkill -KILL --ns $$ --nslist mnt '^sshd'");
        assert!(kill.status.success(), "no sshd killed: {kill:?}");
        let (code, report) = run.join().unwrap();

        assert_eq!(code, Some(3), "{report}");
        let victim = host(&report, "victim");
        assert_eq!(victim["status"], "error", "{victim}");
        let error = victim["error"].as_str().unwrap_or_else(|| panic!("no error: {victim}"));
        assert!(error.starts_with("connection lost"), "{error}");
        assert_healthy_hosts(&report);
        assert_eq!(report["summary"]["error"], 1, "{report}");
    });
    // Its sshd's are really gone (the fault was what the test meant).
    assert!(
        TcpStream::connect_timeout(
            &format!("{}:22", fleet.address("victim")).parse().unwrap(),
            Duration::from_secs(2)
        )
        .is_err(),
        "victim still listens"
    );
}

/// Authentication succeeds, then the session kills its own sshd process:
/// the connection dies before any command output.
#[test]
fn a_host_that_drops_the_connection_after_auth_is_an_error_while_others_finish() {
    let fleet = Fleet::start(vec![
        color_host("blue", "blue"),
        color_host("dropper", "blue").sshd("ForceCommand kill -9 $PPID\nLogLevel VERBOSE"),
        color_host("red", "red"),
    ]);
    let baseline = format!("name: dropped\nrules:{COMMON_RULES}");
    let (code, report) = audit_fleet(&fleet, &baseline, &[]);

    assert_eq!(code, Some(3), "{report}");
    let dropper = host(&report, "dropper");
    assert_eq!(dropper["status"], "error", "{dropper}");
    let error = dropper["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {dropper}"));
    assert!(error.starts_with("connection lost"), "{error}");
    assert_healthy_hosts(&report);
    // It really authenticated first: the fault is after auth, not in it.
    let log = std::fs::read_to_string(fleet.dir().join("dropper/sshd.err")).unwrap();
    assert!(log.contains("Accepted publickey for root"), "{log}");
}

/// A sparse 1 GiB file under /etc: rules reading its content get an
/// `error` naming the size limit (the host sends an empty `toolarge` frame,
/// not the file: had it sent the content, the whole host would fail on its
/// output limit instead); metadata rules on it pass; other rules work.
#[test]
fn a_one_gib_file_is_an_error_for_content_rules_only() {
    let fleet = Fleet::start(vec![
        color_host("blue", "blue"),
        color_host("big", "blue").setup("truncate -s 1G /etc/big.bin && chmod 0600 /etc/big.bin"),
        color_host("red", "red"),
    ]);
    // It is in the host's own /etc layer (in the fleet's temp dir), sparse.
    let upper = fleet.dir().join("big/upper/big.bin");
    let meta = std::fs::metadata(&upper).unwrap();
    assert_eq!(meta.len(), 1 << 30);
    assert!(std::os::unix::fs::MetadataExt::blocks(&meta) < 1024, "not sparse");
    let baseline = format!(
        r#"name: big
rules:{COMMON_RULES}  - {{id: BIG-CONTENT, hosts: big, file: /etc/big.bin, content: "x"}}
  - {{id: BIG-LINE, hosts: big, file: /etc/big.bin, line: '^x', absent: true}}
  - {{id: BIG-SETTING, hosts: big, file: /etc/big.bin, setting: x, expect: "1"}}
  - {{id: BIG-EXISTS, hosts: big, file: /etc/big.bin, exists: true}}
  - {{id: BIG-MODE, hosts: big, file: /etc/big.bin, mode: "0600", owner: root}}
"#
    );
    let (code, report) = audit_fleet(&fleet, &baseline, &[]);

    // A rule that cannot be evaluated on a reachable host is drift, exit 1
    // (README, Exit codes); 3 is for hosts that could not be audited.
    assert_eq!(code, Some(1), "{report}");
    let big = host(&report, "big");
    assert!(big["error"].is_null(), "the host itself is fine: {big}");
    assert_eq!(big["status"], "drift", "{big}");
    for id in ["BIG-CONTENT", "BIG-LINE", "BIG-SETTING"] {
        let r = rule(big, id);
        assert_eq!(r["status"], "error", "{r}");
        let msg = r["message"].as_str().unwrap_or("");
        assert!(msg.contains("larger than the file size limit"), "{r}");
    }
    for id in ["BIG-EXISTS", "BIG-MODE", "OS", "COLOR"] {
        assert_eq!(rule(big, id)["status"], "pass", "{big}");
    }
    assert_healthy_hosts(&report);
}

/// `yes` and `cat /dev/zero` as `command:` rules: each gets an `error`
/// naming the 64 KiB output cap, the remote processes are gone afterwards,
/// and the host's other rules are correct.
#[test]
fn endless_command_output_is_capped_and_the_command_ends() {
    let fleet = Fleet::start(vec![
        color_host("blue", "blue"),
        color_host("noisy", "blue"),
        color_host("red", "red"),
    ]);
    let baseline = format!(
        "name: endless\nrules:{COMMON_RULES}  - {{id: YES, hosts: noisy, command: yes, expect: y}}\n  - {{id: ZERO, hosts: noisy, command: cat /dev/zero, expect: ''}}\n  - {{id: AFTER, hosts: noisy, command: echo after, expect: after}}\n"
    );
    let (code, report) = audit_fleet(&fleet, &baseline, &[]);

    // Rule errors on a reachable host: drift, exit 1 (README, Exit codes).
    assert_eq!(code, Some(1), "{report}");
    let noisy = host(&report, "noisy");
    assert!(noisy["error"].is_null(), "the host itself is fine: {noisy}");
    assert_eq!(noisy["status"], "drift", "{noisy}");
    for id in ["YES", "ZERO"] {
        let r = rule(noisy, id);
        assert_eq!(r["status"], "error", "{r}");
        let msg = r["message"].as_str().unwrap_or("");
        assert!(msg.contains("output exceeded 65536 bytes"), "{r}");
        let actual = r["actual"].as_str().unwrap_or("");
        assert!(actual.len() <= 64 * 1024 + 16, "{id}: actual is {} bytes", actual.len());
    }
    for id in ["AFTER", "OS", "COLOR"] {
        assert_eq!(rule(noisy, id)["status"], "pass", "{noisy}");
    }
    assert_healthy_hosts(&report);
    // Nothing of those commands keeps running on the host.
    let left = sh(
        &fleet,
        "noisy",
        "pgrep -a --ns $$ --nslist mnt -x 'yes|cat|timeout' || true",
    );
    assert_eq!(left.trim(), "", "still running on noisy");
}

/// A FIFO where a file is audited: a read would block until something
/// writes to it, so its content rules get `error` "not a regular file" at
/// once (instead of the whole host timing out and losing every result),
/// its `exists` rule passes, and nothing is left blocked on the host.
#[test]
fn a_fifo_is_an_error_for_its_content_rules_and_blocks_nothing() {
    let fleet = Fleet::start(vec![
        color_host("blue", "blue"),
        color_host("fifo", "blue").setup("mkfifo -m 0644 /etc/app.fifo"),
        color_host("red", "red"),
    ]);
    let baseline = format!(
        "name: fifo\nrules:{COMMON_RULES}  - {{id: FIFO-LINE, hosts: fifo, file: /etc/app.fifo, line: '^x', absent: true}}\n  - {{id: FIFO-CONTENT, hosts: fifo, file: /etc/app.fifo, content: x}}\n  - {{id: FIFO-EXISTS, hosts: fifo, file: /etc/app.fifo, exists: true}}\n"
    );
    let (code, report) = audit_fleet(&fleet, &baseline, &[]);

    // Rule errors on a reachable host: drift, exit 1 (README, Exit codes).
    assert_eq!(code, Some(1), "{report}");
    let fifo = host(&report, "fifo");
    assert!(fifo["error"].is_null(), "the host itself is fine: {fifo}");
    assert_eq!(fifo["status"], "drift", "{fifo}");
    for id in ["FIFO-LINE", "FIFO-CONTENT"] {
        let r = rule(fifo, id);
        assert_eq!(r["status"], "error", "{r}");
        assert!(
            r["message"].as_str().unwrap_or("").contains("not a regular file"),
            "{r}"
        );
    }
    for id in ["FIFO-EXISTS", "OS", "COLOR"] {
        assert_eq!(rule(fifo, id)["status"], "pass", "{fifo}");
    }
    assert_healthy_hosts(&report);
    let left = sh(
        &fleet,
        "fifo",
        "pgrep -a --ns $$ --nslist mnt -x 'head|timeout' || true",
    );
    assert_eq!(left.trim(), "", "still running on fifo");
}

/// Lines of a host's sshd log (its stderr) that contain `text`.
fn log_count(fleet: &Fleet, name: &str, text: &str) -> usize {
    let log = std::fs::read_to_string(fleet.dir().join(name).join("sshd.err")).unwrap();
    log.lines().filter(|l| l.contains(text)).count()
}

/// Lines of a host's sshd log (`LogLevel VERBOSE`) that mention a public
/// key offered or accepted.
fn publickey_lines(fleet: &Fleet, name: &str) -> usize {
    log_count(fleet, name, "publickey")
}

fn color_playbook(color: &str) -> String {
    format!("name: color\nsteps:\n  - setting: {{file: /etc/demo.conf, key: Color, value: {color}}}\n")
}

/// A host re-keyed between two applies: the second apply refuses it before
/// offering any key (its sshd logs no new `publickey` line), leaves its file
/// as the first apply wrote it, and applies the other host normally.
#[test]
fn a_host_key_changed_between_two_applies_is_refused_and_left_untouched() {
    let fleet = Fleet::start(vec![
        HostSpec::new("steady").file("demo.conf", "Color blue\n", 0o644),
        HostSpec::new("rekeyed")
            .file("demo.conf", "Color blue\n", 0o644)
            .sshd("LogLevel VERBOSE"),
    ]);
    let (code, report) = apply_fleet(&fleet, &color_playbook("red"), &[]);
    assert_eq!(code, Some(0), "{report}");
    for h in ["steady", "rekeyed"] {
        assert_eq!(host(&report, h)["status"], "changed", "{report}");
        assert_eq!(fleet.read_file(h, "/etc/demo.conf"), b"Color red\n");
    }
    let offered = publickey_lines(&fleet, "rekeyed");
    assert!(
        offered > 0,
        "the log shows no key at all: the check below would prove nothing"
    );

    let old_key = fleet.host_key_line("rekeyed");
    let listening = log_count(&fleet, "rekeyed", "Server listening on");
    assert!(listening > 0, "the log does not show sshd starting");
    let rekey = fleet.exec(
        "rekeyed",
        "rm -f /etc/ssh/ssh_host_* && ssh-keygen -q -A && kill -HUP \"$(cat /run/sshd.pid)\"",
    );
    assert!(rekey.status.success(), "{rekey:?}");
    assert_ne!(fleet.host_key_line("rekeyed"), old_key, "the host key did not change");
    // sshd re-execs on SIGHUP: wait until the new one has said it listens
    // (so no connection can reach the old one), then until it answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while log_count(&fleet, "rekeyed", "Server listening on") < listening + 1 {
        assert!(Instant::now() < deadline, "sshd did not restart after SIGHUP");
        std::thread::sleep(Duration::from_millis(100));
    }
    let address = fleet.address("rekeyed");
    assert!(
        wait_until(Duration::from_secs(30), || answers_ssh(&address)),
        "{address}:22 did not answer again"
    );
    let offered = publickey_lines(&fleet, "rekeyed");

    let (code, report) = apply_fleet(&fleet, &color_playbook("green"), &[]);
    assert_eq!(code, Some(3), "{report}");
    let rekeyed = host(&report, "rekeyed");
    assert_eq!(rekeyed["status"], "error", "{rekeyed}");
    let error = rekeyed["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {rekeyed}"));
    assert!(error.contains("HOST KEY CHANGED"), "{error}");
    assert_eq!(fleet.read_file("rekeyed", "/etc/demo.conf"), b"Color red\n");
    assert_eq!(
        publickey_lines(&fleet, "rekeyed"),
        offered,
        "a key was offered to a changed host"
    );
    assert_eq!(host(&report, "steady")["status"], "changed", "{report}");
    assert_eq!(fleet.read_file("steady", "/etc/demo.conf"), b"Color green\n");
}
