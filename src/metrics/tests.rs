use prometheus_parse::{HistogramCount, Sample, Value};

use super::prometheus::{
    CONTENT_TYPE, DIALOGS, FIRST_RESPONSE, OPERATOR_FIRST_RESPONSE, QUEUE_LENGTH,
};
use super::*;
use crate::protocol::ErrorCode;

/// Within 2 significant figures: HDR buckets are at most 1/128 of their value wide.
fn assert_close(actual: u64, expected: u64) {
    let tolerance = expected / 100 + 1;
    assert!(
        actual.abs_diff(expected) <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn percentiles_of_1_to_1000() {
    let mut owned = OwnedHistogram::new(10_000);
    let striped = LatencyHistogram::new(10_000);
    for v in 1..=1000 {
        owned.record(v);
        striped.record(v);
    }
    for s in [owned.summary(), striped.snapshot()] {
        assert_eq!(s.count, 1000);
        assert_close(s.p50, 500);
        assert_close(s.p90, 900);
        assert_close(s.p99, 990);
        assert_close(s.p999, 999);
        assert_eq!(s.max, 1000);
        assert_eq!(s.sum, 500_500);
        assert_eq!(s.mean, 500.5);
        assert!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
    }
    assert_eq!(striped.merged().len(), 1000);
}

#[test]
fn empty_summary_is_all_zeros() {
    assert_eq!(OwnedHistogram::new(1_000).summary(), Summary::default());
    assert_eq!(LatencyHistogram::new(1_000).snapshot(), Summary::default());
    let zeros = Summary::default();
    assert_eq!(
        (zeros.count, zeros.p99, zeros.max, zeros.mean),
        (0, 0, 0, 0.0)
    );
}

#[test]
fn values_above_max_saturate_to_max() {
    let mut h = OwnedHistogram::new(1_000);
    h.record(5);
    h.record(1_000_000);
    h.record(u64::MAX);
    let s = h.summary();
    assert_eq!((s.count, s.max, s.sum), (3, 1_000, 2_005));
    assert!(s.p999 <= 1_000);
    // A tiny max is raised to the smallest valid one, and still never panics.
    let mut tiny = OwnedHistogram::new(0);
    tiny.record(0);
    tiny.record(7);
    assert_eq!((tiny.max(), tiny.summary().max), (2, 2));
    let striped = LatencyHistogram::new(60_000_000);
    striped.record(u64::MAX);
    assert_eq!(striped.snapshot().max, 60_000_000);
}

#[test]
fn add_merges_counts_sum_and_max_and_clamps_a_wider_histogram() {
    let mut a = OwnedHistogram::new(1_000);
    a.record(10);
    let mut wide = OwnedHistogram::new(1_000_000);
    wide.record(20);
    wide.record(500_000);
    a.add(&wide);
    let s = a.summary();
    assert_eq!((s.count, s.max), (3, 1_000));
    // Exact would be 10 + 20 + 1_000; the saturated value's excess is estimated to within the
    // width of the HDR bucket holding 500_000 (2_048).
    assert!((1_030..1_030 + 2_048).contains(&s.sum), "{}", s.sum);
    let mut same = OwnedHistogram::new(1_000);
    same.record(10);
    let mut other = OwnedHistogram::new(1_000);
    other.record(20);
    other.record(5_000);
    same.add(&other);
    assert_eq!(same.summary().sum, 1_030, "exact when the limits match");
}

#[test]
fn stripes_are_a_power_of_two() {
    for (asked, got) in [(0, 1), (1, 1), (3, 4), (8, 8), (1_000, 16)] {
        assert_eq!(LatencyHistogram::with_stripes(100, asked).stripes(), got);
    }
    let n = LatencyHistogram::new(100).stripes();
    assert!(n.is_power_of_two() && (2..=16).contains(&n), "{n} stripes");
}

#[test]
fn concurrent_records_all_count() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 50_000;
    let h = LatencyHistogram::new(SERVER_LATENCY_US_MAX);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let h = &h;
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    h.record(t * 1_000 + i % 1_000);
                }
            });
        }
    });
    let s = h.snapshot();
    assert_eq!(s.count, THREADS * PER_THREAD);
    let per_thread_sum = |t: u64| (PER_THREAD / 1_000) * (t * 1_000 * 1_000 + 999 * 1_000 / 2);
    assert_eq!(s.sum, (0..THREADS).map(per_thread_sum).sum::<u64>());
    assert_eq!(s.max, (THREADS - 1) * 1_000 + 999);
}

