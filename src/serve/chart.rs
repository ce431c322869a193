//! The compliance chart's geometry: one point per day with audits, the
//! share of audited hosts compliant that day, on axes labelled with dates
//! and percentages. The page draws it as inline SVG (no script), so this
//! only computes coordinates and labels.

use serde::Serialize;

use crate::state::views::Day;

pub const WIDTH: f64 = 900.0;
pub const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
// Room for half a date label (about 64 px at 11 px) centred on the last day.
const RIGHT: f64 = 40.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 32.0;

#[derive(Debug, Serialize)]
pub struct Point {
    pub day: String,
    /// Percent compliant, one decimal (`95.0`).
    pub compliance: String,
    pub x: String,
    pub y: String,
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct Tick {
    pub label: String,
    pub x: String,
    pub y: String,
}

#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: String,
    pub top: f64,
    pub bottom: String,
    pub points: Vec<Point>,
    /// The line through the points, for the polyline.
    pub line: String,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
}

/// Percent of `part` in `whole`, one decimal.
pub fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0.0".into();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64)
}

/// The chart of `days` (oldest first), x spread by date so that gaps
/// between audits show as gaps.
pub fn chart(days: &[Day]) -> Chart {
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let first = days.first().and_then(|d| parse(&d.day));
    let last = days.last().and_then(|d| parse(&d.day));
    let span = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_days().max(1) as f64,
        _ => 1.0,
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_of = |day: &str| match (first, parse(day)) {
        (Some(a), Some(d)) if days.len() > 1 => LEFT + (d - a).num_days() as f64 / span * plot_w,
        _ => LEFT + plot_w / 2.0,
    };
    let y_of = |pct: f64| TOP + (100.0 - pct) / 100.0 * plot_h;
    let points: Vec<Point> = days
        .iter()
        .map(|d| {
            let compliance = percent(d.compliant, d.hosts);
            let pct: f64 = compliance.parse().unwrap_or(0.0);
            Point {
                title: format!(
                    "{}: {compliance} % ({} of {} hosts compliant)",
                    d.day, d.compliant, d.hosts
                ),
                day: d.day.clone(),
                x: format!("{:.1}", x_of(&d.day)),
                y: format!("{:.1}", y_of(pct)),
                compliance,
            }
        })
        .collect();
    let line = points
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    // At most eight date labels, evenly over the days shown.
    let step = days.len().div_ceil(8).max(1);
    let mut x_ticks: Vec<Tick> = days
        .iter()
        .step_by(step)
        .map(|d| Tick {
            label: d.day.clone(),
            x: format!("{:.1}", x_of(&d.day)),
            y: format!("{:.1}", HEIGHT - BOTTOM + 16.0),
        })
        .collect();
    if let Some(d) = days
        .last()
        .filter(|_| days.len() > 1 && !(days.len() - 1).is_multiple_of(step))
    {
        x_ticks.pop_if(|t| (x_of(&d.day) - t.x.parse::<f64>().unwrap_or(0.0)) < plot_w / 10.0);
        x_ticks.push(Tick {
            label: d.day.clone(),
            x: format!("{:.1}", x_of(&d.day)),
            y: format!("{:.1}", HEIGHT - BOTTOM + 16.0),
        });
    }
    let y_ticks = [0, 25, 50, 75, 100]
        .iter()
        .map(|p| Tick {
            label: format!("{p} %"),
            x: format!("{:.1}", LEFT - 6.0),
            y: format!("{:.1}", y_of(*p as f64)),
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: format!("{:.1}", WIDTH - RIGHT),
        top: TOP,
        bottom: format!("{:.1}", HEIGHT - BOTTOM),
        points,
        line,
        x_ticks,
        y_ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str, hosts: i64, compliant: i64) -> Day {
        Day {
            day: d.into(),
            hosts,
            compliant,
        }
    }

    #[test]
    fn points_carry_the_day_share_and_sit_where_the_axes_say() {
        let c = chart(&[
            day("2026-11-01", 20, 19),
            day("2026-11-02", 20, 20),
            day("2026-11-05", 3, 1),
        ]);
        assert_eq!(c.points[0].compliance, "95.0");
        assert_eq!(c.points[0].title, "2026-11-01: 95.0 % (19 of 20 hosts compliant)");
        assert_eq!(c.points[2].compliance, "33.3");
        // 100 % at the top of the plot, 0 % at its bottom.
        assert_eq!(c.points[1].y, format!("{TOP:.1}"));
        assert_eq!(c.y_ticks[0].y, c.bottom);
        // x by date: the first at the left edge, the last at the right.
        assert_eq!(c.points[0].x, format!("{LEFT:.1}"));
        assert_eq!(c.points[2].x, c.right);
        assert_eq!(c.x_ticks.first().unwrap().label, "2026-11-01");
        assert_eq!(c.x_ticks.last().unwrap().label, "2026-11-05");
    }
}
