//! Switchboard: an embedded, high-throughput chat routing service for contact centers.
//!
//! The path of one message, and the module that owns each step:
//!
//! ```text
//! socket ─▶ session (decode, limits) ─▶ hub (post to the owning shard's inbox)
//!                                          │
//!                                          ▼
//!             shard task ─▶ routing::Shard::handle(now, command) ─▶ effects
//!                  │                                                   │
//!                  │  outbox (acks, frames, records) ◀─────────────────┘
//!                  ▼
//!             store (group commit, durable) ─▶ delivery (operator feeds, widget queues)
//!                                                  │
//!             socket ◀─ session (encode, write) ◀──┘
//! ```
//!
//! Nothing is acknowledged or published before the commit that holds it; a failed commit stops
//! the server (`hub::Hub::fail`).
//!
//! - [`session`]: one task per connection (widget, operator): decodes frames, asks shards,
//!   writes answers. Never touches routing state.
//! - [`hub`]: what sessions and shards share: shard inboxes (post / ask), shard lookup, the
//!   directory of operators and lines, resume tokens, the live configuration, start-up, snapshots.
//! - [`shard`]: the task around one `routing::Shard`: inbox loop, requests, effects turned into
//!   frames and records, commit then release.
//! - [`routing`]: the sans-IO core (lines, dialogs and their transcripts: message numbering,
//!   idempotency keys, participants; queue modes, limits, timers, decisions).
//! - [`store`]: the only redb user: log, snapshots, messages, record encoding, consents, contact
//!   records and photos.
//! - [`contacts`]: the contact registry beside the chats: durable in the store's own tables (never
//!   in the routing snapshot), searched through a tantivy index kept beside the store.
//! - [`delivery`]: bounded session queues, per-operator event feeds, the widget client registry.
//! - [`kpi`]: response-time rules of one dialog, per-shard statistics, merged views.
//! - [`admin`]: the admin HTTP API and its read side.
//! - [`config`]: the TOML file, its defaults, validation with key paths, the fixed bounds.
//! - [`protocol`]: frame types and the JSON / MessagePack codec (pure data).
//! - [`web`]: the bundled pages (widget script, demo page, operator console) and the console's reads.
//! - [`server`]: the listener, upgrades with limits, graceful and fail-stop shutdown.
//! - [`timers`]: the hierarchical timing wheel the core arms its deadlines in.
//! - [`schedule`]: working hours with time zones, weekends and holidays.
//! - [`clock`]: time as an input.
//! - [`sync`]: the facade the concurrent primitives take atomics and locks from (loom-checkable).
//! - [`thread_priority`]: background threads (the store's applier, webhook deliveries) below the
//!   chat's.
//! - [`metrics`]: counters, striped latency histograms and the Prometheus `/metrics` text.

pub mod admin;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod delivery;
#[doc(hidden)]
pub mod fuzzing;
pub mod hub;
pub mod kpi;
pub mod metrics;
pub mod protocol;
pub mod routing;
pub mod schedule;
pub mod server;
pub mod session;
pub mod shard;
pub mod store;
pub mod sync;
pub mod thread_priority;
pub mod timers;
pub mod web;
pub mod webhooks;
