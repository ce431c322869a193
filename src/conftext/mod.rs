//! Configuration text: how rectify reads a setting from a file
//! ([`setting`]), edits one in place ([`edit`]), and follows sshd's
//! `Include` directives and `Match` blocks ([`include`]), with what sshd
//! makes of each keyword ([`sshd_keywords`]: aliases, lists), its compiled-in
//! defaults ([`sshd_defaults`]) and values that mean more than their text
//! ([`sshd_values`]: algorithm lists edited with `+`/`-`/`^`, `MaxStartups`), and reads
//! sysctl files as procps does ([`sysctl`]). Evaluation and planning both use
//! this one module, so what an audit reads and what an apply writes cannot
//! disagree. Pure: no I/O.

pub mod edit;
pub mod include;
pub mod setting;
pub mod sshd_defaults;
pub mod sshd_keywords;
pub mod sshd_match;
pub mod sshd_values;
pub mod sysctl;
