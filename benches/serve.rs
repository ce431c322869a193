//! The web view's benchmark (issue 16): a generated history of 10,000 runs
//! of a 200-host fleet, recorded through the real state API
//! (`StateDb::record_with`), then every page kind of `rectify serve` timed
//! over real HTTP on loopback (median and max of several requests) and the
//! serve process's peak RSS.
//!
//!     cargo bench --bench serve                                   # 10,000 runs
//!     RECTIFY_BENCH_SERVE_RUNS=1000 RECTIFY_BENCH_SERVE_GROUP=200 cargo bench --bench serve
//!
//! The history is what a scheduled fleet builds: ten groups of 20 hosts,
//! each audited every six hours by its own timer (`RECTIFY_BENCH_SERVE_GROUP`
//! hosts per scheduled run), a weekly audit of all 200 hosts, a 25-rule
//! baseline over five audited files per host, drift that comes (a file
//! edited on a host) and goes (fixed by the next `fix` run of its group),
//! some recurring, with the file versions observed; applies and rollbacks
//! now and then. Deterministic (a fixed seed). It is generated once into
//! `target/bench-serve/<parameters>/` and reused. Nothing here asserts a
//! time: it prints medians and maxima.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rectify::report::{HostReport, HostStatus, Observed, RuleResult, RunKind, RunReport};
use rectify::state::StateDb;

const HOSTS: usize = 200;
const GROUPS: [&str; 10] = ["web", "db", "app", "cache", "mail", "dns", "ci", "log", "mon", "edge"];
const FILES: [&str; 5] = [
    "/etc/ssh/sshd_config",
    "/etc/sysctl.d/90-hardening.conf",
    "/etc/login.defs",
    "/etc/audit/auditd.conf",
    "/etc/chrony/chrony.conf",
];
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
/// Bump when the generated history changes, so a cached one is not reused.
const GENERATOR: u32 = 1;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Rule `r`: its id, its file, its key.
fn rule(r: usize) -> (String, &'static str, String) {
    (
        format!("HARDEN-{:02}", r + 1),
        FILES[r % FILES.len()],
        format!("Key{:02}", r + 1),
    )
}

fn host(h: usize) -> String {
    format!(
        "{}{:02}",
        GROUPS[h / (HOSTS / GROUPS.len())],
        h % (HOSTS / GROUPS.len()) + 1
    )
}

/// One file of one host: ~1.5 KiB of settings, with the drifted keys (of
/// the rules on this file) set to a wrong value.
fn content(h: usize, f: usize, drifted: &[bool]) -> Vec<u8> {
    let mut text = format!("# {} managed by config management\n# host {}\n", FILES[f], host(h));
    for line in 0..40 {
        text.push_str(&format!("Setting{line:02} value-{line}-{}\n", line * 7 % 13));
    }
    for r in (f..25).step_by(FILES.len()) {
        let (_, _, key) = rule(r);
        let value = if drifted[r] { "wrong" } else { "right" };
        text.push_str(&format!("{key} {value}\n"));
    }
    text.into_bytes()
}

fn result(r: usize, fail: bool) -> RuleResult {
    let (id, file, key) = rule(r);
    let status = if fail { "fail" } else { "pass" };
    let value = serde_json::json!({
        "id": id, "title": format!("{key} in {file} is right"), "severity": SEVERITIES[r % 5],
        "status": status, "expected": "right", "actual": if fail { "wrong" } else { "right" },
        "diff": null, "message": if fail { Some(format!("{key} is wrong")) } else { None }, "baseline": "hardening",
    });
    serde_json::from_value(value).expect("a result")
}

