//! The integration tests: one test binary (`cargo test --test it`), one
//! module per area. They drive the built `rectify` binary, most of them
//! against a fleet of real sshd hosts started by the `fleet` module.

mod fleet;

mod ansible_inventory;
mod applicability;
mod apply_ssh;
mod audit_ssh;
mod capture_ssh;
mod cli_input;
mod corpus;
mod faults_audit_ssh;
mod faults_ssh;
mod fix_only;
mod history_ssh;
mod html_report;
mod include_ssh;
mod interrupts_ssh;
mod login_noise_ssh;
mod package_states;
mod races_ssh;
mod report_schema;
mod robustness;
mod secrets_ssh;
mod sshd_match;
mod sshd_verdicts;
mod sysctl_persisted;
mod transport_ssh;
