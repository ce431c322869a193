//! `rectify serve` over real HTTP: a history built by real audits of a
//! fleet (re-recorded through the state API onto known days), then every
//! page fetched as a browser would, asserting what a person reads — the
//! chart's values for known days, a recurrence row with its dates, links
//! and diff, escaped hostile names — and what keeps the view safe: 401
//! without credentials, 200 with each credential form, refusal of a
//! non-loopback listen without an auth file, 405 for anything but GET and
//! HEAD, the database byte for byte unchanged by browsing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rectify::report::{Observed, RunReport};
use rectify::state::StateDb;

use crate::fleet::report::json;
use crate::fleet::{audit_json_with, rectify_bin, run_rectify, write, Fleet, HostSpec};

/// A running `rectify serve`; stopped with SIGTERM when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `rectify serve ARGS` on `listen` against `state`, and waits
    /// for its `serving http://ADDR:PORT/` line.
    pub fn start(state: &Path, listen: &str, args: &[&str]) -> Server {
        let mut child = Command::new(rectify_bin())
            .args(["serve", "--state-dir", state.to_str().unwrap(), "--listen", listen])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rectify serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("serving http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| {
                let mut err = String::new();
                child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                panic!("serve did not start: {line:?} {err}")
            })
            .parse()
            .unwrap();
        Server { child, addr }
    }

    /// GET `path` with extra header lines.
    pub fn get(&self, path: &str, headers: &[&str]) -> Response {
        request(self.addr, "GET", path, headers)
    }

    /// A page that must answer 200: its body.
    pub fn page(&self, path: &str) -> String {
        let r = self.get(path, &[]);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body
    }

    /// SIGTERM, and the exit code.
    pub fn stop(mut self) -> Option<i32> {
        terminate(&mut self.child)
    }
}

fn terminate(child: &mut Child) -> Option<i32> {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().unwrap().code()
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            terminate(&mut self.child);
        }
    }
}

pub struct Response {
    pub status: u16,
    /// Header lines as sent, lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The text of the element with `id="ID"` up to its closing tag `</TAG>`.
fn section<'a>(page: &'a str, tag: &str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let end = page[start..].find(&format!("</{tag}>")).unwrap() + start;
    &page[start..end]
}

