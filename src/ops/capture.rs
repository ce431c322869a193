//! `rectify capture`: one connection to the golden host, and the baseline
//! its live values make.

use std::time::Duration;

use crate::baseline::{Baseline, Rule};
use crate::capture::{capture_host, CaptureError, Captured};
use crate::inventory::Host;
use crate::transport::{one_line, ConnectOptions, Connector};

/// What to capture from which host.
pub struct CaptureOptions<'a> {
    pub host: &'a Host,
    /// The baseline whose rules are captured.
    pub from: &'a Baseline,
    /// Extra whole-file rules (`--file`).
    pub extra: &'a [Rule],
    pub connect: ConnectOptions,
    pub command_timeout: Duration,
}

pub async fn capture(options: CaptureOptions<'_>) -> Result<Captured, CaptureError> {
    let connector = Connector::new(options.connect);
    let connection = connector
        .connect(options.host)
        .await
        .map_err(|e| CaptureError::Connect(one_line(&e)))?;
    let captured = capture_host(
        connection.as_ref(),
        options.host,
        options.from,
        options.extra,
        options.command_timeout,
    )
    .await;
    connection.close().await;
    captured
}
