//! rectify audits and repairs the configuration of remote machines over SSH.
//!
//! The audit pipeline reads top to bottom:
//! [`inventory`] → [`transport`] → [`collect`] → [`evaluate`] → [`report`],
//! driven by [`audit`] through [`inspect`] (one host). [`baseline`] holds
//! the rules, [`conftext`] reads and edits configuration text for both
//! evaluation and planning, [`validate`] checks input files offline, and
//! [`cli`] is the only layer that prints: it parses arguments into the
//! option structs of [`ops`] (one module per command), calls it, and prints.
//! [`fleet`] schedules hosts for both engines; [`error`] is the error a
//! command ends with and its exit code.
//!
//! Repair: [`playbook`] (loading; each step kind in [`steps`], which also
//! holds [`steps::plan`], the pure planning context the kinds plan
//! themselves on) → [`apply`] (remote shell, one transaction per host) →
//! [`state`] (what `rollback` needs later).
//!
//! Each layer imports only from layers below it: `state` knows nothing of
//! `apply`, `evaluate` nothing of `report`, `apply` nothing of `audit`.

pub mod apply;
pub mod audit;
pub mod baseline;
pub mod capture;
pub mod cli;
pub mod collect;
pub mod config_error;
pub mod conftext;
pub mod diff;
pub mod error;
pub mod evaluate;
pub mod fleet;
pub mod history;
pub mod inspect;
pub mod inventory;
pub mod knowledge;
pub mod log;
pub mod ops;
pub mod playbook;
pub mod redact;
pub mod report;
pub mod run_id;
pub mod serve;
pub mod shell;
pub mod state;
pub mod steps;
pub mod survey;
pub mod template;
pub mod transport;
pub mod validate;
pub mod version;
pub mod waiver;
pub mod yaml;
