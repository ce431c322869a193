//! Each subject's own fields, one module per kind of check: how a rule as
//! written becomes that [`super::Check`], with errors placed at the field's
//! line and column.

mod command;
mod content;
mod file;
mod line;
mod metadata;
mod package;
mod service;
mod setting;
mod sysctl;
