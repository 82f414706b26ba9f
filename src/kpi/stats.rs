//! KPI statistics a shard task gathers as its dialogs are answered, rated and closed: per line
//! and per operator, response-time histograms (ms of open working time) and counts. Each shard
//! owns its figures exclusively (no lock on the dispatch path); the hub merges the shards'
//! copies when someone asks (`/api/v1/stats`, `/metrics`). The figures count since the start of
//! the process; each dialog's own KPI figures are durable with the dialog.

use crate::metrics::{OwnedHistogram, Summary};
use crate::routing::{FinishedDialog, LineIdx, OpIdx};
use serde::Serialize;
use std::collections::HashMap;

/// Longest response time a histogram tells apart (longer ones count as this): 30 days.
const RESPONSE_MS_MAX: u64 = 30 * 24 * 3_600_000;

/// Figures of one line or one operator.
#[derive(Clone)]
pub struct KpiFigures {
    pub first_response_ms: OwnedHistogram,
    pub response_ms: OwnedHistogram,
    pub closed: u64,
    /// Closed without any operator reply.
    pub unanswered: u64,
    pub likes: u64,
    pub dislikes: u64,
    /// KPI targets missed, counted when the dialog closes.
    pub kpi_missed: u64,
}

impl Default for KpiFigures {
    fn default() -> Self {
        Self {
            first_response_ms: OwnedHistogram::new(RESPONSE_MS_MAX),
            response_ms: OwnedHistogram::new(RESPONSE_MS_MAX),
            closed: 0,
            unanswered: 0,
            likes: 0,
            dislikes: 0,
            kpi_missed: 0,
        }
    }
}

impl KpiFigures {
    /// Adds another shard's figures.
    pub fn merge(&mut self, other: &KpiFigures) {
        self.first_response_ms.add(&other.first_response_ms);
        self.response_ms.add(&other.response_ms);
        self.closed += other.closed;
        self.unanswered += other.unanswered;
        self.likes += other.likes;
        self.dislikes += other.dislikes;
        self.kpi_missed += other.kpi_missed;
    }

    /// The figures as the admin API shows them.
    pub fn view(&self) -> KpiView {
        KpiView {
            first_response_ms: self.first_response_ms.summary(),
            response_ms: self.response_ms.summary(),
            closed: self.closed,
            unanswered: self.unanswered,
            likes: self.likes,
            dislikes: self.dislikes,
            kpi_missed: self.kpi_missed,
        }
    }
}

/// [`KpiFigures`] as JSON: histogram summaries in ms.
#[derive(Clone, Debug, Serialize)]
pub struct KpiView {
    pub first_response_ms: Summary,
    pub response_ms: Summary,
    pub closed: u64,
    pub unanswered: u64,
    pub likes: u64,
    pub dislikes: u64,
    pub kpi_missed: u64,
}

/// One shard's figures.
#[derive(Clone, Default)]
pub struct ShardStats {
    pub lines: HashMap<LineIdx, KpiFigures>,
    pub operators: HashMap<OpIdx, KpiFigures>,
}

impl ShardStats {
    fn both(&mut self, line: LineIdx, op: Option<OpIdx>, f: impl Fn(&mut KpiFigures)) {
        f(self.lines.entry(line).or_default());
        if let Some(op) = op {
            f(self.operators.entry(op).or_default());
        }
    }

    /// `op` ended a client's wait of `ms` on `line`.
    pub fn answered(&mut self, line: LineIdx, op: OpIdx, first: bool, ms: u64) {
        self.both(line, Some(op), |k| {
            if first {
                k.first_response_ms.record(ms);
            }
            k.response_ms.record(ms);
        });
    }

    /// A dialog closed (its missed KPI targets are counted now, once per miss).
    pub fn finished(&mut self, d: &FinishedDialog) {
        let missed = u64::from(d.kpi.first_response_missed) + u64::from(d.kpi.responses_missed);
        self.both(d.line, d.holder, |k| {
            k.closed += 1;
            k.kpi_missed += missed;
            if !d.ever_answered {
                k.unanswered += 1;
            }
        });
    }

    /// The client rated `op`'s dialog on `line`.
    pub fn rated(&mut self, line: LineIdx, op: Option<OpIdx>, like: bool) {
        self.both(line, op, |k| {
            if like {
                k.likes += 1;
            } else {
                k.dislikes += 1;
            }
        });
    }

    /// Adds another shard's figures.
    pub fn merge(&mut self, other: &ShardStats) {
        for (line, k) in &other.lines {
            self.lines.entry(*line).or_default().merge(k);
        }
        for (op, k) in &other.operators {
            self.operators.entry(*op).or_default().merge(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{ClientId, DialogId, Kpi};

    #[test]
    fn answers_closes_and_ratings_count_per_line_and_operator_and_merge() {
        let (line, anna, boris) = (LineIdx(0), OpIdx(0), OpIdx(1));
        let mut a = ShardStats::default();
        a.answered(line, anna, true, 1_000);
        a.answered(line, anna, false, 3_000);
        a.rated(line, Some(anna), true);
        let mut b = ShardStats::default();
        b.answered(line, boris, true, 5_000);
        b.finished(&FinishedDialog {
            id: DialogId(1),
            line,
            client: ClientId::from("c"),
            created_ms: 0,
            closed_ms: 10,
            ever_answered: false,
            holder: None,
            kpi: Kpi::default(),
            conversation: Default::default(),
        });
        a.merge(&b);
        let line_view = a.lines[&line].view();
        assert_eq!(line_view.first_response_ms.count, 2);
        assert_eq!(line_view.response_ms.count, 3);
        assert_eq!(
            (line_view.closed, line_view.unanswered, line_view.likes),
            (1, 1, 1)
        );
        let anna_view = a.operators[&anna].view();
        assert_eq!(anna_view.response_ms.count, 2);
        assert_eq!(anna_view.first_response_ms.count, 1);
        assert!(anna_view.first_response_ms.max >= 990 && anna_view.first_response_ms.max <= 1_010);
        assert_eq!(a.operators[&boris].view().response_ms.count, 1);
        assert!(!a.operators.contains_key(&OpIdx(2)));
    }
}
