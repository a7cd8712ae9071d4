//! The one shape of every workflow that posts money or records a decision.
//!
//! A workflow is a pure function `(state it read, command, actor) → Plan`: the store loads the
//! state, core decides everything (who may, whether the rules allow it, what to post, what to
//! answer), and the store writes the plan whole or not at all. So a new workflow needs a planner
//! here and a thin loader in the store, and no feature writes an entry by hand.

use crate::actor::Actor;
use crate::date::Date;
use crate::entry::Entry;

/// One act in a record's history: who (person, role, office), on which day, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub action: String,
    pub actor: Actor,
    pub at: Date,
    pub reason: String,
}

/// What a workflow decided: the balanced entries to post, the feature's rows to write (`R`, a
/// feature's own row type, which its store module maps to SQL), the events to record, and the
/// answer to give once it is written. A plan that writes nothing answers a request that found
/// its work already done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<R, A> {
    pub entries: Vec<Entry>,
    pub rows: Vec<R>,
    pub events: Vec<Event>,
    pub answer: A,
}

impl<R, A> Plan<R, A> {
    /// A plan that writes nothing and gives `answer`.
    pub fn nothing(answer: A) -> Plan<R, A> {
        Plan { entries: Vec::new(), rows: Vec::new(), events: Vec::new(), answer }
    }

    /// Whether the plan writes nothing at all.
    pub fn writes_nothing(&self) -> bool {
        self.entries.is_empty() && self.rows.is_empty() && self.events.is_empty()
    }
}
