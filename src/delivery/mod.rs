//! What leaves a shard toward connections. Each session has a bounded outbound queue and the
//! senders never wait on a slow one.
//!
//! - [`session_queue`]: one session's queue and close signal ([`SessionTx`], [`Outbound`]).
//! - [`operator_feeds`]: per operator, numbered events, a ring kept for resume, live sessions.
//! - [`client_registry`]: widget sessions by client id, in independently locked parts.
//!
//! Must never: block a shard task, or hold a lock shared by every connection.

pub mod client_registry;
pub mod operator_feeds;
pub mod session_queue;

pub use client_registry::ClientRegistry;
pub use operator_feeds::OperatorFeeds;
pub use session_queue::{CloseSignal, Outbound, SessionTx};
