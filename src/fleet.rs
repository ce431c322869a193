//! What the fleet engines tell whoever shows progress. The engines
//! themselves never print.

use crate::report::HostStatus;

/// Progress of one host.
#[derive(Debug, Clone)]
pub enum Event {
    HostStarted { name: String },
    HostFinished { name: String, status: HostStatus },
}
