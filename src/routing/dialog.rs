//! The dialog state machine's data: who holds the dialog, how it counts toward its operator's
//! line limit, its routing round, its automatic-action flags and its armed timers.
//!
//! `Holder` is the state (`queued` = `None` with a queue place, `offered`, `active`, `closing`,
//! bot). A dialog's [`Slot`] is derived from it, never stored, so line counters cannot drift:
//! the shard changes a holder only through `Shard::transition`, which moves the counters.
//! The dialog also owns its [`Conversation`] (transcript and participants), so one map holds
//! everything about an open dialog.

use super::ids::{ClientId, DialogId, LineIdx, OpIdx};
use super::transcript::Conversation;
use crate::kpi::Kpi;
use crate::timers::TimerKey;

/// Who has the dialog now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// Waiting in the line's queue (or, with a bot attached, waiting after hand-off).
    Queued,
    /// Offered to one operator, who holds a reserved slot.
    Offered(OpIdx),
    /// Offered to all of these at once (`all` mode); nobody holds a slot yet.
    OfferedAll(Vec<OpIdx>),
    /// The line's bot has it.
    Bot(OpIdx),
    /// An operator owns it.
    Active(OpIdx),
    /// Closed by the operator; awaiting the client's rating.
    Closing(OpIdx),
}

/// How a held dialog counts toward its holder's line limit (`limit.count`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Offered = 0,
    /// The holder has not written yet.
    Unanswered = 1,
    /// The holder answered before; the client wrote last.
    AwaitingOperator = 2,
    /// The holder wrote last.
    AwaitingClient = 3,
    /// Awaiting rating.
    Closing = 4,
}

impl Slot {
    /// Number of slot kinds.
    pub const COUNT: usize = 5;

    /// Does a dialog in this slot hold one of the operator's capacity units?
    pub fn holds_capacity(self) -> bool {
        self != Slot::Closing
    }
}

/// Timers a dialog may have armed, one of each kind at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    Transfer = 0,
    Unanswered = 1,
    RatingWait = 2,
    ClientIdle = 3,
    OperatorSilence = 4,
    KpiFirst = 5,
    KpiResponse = 6,
    BotHandoff = 7,
    Escalation = 8,
    OfflineGrace = 9,
}

impl TimerKind {
    /// Number of kinds.
    pub const COUNT: usize = 10;
    /// Every kind, in index order.
    pub const ALL: [TimerKind; Self::COUNT] = [
        TimerKind::Transfer,
        TimerKind::Unanswered,
        TimerKind::RatingWait,
        TimerKind::ClientIdle,
        TimerKind::OperatorSilence,
        TimerKind::KpiFirst,
        TimerKind::KpiResponse,
        TimerKind::BotHandoff,
        TimerKind::Escalation,
        TimerKind::OfflineGrace,
    ];
}

/// One-shot automatic texts already sent in this dialog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub no_operators: bool,
    pub off_hours: bool,
    pub unanswered: bool,
    /// The current wait in the queue was already recorded as a decision.
    pub queued_decision: bool,
}

/// One open dialog.
#[derive(Clone, Debug)]
pub struct Dialog {
    pub id: DialogId,
    pub line: LineIdx,
    /// The line the client wrote to (its widget's line), which keys the client's open dialog.
    pub origin_line: LineIdx,
    pub client: ClientId,
    pub holder: Holder,
    /// Place in the line's FIFO (arrival order); kept across re-queues so a dialog never loses
    /// its turn.
    pub arrival: u64,
    pub created_ms: u64,
    /// Whether the current holder has written since taking it.
    pub holder_answered: bool,
    /// Whether any human operator ever answered.
    pub ever_answered: bool,
    /// Whether the client wrote last.
    pub client_wrote_last: bool,
    /// The client's first unanswered message time (response-time start).
    pub waiting_since_ms: Option<u64>,
    /// Operators declined / timed out in this round.
    pub tried: Vec<OpIdx>,
    /// `strict`: position in the pool of the last operator offered.
    pub cursor: Option<usize>,
    /// Escalation steps reached.
    pub escalation: u8,
    /// The bot attached to the dialog until a human takes it.
    pub bot: Option<OpIdx>,
    /// The contact's responsible operator, until the dialog was first offered (to them, when
    /// they could take it; to the queue otherwise).
    pub responsible: Option<OpIdx>,
    pub sent: Sent,
    pub timers: [Option<TimerKey>; TimerKind::COUNT],
    pub kpi: Kpi,
    /// Its messages, the client's details, the last operator and the ratings.
    pub conversation: Conversation,
}