#[test]
fn error_code_indexes_match_all() {
    for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
        assert_eq!(code as usize, i, "{code}");
    }
    let c = Counters::new();
    c.error(ErrorCode::Overloaded);
    c.error(ErrorCode::BadFrame);
    c.error(ErrorCode::Overloaded);
    let snap = c.snapshot();
    assert_eq!(snap.errors(ErrorCode::Overloaded), 2);
    assert_eq!(snap.errors(ErrorCode::BadFrame), 1);
    assert_eq!(snap.errors(ErrorCode::Internal), 0);
}

#[test]
fn connection_gauge_is_opened_minus_closed() {
    let c = Counters::new();
    c.connection_opened(Side::Widget);
    c.connection_opened(Side::Widget);
    c.connection_closed(Side::Widget);
    c.connection_closed(Side::Operator);
    let snap = c.snapshot();
    assert_eq!(snap.open(Side::Widget), 1);
    assert_eq!(
        snap.open(Side::Operator),
        0,
        "a stray close never goes below zero"
    );
}

fn parse(text: &str) -> Vec<Sample> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines)
        .expect("rendered text parses")
        .samples
}

/// The one sample named `metric` whose labels include `labels`.
fn find<'a>(samples: &'a [Sample], metric: &str, labels: &[(&str, &str)]) -> &'a Sample {
    let mut found = samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|&(k, v)| s.labels.get(k) == Some(v)));
    let sample = found
        .next()
        .unwrap_or_else(|| panic!("no {metric} {labels:?}"));
    assert!(found.next().is_none(), "several {metric} {labels:?}");
    sample
}

/// A counter, gauge or untyped sample's value. prometheus-parse reads the pre-OpenMetrics
/// format, where a counter's samples carry its TYPE name; OpenMetrics adds `_total` to them,
/// so they come back untyped (as do `_sum` and `_count`).
fn scalar(sample: &Sample) -> f64 {
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{} is not a scalar: {other:?}", sample.metric),
    }
}

fn buckets(sample: &Sample) -> &[HistogramCount] {
    match &sample.value {
        Value::Histogram(buckets) => buckets,
        other => panic!("{} is not a histogram: {other:?}", sample.metric),
    }
}

fn bucket(sample: &Sample, le: f64) -> f64 {
    let b = buckets(sample).iter().find(|b| b.less_than == le);
    b.unwrap_or_else(|| panic!("no le={le} bucket")).count
}

