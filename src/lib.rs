//! rectify audits and repairs the configuration of remote machines over SSH.
//!
//! The audit pipeline reads top to bottom:
//! [`inventory`] → [`transport`] → [`collect`] → [`evaluate`] → [`report`],
//! driven by [`audit`]. [`baseline`] holds the rules, [`validate`] checks
//! input files offline, and [`cli`] is the only layer that prints.

pub mod audit;
pub mod baseline;
pub mod cli;
pub mod collect;
pub mod config_error;
pub mod evaluate;
pub mod inventory;
pub mod report;
pub mod run_id;
pub mod shell;
pub mod state;
pub mod template;
pub mod transport;
pub mod validate;
pub mod waiver;
pub mod yaml;
