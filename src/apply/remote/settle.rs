//! The scripts that settle a run after its change: confirm it once
//! verified, roll it back, or ask how it was settled. Each is the prelude
//! and a call or two; each answers through `say`, framed with the nonce.

use crate::shell::{quote, QuoteError};

use super::prelude::preamble;

/// Runs the `verify` commands (over the new connection) and, if every one
/// passes, settles the run as committed — unless the dead-man timer got
/// there first. Answers `verify:I:output` for a failing check, then
/// `ok:committed` or `ok:timer`.
pub fn verify_and_confirm(run_id: &str, commands: &[String], nonce: &str) -> Result<String, QuoteError> {
    let mut s = preamble(run_id, nonce)?;
    s.push_str("{\n");
    for (i, cmd) in commands.iter().enumerate() {
        s.push_str(&format!("check verify {i} {} || exit 1\n", quote(cmd)?));
    }
    s.push_str("confirm\n} </dev/null\n");
    Ok(s)
}

/// Rolls back now, unless the dead-man timer already does: answers
/// `rollback:restored:RC`, `rollback:nothing`, `rollback:timer` or
/// `rollback:busy`.
pub fn rollback(run_id: &str, nonce: &str) -> Result<String, QuoteError> {
    Ok(preamble(run_id, nonce)? + "rollback\n")
}

/// How a run was settled: `settled:restored`, `settled:restore-failed`,
/// `settled:committed` or `settled:pending`.
pub fn settled(run_id: &str, nonce: &str) -> Result<String, QuoteError> {
    Ok(preamble(run_id, nonce)? + "settled\n")
}
