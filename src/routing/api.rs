//! The routing core's interface: commands in, effects out, errors back.
//!
//! Everything here is plain data: the gateway turns frames into [`Command`]s, hands them to the
//! owning shard with the current time, and turns the [`Effect`]s into persisted records and
//! outbound frames. Nothing here does I/O.

use super::decision::Decision;
use super::ids::{ClientId, DialogId, LineIdx, OpIdx};
use super::transcript::Conversation;
use crate::config::QueueMode;
use crate::protocol::ClientInfo;
pub use crate::protocol::{CloseReason, KpiKind, RevokeReason};
use std::sync::Arc;

/// An input to a shard.
#[derive(Clone, Debug)]
pub enum Command {
    /// A client wrote `text` on `line`. `dialog` is the dialog the widget believes is open (if
    /// any); without one, or when it is closed, the client's open dialog on the line is used or
    /// a new one starts (described by `info`). A `key` the open dialog already stored from the
    /// client is a repeat: the reply is the first ack, nothing is stored and nothing happens.
    ClientMessage {
        line: LineIdx,
        client: ClientId,
        dialog: Option<DialogId>,
        info: ClientInfo,
        key: String,
        text: Arc<str>,
        /// The operator responsible for the client's contact, offered a new dialog first (the
        /// line routes to the responsible); ignored for a dialog already open.
        responsible: Option<OpIdx>,
    },
    /// The client closed its dialog from the widget.
    ClientClose { client: ClientId, dialog: DialogId },
    /// The client rated a dialog in `closing`.
    ClientRate {
        client: ClientId,
        dialog: DialogId,
        like: bool,
        /// The client's words with the rating, passed on to the operator.
        comment: Option<String>,
    },
    /// An operator (or bot) accepts an offered dialog.
    Accept { op: OpIdx, dialog: DialogId },
    /// An operator passes an offer on.
    Decline { op: OpIdx, dialog: DialogId },
    /// An operator (or bot) wrote `text` in a dialog; takes it if it was only offered. A `key`
    /// this operator already used in the dialog is a repeat (first ack, nothing stored).
    OperatorMessage {
        op: OpIdx,
        dialog: DialogId,
        key: String,
        text: Arc<str>,
    },
    /// A supervisor scored an open dialog (the caller checked the role).
    SupervisorRate { dialog: DialogId, score: u8 },
    /// The dialog's client is linked to a contact (with its card), or unlinked (the caller
    /// checked who may); a pending unverified match is settled either way.
    LinkContact {
        dialog: DialogId,
        contact: Option<(u64, crate::protocol::ContactCard)>,
    },
    /// The holder closes the dialog.
    Close { op: OpIdx, dialog: DialogId },
    /// The holder (or a supervisor) hands the dialog on.
    Transfer {
        op: OpIdx,
        dialog: DialogId,
        to: TransferTarget,
    },
    /// An operator's shared state changed (presence, workday, capacity, freed a slot elsewhere,
    /// profile). The caller has already updated the operator's cell.
    OperatorChanged { op: OpIdx },
    /// A dialog transferred here from a line of another shard.
    Adopt(Box<MovedDialog>),
    /// Only advance time (fire due timers).
    Tick,
}

/// Where a transfer goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferTarget {
    Operator(OpIdx),
    Line(LineIdx),
}

/// A dialog leaving its shard for a line owned by another shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedDialog {
    pub id: DialogId,
    pub to_line: LineIdx,
    pub client: ClientId,
    pub created_ms: u64,
    pub waiting_since_ms: Option<u64>,
    pub ever_answered: bool,
    pub kpi: super::Kpi,
    /// Its messages and people, carried to the adopting shard.
    pub conversation: Conversation,
}

/// What is known of a dialog when it closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedDialog {
    pub id: DialogId,
    pub line: LineIdx,
    pub client: ClientId,
    pub created_ms: u64,
    pub closed_ms: u64,
    pub ever_answered: bool,
    /// The operator who held it last (not a mere offer).
    pub holder: Option<OpIdx>,
    pub kpi: super::Kpi,
    /// Its messages (the unsaved ones are still to be written), people and ratings.
    pub conversation: Conversation,
}

/// The successful result of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Done; nothing to report.
    Done,
    /// A client message landed in `dialog` as `(msg_id, seq)`; `audience` are the operators
    /// who see it now. A `duplicate` is the first ack of a repeated key (nothing else happened).
    ClientMessage {
        dialog: DialogId,
        msg_id: u64,
        seq: u64,
        duplicate: bool,
        created: bool,
        audience: Vec<OpIdx>,
    },
    /// An operator message landed in `dialog` as `(msg_id, seq)`; `took` when it took the
    /// dialog. A `duplicate` is the first ack of a repeated key (nothing else happened).
    OperatorMessage {
        dialog: DialogId,
        msg_id: u64,
        seq: u64,
        duplicate: bool,
        took: bool,
    },
}

