//! Values shared by several frames of both WebSocket sides: message views, people, dialog
//! summaries, the closed string sets (author, score, reasons, states) and the `ack`/`error` replies.
//!
//! Invariants: every field name is the snake_case name in PROTOCOL.md; optional fields are
//! `Option` and are left out of the output when `None`; unknown input fields are ignored (no type
//! here uses `deny_unknown_fields`). Nothing here validates business rules beyond the shape,
//! except [`SupervisorScore`], whose range is part of the wire contract.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::error_code::ErrorCode;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Client,
    Operator,
    Bot,
    System,
}

/// One stored message as shown to a widget (`message`) or inside `history` / `dialog_offered`.
/// `seq` is the message's per-dialog sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub dialog_id: u64,
    pub seq: u64,
    pub msg_id: u64,
    pub author: Author,
    /// Display name of the author, when the line shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub text: String,
    /// Unix milliseconds.
    pub ts: i64,
}

/// How an operator is shown to a widget (`operator_display`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Avatar URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// The client of a dialog as shown to an operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The CRM contact this client is linked to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<u64>,
    /// Extension: the linked contact's compact card (only for operators who may see it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Box<ContactCard>>,
    /// Extension: an existing contact whose email or phone the client typed, not linked until
    /// an operator confirms it (`link_contact`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified_match: Option<u64>,
}

impl ClientInfo {
    /// This client as operator `operator` may see it: the card of a restricted contact only for
    /// its listed operators and supervisors.
    pub fn seen_by(&self, operator: &str, supervisor: bool) -> ClientInfo {
        let mut out = self.clone();
        if let Some(card) = &self.contact {
            if !supervisor && !card.allows(operator) {
                out.contact = None;
            }
        }
        out
    }
}

/// A contact as an operator sees it beside a chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub id: u64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<String>,
    /// When its newest interaction happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_interaction_ts: Option<u64>,
    /// The operators allowed to see it, when restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_operators: Option<Vec<String>>,
}

impl ContactCard {
    fn allows(&self, operator: &str) -> bool {
        self.allowed_operators
            .as_ref()
            .is_none_or(|list| list.is_empty() || list.iter().any(|o| o == operator))
    }
}

/// Where a dialog is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialogState {
    Bot,
    Queued,
    Offered,
    Active,
    Closing,
    Closed,
}

/// One of an operator's dialogs, listed in the operator `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogSummary {
    pub dialog_id: u64,
    pub line: String,
    pub state: DialogState,
    pub client: ClientInfo,
    /// Per-dialog `seq` of the newest message (0 when none); fetch older ones with `history`.
    pub last_seq: u64,
    /// For an offered dialog: when the offer lapses, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_ts: Option<i64>,
}

/// A client's rating of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    Like,
    Dislike,
}

/// A supervisor's rating of a dialog, 1 to 5; anything else is a `bad_frame`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SupervisorScore(u8);

impl SupervisorScore {
    /// Lowest allowed score.
    pub const MIN: u8 = 1;
    /// Highest allowed score.
    pub const MAX: u8 = 5;

    /// `None` outside `MIN..=MAX`.
    pub const fn new(score: u8) -> Option<Self> {
        if score >= Self::MIN && score <= Self::MAX {
            Some(SupervisorScore(score))
        } else {
            None
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for SupervisorScore {
    type Error = &'static str;

    fn try_from(score: u8) -> Result<Self, Self::Error> {
        SupervisorScore::new(score).ok_or("supervisor score must be 1..5")
    }
}

impl From<SupervisorScore> for u8 {
    fn from(score: SupervisorScore) -> u8 {
        score.0
    }
}

/// Why an offer was taken back from an operator (`dialog_revoked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    /// Another operator took it.
    Taken,
    /// The offer timed out (`transfer_after`).
    Timeout,
    /// This operator declined it.
    Declined,
    /// The dialog was closed.
    Closed,
    /// The dialog went to another operator or line.
    Transferred,
    /// The operator went offline (extension).
    Offline,
}

/// Why a dialog ended (`dialog_closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The operator closed it.
    Operator,
    /// The client closed it.
    Client,
    /// A bot closed it.
    Bot,
    /// The client did not reply in time (`client_idle_close`).
    ClientIdle,
    /// No operator ever answered (`operator_silence_close`).
    OperatorSilence,
    /// Its line was deleted.
    LineDeleted,
    /// An administrator closed it.
    Admin,
    /// The client rated and the line closes on rating (extension).
    Rated,
    /// The rating wait passed (extension).
    RatingTimeout,
    /// The client wrote again while the dialog awaited a rating (extension).
    ClientReturned,
}

impl CloseReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Operator => "operator",
            CloseReason::Client => "client",
            CloseReason::Bot => "bot",
            CloseReason::ClientIdle => "client_idle",
            CloseReason::OperatorSilence => "operator_silence",
            CloseReason::LineDeleted => "line_deleted",
            CloseReason::Admin => "admin",
            CloseReason::Rated => "rated",
            CloseReason::RatingTimeout => "rating_timeout",
            CloseReason::ClientReturned => "client_returned",
        }
    }
}

/// `dialog_closed`, to the widget and to the dialog's operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogClosed {
    pub dialog_id: u64,
    pub reason: CloseReason,
}

/// An operator's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Online,
    Away,
    Offline,
}

/// A workday step (`workday {action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkdayAction {
    Start,
    Pause,
    End,
}

/// The queue mode under which a dialog is offered (`dialog_offered {mode}`): the config's
/// `queue.mode`, one type for both.
pub use crate::config::QueueMode as OfferMode;

/// Which KPI target was missed (`kpi_alert {kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiKind {
    FirstResponse,
    Response,
}

impl KpiKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiKind::FirstResponse => "first_response",
            KpiKind::Response => "response",
        }
    }
}

/// One canned reply of a quick-answer list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickAnswer {
    pub id: String,
    pub text: String,
}

/// `ack` to a widget: the request with this `req` succeeded. For a `message` it also names the
/// stored message; it is sent only once that message is durable. (Operators get
/// [`operator::Ack`](super::operator::Ack), with `dialog_seq` instead of `seq`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    /// Per-dialog `seq` of the stored message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// `error`: the request with this `req` (if any) failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub code: ErrorCode,
    /// Human text; static on the server's hot paths, so building one does not allocate.
    pub message: Cow<'static, str>,
}

impl ErrorFrame {
    /// An error reply with a static message (no allocation).
    pub const fn new(req: Option<u64>, code: ErrorCode, message: &'static str) -> Self {
        ErrorFrame {
            req,
            code,
            message: Cow::Borrowed(message),
        }
    }
}
