//! What a run records while it runs: one HDR histogram per [`Metric`] (microseconds, sharded so
//! thousands of connection tasks rarely meet on a lock), event counters, errors by code and
//! close codes. Message accounting (sent / delivered / lost / duplicated) is the ledgers' job.
//!
//! Bounded: the histograms have a fixed range (1 µs .. 10 min, 3 significant digits; larger
//! values saturate), the error and close-code maps are capped at [`KINDS_MAX`] keys.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Histogram shards per metric.
const SHARDS: usize = 8;
/// Highest value a histogram tracks, in µs (10 minutes).
pub const HIGHEST_US: u64 = 600_000_000;
/// Significant decimal digits the histograms keep.
pub const SIGFIG: u8 = 3;
/// Distinct error codes / close codes kept; more are counted under "other".
const KINDS_MAX: usize = 64;

/// A latency the generator measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Widget `message` due → the operator's `message` frame.
    WidgetToOperator,
    /// Operator reply due → the widget's `message` frame.
    OperatorToWidget,
    /// Widget `message` due → its `ack`.
    Ack,
    /// A dialog's first client message due → `dialog_offered`.
    Offer,
    /// Connection setup: TCP + WebSocket + hello → welcome.
    Connect,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::WidgetToOperator,
        Metric::OperatorToWidget,
        Metric::Ack,
        Metric::Offer,
        Metric::Connect,
    ];

    /// Short machine name (JSON keys, file names).
    pub fn key(self) -> &'static str {
        match self {
            Metric::WidgetToOperator => "widget_to_operator",
            Metric::OperatorToWidget => "operator_to_widget",
            Metric::Ack => "ack",
            Metric::Offer => "offer",
            Metric::Connect => "connect",
        }
    }

    /// Label for the table and the plot.
    pub fn label(self) -> &'static str {
        match self {
            Metric::WidgetToOperator => "widget → operator",
            Metric::OperatorToWidget => "operator → widget",
            Metric::Ack => "message → ack",
            Metric::Offer => "first message → offer",
            Metric::Connect => "connect + hello → welcome",
        }
    }
}

/// A new empty histogram with the generator's range.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG).expect("constant bounds are valid")
}

/// Event counters (all monotonic).
#[derive(Default, Debug)]
pub struct Counters {
    pub widgets_connected: AtomicU64,
    pub operators_connected: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Connections that ended before the run did.
    pub disconnects: AtomicU64,
    pub typing_sent: AtomicU64,
    pub previews_received: AtomicU64,
    pub offers: AtomicU64,
    pub accepts_sent: AtomicU64,
    pub accepts_acked: AtomicU64,
    pub assigned: AtomicU64,
    pub revoked: AtomicU64,
    pub closes_sent: AtomicU64,
    pub dialogs_closed: AtomicU64,
    pub rating_requests: AtomicU64,
    pub ratings_sent: AtomicU64,
    pub undecodable: AtomicU64,
    /// connect scenario: connections set up and closed.
    pub churned: AtomicU64,
}

impl Counters {
    pub fn one(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

pub struct Measures {
    histograms: Vec<Vec<Mutex<Histogram<u64>>>>,
    pub counters: Counters,
    errors: Mutex<BTreeMap<String, u64>>,
    close_codes: Mutex<BTreeMap<String, u64>>,
    errors_total: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    let mut map = lock(map);
    if let Some(n) = map.get_mut(key) {
        *n += 1;
    } else if map.len() < KINDS_MAX {
        map.insert(key.to_string(), 1);
    } else {
        *map.entry("other".to_string()).or_insert(0) += 1;
    }
}

impl Default for Measures {
    fn default() -> Self {
        Self::new()
    }
}

impl Measures {
    pub fn new() -> Measures {
        Measures {
            histograms: Metric::ALL
                .iter()
                .map(|_| (0..SHARDS).map(|_| Mutex::new(histogram())).collect())
                .collect(),
            counters: Counters::default(),
            errors: Mutex::default(),
            close_codes: Mutex::default(),
            errors_total: AtomicU64::new(0),
        }
    }

    /// Records `micros` for `metric`; `shard` is any number that differs between tasks.
    pub fn record(&self, metric: Metric, shard: usize, micros: u64) {
        let shards = &self.histograms[metric as usize];
        lock(&shards[shard % SHARDS]).saturating_record(micros.max(1));
    }

    /// Records the time from `due_ns` to `now_ns` (0 if the clock says it was early).
    pub fn record_since(&self, metric: Metric, shard: usize, due_ns: u64, now_ns: u64) {
        self.record(metric, shard, now_ns.saturating_sub(due_ns) / 1_000);
    }

    /// Everything recorded so far for `metric`, merged.
    pub fn snapshot(&self, metric: Metric) -> Histogram<u64> {
        let mut merged = histogram();
        for shard in &self.histograms[metric as usize] {
            // Same bounds everywhere: adding cannot fail.
            let _ = merged.add(&*lock(shard));
        }
        merged
    }

    /// An `error` frame with this code arrived.
    pub fn error(&self, code: &str) {
        self.errors_total.fetch_add(1, Ordering::Relaxed);
        bump(&self.errors, code);
    }

    /// A local failure (connect refused, timeout, ...) under a generator-chosen name.
    pub fn failure(&self, what: &str) {
        self.error(what);
    }

    /// The server closed a connection with `code` (`None`: without a close frame).
    pub fn close_code(&self, code: Option<u16>) {
        let key = code.map_or_else(|| "none".to_string(), |c| c.to_string());
        bump(&self.close_codes, &key);
    }

    pub fn errors_total(&self) -> u64 {
        self.errors_total.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    pub fn close_codes(&self) -> BTreeMap<String, u64> {
        lock(&self.close_codes).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_merge_and_values_saturate() {
        let m = Measures::new();
        for shard in 0..100 {
            m.record(Metric::Ack, shard, 1_000);
        }
        m.record(Metric::Ack, 3, u64::MAX);
        m.record_since(Metric::Ack, 0, 10_000, 5_000); // early: recorded as 1 µs
        let h = m.snapshot(Metric::Ack);
        assert_eq!(h.len(), 102);
        assert!(h.max() >= HIGHEST_US);
        assert_eq!(h.min(), 1);
        assert_eq!(m.snapshot(Metric::Offer).len(), 0);
    }

    #[test]
    fn error_kinds_are_capped() {
        let m = Measures::new();
        for i in 0..100 {
            m.error(&format!("code_{i}"));
        }
        m.error("code_0");
        let errors = m.errors();
        assert_eq!(errors.len(), KINDS_MAX + 1);
        assert_eq!(errors["code_0"], 2);
        assert_eq!(errors["other"], 100 - KINDS_MAX as u64);
        assert_eq!(m.errors_total(), 101);
        m.close_code(Some(4000));
        m.close_code(None);
        assert_eq!(m.close_codes()["4000"], 1);
    }
}
