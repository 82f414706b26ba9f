//! The `/metrics` page: [`Scrape`] gathers the figures of one scrape, [`Scrape::render`] encodes
//! them in the OpenMetrics text format (serve it as [`CONTENT_TYPE`]).
//!
//! All text is written by `prometheus-client`'s encoder (HELP/TYPE/UNIT lines, `_total`
//! suffixes, label escaping, cumulative `le` buckets, the final `# EOF`); this module only turns
//! our counters and HDR histograms into its inputs. Every name gets the `switchboard_` prefix;
//! histograms are exported in seconds whatever unit they were recorded in. Never blocks for
//! long: a scrape copies counters and converts each histogram once, up front.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::counters::{Counters, CountersSnapshot, Side};
use super::histogram::OwnedHistogram;
use super::Metrics;
use crate::protocol::ErrorCode;

/// The HTTP `Content-Type` of [`Scrape::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Prefix of every metric name.
const PREFIX: &str = "switchboard";

/// Upper bounds (`le`) of the exported histogram buckets, in µs (a `+Inf` bucket follows).
pub const BUCKET_BOUNDS_US: [u64; 18] = [
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
    300_000_000,
    1_800_000_000,
];

/// A metric family: its name (without prefix or unit suffix) and help text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    pub name: &'static str,
    pub help: &'static str,
}

/// Dialogs by `state` (queued, offered, active, closing).
pub const DIALOGS: Desc = Desc {
    name: "dialogs",
    help: "Dialogs now in each state.",
};
/// Dialogs waiting in a `line`'s queue.
pub const DISK_FREE: Desc = Desc {
    name: "disk_free_bytes",
    help: "Free bytes on the data directory's disk at the last reading.",
};
pub const READ_ONLY: Desc = Desc {
    name: "read_only",
    help: "1 while new messages are refused because the disk is below disk_free_min_bytes.",
};
pub const QUEUE_LENGTH: Desc = Desc {
    name: "queue_length",
    help: "Dialogs waiting in the line's queue.",
};
/// Time the routing core took to decide where a dialog goes.
pub const DISPATCH_DECISION: Desc = Desc {
    name: "dispatch_decision",
    help: "Time to take one dispatch decision.",
};
/// Time from a widget frame's arrival to its delivery to the operator's outbound queue.
pub const DELIVERY: Desc = Desc {
    name: "delivery",
    help: "Time from a client's message arriving to its delivery to the operator.",
};
/// Time from a request's arrival to its acknowledgement (after persistence).
pub const ACK: Desc = Desc {
    name: "ack",
    help: "Time from a request arriving to its acknowledgement.",
};
/// Time one group commit of the store took.
pub const GROUP_COMMIT: Desc = Desc {
    name: "group_commit",
    help: "Duration of one group commit of the store.",
};
/// First response time per `line` (working time).
pub const FIRST_RESPONSE: Desc = Desc {
    name: "first_response",
    help: "Time a client waited for a dialog's first operator reply, per line.",
};
/// Response time per `line` (working time).
pub const RESPONSE: Desc = Desc {
    name: "response",
    help: "Time a client waited for each operator reply, per line.",
};
/// First response time per `operator`: a family of its own (not `first_response` with another
/// label), so summing `first_response` over lines never counts an answer twice.
pub const OPERATOR_FIRST_RESPONSE: Desc = Desc {
    name: "operator_first_response",
    help: "Time a client waited for a dialog's first operator reply, per operator.",
};
/// Response time per `operator` (see [`OPERATOR_FIRST_RESPONSE`] for why a separate family).
pub const OPERATOR_RESPONSE: Desc = Desc {
    name: "operator_response",
    help: "Time a client waited for each operator reply, per operator.",
};

/// The unit a histogram's values were recorded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Micros,
    Millis,
}

impl TimeUnit {
    fn per_second(self) -> u64 {
        match self {
            TimeUnit::Micros => 1_000_000,
            TimeUnit::Millis => 1_000,
        }
    }

    /// A bound in µs in this unit, rounded down (a value counts if ≤ the bound).
    fn of_us(self, us: u64) -> u64 {
        us / (1_000_000 / self.per_second())
    }
}

