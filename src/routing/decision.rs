//! Explainable routing: every decision the dispatcher makes is recorded with its reasons, as
//! plain data (no strings built on the hot path), and rendered to words only when asked, e.g.
//! `offered to boris: anna at limit 3/3, carl offline`.

use super::ids::OpIdx;
use super::reserve::Workday;
use std::fmt::Write;

/// Why an operator was passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    Dismissed,
    OnVacation,
    Offline,
    Away,
    NotWorking(Workday),
    AtLimit { count: u32, max: u32 },
    AtCapacity { load: u32, capacity: u32 },
    TriedThisRound,
    AlreadyOffered,
}

/// Why a dialog waits instead of being offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Every queue member is unavailable or full.
    NobodyFree,
    /// Outside working hours; opens at `opens_ms` (if known).
    OffHours { opens_ms: Option<u64> },
}

/// What was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Offered to one operator.
    Offered(OpIdx),
    /// Offered first to the operator responsible for the client's contact.
    OfferedResponsible { op: OpIdx, contact: u64 },
    /// Offered to these operators at once (`all` mode).
    OfferedAll(Vec<OpIdx>),
    /// Given to the line's bot first.
    ToBot(OpIdx),
    /// Left in the queue.
    Queued(Wait),
}

/// One routing decision for one dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub at_ms: u64,
    pub outcome: Outcome,
    /// Operators passed over, in queue order, at most `decision_skips_max` of them.
    pub skipped: Vec<(OpIdx, Skip)>,
    /// Operators passed over beyond those listed.
    pub skipped_more: u32,
}

impl Decision {
    /// Renders the decision in words, naming operators through `name`.
    pub fn explain<'a>(&self, name: impl Fn(OpIdx) -> &'a str) -> String {
        let mut text = match &self.outcome {
            Outcome::Offered(op) => format!("offered to {}", name(*op)),
            Outcome::OfferedResponsible { op, contact } => {
                format!(
                    "offered to {}: responsible for contact {contact}",
                    name(*op)
                )
            }
            Outcome::OfferedAll(ops) => {
                let names: Vec<&str> = ops.iter().map(|op| name(*op)).collect();
                format!("offered to all of {}", names.join(", "))
            }
            Outcome::ToBot(op) => format!("given to bot {}", name(*op)),
            Outcome::Queued(Wait::NobodyFree) => "queued: no operator can take it now".to_string(),
            Outcome::Queued(Wait::OffHours { opens_ms: Some(at) }) => {
                format!("queued: outside working hours (opens at {at} ms)")
            }
            Outcome::Queued(Wait::OffHours { opens_ms: None }) => {
                "queued: outside working hours".to_string()
            }
        };
        for (i, (op, skip)) in self.skipped.iter().enumerate() {
            text.push_str(if i == 0 { ": " } else { ", " });
            let _ = write!(text, "{} {}", name(*op), describe(*skip));
        }
        if self.skipped_more > 0 {
            let _ = write!(text, ", and {} more passed over", self.skipped_more);
        }
        text
    }
}

fn describe(skip: Skip) -> String {
    match skip {
        Skip::Dismissed => "dismissed".into(),
        Skip::OnVacation => "on vacation".into(),
        Skip::Offline => "offline".into(),
        Skip::Away => "away".into(),
        Skip::NotWorking(Workday::NotStarted) => "has not started the workday".into(),
        Skip::NotWorking(Workday::Paused) => "paused the workday".into(),
        Skip::NotWorking(_) => "ended the workday".into(),
        Skip::AtLimit { count, max } => format!("at limit {count}/{max}"),
        Skip::AtCapacity { load, capacity } => format!("at capacity {load}/{capacity}"),
        Skip::TriedThisRound => "already tried this round".into(),
        Skip::AlreadyOffered => "already offered".into(),
    }
}

/// Collects skips up to a bound while the dispatcher scans.
#[derive(Debug)]
pub struct SkipLog {
    pub skipped: Vec<(OpIdx, Skip)>,
    pub more: u32,
    max: usize,
}

impl SkipLog {
    /// An empty log keeping at most `max` entries.
    pub fn new(max: usize) -> Self {
        Self {
            skipped: Vec::new(),
            more: 0,
            max,
        }
    }

    /// Notes that `op` was passed over for `skip`.
    pub fn push(&mut self, op: OpIdx, skip: Skip) {
        if self.skipped.len() < self.max {
            self.skipped.push((op, skip));
        } else {
            self.more += 1;
        }
    }

    /// Turns the log into a decision.
    pub fn decide(self, at_ms: u64, outcome: Outcome) -> Decision {
        Decision {
            at_ms,
            outcome,
            skipped: self.skipped,
            skipped_more: self.more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_in_the_spec_form() {
        let names = ["anna", "boris", "carl"];
        let mut log = SkipLog::new(8);
        log.push(OpIdx(0), Skip::AtLimit { count: 3, max: 3 });
        log.push(OpIdx(2), Skip::Offline);
        let d = log.decide(5, Outcome::Offered(OpIdx(1)));
        assert_eq!(
            d.explain(|op| names[op.0 as usize]),
            "offered to boris: anna at limit 3/3, carl offline"
        );
    }

    #[test]
    fn the_log_is_bounded_and_counts_the_rest() {
        let mut log = SkipLog::new(1);
        log.push(OpIdx(0), Skip::Away);
        log.push(OpIdx(1), Skip::Away);
        log.push(OpIdx(2), Skip::Dismissed);
        let d = log.decide(0, Outcome::Queued(Wait::NobodyFree));
        assert_eq!(d.skipped.len(), 1);
        assert_eq!(d.skipped_more, 2);
        assert_eq!(
            d.explain(|_| "x"),
            "queued: no operator can take it now: x away, and 2 more passed over"
        );
    }
}