/// Generates the history into `dir` (a new state directory).
fn generate(dir: &Path, runs: usize, group_size: usize, seed: u64) {
    let mut db = StateDb::open(dir).expect("state database");
    let mut rng = StdRng::seed_from_u64(seed);
    // Drift per host and rule, and how many more audits it lasts.
    let mut drifted = vec![[false; 25]; HOSTS];
    let mut until_fixed = vec![[0u32; 25]; HOSTS];
    // A few hosts and rules drift far more often (the recurring ones).
    let flaky_rules = [2usize, 7, 11];
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let per_slot = HOSTS.div_ceil(group_size).max(1);
    let started = Instant::now();
    for n in 0..runs {
        // Every six hours each group's timer fires; once a week (every 28
        // slots) a full-fleet audit; every 10th run of a group is a fix.
        let slot = n / (per_slot + 1);
        let within = n % (per_slot + 1);
        let at = start + chrono::Duration::minutes(slot as i64 * 360 + within as i64 * 7);
        let weekly = within == per_slot;
        if weekly && !slot.is_multiple_of(28) {
            // Most slots have no weekly run: an apply or rollback instead,
            // now and then, else one more group audit.
            record_change(&mut db, &mut rng, n, at);
            continue;
        }
        let hosts: Vec<usize> = if weekly {
            (0..HOSTS).collect()
        } else {
            (within * group_size..((within + 1) * group_size).min(HOSTS)).collect()
        };
        let fix = !weekly && slot % 10 == 9;
        let mut reports = Vec::new();
        for &h in &hosts {
            for r in 0..25 {
                if drifted[h][r] {
                    until_fixed[h][r] = until_fixed[h][r].saturating_sub(1);
                    if until_fixed[h][r] == 0 || fix {
                        drifted[h][r] = false;
                    }
                } else {
                    let p = if flaky_rules.contains(&r) && h % 7 == 0 {
                        0.04
                    } else {
                        0.002
                    };
                    if rng.random_bool(p) {
                        drifted[h][r] = true;
                        until_fixed[h][r] = rng.random_range(1..12);
                    }
                }
            }
            let results: Vec<RuleResult> = (0..25).map(|r| result(r, drifted[h][r])).collect();
            let observed = (0..FILES.len())
                .map(|f| Observed {
                    path: FILES[f].to_string(),
                    content: Some(content(h, f, &drifted[h])),
                })
                .collect();
            reports.push(HostReport {
                name: host(h),
                address: format!("10.{}.{}.{}", h / 250, h % 250, 10),
                status: HostReport::status_from_results(&results),
                error: None,
                results,
                changes: Vec::new(),
                duration_ms: 800 + rng.random_range(0..400),
                warnings: Vec::new(),
                attempts: 1,
                observed,
            });
        }
        let report = RunReport {
            run_id: format!("{}-{:06x}", at.format("%Y%m%dT%H%M%SZ"), n),
            kind: if fix { RunKind::Fix } else { RunKind::Audit },
            check: false,
            started: at,
            finished: at + chrono::Duration::seconds(40),
            summary: RunReport::summarize(&reports),
            hosts: reports,
            baselines: vec!["baselines/hardening.yaml".into()],
            rectify_version: "bench".into(),
        };
        db.record(&report).expect("record");
        if n % 1000 == 999 {
            eprintln!("  {} runs recorded ({:.0?})", n + 1, started.elapsed());
        }
    }
}

/// An apply (or, one time in four, a rollback) of one host.
fn record_change(db: &mut StateDb, rng: &mut StdRng, n: usize, at: DateTime<Utc>) {
    let h = rng.random_range(0..HOSTS);
    let rollback = rng.random_bool(0.25);
    let status = if !rollback && rng.random_bool(0.1) {
        HostStatus::RolledBack
    } else {
        HostStatus::Changed
    };
    let hosts = vec![HostReport {
        name: host(h),
        address: format!("10.{}.{}.{}", h / 250, h % 250, 10),
        status,
        error: (status == HostStatus::RolledBack)
            .then(|| "verify failed: sshd -t: line 12: Bad configuration option".into()),
        results: Vec::new(),
        changes: vec![rectify::report::Change {
            step: "sshd_config settings".into(),
            path: FILES[0].into(),
            diff: format!("--- {0}\n+++ {0}\n@@ -1 +1 @@\n-Key01 wrong\n+Key01 right\n", FILES[0]),
        }],
        duration_ms: 1500,
        warnings: Vec::new(),
        attempts: 1,
        observed: Vec::new(),
    }];
    let report = RunReport {
        run_id: format!("{}-{:06x}", at.format("%Y%m%dT%H%M%SZ"), n),
        kind: if rollback { RunKind::Rollback } else { RunKind::Apply },
        check: false,
        started: at,
        finished: at + chrono::Duration::seconds(5),
        summary: RunReport::summarize(&hosts),
        hosts,
        baselines: vec!["playbooks/ssh-hardening.yaml".into()],
        rectify_version: "bench".into(),
    };
    db.record(&report).expect("record");
}

