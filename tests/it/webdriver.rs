//! A real browser for the tests: Debian's `chromedriver` (package
//! `chromium-driver`) driving a headless `chromium` over the W3C WebDriver
//! protocol, so a test asserts what a person sees (element text, links it
//! clicks) and keeps screenshots of it.
//!
//! The client is a thin one written here: WebDriver is JSON over HTTP/1.1
//! to a loopback port, a dozen commands are all the tests use, and one
//! request per connection (`Connection: close`) needs no HTTP library. The
//! field's client, fantoccini, would add 34 crates to the lock file (the
//! `webdriver` crate with ICU segmentation data, `time`, a second `http`)
//! for that, even with hyper already there for `rectify serve`.
//!
//! chromedriver picks its own free port (`--port=0`, read from its first
//! lines within a bounded wait) and runs in its own process group; dropping
//! the [`Browser`], also while a test panics, ends the session, kills that
//! group and any Chromium process still using the browser's fresh profile
//! directory. A missing chromedriver fails the test: `.ci/run` installs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to say which port it listens on.
const DRIVER_START: Duration = Duration::from_secs(20);
/// How long one WebDriver command may take (a new session starts Chromium).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A reply to one HTTP request.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to `http://HOST:PORT/PATH` (no TLS: everything
/// here is on loopback), with `Connection: close` so the reply ends with
/// the connection.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Response {
    try_http(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// [`http`] that fails with an error instead of failing the test, for
/// the browser's own commands (some run while a test is already failing).
fn try_http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> std::io::Result<Response> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("not an http URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
    stream.set_write_timeout(Some(COMMAND_TIMEOUT))?;
    let body = body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    read_response(&mut stream)
}

/// Reads one reply: its head, then as many body bytes as `Content-Length`
/// says, the chunks of a chunked body, or else up to the end of the
/// connection (chromedriver keeps connections open despite
/// `Connection: close`, so reading to the end alone would wait forever).
fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(std::io::Error::other(format!(
                    "connection closed in the head: {}",
                    String::from_utf8_lossy(&raw)
                )))
            }
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP reply: {head}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[head_end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    loop {
        let done = match length {
            Some(length) => body.len() >= length,
            None if chunked => dechunk(&body).is_some(),
            None => false,
        };
        if done {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) if length.is_none() && !chunked => break,
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e),
        }
    }
    if chunked {
        body = dechunk(&body).ok_or_else(|| std::io::Error::other("a broken chunked body"))?;
    }
    if let Some(length) = length {
        body.truncate(length);
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

/// A running chromedriver with one headless Chromium session.
pub struct Browser {
    driver: Child,
    /// `http://127.0.0.1:PORT/session/ID`: every command's URL starts so.
    session: String,
    profile: tempfile::TempDir,
    /// Where the last screenshot went: a test that panics leaves one more
    /// there, of the page it failed on.
    shots: std::sync::Mutex<Option<PathBuf>>,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium
    /// with a fresh profile, 1280 pixels wide.
    pub fn start() -> Browser {
        let mut driver = Command::new(CHROMEDRIVER)
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own group, so that drop can kill it with every Chromium
            // process it started.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} could not be started ({e}): apt-get install chromium-driver"));
        let port = match read_port(&mut driver) {
            Some(port) => port,
            None => {
                kill_group(driver.id());
                let _ = driver.wait();
                panic!("{CHROMEDRIVER} named no port within {DRIVER_START:?}");
            }
        };
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            session: String::new(),
            profile,
            shots: std::sync::Mutex::new(None),
        };
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    // Tests run as root, which Chromium's sandbox refuses.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    // No crash handler: it would outlive the browser.
                    "--disable-breakpad",
                    "--disable-crash-reporter",
                    "--no-proxy-server",
                    "--hide-scrollbars",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", browser.profile.path().display()),
                ],
            },
        }}});
        let reply = call("POST", &format!("http://127.0.0.1:{port}/session"), Some(&capabilities));
        let id = match reply {
            Ok(v) => v["sessionId"].as_str().expect("a session id").to_string(),
            Err(e) => panic!("no Chromium session: {e}"),
        };
        browser.session = format!("http://127.0.0.1:{port}/session/{id}");
        browser
    }

    fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, WebDriverError> {
        call(method, &format!("{}{path}", self.session), body)
    }

    fn must(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.cmd(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path} at {}: {e}", self.url()))
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({ "url": url })))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn title(&self) -> String {
        self.must("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn back(&self) {
        self.must("POST", "/back", Some(&json!({})));
    }

    /// The elements matching a CSS selector, in document order.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self.must(
            "POST",
            "/elements",
            Some(&json!({"using": "css selector", "value": css})),
        );
        elements(self, &found)
    }

    /// The first element matching `css`; fails the test naming the page
    /// when there is none.
    pub fn find(&self, css: &str) -> Element<'_> {
        match self.cmd(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        ) {
            Ok(v) => Element {
                browser: self,
                id: element_id(&v),
            },
            Err(e) => panic!(
                "no {css:?} on {} ({e}); the page says:\n{}",
                self.url(),
                self.page_text()
            ),
        }
    }

    /// The text a person sees on the whole page.
    pub fn page_text(&self) -> String {
        self.cmd(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": "body"})),
        )
        .ok()
        .map(|v| {
            Element {
                browser: self,
                id: element_id(&v),
            }
            .text()
        })
        .unwrap_or_default()
    }

    // Screenshots use the Chrome DevTools Protocol through chromedriver's
    // `goog/cdp/execute`: W3C WebDriver screenshots stop at the window.
    /// Saves a PNG of the whole page (up to 8000 pixels down) as
    /// `dir/NAME.png` and returns its path.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let path = self
            .try_screenshot(dir, name)
            .unwrap_or_else(|e| panic!("no screenshot of {}: {e}", self.url()));
        *self.shots.lock().unwrap() = Some(dir.to_path_buf());
        path
    }

    fn try_screenshot(&self, dir: &Path, name: &str) -> Result<PathBuf, WebDriverError> {
        let cdp = |cmd: &str, params: Value| {
            self.cmd(
                "POST",
                "/goog/cdp/execute",
                Some(&json!({"cmd": cmd, "params": params})),
            )
        };
        let metrics = cdp("Page.getLayoutMetrics", json!({}))?;
        let size = &metrics["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0).max(1.0);
        let height = size["height"].as_f64().unwrap_or(900.0).clamp(1.0, 8000.0);
        let shot = cdp(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            }),
        )?;
        let bad = |message: String| WebDriverError {
            status: 200,
            error: "bad screenshot".to_string(),
            message,
        };
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            shot["data"].as_str().unwrap_or_default(),
        )
        .map_err(|e| bad(e.to_string()))?;
        if !png.starts_with(b"\x89PNG") {
            return Err(bad("not a PNG".to_string()));
        }
        let path = dir.join(format!("{name}.png"));
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, png))
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
        Ok(path)
    }

    /// The profile directory: every Chromium process of this browser has
    /// it on its command line.
    pub fn profile_dir(&self) -> &Path {
        self.profile.path()
    }

    /// chromedriver's process id (also its process group's).
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let failed_in = self.shots.lock().map(|mut d| d.take()).unwrap_or(None);
        if let (true, Some(dir), false) = (std::thread::panicking(), failed_in, self.session.is_empty()) {
            if let Ok(path) = self.try_screenshot(&dir, "failed-here") {
                eprintln!("the page the test failed on ({}): {}", self.url(), path.display());
            }
        }
        if !self.session.is_empty() {
            // Closes Chromium and then chromedriver the polite way, so that
            // they reap their own children; the kills below are for when
            // they do not answer.
            let _ = call("DELETE", &self.session, None);
            if let Some((base, _)) = self.session.split_once("/session/") {
                let _ = call("GET", &format!("{base}/shutdown"), None);
            }
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && matches!(self.driver.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        kill_group(self.driver.id());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        for pid in processes_using(self.profile.path()) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
}

/// The port chromedriver announces ("… started successfully on port N."),
/// or None when it says none within [`DRIVER_START`]. Its later output is
/// read and dropped, so it never blocks on a full pipe.
fn read_port(driver: &mut Child) -> Option<u16> {
    let stdout = driver.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent {
                if let Some(port) = line
                    .split("on port ")
                    .nth(1)
                    .and_then(|p| p.trim_end_matches('.').trim().parse::<u16>().ok())
                    .filter(|_| line.contains("started successfully"))
                {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        }
    });
    rx.recv_timeout(DRIVER_START).ok()
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

/// Processes whose command line names `dir`.
pub fn processes_using(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

/// A WebDriver error reply: its `error` code and message.
#[derive(Debug)]
pub struct WebDriverError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}: {}", self.status, self.error, self.message)
    }
}

