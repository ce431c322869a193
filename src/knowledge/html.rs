//! Knowledge pages as HTML: fragments for the web view (`/knowledge`,
//! `/knowledge/RULE`; no page layout) and whole pages for an export
//! ([`page`]). minijinja with HTML auto-escaping: every text from a
//! baseline or a host is escaped by the engine.
//!
//! Markers, as on the web view's rule page: `#rationale`,
//! `#manual-check`, `#check`, `#remediation` (one `<pre class="step">`
//! per step, or `<pre class="manual">`), `#references`, `#failing-now`,
//! and `<table id="recurrences">` with one
//! `<tr class="recurrence" data-host="HOST">` per time the rule came
//! back. The index is `<table class="rules" data-area="BASELINE">` per
//! area with rows `<tr data-rule="ID">`.

use std::collections::BTreeMap;

use minijinja::{context, AutoEscape, Environment};
use serde::Serialize;

use super::RulePage;
use crate::report::sanitize::url_segment;

/// Where the HTML links go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Files beside each other: `FILE.html`; hosts and runs not linked.
    Files,
    /// The web view: `/knowledge/FILE`, `/hosts/H`, `/runs/R`.
    Web,
}

const RULE: &str = r#"<div class="rule" data-rule="{{ p.id }}">
<h1>{{ p.id }}: {{ p.title }}</h1>
<p class="meta">severity <span class="severity {{ p.severity }}">{{ p.severity }}</span>, level {{ p.level }}, baseline {{ p.baseline }}{% if p.tags %}, tags {{ p.tags|join(", ") }}{% endif %}</p>
<div id="rationale"><h2>What it protects</h2>{% if p.rationale %}<p>{{ p.rationale }}</p>{% else %}<p>No rationale given.</p>{% endif %}</div>
<div id="manual-check"><h2>How to check by hand</h2>{% if p.manual_check %}<pre>{{ p.manual_check }}</pre>{% else %}<p>No manual check given.</p>{% endif %}</div>
<div id="check"><h2>How rectify checks it</h2><pre>{{ p.check }}</pre></div>
<div id="remediation"><h2>How it is fixed</h2>
{% if p.remediation.kind == "playbook" %}<p><code>rectify fix</code> runs {% if p.remediation.whole %}every step{% else %}these steps{% endif %} of the playbook <code>{{ p.remediation.playbook }}</code>:</p>
{% for s in p.remediation.steps %}<h3>{{ s.name }}</h3><pre class="step">{{ s.yaml }}</pre>
{% endfor %}{% elif p.remediation.kind == "manual" %}<p>By hand (<code>rectify fix</code> runs nothing for this rule):</p><pre class="manual">{{ p.remediation.manual }}</pre>
{% else %}<p>No remediation.</p>{% endif %}</div>
<div id="references"><h2>References</h2>{% if p.references %}<table><thead><tr><th>catalogue</th><th>ids</th></tr></thead><tbody>
{% for c, ids in p.references %}<tr><td>{{ c }}</td><td>{{ ids|join(", ") }}</td></tr>
{% endfor %}</tbody></table>{% else %}<p>None.</p>{% endif %}</div>
<div id="history"><h2>Where and when it came back</h2>
{% if not p.history %}<p>No run history was read.</p>{% else %}<p>Since {{ p.history.since }}: checked on {{ p.history.hosts }} host{{ "s" if p.history.hosts != 1 }}, {{ p.history.failures }} failed result{{ "s" if p.history.failures != 1 }}.</p>
<p id="failing-now">{% if failing %}Failing now on: {% for h in failing %}{% if h.link %}<a href="{{ h.link }}">{{ h.name }}</a>{% else %}<span class="host">{{ h.name }}</span>{% endif %}{{ ", " if not loop.last }}{% endfor %}{% else %}Failing now on no host.{% endif %}</p>
<table id="recurrences"><thead><tr><th>host</th><th>last passed</th><th>failed again</th></tr></thead><tbody>
{% for r in recurrences %}<tr class="recurrence" data-host="{{ r.host.name }}"><td>{% if r.host.link %}<a href="{{ r.host.link }}">{{ r.host.name }}</a>{% else %}{{ r.host.name }}{% endif %}</td>
<td class="passed">{% if r.passed.link %}<a href="{{ r.passed.link }}">{{ r.passed.date }}</a>{% else %}{{ r.passed.date }}{% endif %} <span class="run">{{ r.passed.run }}</span></td>
<td class="failed">{% if r.failed.link %}<a href="{{ r.failed.link }}">{{ r.failed.date }}</a>{% else %}{{ r.failed.date }}{% endif %} <span class="run">{{ r.failed.run }}</span></td></tr>
{% endfor %}</tbody></table>{% if not recurrences %}<p>It never came back after passing.</p>{% endif %}{% endif %}</div>
</div>
"#;

