//! Run identifiers: sortable by time, unique across concurrent invocations.

use chrono::{DateTime, Utc};
use rand::Rng;

/// `20261122T090101Z-3fa9c2`: the UTC start second, then 24 random bits so
/// that two runs started in the same second on one controller still differ.
pub fn new_run_id(started: DateTime<Utc>) -> String {
    let suffix: u32 = rand::rng().random_range(0..0x0100_0000);
    format!("{}-{suffix:06x}", started.format("%Y%m%dT%H%M%SZ"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_start_time_and_differ() {
        let a = new_run_id("2026-01-02T03:04:05Z".parse().unwrap());
        let b = new_run_id("2026-01-02T03:04:06Z".parse().unwrap());
        assert!(a.starts_with("20260102T030405Z-"));
        assert!(a < b);
        let c = new_run_id("2026-01-02T03:04:05Z".parse().unwrap());
        assert_ne!(a, c, "two ids of the same second should differ (24 random bits)");
    }
}
