//! The report as text for people: one table of latency percentiles (ms) per metric, one of
//! message accounting, then events, errors, close codes, memory and notes; a comparison adds
//! the relay's and Switchboard's percentiles side by side with the ratios. Pure.

use std::fmt::Write;

use super::{Comparison, Report};
use crate::cli::ScenarioKind;
use crate::ledger::Tally;
use crate::measure::Metric;

fn scenario_name(s: ScenarioKind) -> &'static str {
    match s {
        ScenarioKind::Chat => "chat",
        ScenarioKind::Firehose => "firehose",
        ScenarioKind::Connect => "connect",
        ScenarioKind::Idle => "idle",
        ScenarioKind::Crash => "crash",
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: u64) -> String {
    if n >= 10 << 20 {
        format!("{:.1} MiB", n as f64 / 1_048_576.0)
    } else {
        format!("{:.1} KiB", n as f64 / 1_024.0)
    }
}

fn map_line(out: &mut String, title: &str, items: impl Iterator<Item = (String, u64)>) {
    let items: Vec<String> = items
        .map(|(k, v)| format!("{k} {}", thousands(v)))
        .collect();
    let text = if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    };
    let _ = writeln!(out, "{title}: {text}");
}

fn rate_word(s: ScenarioKind) -> &'static str {
    if s == ScenarioKind::Connect {
        "connections/s"
    } else {
        "messages/s"
    }
}

/// The header line and the load line.
fn header(out: &mut String, r: &Report) {
    let _ = writeln!(
        out,
        "{} against {} at {} ({})",
        scenario_name(r.scenario),
        r.target,
        r.url,
        r.encoding.name()
    );
    let mut load = format!(
        "  {} widgets, {} operators",
        thousands(r.widgets as u64),
        r.operators
    );
    if r.scenario == ScenarioKind::Idle {
        let _ = write!(load, ", held {:.1} s", r.duration_s);
    } else {
        let _ = write!(
            load,
            "; {} {} for {:.1} s requested, {:.1}/s achieved",
            r.rate,
            rate_word(r.scenario),
            r.duration_s,
            r.achieved_rate
        );
        if r.warmup_s > 0.0 {
            let _ = write!(load, " (after a {:.1} s warm-up, not measured)", r.warmup_s);
        }
        // A client's next message joins its dialog while that is still open, so the rate of
        // new dialogs can fall short of the message rate: say what it was.
        if let (ScenarioKind::Chat, Some(&offers)) = (r.scenario, r.events.get("offers")) {
            let seconds = (r.duration_s + r.warmup_s).max(1e-9);
            let _ = write!(load, "; {:.1} dialogs offered/s", offers as f64 / seconds);
        }
    }
    let _ = writeln!(out, "{load}");
}

fn latency_table(out: &mut String, r: &Report) {
    let _ = writeln!(
        out,
        "\n{:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    if r.latency_ms.is_empty() {
        let _ = writeln!(out, "(nothing measured)");
    }
    for metric in Metric::ALL {
        if let Some(s) = r.summary(metric) {
            let _ = writeln!(
                out,
                "{:<26} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                metric.label(),
                s.count,
                s.p50,
                s.p90,
                s.p99,
                s.p999,
                s.max
            );
        }
    }
}

fn tally_row(out: &mut String, label: &str, t: &Tally) {
    let _ = writeln!(
        out,
        "{:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        label, t.sent, t.acked, t.delivered, t.lost, t.duplicated, t.rejected
    );
}

fn message_table(out: &mut String, r: &Report) {
    if r.widget_to_operator.sent == 0 && r.operator_to_widget.sent == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "\n{:<26} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "messages", "sent", "acked", "delivered", "lost", "duplicate", "rejected"
    );
    tally_row(out, "widget → operator", &r.widget_to_operator);
    if r.operator_to_widget.sent > 0 {
        tally_row(out, "operator → widget", &r.operator_to_widget);
    }
    let overflow = r.widget_to_operator.overflow + r.operator_to_widget.overflow;
    if overflow > 0 {
        let _ = writeln!(
            out,
            "({overflow} messages not sent: the generator's ledger was full)"
        );
    }
}