impl Dialog {
    /// A fresh dialog in the queue.
    pub fn new(id: DialogId, line: LineIdx, client: ClientId, arrival: u64, now_ms: u64) -> Self {
        Self {
            id,
            line,
            origin_line: line,
            client,
            holder: Holder::Queued,
            arrival,
            created_ms: now_ms,
            holder_answered: false,
            ever_answered: false,
            client_wrote_last: true,
            waiting_since_ms: Some(now_ms),
            tried: Vec::new(),
            cursor: None,
            escalation: 0,
            bot: None,
            responsible: None,
            sent: Sent::default(),
            timers: [None; TimerKind::COUNT],
            kpi: Kpi::default(),
            conversation: Conversation::default(),
        }
    }

    /// The operator holding a slot for this dialog, and how it counts.
    pub fn slot(&self) -> Option<(OpIdx, Slot)> {
        self.slot_for(&self.holder)
    }

    /// The slot this dialog would have with `holder` instead (same flags).
    /// A holder other than the current one has not answered yet.
    pub fn slot_for(&self, holder: &Holder) -> Option<(OpIdx, Slot)> {
        let current = self.holder_op();
        let held = |op: OpIdx| {
            let answered = self.holder_answered && current == Some(op);
            let slot = if !answered {
                Slot::Unanswered
            } else if self.client_wrote_last {
                Slot::AwaitingOperator
            } else {
                Slot::AwaitingClient
            };
            Some((op, slot))
        };
        match holder {
            Holder::Offered(op) => Some((*op, Slot::Offered)),
            Holder::Active(op) | Holder::Bot(op) => held(*op),
            Holder::Closing(op) => Some((*op, Slot::Closing)),
            Holder::Queued | Holder::OfferedAll(_) => None,
        }
    }

    /// The operator holding the dialog (offered to one, active, bot, closing).
    pub fn holder_op(&self) -> Option<OpIdx> {
        match &self.holder {
            Holder::Offered(op) | Holder::Active(op) | Holder::Bot(op) | Holder::Closing(op) => {
                Some(*op)
            }
            Holder::Queued | Holder::OfferedAll(_) => None,
        }
    }

    /// Operators who see the dialog now (holder, offered operators, attached bot).
    pub fn audience(&self) -> Vec<OpIdx> {
        let mut ops = match &self.holder {
            Holder::Offered(op) | Holder::Active(op) | Holder::Bot(op) | Holder::Closing(op) => {
                vec![*op]
            }
            Holder::OfferedAll(ops) => ops.clone(),
            Holder::Queued => Vec::new(),
        };
        if let Some(bot) = self.bot {
            if !ops.contains(&bot) {
                ops.push(bot);
            }
        }
        ops
    }

    /// Whether the dialog is waiting for someone to take it (queued or on offer).
    pub fn is_waiting(&self) -> bool {
        matches!(
            self.holder,
            Holder::Queued | Holder::Offered(_) | Holder::OfferedAll(_)
        )
    }

    /// Whether `op` has it on offer.
    pub fn is_offered_to(&self, op: OpIdx) -> bool {
        match &self.holder {
            Holder::Offered(o) => *o == op,
            Holder::OfferedAll(ops) => ops.contains(&op),
            _ => false,
        }
    }
}
