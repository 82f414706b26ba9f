//! Per-endpoint figures for `/metrics`: attempts and settled deliveries by result, the attempt
//! latency histogram, and the outbox depth and oldest held event's age. Written by the
//! endpoint's task, read by a scrape; lock-free except the striped histogram.

use std::sync::atomic::{AtomicU64, Ordering};

use super::client::Attempt;
use super::delivery::Status;
use super::retry::Verdict;
use crate::metrics::prometheus::Desc;
use crate::metrics::{LatencyHistogram, Scrape, TimeUnit};

/// The longest attempt latency recorded, in ms (longer ones count as this).
const LATENCY_MS_MAX: u64 = 600_000;

pub const DELIVERIES: Desc = Desc {
    name: "webhook_deliveries",
    help: "Webhook deliveries settled, by endpoint and result (delivered, failed).",
};
pub const ATTEMPTS: Desc = Desc {
    name: "webhook_attempts",
    help: "Webhook attempts, by endpoint and result (delivered, retry, permanent).",
};
pub const LATENCY: Desc = Desc {
    name: "webhook_attempt_latency",
    help: "Time from sending a webhook request to its response (or error).",
};
pub const DEPTH: Desc = Desc {
    name: "webhook_outbox_depth",
    help: "Events held for an endpoint and not yet settled.",
};
pub const OLDEST: Desc = Desc {
    name: "webhook_outbox_oldest_age_seconds",
    help: "Age of the oldest event held for an endpoint and not yet settled.",
};

/// One endpoint's figures.
pub struct EndpointStats {
    delivered: AtomicU64,
    failed: AtomicU64,
    attempts: [AtomicU64; 3],
    latency_ms: LatencyHistogram,
    depth: AtomicU64,
    oldest_ms: AtomicU64,
    /// The endpoint's cursor (every event up to it settled), for pruning.
    cursor: AtomicU64,
}

impl Default for EndpointStats {
    fn default() -> Self {
        Self {
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            attempts: Default::default(),
            latency_ms: LatencyHistogram::with_stripes(LATENCY_MS_MAX, 1),
            depth: AtomicU64::new(0),
            oldest_ms: AtomicU64::new(0),
            cursor: AtomicU64::new(0),
        }
    }
}

impl EndpointStats {
    pub fn attempted(&self, attempt: &Attempt, verdict: Verdict) {
        let slot = match verdict {
            Verdict::Delivered => 0,
            Verdict::Retry => 1,
            Verdict::Permanent => 2,
        };
        self.attempts[slot].fetch_add(1, Ordering::Relaxed);
        self.latency_ms
            .record(attempt.latency_ms.min(LATENCY_MS_MAX));
    }

    pub fn settled(&self, status: Status) {
        match status {
            Status::Delivered => self.delivered.fetch_add(1, Ordering::Relaxed),
            Status::Failed => self.failed.fetch_add(1, Ordering::Relaxed),
            Status::Pending => 0,
        };
    }

    pub fn set_outbox(&self, depth: usize, oldest_ms: u64) {
        self.depth.store(depth as u64, Ordering::Relaxed);
        self.oldest_ms.store(oldest_ms, Ordering::Relaxed);
    }

    pub fn set_cursor(&self, cursor: u64) {
        self.cursor.store(cursor, Ordering::Relaxed);
    }

    pub fn cursor(&self) -> u64 {
        self.cursor.load(Ordering::Relaxed)
    }

    /// Adds this endpoint's samples to `scrape`.
    pub fn scrape(&self, endpoint: &str, scrape: &mut Scrape) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (result, value) in [("delivered", &self.delivered), ("failed", &self.failed)] {
            let labels = [("endpoint", endpoint), ("result", result)];
            scrape.counter(DELIVERIES, &labels, get(value));
        }
        for (result, value) in ["delivered", "retry", "permanent"]
            .iter()
            .zip(&self.attempts)
        {
            let labels = [("endpoint", endpoint), ("result", *result)];
            scrape.counter(ATTEMPTS, &labels, get(value));
        }
        let labels = [("endpoint", endpoint)];
        scrape.histogram(
            LATENCY,
            TimeUnit::Millis,
            &labels,
            &self.latency_ms.owned_snapshot(),
        );
        scrape.gauge(DEPTH, &labels, get(&self.depth) as f64);
        scrape.gauge(OLDEST, &labels, get(&self.oldest_ms) as f64 / 1000.0);
    }
}