/// The whole report of one run.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    header(&mut out, r);
    latency_table(&mut out, r);
    message_table(&mut out, r);
    out.push('\n');
    map_line(
        &mut out,
        "events",
        r.events.iter().map(|(k, v)| (k.to_string(), *v)),
    );
    map_line(
        &mut out,
        "errors",
        r.errors.iter().map(|(k, v)| (k.clone(), *v)),
    );
    map_line(
        &mut out,
        "close codes (before the end)",
        r.close_codes.iter().map(|(k, v)| (k.clone(), *v)),
    );
    if let Some(m) = &r.memory {
        let _ = match (
            m.rss_before_bytes,
            m.rss_after_bytes,
            m.bytes_per_connection,
        ) {
            (Some(b), Some(a), Some(per)) => writeln!(
                out,
                "memory: server RSS {} before, {} with {} idle connections: {} per connection \
                 ({} still open at the end)",
                bytes(b),
                bytes(a),
                thousands(m.connections as u64),
                bytes(per),
                thousands(m.alive_at_end as u64)
            ),
            _ => writeln!(
                out,
                "memory: unknown (pass --spawn, or --server-pid with --url); {} of {} \
                 connections still open at the end",
                thousands(m.alive_at_end as u64),
                thousands(m.connections as u64)
            ),
        };
    }
    if let Some(cpu) = &r.cpu {
        let cores = |c: Option<f64>| c.map_or("?".to_string(), |c| format!("{c:.2}"));
        let _ = writeln!(
            out,
            "cpu during the load (cores busy, of {}): generator {}, {} {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            cores(cpu.generator_cores),
            r.target,
            cores(cpu.server_cores)
        );
        if let Some(rss) = cpu.server_rss_bytes {
            let _ = writeln!(
                out,
                "{} resident memory when the load ended: {:.1} MiB",
                r.target,
                rss as f64 / 1_048_576.0
            );
        }
    }
    if let Some(n) = r.listen_overflows.filter(|n| *n > 0) {
        let _ = writeln!(
            out,
            "kernel: {n} connections dropped from a full listen queue (each retried its SYN 1 s \
             later: the 1 s setup times)"
        );
    }
    for note in &r.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

/// Every baseline, then Switchboard, then Switchboard's figures as ratios to each baseline's
/// (all measured in the same run).
pub fn render_comparisons(comparisons: &[Comparison]) -> String {
    let mut out = String::new();
    for c in comparisons {
        let _ = writeln!(out, "=== baseline: {} ===", c.baseline.target);
        out.push_str(&render(&c.baseline));
        out.push('\n');
    }
    if let Some(first) = comparisons.first() {
        let _ = writeln!(out, "=== switchboard ===");
        out.push_str(&render(&first.switchboard));
    }
    for c in comparisons {
        out.push('\n');
        out.push_str(&render_ratios(c));
    }
    out
}

/// Switchboard's figures as ratios to one baseline's.
fn render_ratios(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "=== switchboard against the {} (same run) ===",
        c.baseline.target
    );
    let _ = writeln!(
        out,
        "{:<26} {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>7} {:>7} {:>9}",
        "latency (ms)",
        "relay",
        "p99",
        "p99.9",
        "sb p50",
        "p99",
        "p99.9",
        "p50 ×",
        "p99 ×",
        "p99 +ms"
    );
    for metric in Metric::ALL {
        let (Some(b), Some(s), Some(r)) = (
            c.baseline.summary(metric),
            c.switchboard.summary(metric),
            c.ratios.get(metric.key()),
        ) else {
            continue;
        };
        let _ = writeln!(
            out,
            "{:<26} {:>8.3} {:>8.3} {:>8.3} | {:>8.3} {:>8.3} {:>8.3} | {:>7} {:>7} {:>+9.3}",
            metric.label(),
            b.p50,
            b.p99,
            b.p999,
            s.p50,
            s.p99,
            s.p999,
            times(r.p50),
            times(r.p99),
            r.added_p99_ms
        );
    }
    let server = |r: &super::Report| r.cpu.as_ref().and_then(|c| c.server_cores);
    if let (Some(b), Some(s)) = (server(&c.baseline), server(&c.switchboard)) {
        let _ = writeln!(
            out,
            "server cpu: {} {b:.2} cores, switchboard {s:.2} cores ({})",
            c.baseline.target,
            times(s / b)
        );
    }
    let _ = writeln!(
        out,
        "achieved rate: {} {:.1}/s, switchboard {:.1}/s ({}); lost/duplicated: {} {}/{}, \
         switchboard {}/{}",
        c.baseline.target,
        c.baseline.achieved_rate,
        c.switchboard.achieved_rate,
        times(c.rate_ratio),
        c.baseline.target,
        c.baseline.lost(),
        c.baseline.widget_to_operator.duplicated + c.baseline.operator_to_widget.duplicated,
        c.switchboard.lost(),
        c.switchboard.widget_to_operator.duplicated + c.switchboard.operator_to_widget.duplicated,
    );
    out
}

