//! `rectify serve`: a read-only web view of the state database.
//!
//! Plain server-rendered HTML (minijinja, autoescaped), no script, no
//! external URL. The HTTP side is hyper (HTTP/1.1) with axum's router:
//! every connection has a header-read timeout and a lifetime cap, at most
//! [`MAX_CONNECTIONS`] are served at once, request heads are bounded, every
//! page is rendered within [`PAGE_TIMEOUT`] by at most [`MAX_RENDERS`]
//! workers at a time, and every list is paged. Only GET and HEAD exist;
//! the database is opened read-only and never migrated.

pub mod auth;
mod chart;
mod extra;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::baseline::Baseline;
use crate::state::views::OpenError;
use crate::state::StateDb;
use crate::waiver::Waiver;
pub use auth::{AuthFileError, Credentials};

/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 128;
/// Pages rendered at once (each holds one database connection).
pub const MAX_RENDERS: usize = 4;
/// A page that takes longer is answered 503.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to send a request's head, from the connection or the previous
/// response on.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection lives longer, busy or idle (keep-alive).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);
/// Bytes of a request head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;

/// Why serve could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot accept connections: {0}")]
    Accept(std::io::Error),
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// What a serve needs: where the history is, and the rule texts.
pub struct Options {
    pub state_dir: PathBuf,
    /// `None`: no credentials asked (loopback only; the CLI enforces it).
    pub credentials: Option<Credentials>,
    /// Where the rule pages' text (rationale, manual check…) comes from.
    pub baselines: Vec<Baseline>,
    pub waivers: Vec<Waiver>,
}

/// Shared by every request.
pub(crate) struct App {
    state_dir: PathBuf,
    credentials: Option<Credentials>,
    baselines: Vec<Baseline>,
    /// The knowledge pages of those baselines, as `export knowledge` writes them.
    knowledge: Vec<crate::knowledge::RulePage>,
    waivers: Vec<Waiver>,
    /// Step names of each remediation playbook that loads.
    playbook_steps: std::collections::BTreeMap<PathBuf, Vec<String>>,
    env: minijinja::Environment<'static>,
    /// Open read-only connections, reused.
    pool: Mutex<Vec<StateDb>>,
    renders: Semaphore,
}

impl App {
    fn new(options: Options) -> Result<App, OpenError> {
        // Checked now, so a missing or incompatible database is said at
        // start, not on the first page.
        let db = StateDb::open_read_only(&options.state_dir)?;
        let mut playbook_steps = std::collections::BTreeMap::new();
        for rule in options.baselines.iter().flat_map(|b| &b.rules) {
            if let Some(r) = &rule.remediation {
                if !playbook_steps.contains_key(&r.playbook) {
                    let steps = crate::playbook::Playbook::load(&r.playbook)
                        .map(|p| p.steps.into_iter().map(|s| s.name).collect())
                        .unwrap_or_default();
                    playbook_steps.insert(r.playbook.clone(), steps);
                }
            }
        }
        Ok(App {
            state_dir: options.state_dir,
            credentials: options.credentials,
            knowledge: crate::knowledge::pages(&options.baselines, None),
            baselines: options.baselines,
            waivers: options.waivers,
            playbook_steps,
            env: pages::environment(),
            pool: Mutex::new(vec![db]),
            renders: Semaphore::new(MAX_RENDERS),
        })
    }

    /// Runs `f` with a read-only connection on a blocking thread, bounded
    /// in number and time.
    async fn with_db<F>(self: &Arc<Self>, f: F) -> Response
    where
        F: FnOnce(&App, &StateDb) -> Response + Send + 'static,
    {
        let Ok(_permit) = self.renders.acquire().await else {
            return pages::message(&self.env, StatusCode::SERVICE_UNAVAILABLE, "Shutting down", "", false);
        };
        let app = Arc::clone(self);
        let work = tokio::task::spawn_blocking(move || {
            let pooled = app.pool.lock().expect("pool lock").pop();
            let db = match pooled {
                Some(db) => db,
                None => match StateDb::open_read_only(&app.state_dir) {
                    Ok(db) => db,
                    Err(e) => return pages::error(&app.env, &e.to_string()),
                },
            };
            let response = f(&app, &db);
            app.pool.lock().expect("pool lock").push(db);
            response
        });
        match tokio::time::timeout(PAGE_TIMEOUT, work).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => pages::error(&self.env, &format!("page failed: {e}")),
            Err(_) => pages::message(
                &self.env,
                StatusCode::SERVICE_UNAVAILABLE,
                "Too slow",
                "The page took too long; try again.",
                false,
            ),
        }
    }
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish
/// (for at most five seconds). `ready` gets the bound address before the
/// first connection is accepted.
pub async fn serve(
    options: Options,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServeError> {
    let app = Arc::new(App::new(options)?);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Bind { addr: listen, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr: listen, source })?;
    ready(bound);
    let router = pages::router(Arc::clone(&app)).layer(axum::middleware::from_fn_with_state(Arc::clone(&app), guard));
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&connections).acquire_owned() => permit.expect("never closed"),
        };
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset,
                // out of descriptors for a moment) ends only itself.
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(ServeError::Accept(e)),
            },
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_HEAD);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.changed() => {}
                _ = &mut lifetime => {}
            }
            // Finish the request in flight, then close.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        });
        // Finished connection tasks are reaped as we go.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(6), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
        || matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}

/// Before any page: only GET and HEAD, and credentials when asked for.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut r = pages::message(
            &app.env,
            StatusCode::METHOD_NOT_ALLOWED,
            "405 Method Not Allowed",
            "This view is read-only: only GET and HEAD.",
            false,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(credentials) = &app.credentials else {
        return next.run(request).await;
    };
    let by_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| credentials.header(v));
    let by_cookie = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(k, v)| k == auth::COOKIE && credentials.cookie(v));
    let query_token = request
        .uri()
        .query()
        .and_then(|q| url_pairs(q).into_iter().find(|(k, _)| k == "token").map(|(_, v)| v));
    let by_query = query_token.as_deref().is_some_and(|t| credentials.token(t));
    if !(by_header || by_cookie || by_query) {
        let (challenge, hint) = if credentials.has_basic() {
            (
                "Basic realm=\"rectify\"",
                "This rectify view needs a token or a user name and password.",
            )
        } else {
            // A Bearer challenge opens no login prompt, so the browser
            // shows this page and its hint.
            (
                "Bearer realm=\"rectify\"",
                "This rectify view needs a token: open the address once with <code>?token=</code> and the token added \
                 (a cookie keeps you signed in), or send <code>Authorization: Bearer</code> and the token.",
            )
        };
        let mut r = (
            StatusCode::UNAUTHORIZED,
            axum::response::Html(format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>401 Unauthorized</title></head>\
                 <body><h1>401 Unauthorized</h1><p id=\"hint\">{hint}</p></body></html>"
            )),
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        return r;
    }
    let mut response = next.run(request).await;
    if let (true, Some(token)) = (by_query, query_token) {
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            auth::COOKIE,
            Credentials::cookie_for(&token)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// `application/x-www-form-urlencoded` pairs of a query string, decoded.
pub(crate) fn url_pairs(query: &str) -> Vec<(String, String)> {
    let uri: axum::http::Uri = match format!("/?{query}").parse() {
        Ok(uri) => uri,
        Err(_) => return Vec::new(),
    };
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// A response with the body `text` as HTML and `status`.
pub(crate) fn html(status: StatusCode, text: String) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nothing here is meant to be framed or to run script.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    r.headers_mut()
        .insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r.headers_mut()
        .insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}
