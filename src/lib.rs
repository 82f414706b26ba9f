//! Switchboard: an embedded, high-throughput chat routing service for contact centers.
//!
//! ```text
//! socket ─▶ session (decode frame) ─▶ shard mailbox ─▶ routing::Shard::handle(now, command)
//!                                                        │ effects
//!            socket ◀─ session outbound queue ◀──────────┘ (persist first, then publish)
//! ```
//!
//! - [`config`]: the TOML file, its defaults and validation with key paths.
//! - [`routing`]: the sans-IO core (lines, dialogs, queue modes, limits, timers, decisions).
//! - [`timers`]: the hierarchical timing wheel the core arms its deadlines in.
//! - [`schedule`]: working hours with time zones, weekends and holidays.
//! - [`clock`]: time as an input.
//! - [`sync`]: the facade the concurrent primitives take atomics from (loom-checkable).
//! - [`metrics`]: counters, striped latency histograms and the Prometheus `/metrics` text.

pub mod admin;
pub mod clock;
pub mod config;
pub mod delivery;
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
pub mod timers;
