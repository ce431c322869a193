//! The integration tests: one test binary (`cargo test --test it`), one
//! module per area. They drive the built `rectify` binary, most of them
//! against a fleet of real sshd hosts started by the `fleet` module.

mod fleet;

mod ansible_inventory;
mod applicability;
mod apply_ssh;
mod audit_ssh;
mod banner_ssh;
mod become_ssh;
mod capture_ssh;
mod cli_input;
mod content;
mod content_accounts;
mod content_auditd;
mod content_kernel;
mod content_sshd;
mod conventions;
mod corpus;
mod faults_audit_ssh;
mod faults_ssh;
mod fifo_race_ssh;
mod fix_only;
mod globs;
mod history_cli;
mod history_ssh;
mod html_report;
mod include_ssh;
mod interrupts_ssh;
mod knowledge;
mod listing;
mod login_noise_ssh;
mod long_runs;
mod match_refusal;
mod narrow;
mod output_levels;
mod package_states;
mod races_ssh;
mod report_consumers;
mod report_schema;
mod robustness;
mod scheduled;
mod secrets_ssh;
mod serve;
mod serve_wired;
mod sshd_effective;
mod sshd_match;
mod sshd_verdicts;
mod survey;
mod sysctl_persisted;
mod targets_ssh;
mod transport_ssh;
mod unlock_ssh;
mod validate_all;
mod web_view;
mod webdriver;
