//! Surveys as HTML fragments for the web view (`/surveys`, `/surveys/ID`):
//! no page layout, the caller puts them in its page. minijinja with HTML
//! auto-escaping: every value from a host is escaped by the engine, and
//! control characters are shown as text as in the terminal.
//!
//! Markers: the list is `<table id="surveys">` with a row
//! `<tr data-run="ID">` per survey linking `/surveys/ID`; one survey is
//! `<div id="survey" data-run="ID">` with `<table id="survey-groups">`
//! (one `<tr class="group" data-kind="answer|unreachable"
//! data-majority="true|false" data-count="N">` per group, outliers first)
//! and per group a `<div class="group-detail">` with `<pre class="answer">`
//! and `<pre class="diff">`; host names link `/hosts/NAME`.

use minijinja::{context, AutoEscape, Environment};
use serde::Serialize;

use super::group::Grouped;
use super::model::SurveyRow;
use crate::report::sanitize::{for_terminal, url_segment};

const SURVEY: &str = r#"<div id="survey" data-run="{{ s.run_id }}">
<h2>Survey {{ s.run_id }}</h2>
<p class="question">{{ s.question.kind }} <code>{{ subject }}</code> on {{ s.hosts }} host{{ "s" if s.hosts != 1 }}:
{% if s.agree %}all the same{% else %}{{ answers }} different answer{{ "s" if answers != 1 }}{% if s.unreachable %}, {{ s.unreachable }} not reached{% endif %}{% endif %}
(started {{ s.started }}, exit {{ s.exit_code }})</p>
{% if s.sensitive %}<p class="withheld">Answers withheld (sensitive): hosts are grouped, nothing is shown or stored.</p>{% endif %}
<table id="survey-groups">
<thead><tr><th>hosts</th><th>count</th><th>answer</th></tr></thead>
<tbody>
{% for g in groups %}<tr class="group" data-kind="{{ g.kind }}" data-majority="{{ "true" if g.majority else "false" }}" data-count="{{ g.count }}">
<td>{{ g.compact }}</td><td>{{ g.count }}</td><td>{% if g.kind == "unreachable" %}not reached{% elif g.majority %}majority{% if g.state != "value" %}, {{ g.state }}{% endif %}{% else %}outlier{% if g.state != "value" %}, {{ g.state }}{% endif %}{% endif %}</td>
</tr>
{% endfor %}</tbody>
</table>
{% for g in groups %}<div class="group-detail" data-kind="{{ g.kind }}" data-majority="{{ "true" if g.majority else "false" }}">
<h3>{{ g.compact }} ({{ g.count }} host{{ "s" if g.count != 1 }}{% if g.majority %}, majority{% endif %})</h3>
<ul class="hosts">{% for h in g.hosts %}<li><a href="/hosts/{{ h.link }}">{{ h.name }}</a></li>{% endfor %}</ul>
{% if g.error %}<p class="error">{{ g.error }}</p>
{% elif g.answer is none %}<p class="withheld">answer withheld ({{ g.bytes }} bytes)</p>
{% elif g.binary %}<p class="binary">binary content, {{ g.bytes }} bytes</p>
{% else %}<pre class="answer">{{ g.answer }}</pre>{% if g.truncated %}<p class="cut">cut at {{ g.answer|length }} of {{ g.bytes }} bytes</p>{% endif %}
{% endif %}{% if g.diff %}<pre class="diff">{% for cls, line in g.diff %}<span class="{{ cls }}">{{ line }}</span>
{% endfor %}</pre>{% endif %}
</div>
{% endfor %}</div>
"#;

const LIST: &str = r#"<table id="surveys">
<thead><tr><th>survey</th><th>started</th><th>question</th><th>hosts</th><th>majority</th><th>outliers</th><th>not reached</th></tr></thead>
<tbody>
{% for r in rows %}<tr data-run="{{ r.run_id }}"><td><a href="/surveys/{{ r.link }}">{{ r.run_id }}</a></td><td>{{ r.started }}</td><td>{{ r.kind }} <code>{{ r.subject }}</code></td><td>{{ r.hosts }}</td><td>{{ r.majority }}</td><td>{{ r.outliers }}</td><td>{{ r.unreachable }}</td></tr>
{% endfor %}</tbody>
</table>
"#;

#[derive(Serialize)]
struct HostLink {
    name: String,
    link: String,
}

