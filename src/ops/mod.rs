//! What each command does, below the command line: `cli` parses arguments
//! into the options structs here, calls one function and prints what comes
//! back. Everything that reads the state database, sets up connections or
//! decides which host gets which work lives here (or below), so the
//! command line holds no SQL and opens no connection.
//!
//! These functions never print; they are async and run on the one runtime
//! the command line builds.

pub mod apply;
pub mod audit;
pub mod capture;
pub mod fix;
pub mod history;
pub mod rollback;
pub mod survey;
pub mod unlock;

use crate::report::RunReport;
use crate::state::{StateDb, StateError, TxRecord};

/// Records a finished run (and what `rollback` needs of it) in the state
/// database.
pub fn record(report: &RunReport, records: &[(String, TxRecord)]) -> Result<(), StateError> {
    StateDb::open_default().and_then(|mut db| db.record_with(report, records))
}
