//! Planning lives in [`crate::plan`] (pure, below the step kinds); this
//! name keeps `apply::plan::…` paths working for the transaction's code.

pub use crate::plan::*;
