//! The pages: routes, what each reads from the state database, and the
//! templates that render them. Every value reaches HTML through
//! minijinja's autoescape; URLs are built with the `seg` filter, which
//! percent-encodes a path segment.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::{context, AutoEscape, Environment, Value};
use serde::Serialize;

use super::{chart, extra, html, url_pairs, App};
use crate::baseline::{Check, Rule};
use crate::state::{StateDb, StateError};

const PAGE: usize = 50;
const RECURRENCES_PAGE: usize = 20;
/// Days on the chart: a year.
const CHART_DAYS: usize = 366;
/// A diff longer than this is cut (a page stays readable and bounded).
const MAX_DIFF: usize = 64 * 1024;
const MAX_QUERY: usize = 200;

const TEMPLATES: [(&str, &str); 12] = [
    ("base.html", include_str!("templates/base.html.j2")),
    ("nav.html", include_str!("templates/nav.html.j2")),
    ("macros.html", include_str!("templates/macros.html.j2")),
    ("index.html", include_str!("templates/index.html.j2")),
    ("rules.html", include_str!("templates/rules.html.j2")),
    ("rule.html", include_str!("templates/rule.html.j2")),
    ("hosts.html", include_str!("templates/hosts.html.j2")),
    ("host.html", include_str!("templates/host.html.j2")),
    ("runs.html", include_str!("templates/runs.html.j2")),
    ("search.html", include_str!("templates/search.html.j2")),
    ("message.html", include_str!("templates/message.html.j2")),
    ("fragment.html", include_str!("templates/fragment.html.j2")),
];

pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_filter("seg", |text: String| crate::report::sanitize::url_segment(&text));
    env.add_function("diff_lines", |text: String| {
        Value::from_serialize(crate::report::html::diff_lines(&text))
    });
    for (name, text) in TEMPLATES {
        env.add_template(name, text).expect("the serve templates are valid");
    }
    env
}

pub(super) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/rules", get(rules))
        .route("/rules/{id}", get(rule))
        .route("/hosts", get(hosts))
        .route("/hosts/{name}", get(host))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/search", get(search))
        .route("/surveys", get(extra::surveys))
        .route("/surveys/{id}", get(extra::survey))
        .route("/knowledge", get(extra::knowledge))
        .route("/knowledge/{name}", get(extra::knowledge_rule))
        .fallback(not_found)
        .with_state(app)
}

pub(super) fn render(env: &Environment, status: StatusCode, name: &str, ctx: Value) -> Response {
    match env.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(text) => html(status, text),
        Err(e) => error(env, &format!("template {name}: {e}")),
    }
}

pub(super) fn message(env: &Environment, status: StatusCode, heading: &str, text: &str, search: bool) -> Response {
    render(env, status, "message.html", context! { heading, text, search })
}

pub(super) fn error(env: &Environment, text: &str) -> Response {
    message(env, StatusCode::INTERNAL_SERVER_ERROR, "Error", text, false)
}

pub(super) fn not_found_page(env: &Environment, what: &str, q: &str) -> Response {
    render(
        env,
        StatusCode::NOT_FOUND,
        "message.html",
        context! { heading => "404 Not Found", text => format!("No {what} here. Search for it:"), search => true, q },
    )
}

/// A page's body from the database, or what went wrong reading it.
pub(super) fn answer(env: &Environment, page: Result<Response, StateError>) -> Response {
    page.unwrap_or_else(|e| error(env, &e.to_string()))
}