/// Label pairs of one sample: static keys, owned values.
type Labels = Vec<(&'static str, String)>;

/// One histogram as prometheus-client wants it: per-bucket (not cumulative) counts.
#[derive(Debug)]
struct Buckets {
    sum_seconds: f64,
    count: u64,
    /// `(le in seconds, values in this bucket only)`, ending with `(+Inf, …)`.
    buckets: Vec<(f64, u64)>,
}

impl Buckets {
    /// Counts each HDR bucket toward the first bound at or above its lowest value, so an `le`
    /// bucket may hold values up to one HDR bucket width (≤ 0.8%) above the bound.
    fn from_hdr(hist: &OwnedHistogram, unit: TimeUnit) -> Self {
        let bounds = BUCKET_BOUNDS_US.map(|us| unit.of_us(us));
        let mut counts = [0u64; BUCKET_BOUNDS_US.len() + 1];
        let hdr = hist.histogram();
        for bucket in hdr.iter_recorded() {
            let lowest = hdr.lowest_equivalent(bucket.value_iterated_to());
            let index = bounds.partition_point(|&bound| bound < lowest);
            counts[index] = counts[index].saturating_add(bucket.count_at_value());
        }
        let les = BUCKET_BOUNDS_US
            .iter()
            .map(|&us| us as f64 / 1e6)
            .chain([f64::INFINITY]);
        Self {
            sum_seconds: hist.sum() as f64 / unit.per_second() as f64,
            count: hist.count(),
            buckets: les.zip(counts).collect(),
        }
    }
}

#[derive(Debug)]
struct Family<T> {
    desc: Desc,
    samples: Vec<(Labels, T)>,
}

/// The sample list of `desc`'s family in `families`, created on first use.
fn family_of<T>(families: &mut Vec<Family<T>>, desc: Desc) -> &mut Vec<(Labels, T)> {
    let index = match families.iter().position(|f| f.desc.name == desc.name) {
        Some(index) => index,
        None => {
            families.push(Family {
                desc,
                samples: Vec::new(),
            });
            families.len() - 1
        }
    };
    &mut families[index].samples
}

fn owned_labels(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|&(k, v)| (k, v.to_owned())).collect()
}

/// The figures of one scrape, copied out of the live metrics when added.
#[derive(Debug)]
pub struct Scrape {
    counters: CountersSnapshot,
    /// Counter families added by name (`<name>_total`), beside the fixed ones.
    extra_counters: Vec<Family<u64>>,
    gauges: Vec<Family<f64>>,
    histograms: Vec<Family<Buckets>>,
}

impl Scrape {
    /// A scrape of `counters` alone; add gauges and histograms with the methods below.
    pub fn new(counters: &Counters) -> Self {
        Self {
            counters: counters.snapshot(),
            extra_counters: Vec::new(),
            gauges: Vec::new(),
            histograms: Vec::new(),
        }
    }

    /// A scrape of the server-wide figures: counters and the four µs latency histograms.
    pub fn from_metrics(metrics: &Metrics) -> Self {
        let mut scrape = Self::new(&metrics.counters);
        for (desc, hist) in [
            (DISPATCH_DECISION, &metrics.dispatch_us),
            (DELIVERY, &metrics.delivery_us),
            (ACK, &metrics.ack_us),
            (GROUP_COMMIT, &metrics.group_commit_us),
        ] {
            scrape.histogram(desc, TimeUnit::Micros, &[], &hist.owned_snapshot());
        }
        scrape
    }

