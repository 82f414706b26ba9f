//! What sessions ask of shard tasks, and what they get back. Every request that expects an
//! answer carries a oneshot sender; the session awaits it and writes the ack or error itself.

use crate::protocol::{ClientInfo, DialogSummary, ErrorCode, MessageView, OperatorView};
use crate::routing::{
    ClientId, DialogId, LineIdx, MovedDialog, OpIdx, RoutingError, TransferTarget,
};
use crate::shard::dialog_io::DialogIo;
use std::borrow::Cow;
use tokio::sync::oneshot;

/// A refused request: the protocol error code and a human message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

impl Refusal {
    /// A refusal with a fixed message.
    pub const fn new(code: ErrorCode, message: &'static str) -> Self {
        Self {
            code,
            message: Cow::Borrowed(message),
        }
    }
}

impl From<RoutingError> for Refusal {
    fn from(e: RoutingError) -> Self {
        let code = match e {
            RoutingError::NotFound | RoutingError::Moved => ErrorCode::NotFound,
            RoutingError::Forbidden => ErrorCode::Forbidden,
            RoutingError::InvalidState(_) => ErrorCode::InvalidState,
            RoutingError::LineInactive => ErrorCode::LineInactive,
            RoutingError::Capacity(_) => ErrorCode::Capacity,
        };
        Refusal {
            code,
            message: Cow::Owned(e.to_string()),
        }
    }
}

/// A stored message's identity, for the ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub dialog: DialogId,
    pub msg_id: u64,
    pub seq: u64,
}

/// A widget's view of its client on hello.
#[derive(Debug, Default)]
pub struct ClientState {
    pub dialog: Option<DialogId>,
    pub operator: Option<OperatorView>,
    pub missed: Vec<MessageView>,
}

/// An operator action on one dialog.
#[derive(Clone, Debug)]
pub enum OperatorAction {
    Accept,
    Decline,
    Close,
    Transfer(TransferTarget),
    SupervisorRate(u8),
}

/// A request to a shard task.
#[derive(Debug)]
pub enum ShardRequest {
    ClientHello {
        line: LineIdx,
        client: ClientId,
        last_seq: Option<u64>,
        reply: oneshot::Sender<ClientState>,
    },
    ClientMessage {
        line: LineIdx,
        client: ClientId,
        info: ClientInfo,
        dialog: Option<DialogId>,
        key: String,
        text: String,
        /// When the session read the frame (delivery latency starts here).
        arrived: std::time::Instant,
        reply: oneshot::Sender<Result<Stored, Refusal>>,
    },
    ClientTyping {
        client: ClientId,
        dialog: DialogId,
        text: String,
    },
    ClientClose {
        client: ClientId,
        dialog: DialogId,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    ClientRate {
        client: ClientId,
        dialog: DialogId,
        like: bool,
        comment: Option<String>,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    OperatorMessage {
        op: OpIdx,
        dialog: DialogId,
        key: String,
        text: String,
        reply: oneshot::Sender<Result<Stored, Refusal>>,
    },
    Operator {
        op: OpIdx,
        dialog: DialogId,
        action: OperatorAction,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    OperatorTyping {
        op: OpIdx,
        dialog: DialogId,
    },
    /// Link (or unlink, `contact: None`) the client of `dialog` to a contact; answered with
    /// the client's id once durable.
    LinkContact {
        op: OpIdx,
        dialog: DialogId,
        contact: Option<(u64, crate::protocol::ContactCard)>,
        reply: oneshot::Sender<Result<String, Refusal>>,
    },
    History {
        op: OpIdx,
        dialog: DialogId,
        before: Option<u64>,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<MessageView>, Refusal>>,
    },
    OperatorDialogs {
        op: OpIdx,
        reply: oneshot::Sender<Vec<DialogSummary>>,
    },
    OperatorChanged {
        op: OpIdx,
    },
    /// A dialog moving in from another shard, with its I/O state there.
    Adopt {
        moved: Box<MovedDialog>,
        io: Option<Box<DialogIo>>,
    },
    /// Ends the shard task (after its last batch is handed to the store).
    Stop,
    /// Every open dialog's durable state, for a snapshot.
    /// The configuration changed (admin API): every operator (same indexes, new ones last),
    /// every line's rules by global index, and the lines deleted.
    Reconfigure {
        ops: Vec<crate::routing::operator::Operator>,
        lines: Vec<crate::routing::line::LineRules>,
        retired: Vec<LineIdx>,
    },
    /// Open dialogs matching a filter (admin API).
    AdminDialogs {
        filter: crate::admin::views::DialogFilter,
        reply: oneshot::Sender<Vec<crate::admin::views::DialogView>>,
    },
    /// One open dialog with its routing decisions (admin API).
    AdminDialog {
        dialog: DialogId,
        reply: oneshot::Sender<Option<crate::admin::views::DialogView>>,
    },
    /// Statistics and dialog counts (admin API, `/metrics`).
    Report {
        reply: oneshot::Sender<crate::admin::views::ShardReport>,
    },
    /// Every open dialog, and the highest dialog id sequence this shard has handed out.
    Export {
        reply: oneshot::Sender<Exported>,
    },
}

/// A shard's part of a snapshot: its open dialogs, the highest dialog id sequence it handed out,
/// and how many dialogs each client started on its lines (line id, client id, count).
pub type Exported = (
    Vec<crate::store::records::DurableDialog>,
    u64,
    Vec<(String, String, u32)>,
);
