//! `rectify survey`: the question checked as a rule subject, every host
//! asked, the survey recorded, and a baseline captured from the majority
//! when asked for.

use tokio::sync::mpsc;

use crate::fleet::Event;
use crate::state::{StateDb, StateError};
use crate::survey::ask::{self, SurveyPlan};
use crate::survey::{Grouped, Survey};

/// Asks every host of the plan; `stop` is Ctrl-C ([`crate::audit::Stop`]).
pub async fn survey(
    plan: SurveyPlan,
    events: Option<mpsc::UnboundedSender<Event>>,
    stop: Option<crate::audit::Stop>,
) -> Survey {
    ask::run(plan, events, stop).await
}

/// Records the survey in the state database.
pub fn record(survey: &Survey, grouped: &Grouped) -> Result<(), StateError> {
    StateDb::open_default().and_then(|mut db| db.record_survey(survey, grouped))
}