/// Why a command was refused. Maps one-to-one to protocol error codes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("no such dialog")]
    NotFound,
    #[error("this dialog is not yours")]
    Forbidden,
    #[error("{0}")]
    InvalidState(&'static str),
    #[error("the line is inactive: operators cannot answer")]
    LineInactive,
    #[error("{0}")]
    Capacity(String),
    #[error("the dialog is on another shard")]
    Moved,
}

impl RoutingError {
    /// The protocol error code.
    pub fn code(&self) -> &'static str {
        match self {
            RoutingError::NotFound | RoutingError::Moved => "not_found",
            RoutingError::Forbidden => "forbidden",
            RoutingError::InvalidState(_) => "invalid_state",
            RoutingError::LineInactive => "line_inactive",
            RoutingError::Capacity(_) => "capacity",
        }
    }
}

/// Which automatic text is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AutoText {
    Greeting,
    NoOperators,
    OffHours,
    Unanswered,
    IdleClose,
    Reassigned,
}

/// An output of a shard: something to persist and/or tell someone.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A new dialog started.
    DialogOpened {
        dialog: DialogId,
        line: LineIdx,
        client: ClientId,
    },
    /// Offer `dialog` to `op` until `deadline_ms`.
    Offered {
        dialog: DialogId,
        line: LineIdx,
        op: OpIdx,
        deadline_ms: u64,
        mode: QueueMode,
    },
    /// The offer to `op` is withdrawn (or, for `Offline`/`Transferred`, the dialog taken away).
    Revoked {
        dialog: DialogId,
        op: OpIdx,
        reason: RevokeReason,
    },
    /// The dialog is now `op`'s.
    Assigned {
        dialog: DialogId,
        line: LineIdx,
        op: OpIdx,
    },
    /// The bot no longer takes part (a human took the dialog).
    BotLeft { dialog: DialogId, op: OpIdx },
    /// An automatic text stored as message `(msg_id, seq)` (author `system`, at `ts`): send it
    /// to `client` and the dialog's operators.
    Text {
        dialog: DialogId,
        kind: AutoText,
        text: Arc<str>,
        client: ClientId,
        msg_id: u64,
        seq: u64,
        ts: i64,
    },
    /// No operator answered within `unanswered_after`.
    MarkedUnanswered { dialog: DialogId },
    /// Ask the client for a rating.
    RatingRequested { dialog: DialogId },
    /// The client rated, with an optional comment, on `line`; `operator` (the last assigned)
    /// is told.
    Rated {
        dialog: DialogId,
        like: bool,
        comment: Option<String>,
        line: LineIdx,
        operator: Option<OpIdx>,
    },
    /// The dialog held by `from_op` was handed on (by them or a supervisor): to another
    /// operator on its line `line`, or to the line `line` from `from_line`. One per transfer,
    /// wherever the new line's shard is (it reports the transfer; `Revoked`, `Assigned`,
    /// `LineChanged` and `MoveOut` carry it out).
    Transferred {
        dialog: DialogId,
        line: LineIdx,
        from_line: Option<LineIdx>,
        from_op: OpIdx,
    },
    /// The dialog moved to another line of this shard.
    LineChanged {
        dialog: DialogId,
        from: LineIdx,
        to: LineIdx,
    },
    /// The dialog must move to `to_line`, owned by another shard: the caller forwards it as
    /// [`Command::Adopt`].
    MoveOut(Box<MovedDialog>),
    /// The dialog is closed for good, with its final figures.
    Closed {
        dialog: DialogId,
        reason: CloseReason,
        finished: Box<FinishedDialog>,
    },
    /// `op` missed `missed` offers in a row and was set `away`; other shards must be told.
    OperatorPaused { op: OpIdx, missed: u64 },
    /// `op` went from full capacity to one free slot: other shards may refill.
    OperatorFreed { op: OpIdx },
    /// A KPI target of `line` passed without an answer: recorded on the dialog, once per miss
    /// (whoever is notified).
    KpiMissed {
        dialog: DialogId,
        line: LineIdx,
        kind: KpiKind,
    },
    /// Tell `notify` that a KPI target passed without an answer (one per `notify` operator,
    /// after the `KpiMissed`).
    KpiAlert {
        dialog: DialogId,
        notify: OpIdx,
        kind: KpiKind,
        text: String,
    },
    /// A human operator answered a waiting client after `response_ms`.
    Answered {
        dialog: DialogId,
        op: OpIdx,
        first: bool,
        response_ms: u64,
    },
    /// A routing decision, with its reason.
    Decided {
        dialog: DialogId,
        decision: Decision,
    },
}
