//! The routing core: who gets each dialog, and when.
//!
//! Sans-IO and lock-light. Lines and their dialogs are owned by [`Shard`]s; a shard takes
//! `(now, Command)` and returns [`Effect`]s, so every rule is tested with a hand-driven clock.
//! The only state shards share is each operator's [`OperatorCell`]: presence, workday, load and
//! capacity packed in one atomic word and reserved by compare-and-swap, so no operator exceeds
//! capacity even when several shards offer them at the same instant. Connection tasks hand
//! commands to shards through a [`Mailbox`]. Both primitives are model-checked in `loom-tests/`.
//!
//! Files: `reserve` and `mailbox` (the concurrent primitives), `dialog` (state and slots),
//! `transcript` (a dialog's numbered messages, idempotency keys and participants), `line`
//! (rules, counters, FIFO), `operator` (a shard's view of one operator), `strategy` (even /
//! balanced / strict / all), `decision` (explainable routing), `shard/` (commands, messages,
//! dispatch, transitions, timers, restore), `placement` (which shard owns a line or dialog, and
//! what an effect asks of other shards: the server's forwarding rules), `router` (several
//! shards on one thread, forwarding by `placement`), `setup`
//! (config → state), `record` (a dialog as durable data), `api` (commands, effects, errors).

// Sans-IO: time comes in as an argument, never from a clock (see clippy.toml).
#![deny(clippy::disallowed_methods)]

pub mod api;
pub mod decision;
pub mod dialog;
pub mod ids;
pub mod line;
pub mod mailbox;
pub mod operator;
pub mod placement;
pub mod record;
pub mod reserve;
pub mod router;
pub mod setup;
pub mod shard;
pub mod strategy;
mod texts;
mod time;
pub mod transcript;

#[cfg(test)]
mod tests;

pub use crate::kpi::Kpi;
pub use api::{
    AutoText, CloseReason, Command, Effect, FinishedDialog, KpiKind, MovedDialog, Reply,
    RevokeReason, RoutingError, TransferTarget,
};
pub use decision::{Decision, Outcome, Skip, Wait};
pub use dialog::{Dialog, Holder, Slot, TimerKind};
pub use ids::{ClientId, DialogId, LineIdx, OpIdx};
pub use mailbox::{Mailbox, Park};
pub use placement::{FollowUp, Placement};
pub use record::{DialogRecord, HolderRecord};
pub use reserve::{Need, OperatorCell, OperatorState, Presence, Workday};
pub use router::Router;
pub use shard::{RestoredDialog, Shard};
pub use transcript::{Conversation, Message, Side, Transcript};
