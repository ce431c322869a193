//! The progress bar on stderr while hosts run. Hidden when stderr is not a
//! terminal, so logs and pipes stay clean. Besides the counts it names the
//! hosts still running, longest first, with how long they have taken
//! (`29/30 hosts  0 drift, 0 error · waiting: h07 (12s)`), so a slow or
//! hung host is seen while the run goes on.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::fleet::Event;
use crate::report::sanitize::for_terminal;
use crate::report::HostStatus;

pub fn bar(total: usize, enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} hosts  {msg}")
            .expect("template is valid")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// How many running hosts the bar names; the rest are counted.
const NAMED: usize = 3;

/// The bar's message: the counts, then the hosts still running, longest
/// first, at most [`NAMED`] of them by name.
pub fn message(drift: usize, errors: usize, running: &[(&str, Duration)]) -> String {
    let mut text = format!("{drift} drift, {errors} error");
    if running.is_empty() {
        return text;
    }
    let mut by_time: Vec<&(&str, Duration)> = running.iter().collect();
    by_time.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let named: Vec<String> = by_time
        .iter()
        .take(NAMED)
        .map(|(name, took)| format!("{} ({}s)", for_terminal(name), took.as_secs()))
        .collect();
    text.push_str(" · waiting: ");
    text.push_str(&named.join(", "));
    if running.len() > NAMED {
        text.push_str(&format!(" +{} more", running.len() - NAMED));
    }
    text
}

/// Feeds engine events into the bar until the engine drops its sender,
/// and refreshes the running hosts' times every second meanwhile.
pub async fn follow(bar: ProgressBar, mut events: mpsc::UnboundedReceiver<Event>) {
    let (mut drift, mut errors) = (0, 0);
    let mut running: BTreeMap<String, Instant> = BTreeMap::new();
    // A retried host's earlier outcome, taken back when it is retried.
    let mut finished: BTreeMap<String, HostStatus> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => Some(event),
                None => break,
            },
            _ = tick.tick() => None,
        };
        match event {
            Some(Event::Warning(message)) => bar.suspend(|| eprintln!("warning: {message}")),
            Some(Event::HostStarted { name }) => {
                running.insert(name, Instant::now());
            }
            Some(Event::HostFinished { name, status }) => {
                running.remove(&name);
                match status {
                    HostStatus::Drift | HostStatus::RolledBack | HostStatus::WouldChange => drift += 1,
                    HostStatus::Error | HostStatus::RollbackFailed => errors += 1,
                    _ => {}
                }
                finished.insert(name, status);
                bar.inc(1);
            }
            Some(Event::Retrying { name }) => {
                if let Some(HostStatus::Error) = finished.remove(&name) {
                    errors -= 1;
                }
                bar.set_position(bar.position().saturating_sub(1));
            }
            None => {}
        }
        let now = Instant::now();
        let times: Vec<(&str, Duration)> = running
            .iter()
            .map(|(name, since)| (name.as_str(), now - *since))
            .collect();
        bar.set_message(message(drift, errors, &times));
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::message;

    #[test]
    fn the_message_names_the_slowest_running_hosts() {
        assert_eq!(message(1, 0, &[]), "1 drift, 0 error");
        let s = Duration::from_secs;
        assert_eq!(
            message(0, 2, &[("h01", s(1)), ("h07", s(12))]),
            "0 drift, 2 error · waiting: h07 (12s), h01 (1s)"
        );
        let many = [("a", s(1)), ("b", s(5)), ("c", s(3)), ("d", s(2)), ("e\x1b[2J", s(9))];
        assert_eq!(
            message(0, 0, &many),
            "0 drift, 0 error · waiting: e\\x1b[2J (9s), b (5s), c (3s) +2 more"
        );
    }
}
