//! Service metrics: event counters, latency histograms and their Prometheus rendering.
//!
//! [`Metrics`] holds the server-wide figures, shared (e.g. in an `Arc`) by every task that
//! records into them; recording is one relaxed atomic add or one uncontended stripe lock, never
//! I/O and never an allocation. Figures owned by one task (a shard's per-line KPI histograms)
//! use [`OwnedHistogram`] and reach a scrape as copies. [`Scrape`] turns both into the
//! `/metrics` text. This module never serves HTTP: the admin routes do.

mod counters;
mod histogram;
pub mod prometheus;

#[cfg(test)]
mod tests;

pub use counters::{Counters, CountersSnapshot, Cut, Side};
pub use histogram::{LatencyHistogram, OwnedHistogram, Summary};
pub use prometheus::{Desc, Scrape, TimeUnit};

/// Longest server-side latency told apart, in µs (longer ones count as this): 60 s.
pub const SERVER_LATENCY_US_MAX: u64 = 60_000_000;

/// The server-wide counters and latency histograms (all histograms in µs).
#[derive(Debug)]
pub struct Metrics {
    pub counters: Counters,
    /// Time the routing core took to decide where a dialog goes.
    pub dispatch_us: LatencyHistogram,
    /// Time from a client's message arriving to its delivery to the operator.
    pub delivery_us: LatencyHistogram,
    /// Time from a request arriving to its acknowledgement (after persistence).
    pub ack_us: LatencyHistogram,
    /// Duration of one group commit of the store.
    pub group_commit_us: LatencyHistogram,
}

impl Metrics {
    /// Zero counters and empty histograms over 0..=[`SERVER_LATENCY_US_MAX`].
    pub fn new() -> Self {
        Self {
            counters: Counters::new(),
            dispatch_us: LatencyHistogram::new(SERVER_LATENCY_US_MAX),
            delivery_us: LatencyHistogram::new(SERVER_LATENCY_US_MAX),
            ack_us: LatencyHistogram::new(SERVER_LATENCY_US_MAX),
            group_commit_us: LatencyHistogram::new(SERVER_LATENCY_US_MAX),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