#[derive(Serialize)]
struct GroupView {
    kind: &'static str,
    majority: bool,
    count: usize,
    compact: String,
    hosts: Vec<HostLink>,
    state: Option<String>,
    answer: Option<String>,
    bytes: u64,
    truncated: bool,
    binary: bool,
    diff: Option<Vec<(&'static str, String)>>,
    error: Option<String>,
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env
}

/// One survey, grouped, as an HTML fragment.
pub fn survey_html(s: &Grouped) -> String {
    let safe = |t: &str| for_terminal(t).into_owned();
    let groups: Vec<GroupView> = s
        .groups
        .iter()
        .map(|g| GroupView {
            kind: match g.kind {
                super::GroupKind::Answer => "answer",
                super::GroupKind::Unreachable => "unreachable",
            },
            majority: g.majority,
            count: g.count,
            compact: safe(&g.compact),
            hosts: g
                .hosts
                .iter()
                .map(|h| HostLink {
                    name: safe(h),
                    link: url_segment(h),
                })
                .collect(),
            state: g.state.as_deref().map(safe),
            answer: g.answer.as_deref().map(safe),
            bytes: g.answer_bytes,
            truncated: g.truncated,
            binary: g.binary,
            diff: g.diff.as_deref().map(crate::report::html::diff_lines),
            error: g.error.as_deref().map(safe),
        })
        .collect();
    let answers = s.groups.iter().filter(|g| g.kind == super::GroupKind::Answer).count();
    env()
        .render_str(
            SURVEY,
            context! { s, groups, answers, subject => safe(&s.question.subject) },
        )
        .expect("the survey template renders")
}

/// A list of surveys as an HTML fragment.
pub fn list_html(rows: &[SurveyRow]) -> String {
    #[derive(Serialize)]
    struct Row<'a> {
        run_id: &'a str,
        link: String,
        started: &'a str,
        kind: &'static str,
        subject: String,
        hosts: i64,
        majority: i64,
        outliers: i64,
        unreachable: i64,
    }
    let rows: Vec<Row> = rows
        .iter()
        .map(|r| Row {
            run_id: &r.run_id,
            link: url_segment(&r.run_id),
            started: &r.started,
            kind: r.question.kind.as_str(),
            subject: for_terminal(&r.question.subject).into_owned(),
            hosts: r.hosts,
            majority: r.majority,
            outliers: r.outliers,
            unreachable: r.unreachable,
        })
        .collect();
    env()
        .render_str(LIST, context! { rows })
        .expect("the survey list template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::model::{Answer, HostAnswer, Survey};
    use crate::survey::question::{Kind, Question};

    #[test]
    fn host_text_is_escaped_and_hosts_are_linked() {
        let s = Survey {
            run_id: "r-1".into(),
            started: chrono::Utc::now(),
            finished: chrono::Utc::now(),
            question: Question {
                kind: Kind::Command,
                subject: "echo '<b>'".into(),
            },
            sensitive: false,
            hosts: vec![
                HostAnswer {
                    host: "a/b".into(),
                    address: "x".into(),
                    answer: Some(Answer::new("value", b"<script>alert(1)</script>\x1b[31m\n".to_vec())),
                    error: None,
                },
                HostAnswer {
                    host: "c".into(),
                    address: "x".into(),
                    answer: Some(Answer::new("value", b"ok\n".to_vec())),
                    error: None,
                },
                HostAnswer {
                    host: "d".into(),
                    address: "x".into(),
                    answer: None,
                    error: Some("refused <here>".into()),
                },
            ],
        };
        let html = survey_html(&super::super::group(&s));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains('\x1b') && html.contains("\\x1b[31m"), "{html}");
        assert!(html.contains(r#"href="/hosts/a%2Fb""#), "{html}");
        assert!(html.contains("refused &lt;here&gt;"), "{html}");
        assert!(
            html.contains(r#"<span class="add">+ok</span>"#) || html.contains(r#"<span class="del">-ok</span>"#),
            "{html}"
        );
        let list = list_html(&[SurveyRow {
            run_id: "r-1".into(),
            started: "t".into(),
            question: s.question.clone(),
            hosts: 3,
            majority: 1,
            outliers: 1,
            unreachable: 1,
            exit_code: 3,
        }]);
        assert!(
            list.contains(r#"<a href="/surveys/r-1">"#) && list.contains("echo &#x27;&lt;b&gt;&#x27;"),
            "{list}"
        );
    }
}
