//! Latency histograms: [`OwnedHistogram`] for a single owner (a shard task's per-line figures)
//! and [`LatencyHistogram`], its striped, lock-per-stripe form that any thread records into.
//!
//! Owns the HDR histogram configuration: values are `u64` in a unit the caller picks (µs or ms),
//! tracked over `0..=max` at 2 significant figures (a bucket is at most ~0.8% wide). Invariants:
//! recording never fails and never panics (a value above `max` counts as `max`); `sum` and the
//! exact `max` of recorded values travel with the counts, so a [`Summary`]'s mean is exact and
//! its percentiles never exceed its max.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::OnceLock;

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::sync::{AtomicU64, Mutex, Ordering};

/// Significant decimal figures every histogram keeps (memory grows ~10× per extra figure).
const SIGNIFICANT_FIGURES: u8 = 2;
/// Fewest stripes a [`LatencyHistogram`] gets, even on one core (threads still collide less).
const STRIPES_MIN: usize = 2;
/// Most stripes a [`LatencyHistogram`] gets, however many cores: each costs one histogram.
const STRIPES_MAX: usize = 16;

/// Percentiles and totals of a histogram; every field is 0 when nothing was recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    /// Largest value recorded (after saturation at the histogram's `max`), exact.
    pub max: u64,
    /// `sum / count`, exact.
    pub mean: f64,
    /// Sum of the values recorded (after saturation), exact; saturates at `u64::MAX`.
    pub sum: u64,
}

/// A histogram owned by one thread or task: recording is a plain `&mut` update.
#[derive(Clone)]
pub struct OwnedHistogram {
    hist: Histogram<u64>,
    /// The value limit: larger values are recorded as this.
    limit: u64,
    /// Sum of the recorded (saturated) values.
    sum: u64,
    /// Largest recorded (saturated) value; 0 when empty.
    max_recorded: u64,
}

impl OwnedHistogram {
    /// An empty histogram over `0..=max` (a `max` below 2 is raised to 2).
    pub fn new(max: u64) -> Self {
        let limit = max.max(2);
        // Cannot fail: low = 1 is ≥ 1 and ≤ u64::MAX / 2, high ≥ 2 × low, 2 significant figures
        // are ≤ 5, and the counts array (< 8k entries even for high = u64::MAX) fits a usize.
        let hist = Histogram::new_with_bounds(1, limit, SIGNIFICANT_FIGURES)
            .expect("histogram bounds are valid by construction");
        Self {
            hist,
            limit,
            sum: 0,
            max_recorded: 0,
        }
    }

    /// Records one value; a value above `max` is recorded as `max`.
    #[inline]
    pub fn record(&mut self, value: u64) {
        let value = value.min(self.limit);
        self.hist.saturating_record(value);
        self.sum = self.sum.saturating_add(value);
        self.max_recorded = self.max_recorded.max(value);
    }

    /// Adds every value `other` recorded. Values beyond this histogram's `max` (when `other`
    /// was built with a larger one) are recorded as `max`; the sum then becomes an estimate,
    /// off by less than one HDR bucket width (≤ 0.8%) of each such value.
    pub fn add(&mut self, other: &OwnedHistogram) {
        let mut other_sum = other.sum;
        if self.hist.add(&other.hist).is_err() {
            // `add` checks the range before touching any count, so nothing was added yet.
            for bucket in other.hist.iter_recorded() {
                let value = bucket.value_iterated_to();
                let count = bucket.count_at_value();
                let excess = other
                    .hist
                    .lowest_equivalent(value)
                    .saturating_sub(self.limit);
                other_sum = other_sum.saturating_sub(excess.saturating_mul(count));
                self.hist.saturating_record_n(value.min(self.limit), count);
            }
            other_sum = other_sum.min(other.count().saturating_mul(self.limit));
        }
        self.sum = self.sum.saturating_add(other_sum);
        self.max_recorded = self.max_recorded.max(other.max_recorded.min(self.limit));
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Sum of the values recorded (after saturation).
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The value limit given to [`OwnedHistogram::new`] (at least 2).
    pub fn max(&self) -> u64 {
        self.limit
    }

    /// The HDR histogram underneath.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Percentiles, max, mean and sum; all zeros when empty.
    pub fn summary(&self) -> Summary {
        let count = self.count();
        if count == 0 {
            return Summary::default();
        }
        let at = |q: f64| self.hist.value_at_quantile(q).min(self.max_recorded);
        Summary {
            count,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: self.max_recorded,
            mean: self.sum as f64 / count as f64,
            sum: self.sum,
        }
    }
}

impl fmt::Debug for OwnedHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedHistogram")
            .field("max", &self.limit)
            .field("count", &self.count())
            .field("sum", &self.sum)
            .finish_non_exhaustive()
    }
}

