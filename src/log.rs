//! Debug lines on stderr for `-vvv`: what rectify is doing with each host
//! (how it resolved it, connecting, connected, finished) and with its
//! inputs, with the time since the start, for finding where a run is slow
//! or why a host behaves as it does. Off unless switched on; never on
//! stdout, so reports stay clean. rectify needs no more logging than
//! this, so it carries no logging framework.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Turns the debug lines on (for `-vvv`) or off.
pub fn set_debug(on: bool) {
    START.get_or_init(Instant::now);
    ENABLED.store(on, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Writes one debug line; use [`debug!`](crate::debug). Control
/// characters from hosts are shown as text, as in the reports.
pub fn write(args: std::fmt::Arguments<'_>) {
    let elapsed = START.get_or_init(Instant::now).elapsed();
    let text = args.to_string();
    eprintln!(
        "debug: {:>8.3}s {}",
        elapsed.as_secs_f64(),
        crate::report::sanitize::for_terminal(&text).replace('\n', " ")
    );
}

/// `eprintln!` for `-vvv` only: formats nothing when debug lines are off.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            $crate::log::write(format_args!($($arg)*));
        }
    };
}
