//! Reports as their consumers read them, with the consumers' own tools:
//! JUnit against the Jenkins `junit-10.xsd` schema with `xmllint --schema`,
//! and the Prometheus textfiles of two schedules in one node_exporter
//! textfile directory, served by a real node_exporter and checked with
//! `promtool check metrics`.
//!
//! The schema is not part of this project: it is fetched from PyPI, in the
//! sdist of pytest 8.3.3 (`testing/example_scripts/junit-10.xsd`, the
//! Jenkins xunit-plugin schema pytest validates its own JUnit output
//! against), pinned by the sdist's SHA-256, and kept in cargo's test
//! temporary directory between runs. No network, no pip, no `xmllint`,
//! `promtool` or `prometheus-node-exporter`: the test fails (`.ci/run`
//! installs them).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::fleet::{rectify_in, wait_until, write, Fleet, HostSpec};

const PYTEST_SDIST: &str = "pytest-8.3.3.tar.gz";
const PYTEST_SHA256: &str = "70b98107bd648308a7952b06e6ca9a50bc660be218d53c257cc1fc94fda10181";
const XSD_IN_SDIST: &str = "pytest-8.3.3/testing/example_scripts/junit-10.xsd";

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// The Jenkins JUnit schema, fetched once per target directory.
fn junit_xsd() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("junit-xsd");
    let xsd = dir.join(XSD_IN_SDIST);
    if xsd.exists() {
        return xsd;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let sdist = dir.join(PYTEST_SDIST);
    if !sdist.exists() {
        let out = run(Command::new("python3").args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "pytest==8.3.3",
            "-d",
            dir.to_str().unwrap(),
        ]));
        assert!(
            out.status.success(),
            "cannot fetch the pytest sdist that ships junit-10.xsd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sum = run(Command::new("sha256sum").arg(&sdist));
    assert!(
        String::from_utf8_lossy(&sum.stdout).starts_with(PYTEST_SHA256),
        "{PYTEST_SDIST} is not the pinned one: {}",
        String::from_utf8_lossy(&sum.stdout)
    );
    let out = run(Command::new("tar").args([
        "-xzf",
        sdist.to_str().unwrap(),
        "-C",
        dir.to_str().unwrap(),
        XSD_IN_SDIST,
    ]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    xsd
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn junit_validates_against_the_jenkins_schema() {
    let xsd = junit_xsd();
    let fleet = Fleet::start(vec![HostSpec::new("web01").file(
        "app.conf",
        "mode = fast\nport = 5432\n",
        0o644,
    )]);
    let d = fleet.dir();
    let inventory = format!(
        "{}  gone01: {{address: {}}}\n",
        fleet.inventory_yaml(),
        fleet.spare_address(200)
    );
    write(d, "inv.yaml", &inventory);
    write(
        d,
        "b.yaml",
        "name: consumers\nrules:\n\
         - {id: PASS, title: mode, severity: high, file: /etc/app.conf, setting: mode, expect: fast}\n\
         - {id: FAIL, file: /etc/app.conf, content: \"mode = slow\\n\"}\n\
         - {id: ERROR, file: /etc/app.conf, setting: mode, expect: '{{ nope }}'}\n\
         - {id: SKIPPED, hosts: 'db*', command: echo ok, expect: ok}\n\
         - {id: WAIVED, severity: low, file: /etc/app.conf, setting: port, expect: '22'}\n",
    );
    write(d, "w.yaml", "waivers:\n  - {rule: WAIVED, reason: legacy port}\n");
    let out = rectify_in(
        &[
            "audit",
            "-i",
            "inv.yaml",
            "-b",
            "b.yaml",
            "--waivers",
            "w.yaml",
            "--connect-timeout",
            "2",
            "--format",
            "junit",
        ],
        d,
        &[("RECTIFY_STATE_DIR", d.join("state").to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let xml = String::from_utf8(out.stdout).unwrap();
    let report = write(d, "junit.xml", &xml);
    let check = run(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&report));
    assert!(check.status.success(), "{}\n{xml}", stderr(&check));

    // What the schema does not require but readers rely on.
    let testsuites = xml.lines().find(|l| l.starts_with("<testsuites ")).unwrap();
    assert!(!testsuites.contains("timestamp="), "{testsuites}");
    let cases: Vec<&str> = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<testcase "))
        .collect();
    assert_eq!(cases.len(), 5 + 1, "{xml}");
    assert!(cases.iter().all(|c| c.contains(" time=\"")), "{xml}");
    assert!(xml.contains("<skipped message=\"waived: legacy port\"/>"), "{xml}");
    assert!(!xml.contains("waived: waived"), "{xml}");
    assert!(
        xml.contains("<error message=") && xml.contains("type=\"unreachable\""),
        "{xml}"
    );
}

/// `GET /metrics` from `port` on 127.0.0.1.
fn scrape(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    Some(body.to_string())
}

/// node_exporter serving only the textfile collector on `dir`.
struct NodeExporter {
    child: std::process::Child,
    port: u16,
}

impl NodeExporter {
    fn start(dir: &Path) -> NodeExporter {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!("--collector.textfile.directory={}", dir.display()))
            .arg("--web.disable-exporter-metrics")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter (Debian package prometheus-node-exporter)");
        let exporter = NodeExporter { child, port };
        assert!(
            wait_until(Duration::from_secs(20), || TcpStream::connect(("127.0.0.1", port))
                .is_ok()),
            "node_exporter did not listen on {port}"
        );
        exporter
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_schedules_share_a_node_exporter_textfile_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let textfile = d.join("textfile");
    std::fs::create_dir(&textfile).unwrap();
    write(
        d,
        "nightly.yaml",
        "name: nightly\nrules:\n  - {id: A, command: echo ok, expect: ok}\n  - {id: B, severity: high, command: echo no, expect: ok}\n",
    );
    write(
        d,
        "hourly.yaml",
        "name: hourly\nrules:\n  - {id: A, command: echo ok, expect: ok}\n",
    );
    let state = d.join("state");
    let envs = [("RECTIFY_STATE_DIR", state.to_str().unwrap())];
    for (baseline, file, code) in [
        ("nightly.yaml", "rectify-nightly.prom", 1),
        ("hourly.yaml", "rectify-hourly.prom", 0),
    ] {
        let target = format!("prometheus={}", textfile.join(file).display());
        let out = rectify_in(&["audit", "--local", "-b", baseline, "--report", &target], d, &envs);
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    }
    // On stdout the label is `--schedule NAME` (else `default`).
    let out = rectify_in(
        &[
            "audit",
            "--local",
            "-b",
            "hourly.yaml",
            "--format",
            "prometheus",
            "--schedule",
            "adhoc",
        ],
        d,
        &envs,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rectify_hosts{schedule=\"adhoc\",status=\"compliant\"} 1"),
        "{text}"
    );
    // Each file alone is valid exposition text.
    for file in ["rectify-nightly.prom", "rectify-hourly.prom"] {
        let check = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(textfile.join(file)).unwrap())
            .output()
            .expect("promtool (Debian package prometheus)");
        assert!(check.status.success(), "{file}: {}", stderr(&check));
    }

    let exporter = NodeExporter::start(&textfile);
    let metrics = scrape(exporter.port).expect("a scrape");
    // node_exporter read both files without an error...
    assert!(metrics.contains("node_textfile_scrape_error 0"), "{metrics}");
    // ...and serves both schedules' series, one family per metric.
    // (node_exporter sorts the labels; the host is this machine's name.)
    for (metric, labels, value) in [
        (
            "rectify_hosts",
            &["schedule=\"rectify-nightly\"", "status=\"drift\""][..],
            "1",
        ),
        (
            "rectify_hosts",
            &["schedule=\"rectify-hourly\"", "status=\"compliant\""][..],
            "1",
        ),
        (
            "rectify_rule_failed",
            &[
                "baseline=\"nightly\"",
                "rule=\"B\"",
                "schedule=\"rectify-nightly\"",
                "status=\"fail\"",
            ][..],
            "1",
        ),
        (
            "rectify_rule_failed",
            &[
                "baseline=\"hourly\"",
                "rule=\"A\"",
                "schedule=\"rectify-hourly\"",
                "status=\"pass\"",
            ][..],
            "0",
        ),
    ] {
        let found = metrics.lines().any(|l| {
            l.starts_with(&format!("{metric}{{"))
                && labels.iter().all(|label| l.contains(label))
                && l.ends_with(&format!("}} {value}"))
        });
        assert!(found, "{metric}{labels:?} {value} missing:\n{metrics}");
    }
    assert_eq!(
        metrics.matches("# HELP rectify_last_run_timestamp_seconds ").count(),
        1,
        "{metrics}"
    );
    assert_eq!(
        metrics.matches("rectify_last_run_timestamp_seconds{").count(),
        2,
        "{metrics}"
    );
    let merged = write(d, "merged.prom", &metrics);
    let check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&merged).unwrap())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}\n{metrics}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
}
