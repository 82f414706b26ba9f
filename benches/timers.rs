//! Benchmarks for `timers::TimerWheel`: arm/cancel with 1M timers armed, and poll throughput.
//! Run: `cargo bench --bench timers`. Deadlines come from a fixed-seed xorshift, so runs compare.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard::timers::{TimerKey, TimerWheel};

const MS_PER_DAY: u64 = 24 * 60 * 60 * 1000;
/// Timers already armed while arm/cancel is measured.
const ARMED_TIMERS: usize = 1_000_000;
/// Longest deadline armed, as the service's 30-day timers.
const DEADLINE_SPAN_MS: u64 = 30 * MS_PER_DAY;
/// Timers that expire in one measured poll.
const EXPIRING_TIMERS: u64 = 100_000;
/// Span the expiring timers' deadlines are spread over.
const EXPIRING_SPAN_MS: u64 = 60_000;
const START_MS: u64 = 1_700_000_000_000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn full_wheel(rng: &mut XorShift) -> (TimerWheel<u64>, Vec<TimerKey>) {
    let mut wheel = TimerWheel::with_capacity(START_MS, ARMED_TIMERS + 1);
    let keys = (0..ARMED_TIMERS as u64)
        .map(|i| wheel.arm(START_MS + 1 + rng.next() % DEADLINE_SPAN_MS, i))
        .collect();
    (wheel, keys)
}

fn arm_cancel(c: &mut Criterion) {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let (mut wheel, mut keys) = full_wheel(&mut rng);
    let mut group = c.benchmark_group("timers");
    // Arm a timer (random deadline up to 30 days) among 1M armed, then cancel it.
    group.bench_function("arm_cancel_1M_armed", |b| {
        b.iter(|| {
            let key = wheel.arm(START_MS + 1 + rng.next() % DEADLINE_SPAN_MS, 7);
            black_box(wheel.cancel(black_box(key)))
        })
    });
    // Cancel a random, cache-cold timer of the 1M and arm its replacement: the slab (40 MB)
    // exceeds the cache, so this measures ~4 dependent memory misses.
    group.bench_function("cancel_random_rearm_1M_armed", |b| {
        b.iter(|| {
            let slot = (rng.next() % ARMED_TIMERS as u64) as usize;
            let payload = black_box(wheel.cancel(keys[slot])).unwrap_or(0);
            let deadline_ms = START_MS + 1 + rng.next() % DEADLINE_SPAN_MS;
            keys[slot] = wheel.arm(deadline_ms, payload);
        })
    });
    group.finish();
}

/// Time only `poll`: 100k timers just armed (random deadlines within a minute) are all fired,
/// cascading down the levels, by polls `tick_ms` apart.
fn poll_expire_with(iters: u64, rng: &mut XorShift, tick_ms: u64) -> Duration {
    let mut out = Vec::with_capacity(EXPIRING_TIMERS as usize);
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut wheel = TimerWheel::with_capacity(START_MS, EXPIRING_TIMERS as usize);
        for i in 0..EXPIRING_TIMERS {
            wheel.arm(START_MS + 1 + rng.next() % EXPIRING_SPAN_MS, i);
        }
        out.clear();
        let start = Instant::now();
        let mut now_ms = START_MS;
        while now_ms < START_MS + EXPIRING_SPAN_MS {
            now_ms += tick_ms;
            wheel.poll(now_ms, &mut out);
        }
        total += start.elapsed();
        assert_eq!(black_box(out.len()), EXPIRING_TIMERS as usize);
    }
    total
}

fn poll_expire(c: &mut Criterion) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut group = c.benchmark_group("timers");
    group.throughput(Throughput::Elements(EXPIRING_TIMERS));
    group.sample_size(30);
    group.bench_function("poll_expire", |b| {
        b.iter_custom(|iters| poll_expire_with(iters, &mut rng, EXPIRING_SPAN_MS))
    });
    group.bench_function("poll_expire_1ms_ticks", |b| {
        b.iter_custom(|iters| poll_expire_with(iters, &mut rng, 1))
    });
    group.finish();
}

criterion_group!(benches, arm_cancel, poll_expire);
criterion_main!(benches);