/// One WebDriver command: its `value`, or the error it answered.
fn call(method: &str, url: &str, body: Option<&Value>) -> Result<Value, WebDriverError> {
    let body = body.map(|b| b.to_string());
    let reply = try_http(method, url, &[], body.as_deref()).map_err(|e| WebDriverError {
        status: 0,
        error: "no reply".to_string(),
        message: e.to_string(),
    })?;
    let mut value: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    let value = value["value"].take();
    if reply.status == 200 {
        Ok(value)
    } else {
        Err(WebDriverError {
            status: reply.status,
            error: value["error"].as_str().unwrap_or("?").to_string(),
            message: value["message"]
                .as_str()
                .unwrap_or(&reply.body)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        })
    }
}

fn element_id(v: &Value) -> String {
    v[ELEMENT_KEY]
        .as_str()
        .unwrap_or_else(|| panic!("not an element reference: {v}"))
        .to_string()
}

fn elements<'b>(browser: &'b Browser, found: &Value) -> Vec<Element<'b>> {
    found
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| Element {
                    browser,
                    id: element_id(v),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An element of the page the browser shows.
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl<'b> Element<'b> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    /// Its rendered text, as a person sees it (hidden parts left out).
    pub fn text(&self) -> String {
        self.browser
            .must("GET", &self.path("/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An attribute as written in the page, or None when it has none.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.browser
            .must("GET", &self.path(&format!("/attribute/{name}")), None)
            .as_str()
            .map(str::to_string)
    }

    /// A DOM property, e.g. `href` resolved to a full URL.
    pub fn property(&self, name: &str) -> Value {
        self.browser.must("GET", &self.path(&format!("/property/{name}")), None)
    }

    /// Where it is drawn: x, y, width, height in CSS pixels.
    pub fn rect(&self) -> (f64, f64, f64, f64) {
        let r = self.browser.must("GET", &self.path("/rect"), None);
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        (f("x"), f("y"), f("width"), f("height"))
    }

    pub fn tag(&self) -> String {
        self.browser
            .must("GET", &self.path("/name"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn find(&self, css: &str) -> Element<'b> {
        match self.browser.cmd(
            "POST",
            &self.path("/element"),
            Some(&json!({"using": "css selector", "value": css})),
        ) {
            Ok(v) => Element {
                browser: self.browser,
                id: element_id(&v),
            },
            Err(e) => panic!(
                "no {css:?} inside <{}> on {} ({e}): {}",
                self.tag(),
                self.browser.url(),
                self.text()
            ),
        }
    }

    pub fn find_all(&self, css: &str) -> Vec<Element<'b>> {
        let found = self.browser.must(
            "POST",
            &self.path("/elements"),
            Some(&json!({"using": "css selector", "value": css})),
        );
        elements(self.browser, &found)
    }

    /// Clicks it as a person would (scrolled into view, at its centre).
    pub fn click(&self) {
        self.browser.must("POST", &self.path("/click"), Some(&json!({})));
    }

    /// Clicks a link and waits (bounded) until the browser shows another
    /// URL; returns that URL.
    pub fn follow(&self) -> String {
        let before = self.browser.url();
        self.click();
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.browser.url();
            if now != before {
                return now;
            }
            assert!(Instant::now() < end, "clicking the link left the browser on {before}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Empties an input field.
    pub fn clear(&self) {
        self.browser.must("POST", &self.path("/clear"), Some(&json!({})));
    }

    /// Types `text` into it (`\u{E007}` is the Enter key).
    pub fn send_keys(&self, text: &str) {
        self.browser
            .must("POST", &self.path("/value"), Some(&json!({ "text": text })));
    }
}

/// Where screenshots go: `$RECTIFY_SCREENSHOTS` when set (to keep and look
/// at them), else `default` (the test's temporary directory).
pub fn screenshot_dir(default: &Path) -> PathBuf {
    std::env::var_os("RECTIFY_SCREENSHOTS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| default.to_path_buf())
}

/// The harness itself, on a page that needs no server: the HTML report
/// `rectify audit --local` writes, opened from a file.
#[test]
fn the_browser_reads_a_page_clicks_and_leaves_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("app.conf"), "mode = loud\n").unwrap();
    std::fs::write(
        d.join("b.yaml"),
        format!(
            "name: demo\nrules:\n  - id: APP-MODE\n    title: quiet mode\n    severity: high\n    file: {app}\n    setting: mode\n    expect: quiet\n",
            app = d.join("app.conf").display()
        ),
    )
    .unwrap();
    let html = d.join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_rectify"))
        .args(["audit", "--local", "-b", "b.yaml", "--report"])
        .arg(format!("html={}", html.display()))
        .current_dir(d)
        .env("HOME", d)
        .env("RECTIFY_STATE_DIR", d.join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

    let browser = Browser::start();
    let (driver, profile) = (browser.driver_pid(), browser.profile_dir().to_path_buf());
    assert!(
        !processes_using(&profile).is_empty(),
        "no Chromium runs with the profile"
    );
    browser.goto(&format!("file://{}", html.display()));
    assert_eq!(browser.find("h1").text(), "rectify audit report");
    assert!(browser.title().starts_with("rectify audit "), "{}", browser.title());
    assert_eq!(browser.find("#n-hosts").text(), "1");
    let rows = browser.find_all("#rules tr");
    assert_eq!(rows.len(), 2, "a header and one rule");
    assert_eq!(rows[1].find("code.id").text(), "APP-MODE");
    assert_eq!(rows[1].find("td.sev-high").attr("class").as_deref(), Some("sev-high"));
    // A link is followed as a click.
    let link = browser.find("#hosts a");
    assert_eq!(link.tag(), "a");
    assert!(link.property("href").as_str().unwrap().ends_with("#host-1"));
    assert!(link.follow().ends_with("#host-1"));
    assert!(browser.find_all("#no-such-thing").is_empty());
    let shot = browser.screenshot(&screenshot_dir(d), "html-report");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // A test that panics still ends its browser, leaving a screenshot of
    // the page it failed on beside the others.
    let _ = std::fs::remove_file(shot.with_file_name("failed-here.png"));
    let crashed = std::thread::spawn(move || {
        let _keep = &browser;
        panic!("a test failing with its browser open");
    })
    .join();
    assert!(crashed.is_err());
    assert!(
        shot.with_file_name("failed-here.png").exists(),
        "no screenshot of the failure"
    );
    assert!(
        std::fs::metadata(format!("/proc/{driver}")).is_err(),
        "chromedriver {driver} still runs"
    );
    assert_eq!(
        processes_using(&profile),
        Vec::<u32>::new(),
        "Chromium outlived its test"
    );
}
