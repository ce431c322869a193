//! The progress bar on stderr while hosts run. Hidden when stderr is not a
//! terminal, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::fleet::Event;
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

/// Feeds engine events into the bar until the engine drops its sender.
pub async fn follow(bar: ProgressBar, mut events: mpsc::UnboundedReceiver<Event>) {
    let (mut drift, mut errors) = (0, 0);
    while let Some(event) = events.recv().await {
        if let Event::Warning(message) = &event {
            bar.suspend(|| eprintln!("warning: {message}"));
        }
        if let Event::HostFinished { status, .. } = event {
            match status {
                HostStatus::Drift | HostStatus::RolledBack | HostStatus::WouldChange => drift += 1,
                HostStatus::Error | HostStatus::RollbackFailed => errors += 1,
                _ => {}
            }
            bar.inc(1);
            bar.set_message(format!("{drift} drift, {errors} error"));
        }
    }
    bar.finish_and_clear();
}
