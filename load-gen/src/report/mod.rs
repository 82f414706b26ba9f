//! What a run found, as one value: latency summaries per metric (ms), the message tallies,
//! event counts, errors by code, close codes, the server's memory (idle), notes — and a
//! comparison of two runs (Switchboard against the bare relay) as ratios. Rendering lives in
//! `table.rs` (people), `hgrm.rs` (percentile files) and `plot.rs` (SVG); JSON is serde.
//! Pure: no I/O apart from the writers' callers.

pub mod hgrm;
pub mod plot;
pub mod table;

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::cli::ScenarioKind;
use crate::ctx::Ctx;
use crate::ledger::Tally;
use crate::measure::{Counters, Metric};
use crate::procfs::CpuUse;
use crate::wire::Encoding;

/// Percentiles of one metric, in milliseconds.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    pub fn of(h: &Histogram<u64>) -> Summary {
        let ms = |us: u64| us as f64 / 1_000.0;
        Summary {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1_000.0,
        }
    }
}

/// The server's resident memory around opening the idle connections.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Memory {
    pub connections: usize,
    pub alive_at_end: usize,
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    pub bytes_per_connection: Option<u64>,
}

impl Memory {
    pub fn new(
        before: Option<u64>,
        after: Option<u64>,
        connections: usize,
        alive: usize,
    ) -> Memory {
        let per = match (before, after) {
            (Some(b), Some(a)) if connections > 0 => Some(a.saturating_sub(b) / connections as u64),
            _ => None,
        };
        Memory {
            connections,
            alive_at_end: alive,
            rss_before_bytes: before,
            rss_after_bytes: after,
            bytes_per_connection: per,
        }
    }
}

/// One run against one server.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `switchboard` or `relay`.
    pub target: String,
    pub url: String,
    pub scenario: ScenarioKind,
    pub encoding: Encoding,
    pub widgets: usize,
    pub operators: usize,
    /// Requested rate (messages/s; connect: connections/s).
    pub rate: f64,
    pub duration_s: f64,
    /// Load before the measured duration (not in the histograms).
    pub warmup_s: f64,
    /// What was sent per second of the load phase.
    pub achieved_rate: f64,
    /// Milliseconds, per metric that recorded anything.
    pub latency_ms: BTreeMap<&'static str, Summary>,
    pub widget_to_operator: Tally,
    pub operator_to_widget: Tally,
    pub events: BTreeMap<&'static str, u64>,
    pub errors: BTreeMap<String, u64>,
    pub close_codes: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Connections the kernel dropped from a full listen queue during the run (every listener
    /// on this machine; each costs a client a 1 s SYN retry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_overflows: Option<u64>,
    /// Average cores busy during the load phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUse>,
    pub notes: Vec<String>,
    /// The full histograms (µs), for .hgrm files and the plot.
    #[serde(skip)]
    pub histograms: Vec<(Metric, Histogram<u64>)>,
}

impl Report {
    /// Collects what `ctx` recorded.
    pub fn from_run(ctx: &Ctx, memory: Option<Memory>) -> Report {
        let plan = &ctx.plan;
        let histograms: Vec<(Metric, Histogram<u64>)> = Metric::ALL
            .iter()
            .map(|&m| (m, ctx.measures.snapshot(m)))
            .filter(|(_, h)| !h.is_empty())
            .collect();
        let c = &ctx.measures.counters;
        let w2o = ctx.w2o.tally();
        let seconds = plan.load_time().as_secs_f64().max(1e-9);
        let achieved = match plan.scenario {
            ScenarioKind::Connect => Counters::get(&c.churned) as f64 / seconds,
            ScenarioKind::Idle => 0.0,
            _ => w2o.sent.saturating_sub(setup_messages(ctx)) as f64 / seconds,
        };
        let events: BTreeMap<&'static str, u64> = [
            ("widgets_connected", &c.widgets_connected),
            ("operators_connected", &c.operators_connected),
            ("connect_failures", &c.connect_failures),
            ("disconnects", &c.disconnects),
            ("typing_sent", &c.typing_sent),
            ("previews_received", &c.previews_received),
            ("offers", &c.offers),
            ("accepts_sent", &c.accepts_sent),
            ("accepts_acked", &c.accepts_acked),
            ("assigned", &c.assigned),
            ("revoked", &c.revoked),
            ("closes_sent", &c.closes_sent),
            ("dialogs_closed", &c.dialogs_closed),
            ("rating_requests", &c.rating_requests),
            ("ratings_sent", &c.ratings_sent),
            ("undecodable_frames", &c.undecodable),
            ("connections_churned", &c.churned),
        ]
        .into_iter()
        .map(|(k, v)| (k, Counters::get(v)))
        .filter(|(_, v)| *v > 0)
        .collect();
        Report {
            target: ctx.endpoint.label.to_string(),
            url: ctx.endpoint.url.clone(),
            scenario: plan.scenario,
            encoding: plan.encoding,
            widgets: plan.widgets,
            operators: plan.operators,
            rate: plan.rate,
            duration_s: plan.duration.as_secs_f64(),
            warmup_s: plan.warmup.as_secs_f64(),
            achieved_rate: achieved,
            latency_ms: histograms
                .iter()
                .map(|(m, h)| (m.key(), Summary::of(h)))
                .collect(),
            widget_to_operator: w2o,
            operator_to_widget: ctx.o2w.tally(),
            events,
            errors: ctx.measures.errors(),
            close_codes: ctx.measures.close_codes(),
            memory,
            cpu: ctx.cpu_use(),
            listen_overflows: ctx
                .listen_overflows_at_start
                .zip(crate::procfs::listen_overflows())
                .map(|(before, after)| after.saturating_sub(before)),
            notes: ctx.notes(),
            histograms,
        }
    }

    /// The metric a scenario is judged by (find-max, the progress line).
    pub fn main_metric(scenario: ScenarioKind) -> Metric {
        match scenario {
            ScenarioKind::Chat | ScenarioKind::Firehose | ScenarioKind::Crash => {
                Metric::WidgetToOperator
            }
            ScenarioKind::Connect | ScenarioKind::Idle => Metric::Connect,
        }
    }

    pub fn summary(&self, metric: Metric) -> Option<&Summary> {
        self.latency_ms.get(metric.key())
    }

    /// Messages lost or duplicated, both directions.
    pub fn lost(&self) -> u64 {
        self.widget_to_operator.lost + self.operator_to_widget.lost
    }
}