fn param(query: &Option<String>, key: &str) -> Option<String> {
    let query = query.as_deref()?;
    url_pairs(query).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// `?page=N` (1 when absent or not a number).
fn page_of(query: &Option<String>) -> usize {
    param(query, "page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 1_000_000)
}

fn pages(total: i64, size: usize) -> usize {
    (total.max(0) as usize).div_ceil(size).max(1)
}

async fn index(State(app): State<Arc<App>>) -> Response {
    app.with_db(|app, db| answer(&app.env, index_page(app, db))).await
}

#[derive(Serialize)]
struct DayRow {
    day: String,
    hosts: i64,
    compliant: i64,
    pct: String,
}

fn index_page(app: &App, db: &StateDb) -> Result<Response, StateError> {
    let days = db.days(CHART_DAYS)?;
    let chart = chart::chart(&days);
    let table: Vec<DayRow> = days
        .iter()
        .rev()
        .map(|d| DayRow {
            day: d.day.clone(),
            hosts: d.hosts,
            compliant: d.compliant,
            pct: chart::percent(d.compliant, d.hosts),
        })
        .collect();
    let mut failing = db.hosts_now(21, 0)?;
    failing.retain(|h| h.status != "compliant");
    let more_failing = failing.len() > 20;
    failing.truncate(20);
    let recurring = db.top_recurring(10)?;
    let (_, runs) = db.runs_page(0, 0)?;
    Ok(render(
        &app.env,
        StatusCode::OK,
        "index.html",
        context! { chart, table, failing, more_failing, recurring, hosts => db.host_count()?, runs },
    ))
}

async fn rules(State(app): State<Arc<App>>) -> Response {
    app.with_db(|app, db| {
        let page = db
            .rules_now(5000)
            .map(|rules| render(&app.env, StatusCode::OK, "rules.html", context! { rules }));
        answer(&app.env, page)
    })
    .await
}

/// What the rule page shows from the baseline's text.
#[derive(Serialize)]
struct RuleText {
    rationale: Option<String>,
    manual_check: Option<String>,
    references: Vec<(String, Vec<String>)>,
    manual_remediation: Option<String>,
    playbook: Option<String>,
    steps: Vec<String>,
}

fn rule_text(app: &App, rule: &Rule) -> RuleText {
    let references = crate::baseline::docs::CATALOGUES
        .iter()
        .filter(|c| !rule.docs.references.get(c).is_empty())
        .map(|c| (c.to_uppercase(), rule.docs.references.get(c).to_vec()))
        .collect();
    let (playbook, steps) = match &rule.remediation {
        Some(r) => (
            Some(r.playbook.display().to_string()),
            r.steps
                .clone()
                .or_else(|| app.playbook_steps.get(&r.playbook).cloned())
                .unwrap_or_default(),
        ),
        None => (None, Vec::new()),
    };
    RuleText {
        rationale: rule.rationale.clone(),
        manual_check: rule.docs.manual_check.clone(),
        references,
        manual_remediation: rule.docs.manual_remediation.clone(),
        playbook,
        steps,
    }
}

/// The file a rule reads, if it reads one.
fn rule_file(rule: &Rule) -> Option<&str> {
    match &rule.check {
        Check::Setting { file, .. } | Check::Line { file, .. } | Check::Content { file, .. } => Some(file),
        Check::Metadata(m) => Some(&m.file),
        _ => None,
    }
}

#[derive(Serialize)]
struct RecurrenceView {
    host: String,
    passed_run: String,
    passed: String,
    failed_run: String,
    failed: String,
    files: Vec<FileName>,
    diff: String,
}

#[derive(Serialize)]
struct FileName {
    path: String,
}

#[derive(Serialize)]
struct WaiverView {
    hosts: String,
    reason: String,
    expires: String,
    expired: bool,
}

fn cut(mut diff: String) -> String {
    if diff.len() > MAX_DIFF {
        let mut end = MAX_DIFF;
        while !diff.is_char_boundary(end) {
            end -= 1;
        }
        diff.truncate(end);
        diff.push_str("\n… (diff cut at 64 KiB)\n");
    }
    diff
}

async fn rule(State(app): State<Arc<App>>, Path(id): Path<String>, RawQuery(query): RawQuery) -> Response {
    app.with_db(move |app, db| answer(&app.env, rule_page(app, db, &id, page_of(&query))))
        .await
}

fn rule_page(app: &App, db: &StateDb, id: &str, page: usize) -> Result<Response, StateError> {
    let written: Vec<(&str, &Rule)> = app
        .baselines
        .iter()
        .flat_map(|b| b.rules.iter().map(move |r| (b.name.as_str(), r)))
        .filter(|(_, r)| r.id == id)
        .collect();
    let hosts = db.rule_hosts(id, 1000)?;
    if written.is_empty() && hosts.is_empty() {
        return Ok(not_found_page(&app.env, "rule", id));
    }
    let mut baselines: Vec<String> = written.iter().map(|(b, _)| b.to_string()).collect();
    for h in &hosts {
        if !baselines.contains(&h.baseline) {
            baselines.push(h.baseline.clone());
        }
    }
    let text = written.first().map(|(_, r)| rule_text(app, r));
    let title = written
        .first()
        .map(|(_, r)| r.title.clone())
        .or_else(|| hosts.first().map(|h| h.title.clone()));
    let severity = written
        .first()
        .map(|(_, r)| r.severity.as_str().to_string())
        .or_else(|| hosts.first().map(|h| h.severity.clone()));
    let file = written.first().and_then(|(_, r)| rule_file(r));
    let (rows, total) = db.recurrences(id, RECURRENCES_PAGE, (page - 1) * RECURRENCES_PAGE)?;
    let mut recurrences = Vec::new();
    for r in rows {
        let mut changed = db.changed_between(&r.host, &r.passed_run, &r.failed_run)?;
        // The rule's own file when it changed; else every file that did
        // (the drift may have come through an included file).
        if let Some(file) = file {
            if changed.iter().any(|c| c.path == file) {
                changed.retain(|c| c.path == file);
            }
        }
        let diff = changed
            .iter()
            .map(|c| crate::diff::unified(&c.path, c.before.as_deref(), c.after.as_deref()))
            .collect::<String>();
        recurrences.push(RecurrenceView {
            files: changed.iter().map(|c| FileName { path: c.path.clone() }).collect(),
            diff: cut(diff),
            host: r.host,
            passed_run: r.passed_run,
            passed: r.passed,
            failed_run: r.failed_run,
            failed: r.failed,
        });
    }
    let today = chrono::Utc::now().date_naive();
    let waivers: Vec<WaiverView> = app
        .waivers
        .iter()
        .filter(|w| w.rule == id)
        .map(|w| WaiverView {
            hosts: w.hosts.as_ref().map_or("every host".into(), |p| p.as_str().to_string()),
            reason: w.reason.clone(),
            expires: w.expires.map_or("never".into(), |d| d.to_string()),
            expired: w.expires.is_some_and(|d| d < today),
        })
        .collect();
    let waived_now: Vec<&str> = hosts
        .iter()
        .filter(|h| h.status == "waived")
        .map(|h| h.host.as_str())
        .collect();
    Ok(render(
        &app.env,
        StatusCode::OK,
        "rule.html",
        context! { id, title, severity, baselines, text, hosts, recurrences, total, page,
        pages => pages(total, RECURRENCES_PAGE), waivers, waived_now },
    ))
}

async fn hosts(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    app.with_db(move |app, db| {
        let page = page_of(&query);
        answer(
            &app.env,
            (|| {
                let hosts = db.hosts_now(PAGE, (page - 1) * PAGE)?;
                let pages = pages(db.host_count()?, PAGE);
                Ok(render(
                    &app.env,
                    StatusCode::OK,
                    "hosts.html",
                    context! { hosts, page, pages },
                ))
            })(),
        )
    })
    .await
}

async fn host(State(app): State<Arc<App>>, Path(name): Path<String>, RawQuery(query): RawQuery) -> Response {
    app.with_db(move |app, db| answer(&app.env, host_page(app, db, &name, page_of(&query))))
        .await
}

#[derive(Serialize)]
struct ChangeView {
    path: String,
    from_run: String,
    from: String,
    to_run: String,
    to: String,
    diff: String,
}

fn host_page(app: &App, db: &StateDb, host: &str, page: usize) -> Result<Response, StateError> {
    if !db.host_known(host)? {
        return Ok(not_found_page(&app.env, "host", host));
    }
    let now = db.host_now(host)?;
    let failing = db.host_failing(host, 500)?;
    let timeline = db.host_runs(host, &["audit", "fix", "apply", "rollback"], PAGE, (page - 1) * PAGE)?;
    let pages = pages(db.host_run_count(host)?, PAGE);
    let changes: Vec<ChangeView> = db
        .host_changes(host, 20)?
        .into_iter()
        .map(|c| ChangeView {
            diff: cut(crate::diff::unified(&c.path, c.before.as_deref(), c.after.as_deref())),
            path: c.path,
            from_run: c.from_run,
            from: c.from,
            to_run: c.to_run,
            to: c.to,
        })
        .collect();
    let transactions = db.host_runs(host, &["apply", "fix", "rollback"], PAGE, 0)?;
    Ok(render(
        &app.env,
        StatusCode::OK,
        "host.html",
        context! { host, now, failing, timeline, page, pages, changes, transactions },
    ))
}

async fn runs(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    app.with_db(move |app, db| {
        let page = page_of(&query);
        answer(
            &app.env,
            db.runs_page(PAGE, (page - 1) * PAGE).map(|(runs, total)| {
                render(
                    &app.env,
                    StatusCode::OK,
                    "runs.html",
                    context! { runs, total, page, pages => pages(total, PAGE) },
                )
            }),
        )
    })
    .await
}

async fn run(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    app.with_db(move |app, db| answer(&app.env, run_page(app, db, &id)))
        .await
}

/// The run's HTML report as `rectify show --format html` renders it, with
/// the view's navigation on top. A unique prefix redirects to the full id.
fn run_page(app: &App, db: &StateDb, id: &str) -> Result<Response, StateError> {
    let Some(report) = db.load(id)? else {
        if let Ok(Ok(full)) = db.find_run(id) {
            // A survey is a run of its own kind, shown on its own page.
            let to = if db.load(&full)?.is_some() {
                Some(format!("/runs/{}", full))
            } else if db.load_survey(&full)?.is_some() {
                Some(format!("/surveys/{}", full))
            } else {
                None
            };
            if let Some(to) = to {
                let mut r = html(StatusCode::SEE_OTHER, String::new());
                if let Ok(v) = HeaderValue::from_str(&to) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                return Ok(r);
            }
        }
        return Ok(not_found_page(&app.env, "run", id));
    };
    let page = crate::report::html::render(&report);
    let nav = app
        .env
        .get_template("nav.html")
        .and_then(|t| t.render(context! { q => "" }))
        .unwrap_or_default();
    Ok(html(
        StatusCode::OK,
        page.replacen("<body>", &format!("<body>\n{nav}"), 1),
    ))
}

async fn search(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Response {
    let q: String = param(&query, "q")
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_QUERY)
        .collect();
    app.with_db(move |app, db| {
        answer(
            &app.env,
            (|| {
                let (hosts, rules, runs) = if q.is_empty() {
                    (Vec::new(), Vec::new(), Vec::new())
                } else {
                    (
                        db.search_hosts(&q, 20)?,
                        db.search_rules(&q, 20)?,
                        db.search_runs(&q, 20)?,
                    )
                };
                Ok(render(
                    &app.env,
                    StatusCode::OK,
                    "search.html",
                    context! { q, hosts, rules, runs },
                ))
            })(),
        )
    })
    .await
}

async fn not_found(State(app): State<Arc<App>>, uri: axum::http::Uri) -> Response {
    let last = uri.path().rsplit('/').next().unwrap_or("").to_string();
    let q = url_pairs(&format!("x={last}"))
        .pop()
        .map(|(_, v)| v)
        .unwrap_or_default();
    not_found_page(&app.env, "page", &q)
}