/// What a reader sees of HTML text: the entities minijinja escapes with,
/// decoded (`/` is escaped too).
fn text(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// SHA-256 of the state database and of its write-ahead log (absent and
/// empty alike: nothing to replay). The `-shm` index is left out: every
/// reader of a WAL database marks in it what it reads.
fn db_hash(state: &Path) -> Vec<String> {
    ["state.db", "state.db-wal"]
        .iter()
        .map(|f| rectify::state::sha256(&std::fs::read(state.join(f)).unwrap_or_default()))
        .collect()
}

/// Run `id` of `from` as run `new_id` started at `at`, with the files it
/// observed, ready to be recorded elsewhere.
fn redated(from: &StateDb, id: &str, new_id: &str, at: &str) -> RunReport {
    let mut report = from.load(id).unwrap().unwrap();
    for h in &mut report.hosts {
        h.observed = from
            .file_history(&h.name, "2000-01-01")
            .unwrap()
            .into_iter()
            .filter(|v| v.run_id == id)
            .map(|v| Observed {
                path: v.path,
                content: v.content,
            })
            .collect();
    }
    report.run_id = new_id.into();
    report.started = at.parse().unwrap();
    report.finished = report.started + chrono::Duration::seconds(3);
    report
}

const BASELINE: &str = r#"name: demo
rules:
  - id: DEMO-COLOR
    title: Colour is blue <script>alert(1)</script>
    severity: high
    rationale: Other colours confuse the operators.
    manual_check: grep Color /etc/demo.conf
    references: {cis: ["debian12:9.9.9"], nist: [CM-6]}
    remediation: {manual: "Set Color blue in /etc/demo.conf"}
    file: /etc/demo.conf
    setting: Color
    expect: blue
  - id: DEMO-EXISTS
    severity: critical
    file: /etc/demo.conf
    exists: true
"#;

const HOSTILE: &str = "<script>alert(1)</script>";

#[test]
fn pages_show_the_history_real_audits_built_and_change_nothing() {
    let fleet = Fleet::start(vec![
        HostSpec::new("web01").file("demo.conf", "Color blue\n", 0o644),
        HostSpec::new("web02").file("demo.conf", "Color blue\n", 0o644),
    ]);
    let dir = fleet.dir();
    let inv = fleet.write_inventory();
    let b = write(dir, "b.yaml", BASELINE);
    let live = tempfile::tempdir().unwrap();
    let env = [("RECTIFY_STATE_DIR", live.path().to_str().unwrap())];
    // Five real audits: web01's colour goes blue, red, blue, green
    // (with a hostile comment), blue; web02 turns red in the last.
    let mut ids = Vec::new();
    for (web01, web02) in [
        ("Color blue\n", "Color blue\n"),
        ("Color red\n", "Color blue\n"),
        ("Color blue\n", "Color blue\n"),
        ("# <script>alert(2)</script>\nColor green\n", "Color blue\n"),
        ("Color blue\n", "Color red\n"),
    ] {
        for (host, text) in [("web01", web01), ("web02", web02)] {
            fleet.exec(host, &format!("printf '%s' {} > /etc/demo.conf", shell_quote(text)));
        }
        let out = audit_json_with(&inv, &b, &[], &env);
        ids.push(json(&out)["run_id"].as_str().unwrap().to_string());
    }
    // Onto known days: A 11-01; B (fail) and C (pass) both on 11-02, C
    // last; D (fail) 11-03; E 11-04, and F, E again with web01 renamed to
    // a hostile name, an hour later.
    let state = tempfile::tempdir().unwrap();
    let at = [
        "2026-11-01T10:00:00Z",
        "2026-11-02T09:00:00Z",
        "2026-11-02T17:00:00Z",
        "2026-11-03T10:00:00Z",
        "2026-11-04T10:00:00Z",
    ];
    let known: Vec<String> = ["aaaaaa", "bbbbbb", "cccccc", "dddddd", "eeeeee"]
        .iter()
        .zip(at)
        .map(|(random, at)| format!("{}-{random}", at.replace(['-', ':'], "")))
        .collect();
    {
        let from = StateDb::open(live.path()).unwrap();
        let mut to = StateDb::open(state.path()).unwrap();
        for i in 0..5 {
            to.record(&redated(&from, &ids[i], &known[i], at[i])).unwrap();
        }
        // web01 of E, renamed, as its own run an hour later.
        let mut f = redated(&from, &ids[4], "20261104T110000Z-f0f0f0", "2026-11-04T11:00:00Z");
        f.hosts.retain(|h| h.name == "web01");
        f.hosts[0].name = HOSTILE.into();
        f.summary = RunReport::summarize(&f.hosts);
        to.record(&f).unwrap();
    }
    let waivers = write(
        dir,
        "waivers.yaml",
        "waivers:\n  - rule: DEMO-COLOR\n    hosts: web02\n    reason: Vendor test box\n    expires: 2099-12-31\n",
    );
    let before = db_hash(state.path());
    let server = Server::start(
        state.path(),
        &format!("{}:0", fleet.spare_address(9)),
        &["-b", b.to_str().unwrap(), "--waivers", waivers.to_str().unwrap()],
    );

    // The chart: one point per day, each the share of hosts whose last
    // audit that day was compliant. 11-02: B failed web01, but C (later
    // that day) passed it.
    let index = server.page("/");
    let chart = section(&index, "svg", "compliance-chart");
    assert!(index.contains(r#"<svg id="compliance-chart" role="img""#), "{index}");
    for (day, value, title) in [
        ("2026-11-01", "100.0", "2026-11-01: 100.0 % (2 of 2 hosts compliant)"),
        ("2026-11-02", "100.0", "2026-11-02: 100.0 % (2 of 2 hosts compliant)"),
        ("2026-11-03", "50.0", "2026-11-03: 50.0 % (1 of 2 hosts compliant)"),
        ("2026-11-04", "66.7", "2026-11-04: 66.7 % (2 of 3 hosts compliant)"),
    ] {
        let point = format!(r#"<circle class="point" data-day="{day}" data-compliance="{value}""#);
        assert!(chart.contains(&point), "{point} in {chart}");
        assert!(chart.contains(&format!("<title>{title}</title>")), "{title} in {chart}");
    }
    assert_eq!(chart.matches("class=\"point\"").count(), 4, "{chart}");
    assert!(
        chart.contains(">100 %</text>") && chart.contains(">2026-11-01</text>"),
        "axes: {chart}"
    );
    assert!(
        index.contains(r#"<a href="/hosts/web02">web02</a>"#),
        "failing host listed: {index}"
    );
    assert!(
        index.contains(r#"href="/rules/DEMO-COLOR""#),
        "top recurring rule: {index}"
    );

    // Rules: critical first; failing now and recurrences counted as
    // `rectify stats` counts them (web01 A→B and C→D, web02 D→E).
    let rules = server.page("/rules");
    let table = section(&rules, "table", "rules");
    let exists_at = table.find(r#"<tr data-rule="DEMO-EXISTS">"#).expect("DEMO-EXISTS row");
    let color_at = table.find(r#"<tr data-rule="DEMO-COLOR">"#).expect("DEMO-COLOR row");
    assert!(exists_at < color_at, "critical first: {table}");
    let color_row = &table[color_at..table[color_at..].find("</tr>").unwrap() + color_at];
    assert!(color_row.contains(r#"<a href="/rules/DEMO-COLOR">"#), "{color_row}");
    let numbers: Vec<&str> = color_row
        .split(r#"<td class="n">"#)
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    assert_eq!(numbers, ["1", "3", "3"], "failing now, hosts, recurrences: {color_row}");
    assert!(
        !rules.contains(HOSTILE) && rules.contains("&lt;script&gt;alert(1)&lt;"),
        "{rules}"
    );

    // One rule: its text from the baseline, the waiver, and web01's
    // second recurrence with its dates, links and the file's diff.
    let rule = server.page("/rules/DEMO-COLOR");
    assert!(text(section(&rule, "section", "rationale")).contains("Other colours confuse the operators."));
    assert!(text(section(&rule, "section", "manual-check")).contains("grep Color /etc/demo.conf"));
    let refs = section(&rule, "section", "references");
    assert!(refs.contains("debian12:9.9.9") && refs.contains("CM-6"), "{refs}");
    assert!(text(section(&rule, "section", "remediation")).contains("Set Color blue in /etc/demo.conf"));
    let w = section(&rule, "section", "waivers");
    assert!(
        w.contains("web02") && w.contains("Vendor test box") && w.contains("2099-12-31"),
        "{w}"
    );
    let recurrences = section(&rule, "table", "recurrences");
    assert_eq!(
        recurrences.matches(r#"<tr class="recurrence""#).count(),
        3,
        "{recurrences}"
    );
    let d_row_at = recurrences
        .find(&format!(r#"<td class="failed"><a href="/runs/{}""#, known[3]))
        .expect("the recurrence that failed in D");
    let row_start = recurrences[..d_row_at].rfind("<tr ").unwrap();
    let row = &recurrences[row_start..recurrences[row_start..].find("</tr>").unwrap() + row_start];
    assert!(row.starts_with(r#"<tr class="recurrence" data-host="web01">"#), "{row}");
    assert!(row.contains(r#"<a href="/hosts/web01">web01</a>"#), "{row}");
    assert!(
        row.contains("2026-11-03")
            && row.contains(&format!(r#"href="/runs/{}""#, known[2]))
            && row.contains("2026-11-02"),
        "failed D, last passed C: {row}"
    );
    let diff = &row[row.find(r#"<pre class="diff">"#).expect("a diff")..];
    assert!(diff.contains("-Color blue") && diff.contains("+Color green"), "{diff}");
    assert!(
        diff.contains("+# &lt;script&gt;alert(2)&lt;") && !diff.contains("<script>"),
        "{diff}"
    );

    // Hosts and one host: timeline newest first, failing now, changes.
    let hosts = server.page("/hosts");
    let encoded = "/hosts/%3Cscript%3Ealert%281%29%3C%2Fscript%3E";
    assert!(hosts.contains(&format!(r#"href="{encoded}""#)), "{hosts}");
    assert!(!hosts.contains(HOSTILE), "{hosts}");
    let hostile = server.page(encoded);
    assert!(
        hostile.contains("<h1>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</h1>"),
        "{hostile}"
    );
    let web01 = server.page("/hosts/web01");
    let timeline = section(&web01, "section", "timeline");
    let order: Vec<usize> = [4, 3, 2, 1, 0]
        .iter()
        .map(|i| {
            timeline
                .find(&format!(r#"href="/runs/{}""#, known[*i]))
                .expect("every run listed")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first: {timeline}");
    let changes = section(&web01, "section", "changes");
    assert!(
        changes.contains("+Color red") && changes.contains("+Color green"),
        "{changes}"
    );
    let web02 = server.page("/hosts/web02");
    assert!(
        section(&web02, "section", "failing").contains(r#"href="/rules/DEMO-COLOR""#),
        "{web02}"
    );
    assert!(
        section(&web02, "section", "transactions").contains("No apply"),
        "{web02}"
    );

    // Runs, one run (the HTML report), search, 404s.
    let runs = server.page("/runs");
    assert!(runs.contains(&format!(r#"href="/runs/{}""#, known[0])), "{runs}");
    let run = server.page(&format!("/runs/{}", known[3]));
    assert!(
        run.contains(&known[3]) && run.contains("DEMO-COLOR") && run.contains(r#"href="/rules""#),
        "{run}"
    );
    let found = server.page("/search?q=dddd");
    assert!(
        section(&found, "ul", "results").contains(&format!(r#"href="/runs/{}""#, known[3])),
        "{found}"
    );
    let found = server.page("/search?q=WEB0");
    let results = section(&found, "ul", "results");
    assert!(
        results.contains(r#"href="/hosts/web01""#) && results.contains(r#"href="/hosts/web02""#),
        "{results}"
    );
    let found = server.page("/search?q=demo-col");
    assert!(
        section(&found, "ul", "results").contains(r#"href="/rules/DEMO-COLOR""#),
        "{found}"
    );
    for missing in [
        "/hosts/nosuch",
        "/rules/NOPE",
        "/runs/20991231T000000Z-000000",
        "/nowhere",
    ] {
        let r = server.get(missing, &[]);
        assert_eq!(r.status, 404, "{missing}");
        assert!(
            r.body.contains("404 Not Found") && r.body.contains(r#"name="q""#),
            "{}",
            r.body
        );
    }
    for method in ["POST", "PUT", "DELETE"] {
        let r = request(server.addr, method, "/", &["Content-Length: 0"]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    let head = request(server.addr, "HEAD", "/rules", &[]);
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    // No page carries a script, hostile or not.
    for page in [&index, &rules, &rule, &hosts, &hostile, &web01, &runs, &run] {
        assert!(!page.contains("<script"), "{page}");
    }
    assert_eq!(db_hash(state.path()), before, "browsing changed the database");

    // A real audit writing the database while serve runs: pages still
    // answer, and the new run shows.
    let state_dir = state.path().to_str().unwrap().to_string();
    let audit = std::thread::spawn(move || audit_json_with(&inv, &b, &[], &[("RECTIFY_STATE_DIR", &state_dir)]));
    for _ in 0..20 {
        server.page("/");
        server.page("/runs");
    }
    let new_run = json(&audit.join().unwrap())["run_id"].as_str().unwrap().to_string();
    assert!(server.page("/runs").contains(&new_run));
    assert_eq!(server.stop(), Some(0), "SIGTERM ends serve cleanly");
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A state directory with one (empty) database: `rectify runs` creates it.
fn empty_state() -> tempfile::TempDir {
    let state = tempfile::tempdir().unwrap();
    let out = run_rectify(&["runs"], &[("RECTIFY_STATE_DIR", state.path().to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(0));
    state
}

fn auth_file(dir: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = write(
        dir,
        "auth",
        "# the team\ntoken: s3cr3t-t0ken\nbasic: ops:correct horse\n",
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn with_an_auth_file_every_request_needs_a_credential() {
    let state = empty_state();
    let auth = auth_file(state.path(), 0o600);
    let server = Server::start(state.path(), "127.0.0.1:0", &["--auth-file", auth.to_str().unwrap()]);
    for (path, headers) in [
        ("/", vec![]),
        ("/rules", vec!["Authorization: Bearer wrong"]),
        ("/", vec!["Authorization: Basic b3BzOndyb25n"]), // ops:wrong
        ("/?token=s3cr3t-t0ke", vec![]),
        ("/", vec!["Cookie: rectify_session=s3cr3t-t0ken"]),
    ] {
        let r = server.get(path, &headers);
        assert_eq!(r.status, 401, "{path} {headers:?}");
        assert_eq!(r.header("www-authenticate"), Some(r#"Basic realm="rectify""#));
        assert!(r.body.contains("401 Unauthorized"), "{}", r.body);
    }
    let bearer = server.get("/rules", &["Authorization: Bearer s3cr3t-t0ken"]);
    assert_eq!(bearer.status, 200);
    // ops:correct horse
    let basic = server.get("/hosts", &["Authorization: Basic b3BzOmNvcnJlY3QgaG9yc2U="]);
    assert_eq!(basic.status, 200);
    let by_query = server.get("/runs?token=s3cr3t-t0ken", &[]);
    assert_eq!(by_query.status, 200);
    let cookie = by_query.header("set-cookie").expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("s3cr3t-t0ken"),
        "the cookie is not the secret: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let follow = server.get("/rules", &[&format!("Cookie: {pair}")]);
    assert_eq!(follow.status, 200, "links keep working with the cookie");
    assert_eq!(server.stop(), Some(0));

    // Token only: no Basic challenge (a browser would open a login prompt
    // nobody has a password for), and the page says how to sign in.
    let only = write(state.path(), "token-only", "token: s3cr3t-t0ken\n");
    std::fs::set_permissions(&only, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let server = Server::start(state.path(), "127.0.0.1:0", &["--auth-file", only.to_str().unwrap()]);
    let r = server.get("/", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="rectify""#));
    assert!(r.body.contains("<code>?token=</code>"), "{}", r.body);
    assert_eq!(server.get("/", &["Authorization: Bearer s3cr3t-t0ken"]).status, 200);
    assert_eq!(
        server
            .get("/", &["Authorization: Basic b3BzOmNvcnJlY3QgaG9yc2U="])
            .status,
        401,
        "no user is accepted where the file names none"
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn unsafe_listens_files_and_databases_are_refused_before_binding() {
    let state = empty_state();
    // A free port, then asked for on every interface without credentials.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = |args: &[&str]| {
        let out = run_rectify(
            &[&["serve", "--state-dir", state.path().to_str().unwrap()], args].concat(),
            &[],
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let listen = format!("0.0.0.0:{port}");
    let (code, out, err) = refused(&["--listen", &listen]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty() && err.contains("--auth-file"), "{err}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing was bound");
    // An auth file others can read.
    let auth = auth_file(state.path(), 0o644);
    let (code, _, err) = refused(&["--listen", &listen, "--auth-file", auth.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing was bound");
    // A database from a newer rectify: named, not migrated, not served.
    let db = rusqlite::Connection::open(state.path().join("state.db")).unwrap();
    db.pragma_update(None, "user_version", 99).unwrap();
    drop(db);
    let before = db_hash(state.path());
    let (code, _, err) = refused(&["--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("schema v99, newer than this rectify"), "{err}");
    assert_eq!(db_hash(state.path()), before);
    // No database at all.
    let empty = tempfile::tempdir().unwrap();
    let out = run_rectify(
        &[
            "serve",
            "--state-dir",
            empty.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no state database"));
}

#[test]
fn slow_and_oversized_requests_are_cut_off() {
    let state = empty_state();
    let server = Server::start(state.path(), "127.0.0.1:0", &[]);
    // A head that never ends (slowloris): closed after the 10 s header
    // timeout, not held open.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(25),
        "closed after {waited:?}: {}",
        String::from_utf8_lossy(&rest)
    );
    // A head over 16 KiB: refused, the server still answers others.
    let big = format!("X-Filler: {}", "a".repeat(20 * 1024));
    let r = request(server.addr, "GET", "/", &[&big]);
    assert_eq!(r.status, 431, "{}", r.body);
    assert_eq!(server.get("/", &[]).status, 200);
    assert_eq!(server.stop(), Some(0));
}