/// Hands each thread a stripe slot once, round-robin.
static NEXT_THREAD_SLOT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THREAD_SLOT: usize = NEXT_THREAD_SLOT.fetch_add(1, Ordering::Relaxed) as usize;
}

/// Stripes a new [`LatencyHistogram`] gets: the next power of two ≥ the available parallelism,
/// within [`STRIPES_MIN`]..=[`STRIPES_MAX`]; asked of the OS once per process.
fn default_stripes() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(STRIPES_MIN, NonZeroUsize::get)
            .next_power_of_two()
            .clamp(STRIPES_MIN, STRIPES_MAX)
    })
}

/// A histogram any thread records into through `&self`.
///
/// It is a power-of-two number of [`OwnedHistogram`] stripes, each behind its own
/// cache-line-padded lock; a thread always records into the stripe of its slot (handed out
/// round-robin on its first record), so threads rarely share a lock or a cache line. Reads
/// ([`LatencyHistogram::snapshot`], [`LatencyHistogram::merged`]) lock each stripe in turn and
/// add them up: they cost one histogram merge per stripe and are meant for scrapes, not the
/// hot path. A snapshot is not atomic across stripes (a record racing it may be missed by it,
/// never counted twice).
pub struct LatencyHistogram {
    stripes: Box<[CachePadded<Mutex<OwnedHistogram>>]>,
    limit: u64,
}

impl LatencyHistogram {
    /// An empty histogram over `0..=max` with the default number of stripes (see the type).
    pub fn new(max: u64) -> Self {
        Self::with_stripes(max, default_stripes())
    }

    /// An empty histogram over `0..=max` with `stripes` rounded up to a power of two (at least
    /// 1, at most 16): one stripe for a histogram few threads touch, to save memory.
    pub fn with_stripes(max: u64, stripes: usize) -> Self {
        let stripes = stripes.clamp(1, STRIPES_MAX).next_power_of_two();
        let empty = OwnedHistogram::new(max);
        Self {
            limit: empty.max(),
            stripes: (0..stripes)
                .map(|_| CachePadded::new(Mutex::new(empty.clone())))
                .collect(),
        }
    }

    /// Records one value into the calling thread's stripe; a value above `max` counts as `max`.
    #[inline]
    pub fn record(&self, value: u64) {
        let slot = THREAD_SLOT.with(|slot| *slot);
        // `stripes.len()` is a power of two, so the mask picks a valid index.
        let stripe = &self.stripes[slot & (self.stripes.len() - 1)];
        stripe.lock().record(value);
    }

    /// Number of stripes.
    pub fn stripes(&self) -> usize {
        self.stripes.len()
    }

    /// The value limit given to [`LatencyHistogram::new`] (at least 2).
    pub fn max(&self) -> u64 {
        self.limit
    }

    /// All stripes added up, with the exact sum and max.
    pub fn owned_snapshot(&self) -> OwnedHistogram {
        let mut total = OwnedHistogram::new(self.limit);
        for stripe in self.stripes.iter() {
            total.add(&stripe.lock());
        }
        total
    }

    /// Percentiles, max, mean and sum over all stripes.
    pub fn snapshot(&self) -> Summary {
        self.owned_snapshot().summary()
    }

    /// The HDR histogram of all stripes added up.
    pub fn merged(&self) -> Histogram<u64> {
        self.owned_snapshot().hist
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("max", &self.limit)
            .field("stripes", &self.stripes.len())
            .finish_non_exhaustive()
    }
}
