//! Timers: a sans-IO hierarchical timing wheel (`TimerWheel`) for dialog, auth and idle timeouts.
//!
//! Owns nothing but timer state: time is always passed in as `now_ms` (never read from a clock),
//! so the routing core and its tests drive it deterministically. Guarantees (proved in `tests`):
//! a timer never fires before its deadline, fires exactly once on the first `poll` at or after it,
//! timers fire in non-decreasing deadline order, and a stale `TimerKey` never touches another timer.

// Sans-IO: time comes in as an argument, never from a clock (see clippy.toml).
#![deny(clippy::disallowed_methods)]

mod wheel;

#[cfg(test)]
mod tests;

pub use wheel::{ArmError, TimerKey, TimerWheel, TIMERS_MAX};