#[test]
fn rendered_text_parses_with_the_right_values() {
    let metrics = Metrics::new();
    for _ in 0..3 {
        metrics.counters.offer();
    }
    metrics.counters.error(ErrorCode::RateLimited);
    metrics.counters.error(ErrorCode::RateLimited);
    metrics.counters.message_in(Side::Operator);
    metrics.counters.connection_opened(Side::Widget);
    // 2 values ≤ 0.5 ms, 3 in (1 ms, 2.5 ms], and 90 s, recorded as the 60 s max.
    for us in [100, 400, 2_000, 2_000, 2_400, 90_000_000] {
        metrics.ack_us.record(us);
    }
    let mut scrape = Scrape::from_metrics(&metrics);
    scrape.gauge(DIALOGS, &[("state", "queued")], 7.0);
    scrape.gauge(DIALOGS, &[("state", "active")], 2.0);
    scrape.gauge(QUEUE_LENGTH, &[("line", "sales")], 4.0);
    let mut kpi = OwnedHistogram::new(30 * 24 * 3_600_000);
    kpi.record(1_500); // 1.5 s in ms
    kpi.record(40_000);
    scrape.histogram(FIRST_RESPONSE, TimeUnit::Millis, &[("line", "sales")], &kpi);
    scrape.histogram(
        OPERATOR_FIRST_RESPONSE,
        TimeUnit::Millis,
        &[("operator", "anna")],
        &kpi,
    );
    let text = scrape.render().expect("renders");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(CONTENT_TYPE.starts_with("application/openmetrics-text"));
    let samples = parse(&text);

    assert_eq!(scalar(find(&samples, "switchboard_offers_total", &[])), 3.0);
    assert_eq!(
        scalar(find(&samples, "switchboard_accepts_total", &[])),
        0.0
    );
    let rate_limited = [("code", "rate_limited")];
    assert_eq!(
        scalar(find(&samples, "switchboard_errors_total", &rate_limited)),
        2.0
    );
    assert_eq!(
        scalar(find(
            &samples,
            "switchboard_errors_total",
            &[("code", "internal")]
        )),
        0.0
    );
    let from_operator = [("from", "operator")];
    assert_eq!(
        scalar(find(
            &samples,
            "switchboard_messages_in_total",
            &from_operator
        )),
        1.0
    );
    assert_eq!(
        scalar(find(
            &samples,
            "switchboard_connections",
            &[("kind", "widget")]
        )),
        1.0
    );
    assert_eq!(
        scalar(find(
            &samples,
            "switchboard_dialogs",
            &[("state", "queued")]
        )),
        7.0
    );
    assert_eq!(
        scalar(find(
            &samples,
            "switchboard_queue_length",
            &[("line", "sales")]
        )),
        4.0
    );

    let ack = find(&samples, "switchboard_ack_seconds", &[]);
    assert_eq!(
        scalar(find(&samples, "switchboard_ack_seconds_count", &[])),
        6.0
    );
    assert_eq!(bucket(ack, 0.0005), 2.0);
    assert_eq!(bucket(ack, 0.001), 2.0);
    assert_eq!(bucket(ack, 0.0025), 5.0);
    assert_eq!(bucket(ack, 30.0), 5.0);
    assert_eq!(bucket(ack, 60.0), 6.0, "90 s saturates to the 60 s max");
    assert_eq!(bucket(ack, f64::INFINITY), 6.0);
    let ack_sum = scalar(find(&samples, "switchboard_ack_seconds_sum", &[]));
    assert!((ack_sum - 60.0069).abs() < 1e-9, "{ack_sum}");
    assert_eq!(buckets(ack).len(), BUCKETS_WITH_INF);

    let first = find(
        &samples,
        "switchboard_first_response_seconds",
        &[("line", "sales")],
    );
    assert_eq!(bucket(first, 1.0), 0.0);
    assert_eq!(bucket(first, 2.5), 1.0);
    assert_eq!(bucket(first, 60.0), 2.0);
    let count = find(
        &samples,
        "switchboard_first_response_seconds_count",
        &[("line", "sales")],
    );
    assert_eq!(scalar(count), 2.0);
    let by_operator = [("operator", "anna")];
    let op = find(
        &samples,
        "switchboard_operator_first_response_seconds",
        &by_operator,
    );
    assert_eq!(bucket(op, f64::INFINITY), 2.0);
    // The empty server histograms are still exported.
    let dispatch = find(&samples, "switchboard_dispatch_decision_seconds", &[]);
    assert_eq!(bucket(dispatch, f64::INFINITY), 0.0);
}

const BUCKETS_WITH_INF: usize = prometheus::BUCKET_BOUNDS_US.len() + 1;

#[test]
fn label_values_are_escaped() {
    let mut scrape = Scrape::new(&Counters::new());
    scrape.gauge(QUEUE_LENGTH, &[("line", "say \"hi\"\nback\\slash")], 1.0);
    let text = scrape.render().expect("renders");
    let line = text
        .lines()
        .find(|l| l.starts_with("switchboard_queue_length{"))
        .expect("a queue_length sample");
    assert_eq!(
        line,
        r#"switchboard_queue_length{line="say \"hi\"\nback\\slash"} 1.0"#
    );
}
