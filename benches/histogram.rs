//! Benchmarks for `metrics` recording: `LatencyHistogram::record` (striped, locked) and
//! `OwnedHistogram::record` (plain `&mut`) against a bare `AtomicU64::fetch_add`, single-threaded,
//! in one run so the ratio holds on a noisy machine. Run: `cargo bench --bench histogram`.
//! Every variant pays the same fixed-seed xorshift for its value (latencies up to 100 ms in µs).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::metrics::{LatencyHistogram, OwnedHistogram, SERVER_LATENCY_US_MAX};

/// Spread of the recorded values, in µs.
const VALUE_SPAN_US: u64 = 100_000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("histogram");
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let counter = AtomicU64::new(0);
    group.bench_function("atomic_fetch_add_baseline", |b| {
        b.iter(|| counter.fetch_add(black_box(rng.next() % VALUE_SPAN_US), Ordering::Relaxed))
    });
    let mut owned = OwnedHistogram::new(SERVER_LATENCY_US_MAX);
    group.bench_function("owned_record", |b| {
        b.iter(|| owned.record(black_box(rng.next() % VALUE_SPAN_US)))
    });
    let striped = LatencyHistogram::new(SERVER_LATENCY_US_MAX);
    group.bench_function("latency_record", |b| {
        b.iter(|| striped.record(black_box(rng.next() % VALUE_SPAN_US)))
    });
    group.finish();
    black_box((
        counter.load(Ordering::Relaxed),
        owned.count(),
        striped.snapshot().count,
    ));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = record
}
criterion_main!(benches);