/// `×1.40`, or `—` when there is no ratio.
pub fn times(r: f64) -> String {
    if r.is_finite() {
        format!("×{r:.2}")
    } else {
        "—".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{Comparison, Memory};
    use super::*;

    #[test]
    fn a_chat_run_says_how_many_dialogs_were_offered_per_second() {
        let mut chat = report("switchboard", 0.412, 1.234);
        chat.scenario = ScenarioKind::Chat;
        chat.warmup_s = 1.0;
        chat.events = [("offers", 32_000)].into();
        let text = render(&chat);
        assert!(
            text.contains("(after a 1.0 s warm-up, not measured); 2000.0 dialogs offered/s"),
            "{text}"
        );
        // The firehose opens its dialogs during setup: no such figure.
        let text = render(&report("switchboard", 0.412, 1.234));
        assert!(!text.contains("dialogs offered/s"), "{text}");
    }

    #[test]
    fn table_shows_percentiles_counts_and_notes() {
        let text = render(&report("switchboard", 0.412, 1.234));
        assert!(text.starts_with("firehose against switchboard at ws://127.0.0.1:1 (JSON)\n"));
        assert!(text.contains("10000 messages/s for 15.0 s requested, 9999.5/s achieved"));
        let row = text
            .lines()
            .find(|l| l.starts_with("widget → operator") && l.contains("0.412"))
            .expect("latency row");
        assert_eq!(
            row,
            "widget → operator               1000     0.412     0.618     1.234     2.468     3.702"
        );
        assert!(text.contains(
            "widget → operator             150000    150000    149999         1         2         0"
        ));
        assert!(!text.contains("operator → widget"), "no replies, no row");
        assert!(text.contains("errors: none"));
        assert!(text.contains("close codes (before the end): 4000 3"));
        assert!(text.contains("events: offers 1,000"));
        assert!(text.contains("note: a note"));
    }

    #[test]
    fn comparison_gives_ratios_and_added_latency() {
        let c = Comparison::new(report("relay", 0.3, 1.0), report("switchboard", 0.45, 1.4));
        let text = render_comparisons(std::slice::from_ref(&c));
        let row = text
            .lines()
            .rev()
            .find(|l| l.starts_with("widget → operator"))
            .expect("ratio row");
        assert!(row.contains("×1.50"), "{row}");
        assert!(row.contains("×1.40"), "{row}");
        assert!(row.ends_with("+0.400"), "{row}");
        assert!(text.contains("(×1.00)"));
    }

    #[test]
    fn memory_line_and_helpers() {
        let mut r = report("switchboard", 1.0, 2.0);
        r.scenario = ScenarioKind::Idle;
        r.memory = Some(Memory::new(Some(12 << 20), Some(130 << 20), 10_000, 10_000));
        let text = render(&r);
        assert!(
            text.contains("server RSS 12.0 MiB before, 130.0 MiB with 10,000 idle connections: 12.1 KiB per connection"),
            "{text}"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
        assert_eq!(times(f64::NAN), "—");
    }
}
