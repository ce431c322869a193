//! `rectify survey`: one read-only question asked of every host (a file,
//! a setting, a sysctl, a package, a command's output), the hosts grouped
//! by identical answer, outliers first, each group with the unified diff
//! from the majority's answer — what ClusterShell's `clush -b` does for
//! commands, with rectify's inventory, one connection per host, its bounds
//! and its quoting.
//!
//! The question is turned into a one-rule baseline and loaded by the
//! baseline loader, so a survey takes exactly the subjects a baseline
//! takes, checked the same way (absolute paths, sysctl keys, package
//! names), and reads them with the same collectors (bounded, FIFO-safe,
//! every value quoted). The same rule, with the majority's answer as its
//! expectation, is the baseline `--capture-baseline` writes.

pub mod answer;
pub mod ask;
pub mod capture;
pub mod group;
pub mod html;
pub mod model;
pub mod question;
pub mod text;

pub use group::{group, Group, GroupKind, Grouped};
pub use model::{Answer, HostAnswer, Survey};
pub use question::{Kind, Question, QuestionError};