fn get(addr: SocketAddr, path: &str) -> (u16, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let status = String::from_utf8_lossy(&raw[..raw.len().min(12)])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, raw.len())
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` and `--list` probing: nothing to do.
        return;
    }
    let runs = env_or("RECTIFY_BENCH_SERVE_RUNS", 10_000);
    let group = env_or("RECTIFY_BENCH_SERVE_GROUP", 20).clamp(1, HOSTS);
    let requests = env_or("RECTIFY_BENCH_SERVE_REQUESTS", 15);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(format!("target/bench-serve/v{GENERATOR}-runs{runs}-group{group}"));
    if !dir.join("complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        eprintln!(
            "generating {runs} runs ({group} hosts per scheduled run) into {}",
            dir.display()
        );
        let t = Instant::now();
        generate(&dir, runs, group, 16);
        std::fs::write(dir.join("complete"), "").unwrap();
        eprintln!("generated in {:.0?}", t.elapsed());
    }
    let db = rusqlite::Connection::open_with_flags(dir.join("state.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let (n_runs, n_results, n_host_runs) = (
        count("SELECT count(*) FROM runs"),
        count("SELECT count(*) FROM results"),
        count("SELECT count(*) FROM host_runs"),
    );
    let report_bytes = count("SELECT sum(length(report)) FROM runs");
    let size = dir_size(&dir);
    println!(
        "history: {n_runs} runs, {n_host_runs} host runs, {n_results} results; database {:.2} GiB ({:.0} bytes per result, reports {:.2} GiB)",
        size as f64 / (1u64 << 30) as f64,
        size as f64 / n_results.max(1) as f64,
        report_bytes as f64 / (1u64 << 30) as f64
    );
    let one = |sql: &str| -> String { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let rule = one("SELECT rule_id FROM rule_now GROUP BY rule_id ORDER BY sum(recurrences) DESC LIMIT 1");
    let busy_host = one("SELECT host FROM host_runs GROUP BY host ORDER BY count(*) DESC LIMIT 1");
    let group_run = one("SELECT id FROM runs WHERE kind = 'audit' ORDER BY hosts, started DESC LIMIT 1");
    let big_run = one("SELECT id FROM runs ORDER BY hosts DESC, started DESC LIMIT 1");
    let deep = (n_runs / 50 / 2).max(1);
    drop(db);

    let mut child = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["serve", "--state-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .trim_start_matches("serving http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("serve did not start: {line:?}"));
    let pages = [
        ("fleet chart", "/".to_string()),
        ("rules", "/rules".into()),
        ("rule (most recurrences)", format!("/rules/{rule}")),
        ("hosts", "/hosts".into()),
        ("host (most runs)", format!("/hosts/{busy_host}")),
        ("runs, first page", "/runs".into()),
        ("runs, middle page", format!("/runs?page={deep}")),
        ("run, one group", format!("/runs/{group_run}")),
        ("run, largest", format!("/runs/{big_run}")),
        ("search", "/search?q=web0".into()),
        ("404", "/hosts/nosuch".into()),
    ];
    println!(
        "{:<26} {:>10} {:>10} {:>10}  status",
        "page", "median ms", "max ms", "KiB"
    );
    for (name, path) in &pages {
        let mut times = Vec::new();
        let mut last = (0, 0);
        for _ in 0..requests {
            let t = Instant::now();
            last = get(addr, path);
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "{name:<26} {:>10.1} {:>10.1} {:>10}  {}",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            last.1 / 1024,
            last.0
        );
    }
    println!(
        "serve peak RSS, one request at a time: {} MiB",
        peak_rss_kib(child.id()) / 1024
    );
    // Many at once: 32 clients, each asking for the largest run page and
    // the busiest host page 5 times. Renders are capped at 4 at a time,
    // so memory stays that of 4 pages however many ask.
    let t = Instant::now();
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let paths = [pages[8].1.clone(), pages[4].1.clone()];
            std::thread::spawn(move || {
                let mut worst = 0f64;
                for k in 0..10 {
                    let t = Instant::now();
                    let (status, _) = get(addr, &paths[(i + k) % 2]);
                    assert_eq!(status, 200);
                    worst = worst.max(t.elapsed().as_secs_f64());
                }
                worst
            })
        })
        .collect();
    let worst = clients.into_iter().map(|c| c.join().unwrap()).fold(0f64, f64::max);
    println!(
        "32 clients x 10 requests (largest run, busiest host): {:.1} s in all, slowest answer {:.0} ms; serve peak RSS: {} MiB",
        t.elapsed().as_secs_f64(),
        worst * 1e3,
        peak_rss_kib(child.id()) / 1024
    );
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}
