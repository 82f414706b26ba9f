//! `--find-max`: the highest rate that holds. Runs the scenario at `--rate`, then at the rate
//! times `--find-max-factor`, and so on, until a step fails — p99 of the scenario's main metric
//! above `--p99-max-ms`, a message lost, or the generator unable to send at the rate — or the
//! steps run out. When the very first rate fails, it steps down instead until one holds. Each
//! step is a full run (a fresh server when spawned).

use serde::Serialize;
use std::fmt::Write;

use crate::report::Report;

/// One step's verdict.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Step {
    pub rate: f64,
    pub achieved_rate: f64,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub lost: u64,
    pub held: bool,
    /// Why it failed (empty when it held).
    pub why: String,
}

/// Share of the requested rate the generator must have sent for a step to count.
const ACHIEVED_SHARE_MIN: f64 = 0.95;

/// Judges one step's report against `p99_max_ms`.
pub fn judge(report: &Report, p99_max_ms: f64) -> Step {
    let metric = Report::main_metric(report.scenario);
    let summary = report.summary(metric);
    let p99 = summary.map(|s| s.p99);
    let lost = report.lost();
    let why = if p99.is_none() {
        "nothing measured".to_string()
    } else if p99.is_some_and(|p| p > p99_max_ms) {
        format!("p99 {:.2} ms > {p99_max_ms} ms", p99.unwrap_or(0.0))
    } else if lost > 0 {
        format!("{lost} lost")
    } else if report.achieved_rate < ACHIEVED_SHARE_MIN * report.rate {
        format!("only {:.0}/s sent", report.achieved_rate)
    } else {
        String::new()
    };
    Step {
        rate: report.rate,
        achieved_rate: report.achieved_rate,
        p99_ms: p99,
        p999_ms: summary.map(|s| s.p999),
        lost,
        held: why.is_empty(),
        why,
    }
}

/// The rate of the next step after `steps`, or `None` when the search is over: up by `factor`
/// while steps hold, down by it while none has held yet.
pub fn next_rate(steps: &[Step], factor: f64) -> Option<f64> {
    let last = steps.last()?;
    let any_held = steps.iter().any(|s| s.held);
    let any_failed_above = steps.iter().any(|s| !s.held && s.rate > last.rate);
    let next = match (last.held, any_held) {
        (true, _) if any_failed_above => return None,
        (true, _) => last.rate * factor,
        (false, true) => return None,
        (false, false) => last.rate / factor,
    };
    (next >= 1.0).then_some(next)
}

/// The steps of one target.
#[derive(Clone, Debug, Serialize)]
pub struct Search {
    pub target: String,
    pub p99_max_ms: f64,
    pub steps: Vec<Step>,
}

impl Search {
    /// The highest rate that held.
    pub fn highest(&self) -> Option<f64> {
        self.steps
            .iter()
            .filter(|s| s.held)
            .map(|s| s.rate)
            .fold(None, |m, r| Some(m.map_or(r, |m: f64| m.max(r))))
    }
}

pub fn render(searches: &[Search]) -> String {
    let mut out = String::new();
    for s in searches {
        let _ = writeln!(
            out,
            "find-max against {} (p99 ≤ {} ms):",
            s.target, s.p99_max_ms
        );
        let _ = writeln!(
            out,
            "{:>12} {:>12} {:>10} {:>10} {:>8}  verdict",
            "rate", "achieved", "p99 ms", "p99.9 ms", "lost"
        );
        for step in &s.steps {
            let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
            let _ = writeln!(
                out,
                "{:>12.0} {:>12.1} {:>10} {:>10} {:>8}  {}",
                step.rate,
                step.achieved_rate,
                ms(step.p99_ms),
                ms(step.p999_ms),
                step.lost,
                if step.held { "held" } else { &step.why }
            );
        }
        let _ = match s.highest() {
            Some(rate) => writeln!(out, "highest rate that held: {rate:.0}/s\n"),
            None => writeln!(out, "no step held\n"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, held: bool) -> Step {
        Step {
            rate,
            achieved_rate: rate,
            p99_ms: Some(1.0),
            p999_ms: Some(2.0),
            lost: 0,
            held,
            why: if held {
                String::new()
            } else {
                "p99 11.00 ms > 10 ms".into()
            },
        }
    }

    #[test]
    fn a_step_holds_only_under_the_bound_with_nothing_lost_at_the_rate() {
        let mut r = crate::report::tests::report("switchboard", 0.4, 1.2);
        r.widget_to_operator.lost = 0;
        assert!(judge(&r, 10.0).held);
        let slow = judge(&r, 1.0);
        assert!(!slow.held);
        assert_eq!(slow.why, "p99 1.20 ms > 1 ms");
        r.widget_to_operator.lost = 3;
        assert_eq!(judge(&r, 10.0).why, "3 lost");
        r.widget_to_operator.lost = 0;
        r.achieved_rate = 9_000.0;
        assert_eq!(judge(&r, 10.0).why, "only 9000/s sent");
        r.latency_ms.clear();
        assert_eq!(judge(&r, 10.0).why, "nothing measured");
    }

    #[test]
    fn steps_go_up_while_holding_and_down_until_one_holds() {
        assert_eq!(next_rate(&[], 2.0), None);
        assert_eq!(next_rate(&[step(1_000.0, true)], 2.0), Some(2_000.0));
        let up_then_fail = [step(1_000.0, true), step(2_000.0, false)];
        assert_eq!(next_rate(&up_then_fail, 2.0), None);
        assert_eq!(next_rate(&[step(1_000.0, false)], 2.0), Some(500.0));
        let down_then_hold = [step(1_000.0, false), step(500.0, true)];
        assert_eq!(
            next_rate(&down_then_hold, 2.0),
            None,
            "the one above failed already"
        );
        assert_eq!(next_rate(&[step(1.5, false)], 2.0), None);
    }

    #[test]
    fn highest_held_rate_and_table() {
        let s = Search {
            target: "switchboard".into(),
            p99_max_ms: 10.0,
            steps: vec![
                step(5_000.0, true),
                step(6_250.0, true),
                step(7_812.5, false),
            ],
        };
        assert_eq!(s.highest(), Some(6_250.0));
        let text = render(&[s]);
        assert!(text.contains("highest rate that held: 6250/s"), "{text}");
        assert!(text.contains("p99 11.00 ms > 10 ms"));
        let none = Search {
            target: "relay".into(),
            p99_max_ms: 10.0,
            steps: vec![step(5_000.0, false)],
        };
        assert_eq!(none.highest(), None);
    }
}