const INDEX: &str = r#"<div id="knowledge">
<h1>Rule knowledge</h1>
<p>{{ total }} rules. Most severe first in each area.</p>
{% for area in areas %}<h2>{{ area.name }}</h2>
<table class="rules" data-area="{{ area.name }}"><thead><tr><th>rule</th><th>title</th><th>severity</th><th>failing now</th><th>came back</th></tr></thead><tbody>
{% for r in area.rules %}<tr data-rule="{{ r.id }}"><td><a href="{{ r.link }}">{{ r.id }}</a></td><td>{{ r.title }}</td><td class="severity {{ r.severity }}">{{ r.severity }}</td><td>{{ r.failing }}</td><td>{{ r.back }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}</div>
"#;

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
pre { background: #f4f4f4; padding: .5em; overflow-x: auto; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; }
.severity.critical, .severity.high { color: #a00; font-weight: bold; }
</style>
</head>
<body>
{% if up %}<p><a href="index.html">All rules</a></p>
{% endif %}{{ body|safe }}</body>
</html>
"#;

#[derive(Serialize)]
struct Link {
    name: String,
    link: Option<String>,
}

#[derive(Serialize)]
struct RunCell {
    date: String,
    run: String,
    link: Option<String>,
}

#[derive(Serialize)]
struct RecurrenceRow {
    host: Link,
    passed: RunCell,
    failed: RunCell,
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env
}

fn host(name: &str, links: Links) -> Link {
    Link {
        name: name.to_string(),
        link: (links == Links::Web).then(|| format!("/hosts/{}", url_segment(name))),
    }
}

fn run(date: &str, id: &str, links: Links) -> RunCell {
    RunCell {
        date: date.get(..10).unwrap_or(date).to_string(),
        run: id.to_string(),
        link: (links == Links::Web).then(|| format!("/runs/{}", url_segment(id))),
    }
}

/// One rule's page as an HTML fragment.
pub fn rule_html(p: &RulePage, links: Links) -> String {
    let failing: Vec<Link> = p
        .history
        .iter()
        .flat_map(|h| h.failing_now.iter().map(|x| host(x, links)))
        .collect();
    let recurrences: Vec<RecurrenceRow> = p
        .history
        .iter()
        .flat_map(|h| {
            h.recurrences.iter().map(|r| RecurrenceRow {
                host: host(&r.host, links),
                passed: run(&r.passed, &r.passed_run, links),
                failed: run(&r.failed, &r.failed_run, links),
            })
        })
        .collect();
    env()
        .render_str(RULE, context! { p, failing, recurrences })
        .expect("the rule template renders")
}

/// The pages by area (baseline), each area's rules most severe first,
/// then by id.
pub fn by_area(pages: &[RulePage]) -> Vec<(&str, Vec<&RulePage>)> {
    let mut areas: BTreeMap<&str, Vec<&RulePage>> = BTreeMap::new();
    for p in pages {
        areas.entry(&p.baseline).or_default().push(p);
    }
    areas
        .into_iter()
        .map(|(area, mut rules)| {
            rules.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.id.cmp(&b.id)));
            (area, rules)
        })
        .collect()
}

/// The index as an HTML fragment.
pub fn index_html(pages: &[RulePage], links: Links) -> String {
    #[derive(Serialize)]
    struct Row<'a> {
        id: &'a str,
        title: &'a str,
        severity: &'a str,
        link: String,
        failing: String,
        back: String,
    }
    #[derive(Serialize)]
    struct Area<'a> {
        name: &'a str,
        rules: Vec<Row<'a>>,
    }
    let areas: Vec<Area> = by_area(pages)
        .into_iter()
        .map(|(name, rules)| Area {
            name,
            rules: rules
                .into_iter()
                .map(|p| Row {
                    id: &p.id,
                    title: &p.title,
                    severity: p.severity,
                    link: match links {
                        Links::Files => format!("{}.html", url_segment(&p.file)),
                        Links::Web => format!("/knowledge/{}", url_segment(&p.file)),
                    },
                    failing: p
                        .history
                        .as_ref()
                        .map_or(String::new(), |h| h.failing_now.len().to_string()),
                    back: p
                        .history
                        .as_ref()
                        .map_or(String::new(), |h| h.recurrences.len().to_string()),
                })
                .collect(),
        })
        .collect();
    env()
        .render_str(INDEX, context! { areas, total => pages.len() })
        .expect("the index template renders")
}

/// A whole HTML page around a fragment, for an export: inline CSS, no
/// script, no external URL. `up`: link back to `index.html`.
pub fn page(title: &str, body: &str, up: bool) -> String {
    env()
        .render_str(PAGE, context! { title, body, up })
        .expect("the page template renders")
}
