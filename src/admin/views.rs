//! Dialogs and statistics as the admin API shows them: one JSON shape for an open dialog (read
//! from its shard) and a closed one (read from the store's `dialogs` table), with its KPI
//! figures, ratings and, for a single dialog, its routing decisions in words.

use crate::kpi::stats::{KpiView, ShardStats};
use crate::protocol::{ClientInfo, DialogState};
use crate::routing::{Dialog, Holder, Kpi, LineIdx, OpIdx};
use crate::store::records::ClosedDialog;
use serde::Serialize;
use std::collections::HashMap;

/// Open states, in the order `/metrics` and `/stats` list them.
pub const OPEN_STATES: [DialogState; 5] = [
    DialogState::Queued,
    DialogState::Offered,
    DialogState::Bot,
    DialogState::Active,
    DialogState::Closing,
];

/// The protocol's name of a state.
pub fn state_name(state: DialogState) -> &'static str {
    match state {
        DialogState::Queued => "queued",
        DialogState::Offered => "offered",
        DialogState::Bot => "bot",
        DialogState::Active => "active",
        DialogState::Closing => "closing",
        DialogState::Closed => "closed",
    }
}

/// Parses a `state=` query value.
pub fn parse_state(text: &str) -> Option<DialogState> {
    OPEN_STATES
        .into_iter()
        .chain([DialogState::Closed])
        .find(|s| state_name(*s) == text)
}

/// The state of an open dialog.
pub fn state_of(holder: &Holder) -> DialogState {
    match holder {
        Holder::Queued => DialogState::Queued,
        Holder::Offered(_) | Holder::OfferedAll(_) => DialogState::Offered,
        Holder::Bot(_) => DialogState::Bot,
        Holder::Active(_) => DialogState::Active,
        Holder::Closing(_) => DialogState::Closing,
    }
}

/// What `GET /dialogs` filters by (all optional).
#[derive(Clone, Copy, Debug, Default)]
pub struct DialogFilter {
    pub line: Option<LineIdx>,
    pub state: Option<DialogState>,
    pub operator: Option<OpIdx>,
}

/// A dialog's KPI figures.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DialogKpi {
    pub first_response_ms: Option<u64>,
    pub responses: u32,
    pub total_response_ms: u64,
    pub average_response_ms: Option<u64>,
    pub max_response_ms: u64,
    /// No operator has answered (yet, or ever for a closed dialog).
    pub unanswered: bool,
    pub first_response_missed: bool,
    pub responses_missed: u32,
}

impl DialogKpi {
    fn new(kpi: &Kpi, ever_answered: bool) -> Self {
        Self {
            first_response_ms: kpi.first_response_ms,
            responses: kpi.responses,
            total_response_ms: kpi.total_response_ms,
            average_response_ms: kpi.average_response_ms(),
            max_response_ms: kpi.max_response_ms,
            unanswered: !ever_answered,
            first_response_missed: kpi.first_response_missed,
            responses_missed: kpi.responses_missed,
        }
    }
}

/// One routing decision in words.
#[derive(Clone, Debug, Serialize)]
pub struct DecisionView {
    pub ts: i64,
    pub text: String,
}

/// One dialog.
#[derive(Clone, Debug, Serialize)]
pub struct DialogView {
    pub id: u64,
    pub line: String,
    pub state: DialogState,
    /// The holder (or the last one, once closed).
    pub operator: Option<String>,
    pub offered_to: Vec<String>,
    pub client: ClientInfo,
    pub created_ts: i64,
    pub closed_ts: Option<i64>,
    pub close_reason: Option<String>,
    pub kpi: DialogKpi,
    /// `like` or `dislike`.
    pub rating: Option<&'static str>,
    pub supervisor_score: Option<u8>,
    /// What the client wrote with the rating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// History retention deleted its messages (the summary stays).
    pub messages_deleted: bool,
    /// Only for a single dialog that is open (decisions are kept in memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decisions: Option<Vec<DecisionView>>,
}

fn rating(like: Option<bool>) -> Option<&'static str> {
    like.map(|like| if like { "like" } else { "dislike" })
}