    /// Adds one gauge sample, e.g. `scrape.gauge(QUEUE_LENGTH, &[("line", "sales")], 4.0)`.
    /// Samples of one family must all use the same label keys.
    pub fn gauge(&mut self, desc: Desc, labels: &[(&'static str, &str)], value: f64) {
        family_of(&mut self.gauges, desc).push((owned_labels(labels), value));
    }

    /// Adds one counter sample, exported as `<name>_total`. Samples of one family must all
    /// use the same label keys.
    pub fn counter(&mut self, desc: Desc, labels: &[(&'static str, &str)], value: u64) {
        family_of(&mut self.extra_counters, desc).push((owned_labels(labels), value));
    }

    /// Adds one histogram sample recorded in `unit`, exported in seconds as `<name>_seconds`.
    pub fn histogram(
        &mut self,
        desc: Desc,
        unit: TimeUnit,
        labels: &[(&'static str, &str)],
        hist: &OwnedHistogram,
    ) {
        let buckets = Buckets::from_hdr(hist, unit);
        family_of(&mut self.histograms, desc).push((owned_labels(labels), buckets));
    }

    /// The OpenMetrics text of this scrape. Writing to a `String` cannot fail, so an error
    /// would come from the encoder itself; none of the calls made here returns one today.
    pub fn render(self) -> Result<String, fmt::Error> {
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register_collector(Box::new(self));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        encode_counters(&self.counters, &mut encoder)?;
        for family in &self.extra_counters {
            let d = family.desc;
            let mut metric =
                encoder.encode_descriptor(d.name, d.help, None, MetricType::Counter)?;
            for (labels, value) in &family.samples {
                with_labels(&mut metric, labels, |m| {
                    m.encode_counter::<NoLabelSet, _, u64>(value, None)
                })?;
            }
        }
        for family in &self.gauges {
            let d = family.desc;
            let mut metric = encoder.encode_descriptor(d.name, d.help, None, MetricType::Gauge)?;
            for (labels, value) in &family.samples {
                with_labels(&mut metric, labels, |m| m.encode_gauge(value))?;
            }
        }
        let seconds = Unit::Seconds;
        for family in &self.histograms {
            let d = family.desc;
            let mut metric =
                encoder.encode_descriptor(d.name, d.help, Some(&seconds), MetricType::Histogram)?;
            for (labels, b) in &family.samples {
                with_labels(&mut metric, labels, |m| {
                    m.encode_histogram::<NoLabelSet>(b.sum_seconds, b.count, &b.buckets, None)
                })?;
            }
        }
        Ok(())
    }
}

/// Encodes one sample with `labels`; without labels the sample is written bare (an empty
/// `{}` is legal but some parsers reject it).
fn with_labels(
    metric: &mut MetricEncoder,
    labels: &Labels,
    encode: impl FnOnce(&mut MetricEncoder) -> fmt::Result,
) -> fmt::Result {
    if labels.is_empty() {
        encode(metric)
    } else {
        encode(&mut metric.encode_family(labels)?)
    }
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)
}

/// One counter or gauge family with a single label `key`.
fn labelled(
    encoder: &mut DescriptorEncoder,
    (name, help, metric_type): (&str, &str, MetricType),
    key: &'static str,
    samples: impl IntoIterator<Item = (&'static str, u64)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (label, value) in samples {
        let labels = [(key, label)];
        let mut sample = metric.encode_family(&labels)?;
        match metric_type {
            MetricType::Gauge => sample.encode_gauge(&value)?,
            _ => sample.encode_counter::<NoLabelSet, _, u64>(&value, None)?,
        }
    }
    Ok(())
}

fn encode_counters(c: &CountersSnapshot, encoder: &mut DescriptorEncoder) -> fmt::Result {
    let by_kind =
        |f: fn(&CountersSnapshot, Side) -> u64| Side::ALL.map(|s| (s.kind_label(), f(c, s)));
    labelled(
        encoder,
        (
            "connections_opened",
            "Connections accepted.",
            MetricType::Counter,
        ),
        "kind",
        by_kind(CountersSnapshot::opened),
    )?;
    labelled(
        encoder,
        (
            "connections_closed",
            "Connections ended.",
            MetricType::Counter,
        ),
        "kind",
        by_kind(CountersSnapshot::closed),
    )?;
    labelled(
        encoder,
        ("connections", "Connections open now.", MetricType::Gauge),
        "kind",
        by_kind(CountersSnapshot::open),
    )?;
    labelled(
        encoder,
        (
            "messages_in",
            "Chat messages received.",
            MetricType::Counter,
        ),
        "from",
        Side::ALL.map(|s| (s.from_label(), c.received(s))),
    )?;
    counter(
        encoder,
        "messages_out",
        "Message frames queued for delivery.",
        c.messages_out,
    )?;
    counter(encoder, "offers", "Dialogs offered to operators.", c.offers)?;
    counter(encoder, "accepts", "Offers accepted.", c.accepts)?;
    counter(encoder, "declines", "Offers declined.", c.declines)?;
    counter(
        encoder,
        "offer_timeouts",
        "Offers expired unanswered.",
        c.offer_timeouts,
    )?;
    counter(
        encoder,
        "dialogs_created",
        "Dialogs created.",
        c.dialogs_created,
    )?;
    counter(
        encoder,
        "dialogs_closed",
        "Dialogs closed.",
        c.dialogs_closed,
    )?;
    counter(encoder, "kpi_alerts", "KPI alerts raised.", c.kpi_alerts)?;
    counter(
        encoder,
        "login_failures",
        "Wrong tokens presented (operator hello, admin API, console reads).",
        c.login_failures,
    )?;
    counter(
        encoder,
        "logins_refused",
        "Logins refused because their address presented too many wrong tokens.",
        c.logins_refused,
    )?;
    labelled(
        encoder,
        (
            "connections_cut",
            "Connections cut before they became sessions, by reason.",
            MetricType::Counter,
        ),
        "reason",
        crate::metrics::Cut::ALL.map(|why| (why.label(), c.cut(why))),
    )?;
    labelled(
        encoder,
        ("errors", "Error frames sent, by code.", MetricType::Counter),
        "code",
        ErrorCode::ALL.map(|code| (code.as_str(), c.errors(code))),
    )
}
