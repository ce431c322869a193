//! The web view (`rectify serve`) as a person sees it, in a real browser
//! (tests/it/webdriver.rs): a history built by real audits of a fleet,
//! with a file drifted between audits so that a rule fails, passes and
//! fails again, and the runs then moved to known days the way time passes
//! in a test: by SQL on `runs.started`/`finished`.
//!
//! Screenshots of every kind of page go to `$RECTIFY_SCREENSHOTS` (default:
//! the test's temporary directory) to be looked at.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{Duration as Days, Utc};

use crate::fleet::report::json;
use crate::fleet::{audit_json_with, rectify_bin, run_rectify, write, Fleet, HostSpec};
use crate::webdriver::{http, screenshot_dir, Browser, Element};

const TOKEN: &str = "s3cret-t0ken";
const PASSWORD: &str = "a-l0ng-passphrase";

const BASELINE: &str = "name: demo
rules:
  - id: DEMO-OWNER
    title: demo.conf belongs to root
    severity: critical
    file: /etc/demo.conf
    owner: root
  - id: DEMO-COLOR
    title: the demo colour is blue
    severity: high
    rationale: Every other colour breaks the demo's dashboards.
    manual_check: Run `grep Color /etc/demo.conf`; it must print `Color blue`.
    references:
      cis: [\"9.9.1\"]
      nist: [CM-6]
    remediation: {manual: Set `Color blue` in /etc/demo.conf and tell the demo team.}
    file: /etc/demo.conf
    setting: Color
    expect: blue
  - id: DEMO-BANNER
    title: demo.conf has a banner line
    severity: high
    file: /etc/demo.conf
    line: '# demo'
  - id: DEMO-EXISTS
    title: demo.conf exists
    severity: low
    file: /etc/demo.conf
    exists: true
";

/// `rectify serve` on a state directory, killed when dropped.
struct Served {
    child: Child,
    /// `http://ADDR:PORT` without the trailing slash.
    base: String,
}

impl Served {
    fn start(state: &Path, listen: &str, auth: &Path, extra: &[&Path]) -> Served {
        let mut child = Command::new(rectify_bin())
            .args(["serve", "--state-dir"])
            .arg(state)
            .args(["--listen", listen, "--auth-file"])
            .arg(auth)
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn rectify serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Read on, so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        let mut served = Served {
            child,
            base: String::new(),
        };
        let line = match first {
            Ok(Some(Ok(line))) => line,
            other => panic!("rectify serve printed no first line within 20 s: {other:?}"),
        };
        let base = line
            .strip_prefix("serving ")
            .and_then(|u| u.strip_suffix('/'))
            .unwrap_or_else(|| panic!("first line is not `serving http://ADDR:PORT/`: {line:?}"));
        served.base = base.to_string();
        served
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The summary tables `rectify serve` reads are kept as runs are recorded,
/// from the start times they had then; after moving runs, they are dropped
/// and rebuilt from the runs by the state's own migration (run by any
/// command that opens the database for writing).
const SUMMARIES: [&str; 7] = [
    "day_hosts",
    "days",
    "host_now",
    "rule_now",
    "recurrences",
    "file_now",
    "file_changes",
];

/// Moves runs to the given start times (`YYYY-MM-DDTHH:MM:SSZ`), each taking
/// two seconds, in the table and in the stored report, then has the
/// summaries rebuilt.
fn move_runs(state: &Path, moves: &[(&str, String)]) {
    let db = rusqlite::Connection::open(state.join("state.db")).unwrap();
    for (run, at) in moves {
        let started = chrono::DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc);
        let finished = started + chrono::Duration::seconds(2);
        let (s, f) = (started.to_rfc3339(), finished.to_rfc3339());
        let n = db
            .execute(
                "UPDATE runs SET started = ?2, finished = ?3,
                     report = json_set(report, '$.started', ?2, '$.finished', ?3)
                 WHERE id = ?1",
                rusqlite::params![run, s, f],
            )
            .unwrap();
        assert_eq!(n, 1, "no run {run}");
    }
    for table in SUMMARIES {
        db.execute_batch(&format!("DROP TABLE IF EXISTS {table}")).unwrap();
    }
    db.pragma_update(None, "user_version", 5).unwrap();
    drop(db);
    let out = run_rectify(&["runs"], &[("RECTIFY_STATE_DIR", state.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A chart point as the page draws it.
#[derive(Debug)]
struct Point {
    day: String,
    compliance: String,
    title: String,
    x: f64,
    y: f64,
}

fn points(browser: &Browser) -> Vec<Point> {
    browser
        .find_all("#compliance-chart circle.point")
        .iter()
        .map(|c| {
            let rect = c.rect();
            Point {
                day: c.attr("data-day").unwrap_or_default(),
                compliance: c.attr("data-compliance").unwrap_or_default(),
                title: c
                    .find("title")
                    .property("textContent")
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                x: rect.0,
                y: rect.1,
            }
        })
        .collect()
}

fn hrefs(elements: &[Element<'_>]) -> Vec<String> {
    elements.iter().filter_map(|a| a.attr("href")).collect()
}

/// The recurrence row of `host` whose failing run is `failed_run`.
fn row_for<'a, 'b>(rows: &'a [Element<'b>], host: &str, failed_run: &str) -> &'a Element<'b> {
    rows.iter()
        .find(|r| {
            r.attr("data-host").as_deref() == Some(host)
                && hrefs(&r.find_all("a")).contains(&format!("/runs/{failed_run}"))
        })
        .unwrap_or_else(|| panic!("no recurrence row of {host} links run {failed_run}"))
}

fn shot(browser: &Browser, dir: &Path, name: &str) -> PathBuf {
    let path = browser.screenshot(dir, name);
    eprintln!("screenshot: {}", path.display());
    path
}

#[test]
fn the_web_view_shows_chart_recurrences_links_and_needs_the_token() {
    let conf = "# demo\nColor blue\n";
    let fleet = Fleet::start(vec![
        HostSpec::new("web01").file("demo.conf", conf, 0o644),
        HostSpec::new("web02").file("demo.conf", conf, 0o644),
        HostSpec::new("db01").file("demo.conf", conf, 0o644),
    ]);
    let dir = fleet.dir();
    let inv = fleet.write_inventory();
    let b = write(dir, "b.yaml", BASELINE);
    let state = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", state.path().to_str().unwrap())];
    let colour = |host: &str, colour: &str| {
        fleet.exec(host, &format!("printf '# demo\\nColor {colour}\\n' > /etc/demo.conf"));
    };
    let audit = |extra: &[&str]| -> String {
        let out = audit_json_with(&inv, &b, extra, &env);
        // Compliant or drift: an error would leave a hole in the story.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = json(&out);
        report["run_id"].as_str().unwrap().to_string()
    };

    // Four days, A to D (the four days before today):
    // A 09:00  all blue                     → A: 100.0 % (3 of 3)
    // B 09:00  web01 red                    → B:  66.7 % (2 of 3)
    // C 09:00  web01 blue again (all pass)
    // C 15:00  --limit web02, web02 red     → C:  66.7 % (2 of 3): web02's
    //          last audit that day counts, not its first nor the average
    // D 09:00  web01 green, web02 blue, db01 red → D: 33.3 % (1 of 3)
    let r1 = audit(&[]);
    colour("web01", "red");
    let r2 = audit(&[]);
    colour("web01", "blue");
    let r3 = audit(&[]);
    colour("web02", "red");
    let r4 = audit(&["--limit", "web02"]);
    colour("web01", "green");
    colour("web02", "blue");
    colour("db01", "red");
    let r5 = audit(&[]);
    let today = Utc::now().date_naive();
    let [a, b_, c, d] = [4, 3, 2, 1].map(|n| (today - Days::days(n)).format("%Y-%m-%d").to_string());
    move_runs(
        state.path(),
        &[
            (&r1, format!("{a}T09:00:00Z")),
            (&r2, format!("{b_}T09:00:00Z")),
            (&r3, format!("{c}T09:00:00Z")),
            (&r4, format!("{c}T15:00:00Z")),
            (&r5, format!("{d}T09:00:00Z")),
        ],
    );

    let auth = write(dir, "auth", &format!("token: {TOKEN}\nbasic: support:{PASSWORD}\n"));
    std::fs::set_permissions(&auth, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    // The rule texts come from the baseline, the waivers from a file that
    // only serve reads.
    let waivers = write(
        dir,
        "w.yaml",
        "waivers:\n  - rule: DEMO-COLOR\n    hosts: \"lab*\"\n    reason: The lab hosts show every colour on purpose\n    expires: 2099-12-31\n",
    );
    let served = Served::start(
        state.path(),
        &format!("{}:0", fleet.spare_address(200)),
        &auth,
        &[Path::new("-b"), &b, Path::new("--waivers"), &waivers],
    );
    let shots = screenshot_dir(dir);
    let browser = Browser::start();

    // Without the token: 401 with a Basic challenge, and nothing of the
    // fleet in the browser (Chromium shows its login prompt over an empty
    // page, which headless has no window for).
    for path in ["/", "/rules", "/hosts/web01", &format!("/runs/{r5}"), "/?token=wrong"] {
        let reply = http("GET", &served.url(path), &[], None);
        assert_eq!(reply.status, 401, "{path}: {}", reply.body);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"rectify\""),
            "{path}"
        );
        assert!(reply.body.contains("401 Unauthorized"), "{path}: {}", reply.body);
    }
    browser.goto(&served.url("/"));
    shot(&browser, &shots, "01-unauthorized");
    assert!(
        browser.find_all("#compliance-chart").is_empty(),
        "the chart shows without the token"
    );
    assert!(!browser.page_text().contains("web01"), "{}", browser.page_text());

    // A view that takes only a token challenges with Bearer, which opens
    // no login prompt: the browser shows the 401 page and how to sign in.
    let token_only = write(dir, "auth-token", &format!("token: {TOKEN}\n"));
    std::fs::set_permissions(&token_only, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    {
        let tokened = Served::start(
            state.path(),
            &format!("{}:0", fleet.spare_address(201)),
            &token_only,
            &[Path::new("-b"), &b],
        );
        browser.goto(&tokened.url("/rules"));
        assert_eq!(browser.find("h1").text(), "401 Unauthorized");
        assert!(
            browser.find("#hint").text().contains("?token="),
            "{}",
            browser.page_text()
        );
        shot(&browser, &shots, "01b-token-only-unauthorized");
        browser.goto(&tokened.url(&format!("/rules?token={TOKEN}")));
        assert!(!browser.find_all("table#rules").is_empty(), "{}", browser.page_text());
    }

    // With `?token=` the page shows, and the cookie it sets lets links work.
    browser.goto(&served.url(&format!("/?token={TOKEN}")));
    let chart = browser.find("svg#compliance-chart");
    assert_eq!(chart.attr("role").as_deref(), Some("img"));
    shot(&browser, &shots, "02-fleet");
    let pts = points(&browser);
    let seen: Vec<(&str, &str, &str)> = pts
        .iter()
        .map(|p| (p.day.as_str(), p.compliance.as_str(), p.title.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                a.as_str(),
                "100.0",
                format!("{a}: 100.0 % (3 of 3 hosts compliant)").as_str()
            ),
            (
                b_.as_str(),
                "66.7",
                format!("{b_}: 66.7 % (2 of 3 hosts compliant)").as_str()
            ),
            (
                c.as_str(),
                "66.7",
                format!("{c}: 66.7 % (2 of 3 hosts compliant)").as_str()
            ),
            (
                d.as_str(),
                "33.3",
                format!("{d}: 33.3 % (1 of 3 hosts compliant)").as_str()
            ),
        ],
        "the chart's points"
    );
    // Drawn as a person reads a chart: days left to right, more
    // compliance higher up.
    assert!(pts.windows(2).all(|w| w[0].x < w[1].x), "{pts:?}");
    assert!(
        pts[0].y < pts[1].y && pts[1].y == pts[2].y && pts[2].y < pts[3].y,
        "{pts:?}"
    );
    // Every label of the chart is drawn inside it, none cut off at an edge.
    let (cx, cy, cw, ch) = chart.rect();
    for label in browser.find_all("#compliance-chart text") {
        let (x, y, w, h) = label.rect();
        assert!(
            x >= cx && y >= cy && x + w <= cx + cw + 0.5 && y + h <= cy + ch + 0.5,
            "chart label {:?} at {:?} is cut off by the chart at {:?}",
            label.property("textContent"),
            (x, y, w, h),
            (cx, cy, cw, ch)
        );
    }
    // Below it: the hosts failing now and the recurring rule, as links.
    let links = hrefs(&browser.find_all("main a"));
    for href in ["/hosts/web01", "/hosts/db01", "/rules/DEMO-COLOR"] {
        assert!(links.iter().any(|l| l == href), "no link to {href} on /: {links:?}");
    }

    // The cookie alone is enough now.
    browser.goto(&served.url("/"));
    browser.find("svg#compliance-chart");

    // Rules: by severity, then failing hosts now.
    assert!(browser.find("nav a[href=\"/rules\"]").follow().ends_with("/rules"));
    shot(&browser, &shots, "03-rules");
    let rows = browser.find_all("table#rules tr[data-rule]");
    let order: Vec<String> = rows.iter().filter_map(|r| r.attr("data-rule")).collect();
    assert_eq!(order, ["DEMO-OWNER", "DEMO-COLOR", "DEMO-BANNER", "DEMO-EXISTS"]);
    let colour_row = browser.find("table#rules tr[data-rule=\"DEMO-COLOR\"]");
    let cells: Vec<String> = colour_row.find_all("td").iter().map(Element::text).collect();
    assert!(cells.iter().any(|c| c == "high"), "{cells:?}");
    // 2 hosts failing now (web01, db01); 4 recurrences: web01 twice,
    // web02 and db01 once.
    let headers: Vec<String> = browser.find_all("table#rules th").iter().map(Element::text).collect();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.to_lowercase().contains(name))
            .unwrap_or_else(|| panic!("no {name:?} column in {headers:?}"))
    };
    assert_eq!(cells[column("failing")], "2", "{headers:?} {cells:?}");
    assert_eq!(cells[column("recurr")], "4", "{headers:?} {cells:?}");

    // One rule: what it protects, how to check and fix it, and every time
    // it came back with the diff that brought it back.
    colour_row.find("a[href=\"/rules/DEMO-COLOR\"]").follow();
    shot(&browser, &shots, "04-rule");
    assert!(browser
        .find("#rationale")
        .text()
        .contains("Every other colour breaks the demo's dashboards."));
    assert!(browser
        .find("#manual-check")
        .text()
        .contains("grep Color /etc/demo.conf"));
    let refs = browser.find("#references").text();
    assert!(refs.contains("9.9.1") && refs.contains("CM-6"), "{refs}");
    let remediation = browser.find("#remediation").text();
    assert!(remediation.contains("tell the demo team"), "{remediation}");
    let waiver = browser.find("#waivers").text();
    assert!(
        waiver.contains("The lab hosts show every colour on purpose") && waiver.contains("2099-12-31"),
        "{waiver}"
    );
    let recurrences = browser.find_all("table#recurrences tr.recurrence");
    let hosts: Vec<String> = recurrences.iter().filter_map(|r| r.attr("data-host")).collect();
    let mut sorted = hosts.clone();
    sorted.sort();
    assert_eq!(sorted, ["db01", "web01", "web01", "web02"], "recurrence rows");
    // Each row: the failing audit's date and run, the last passing one's,
    // and the diff of the file between them. web01 came back on D after
    // passing on C (blue → green), and on B after A (blue → red).
    let cell = |row: &Element<'_>, class: &str| {
        let td = row.find(&format!("td.{class}"));
        (td.text(), td.find("a").attr("href").unwrap_or_default())
    };
    let back = row_for(&recurrences, "web01", &r5);
    assert_eq!(cell(back, "failed"), (format!("{d} 09:00"), format!("/runs/{r5}")));
    assert_eq!(cell(back, "passed"), (format!("{c} 09:00"), format!("/runs/{r3}")));
    let diff = back.find("pre.diff").text();
    assert!(diff.contains("-Color blue") && diff.contains("+Color green"), "{diff}");
    let first = row_for(&recurrences, "web01", &r2);
    assert_eq!(cell(first, "failed"), (format!("{b_} 09:00"), format!("/runs/{r2}")));
    assert_eq!(cell(first, "passed"), (format!("{a} 09:00"), format!("/runs/{r1}")));
    let diff = first.find("pre.diff").text();
    assert!(diff.contains("-Color blue") && diff.contains("+Color red"), "{diff}");
    // web02 failed in the afternoon of the day it last passed.
    let same_day = row_for(&recurrences, "web02", &r4);
    assert_eq!(cell(same_day, "failed"), (format!("{c} 15:00"), format!("/runs/{r4}")));
    assert_eq!(cell(same_day, "passed"), (format!("{c} 09:00"), format!("/runs/{r3}")));

    // The host, from the recurrence row.
    back.find("a[href=\"/hosts/web01\"]").follow();
    shot(&browser, &shots, "05-host");
    let timeline = hrefs(&browser.find_all("#timeline a[href^=\"/runs/\"]"));
    let mut runs_seen = timeline.clone();
    runs_seen.dedup();
    assert_eq!(
        runs_seen,
        [&r5, &r3, &r2, &r1].map(|r| format!("/runs/{r}")),
        "web01's runs, newest first (not the --limit web02 one)"
    );
    let summary = browser.find("main p.meta").text();
    assert!(summary.contains("drift, 1 rule failing"), "{summary}");
    let failing = hrefs(&browser.find_all("#failing a"));
    assert!(failing.contains(&"/rules/DEMO-COLOR".to_string()), "{failing:?}");
    let changes = browser.find("#changes").text();
    assert!(
        changes.contains("+Color green") && changes.contains("+Color red"),
        "{changes}"
    );

    // A run from the timeline: the HTML report of that run.
    let host_url = browser.url();
    browser.find(&format!("#timeline a[href=\"/runs/{r5}\"]")).follow();
    shot(&browser, &shots, "06-run");
    assert_eq!(browser.find("#run-id").text(), r5);
    let text = browser.page_text();
    assert!(text.contains("actual: green"), "the run shows what it found: {text}");
    browser.back();
    assert_eq!(browser.url(), host_url);
    browser.find("#timeline");

    // Search by host name, then by a run id's prefix.
    let search = browser.find("input[name=\"q\"]");
    search.send_keys("web0\u{E007}");
    crate::fleet::wait_until(Duration::from_secs(10), || browser.url().contains("/search?q=web0"));
    shot(&browser, &shots, "07-search");
    let found = hrefs(&browser.find_all("#results li a"));
    assert!(
        found.contains(&"/hosts/web01".to_string()) && found.contains(&"/hosts/web02".to_string()),
        "{found:?}"
    );
    assert!(!found.contains(&"/hosts/db01".to_string()), "{found:?}");
    let prefix = &r2[..r2.len() - 2];
    let search = browser.find("input[name=\"q\"]");
    search.clear();
    search.send_keys(&format!("{prefix}\u{E007}"));
    crate::fleet::wait_until(Duration::from_secs(10), || browser.url().contains(prefix));
    browser.find(&format!("#results li a[href=\"/runs/{r2}\"]")).follow();
    assert_eq!(browser.find("#run-id").text(), r2);

    // The lists, and what an unknown host looks like.
    browser.find("nav a[href=\"/hosts\"]").follow();
    shot(&browser, &shots, "08-hosts");
    let listed = hrefs(&browser.find_all("main a[href^=\"/hosts/\"]"));
    for h in ["web01", "web02", "db01"] {
        assert!(listed.contains(&format!("/hosts/{h}")), "{listed:?}");
    }
    browser.find("nav a[href=\"/runs\"]").follow();
    shot(&browser, &shots, "09-runs");
    let listed = hrefs(&browser.find_all("main a[href^=\"/runs/\"]"));
    for r in [&r1, &r2, &r3, &r4, &r5] {
        assert!(listed.contains(&format!("/runs/{r}")), "{r} not in {listed:?}");
    }
    browser.goto(&served.url("/hosts/nosuchhost"));
    shot(&browser, &shots, "10-not-found");
    assert_eq!(browser.find("main h1").text(), "404 Not Found");
    // A search box in the page, holding the name that was not found.
    let again = browser.find("main input[name=\"q\"]");
    assert_eq!(again.property("value").as_str(), Some("nosuchhost"));
    let reply = http(
        "GET",
        &served.url("/hosts/nosuchhost"),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        None,
    );
    assert_eq!(reply.status, 404);
    // What a person typing the user and password into the browser's login
    // prompt gets: a fresh browser with the Basic credentials in the URL,
    // whose links then keep working.
    drop(browser);
    let browser = Browser::start();
    let with_basic = served
        .base
        .replacen("http://", &format!("http://support:{PASSWORD}@"), 1);
    browser.goto(&format!("{with_basic}/"));
    browser.find("svg#compliance-chart");
    browser.find("#failing-hosts a[href=\"/hosts/db01\"]").follow();
    assert_eq!(browser.find("main h1").text(), "db01");
    let wrong = served.base.replacen("http://", "http://support:wrong@", 1);
    let other = Browser::start();
    other.goto(&format!("{wrong}/"));
    assert!(
        other.find_all("#compliance-chart").is_empty(),
        "wrong password shows the fleet"
    );
    assert!(!other.page_text().contains("db01"), "{}", other.page_text());

    // Read-only: nothing but GET and HEAD.
    let reply = http(
        "POST",
        &served.url("/rules"),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        Some("{}"),
    );
    assert_eq!(reply.status, 405);
}