/// Firehose's dialog-opening messages were sent during setup, not at the rate.
fn setup_messages(ctx: &Ctx) -> u64 {
    if ctx.plan.scenario == ScenarioKind::Firehose {
        Counters::get(&ctx.measures.counters.widgets_connected)
    } else {
        0
    }
}

/// Switchboard's figures against the baseline's for one metric.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Ratio {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub added_p50_ms: f64,
    pub added_p99_ms: f64,
    pub added_p999_ms: f64,
}

impl Ratio {
    pub fn of(baseline: &Summary, subject: &Summary) -> Ratio {
        let ratio = |b: f64, s: f64| if b > 0.0 { s / b } else { f64::NAN };
        Ratio {
            p50: ratio(baseline.p50, subject.p50),
            p99: ratio(baseline.p99, subject.p99),
            p999: ratio(baseline.p999, subject.p999),
            added_p50_ms: subject.p50 - baseline.p50,
            added_p99_ms: subject.p99 - baseline.p99,
            added_p999_ms: subject.p999 - baseline.p999,
        }
    }
}

/// The same scenario against the relay and against Switchboard, in one run.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub baseline: Report,
    pub switchboard: Report,
    /// Per metric both measured.
    pub ratios: BTreeMap<&'static str, Ratio>,
    /// Switchboard's achieved rate over the baseline's.
    pub rate_ratio: f64,
}

impl Comparison {
    pub fn new(baseline: Report, switchboard: Report) -> Comparison {
        let ratios = switchboard
            .latency_ms
            .iter()
            .filter_map(|(k, s)| baseline.latency_ms.get(k).map(|b| (*k, Ratio::of(b, s))))
            .collect();
        let rate_ratio = if baseline.achieved_rate > 0.0 {
            switchboard.achieved_rate / baseline.achieved_rate
        } else {
            f64::NAN
        };
        Comparison {
            baseline,
            switchboard,
            ratios,
            rate_ratio,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cli::ScenarioKind;
    use crate::wire::Encoding;

    pub fn summary(p50: f64, p99: f64) -> Summary {
        Summary {
            count: 1000,
            p50,
            p90: p50 * 1.5,
            p99,
            p999: p99 * 2.0,
            max: p99 * 3.0,
            mean: p50,
        }
    }

    pub fn report(target: &str, p50: f64, p99: f64) -> Report {
        Report {
            target: target.into(),
            url: "ws://127.0.0.1:1".into(),
            scenario: ScenarioKind::Firehose,
            encoding: Encoding::Json,
            widgets: 1_000,
            operators: 10,
            rate: 10_000.0,
            duration_s: 15.0,
            warmup_s: 0.0,
            achieved_rate: 9_999.5,
            latency_ms: [("widget_to_operator", summary(p50, p99))].into(),
            widget_to_operator: Tally {
                sent: 150_000,
                acked: 150_000,
                delivered: 149_999,
                lost: 1,
                duplicated: 2,
                rejected: 0,
                overflow: 0,
            },
            operator_to_widget: Tally::default(),
            events: [("offers", 1_000)].into(),
            errors: BTreeMap::new(),
            close_codes: [("4000".to_string(), 3)].into(),
            memory: None,
            listen_overflows: None,
            cpu: None,
            notes: vec!["a note".into()],
            histograms: Vec::new(),
        }
    }

    #[test]
    fn summaries_are_in_ms() {
        let mut h = crate::measure::histogram();
        for us in 1..=1_000 {
            h.record(us).expect("in range");
        }
        let s = Summary::of(&h);
        assert_eq!(s.count, 1_000);
        assert!((s.p50 - 0.5).abs() < 0.01, "{s:?}");
        assert!((s.p99 - 0.99).abs() < 0.01, "{s:?}");
        assert!((s.max - 1.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn ratios_and_added_latency() {
        let r = Ratio::of(&summary(0.5, 1.0), &summary(0.6, 1.4));
        assert!((r.p99 - 1.4).abs() < 1e-9);
        assert!((r.added_p99_ms - 0.4).abs() < 1e-9);
        assert!(Ratio::of(&summary(0.0, 0.0), &summary(1.0, 1.0))
            .p99
            .is_nan());
    }

    #[test]
    fn memory_per_connection() {
        let m = Memory::new(Some(10 << 20), Some(110 << 20), 10_000, 10_000);
        assert_eq!(m.bytes_per_connection, Some((100 << 20) / 10_000));
        assert_eq!(Memory::new(None, Some(1), 5, 5).bytes_per_connection, None);
    }
}