impl DialogView {
    /// An open dialog (without its decisions); `op_id` names operators by index.
    pub fn open(d: &Dialog, line_id: &str, op_id: &dyn Fn(OpIdx) -> String) -> Self {
        let offered_to = match &d.holder {
            Holder::Offered(op) => vec![op_id(*op)],
            Holder::OfferedAll(ops) => ops.iter().map(|o| op_id(*o)).collect(),
            _ => Vec::new(),
        };
        let operator = match &d.holder {
            Holder::Bot(op) | Holder::Active(op) | Holder::Closing(op) => Some(op_id(*op)),
            _ => None,
        };
        Self {
            id: d.id.0,
            line: line_id.to_string(),
            state: state_of(&d.holder),
            operator,
            offered_to,
            client: d.conversation.client.clone(),
            created_ts: d.created_ms as i64,
            closed_ts: None,
            close_reason: None,
            kpi: DialogKpi::new(&d.kpi, d.ever_answered),
            rating: rating(d.conversation.rating),
            supervisor_score: d.conversation.supervisor_score,
            comment: d.conversation.comment.clone(),
            messages_deleted: false,
            decisions: None,
        }
    }

    /// A closed dialog from its stored summary.
    pub fn closed(c: ClosedDialog) -> Self {
        Self {
            id: c.id,
            line: c.line,
            state: DialogState::Closed,
            operator: c.operator,
            offered_to: Vec::new(),
            client: c.client,
            created_ts: c.created_ms as i64,
            closed_ts: Some(c.closed_ms as i64),
            close_reason: Some(c.reason),
            kpi: DialogKpi::new(&c.kpi, c.ever_answered),
            rating: rating(c.rating),
            supervisor_score: c.supervisor_score,
            comment: c.comment,
            messages_deleted: c.messages_deleted,
            decisions: Some(
                c.decisions
                    .into_iter()
                    .map(|d| DecisionView {
                        ts: d.ts,
                        text: d.text,
                    })
                    .collect(),
            ),
        }
    }
}

/// What one shard reports for `/stats` and `/metrics`.
#[derive(Clone, Default)]
pub struct ShardReport {
    pub stats: ShardStats,
    /// Open dialogs per line by [`OPEN_STATES`] index.
    pub by_state: HashMap<LineIdx, [u64; 5]>,
    /// Waiting dialogs per line (queued or on offer to everyone).
    pub queue_len: HashMap<LineIdx, u64>,
}

impl std::fmt::Debug for ShardReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardReport")
            .field("by_state", &self.by_state)
            .field("queue_len", &self.queue_len)
            .finish_non_exhaustive()
    }
}

impl ShardReport {
    /// Adds another shard's report.
    pub fn merge(&mut self, other: &ShardReport) {
        self.stats.merge(&other.stats);
        for (line, counts) in &other.by_state {
            let mine = self.by_state.entry(*line).or_default();
            for (m, o) in mine.iter_mut().zip(counts) {
                *m += o;
            }
        }
        for (line, n) in &other.queue_len {
            *self.queue_len.entry(*line).or_default() += n;
        }
    }
}

/// `GET /stats` for one line or operator.
#[derive(Clone, Debug, Serialize)]
pub struct StatsEntry {
    pub id: String,
    /// Open dialogs by state (lines only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialogs: Option<HashMap<&'static str, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_length: Option<u64>,
    #[serde(flatten)]
    pub kpi: KpiView,
}

/// The server's own latency summaries, in µs.
#[derive(Clone, Debug, Serialize)]
pub struct ServerLatencies {
    pub dispatch_us: crate::metrics::Summary,
    pub delivery_us: crate::metrics::Summary,
    pub ack_us: crate::metrics::Summary,
    pub group_commit_us: crate::metrics::Summary,
}

/// `GET /stats`.
#[derive(Clone, Debug, Serialize)]
pub struct StatsView {
    pub lines: Vec<StatsEntry>,
    pub operators: Vec<StatsEntry>,
    pub server: ServerLatencies,
}
