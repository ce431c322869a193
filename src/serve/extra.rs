//! The pages whose HTML other modules render: surveys (`crate::survey::html`)
//! and the knowledge pages (`crate::knowledge::html`, the same pages that
//! `rectify export knowledge` writes). This module only routes them and
//! puts them in the web view's layout; the fragments escape their own
//! values.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use super::pages::{answer, not_found_page, render};
use super::App;
use crate::knowledge::html::{index_html, rule_html, Links};

/// Surveys listed, newest first; like the runs list, a page shows a bounded
/// number.
const SURVEYS: usize = 200;

fn framed(app: &App, heading: &str, body: String) -> Response {
    render(&app.env, StatusCode::OK, "fragment.html", context! { heading, body })
}

pub(super) async fn surveys(State(app): State<Arc<App>>) -> Response {
    app.with_db(|app, db| {
        answer(
            &app.env,
            db.surveys(SURVEYS).map(|rows| {
                framed(
                    app,
                    "Surveys",
                    format!("<h1>Surveys</h1>\n{}", crate::survey::html::list_html(&rows)),
                )
            }),
        )
    })
    .await
}

pub(super) async fn survey(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    app.with_db(move |app, db| {
        answer(
            &app.env,
            (|| {
                let full = match db.find_run(&id)? {
                    Ok(full) => full,
                    Err(_) => return Ok(not_found_page(&app.env, "survey", &id)),
                };
                Ok(match db.load_survey(&full)? {
                    Some(survey) => {
                        let grouped = crate::survey::group(&survey);
                        framed(
                            app,
                            &format!("Survey {full}"),
                            crate::survey::html::survey_html(&grouped),
                        )
                    }
                    None => not_found_page(&app.env, "survey", &id),
                })
            })(),
        )
    })
    .await
}

pub(super) async fn knowledge(State(app): State<Arc<App>>) -> Response {
    let body = index_html(&app.knowledge, Links::Web);
    framed(&app, "Knowledge", body)
}

pub(super) async fn knowledge_rule(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match crate::knowledge::find(&app.knowledge, &name) {
        // Where and when the rule recurred is on the rule's own page, read
        // from the summaries kept as runs are recorded.
        Some(page) => {
            let body = format!(
                "{}\n<p id=\"history-link\"><a href=\"/rules/{}\">Where and when it failed and recurred</a></p>",
                rule_html(page, Links::Web),
                crate::report::sanitize::url_segment(&page.id),
            );
            framed(&app, &page.id, body)
        }
        None => not_found_page(&app.env, "knowledge page", &name),
    }
}
