//! Frames of the operator WebSocket, `/ws/operator` (operators and bots): [`OperatorIn`]
//! (operator → server) and [`OperatorOut`] (server → operator), one body struct per type.
//!
//! Invariants: field and `type` names are exactly those of PROTOCOL.md; every operator frame may
//! carry `req`; every server → operator frame goes out wrapped in
//! [`Sequenced`](super::frame::Sequenced), which adds the operator's event `seq`. Because that
//! top-level `seq` is taken, the per-dialog sequence number of a top-level operator `message` is
//! `dialog_seq`, and so is that of an operator `ack` (nested [`MessageView`]s keep `seq`).

use serde::{Deserialize, Serialize};

use super::common::{
    Author, ClientInfo, DialogClosed, DialogSummary, ErrorFrame, KpiKind, MessageView, OfferMode,
    PresenceState, QuickAnswer, RevokeReason, Score, SupervisorScore, WorkdayAction,
};
use super::contacts::{
    AddInteraction, ContactCard, ContactRequest, ContactsPage, CreateContact, InteractionsPage,
    InteractionsRequest, LinkContact, SearchContacts, UnlinkContact, UpdateContact,
};
use super::frame::frame_enum;

frame_enum! {
    @requests
    /// A frame from an operator client or bot.
    pub enum OperatorIn {
        /// First frame: authenticate; `last_seq` resumes the event stream.
        "hello" => Hello(Hello),
        "status" => Status(SetStatus),
        "workday" => Workday(Workday),
        /// Take an offered dialog: `ack`, or `error invalid_state` / `capacity`.
        "accept" => Accept(DialogRequest),
        /// Pass an offered dialog on now.
        "decline" => Decline(DialogRequest),
        /// Answer; takes the dialog if it was only offered. Acked once durable.
        "message" => Message(SendMessage),
        "typing" => Typing(DialogRequest),
        "close" => Close(DialogRequest),
        "transfer" => Transfer(Transfer),
        "supervisor_rate" => SupervisorRate(SupervisorRate),
        "history" => History(HistoryRequest),
        "quick_answers" => QuickAnswers(QuickAnswersRequest),
        "save_quick_answer" => SaveQuickAnswer(SaveQuickAnswer),
        "search_contacts" => SearchContacts(SearchContacts),
        "contact" => Contact(ContactRequest),
        "create_contact" => CreateContact(CreateContact),
        "update_contact" => UpdateContact(UpdateContact),
        "link_contact" => LinkContact(LinkContact),
        "unlink_contact" => UnlinkContact(UnlinkContact),
        "add_interaction" => AddInteraction(AddInteraction),
        "interactions" => Interactions(InteractionsRequest),
    }
}

frame_enum! {
    /// A frame to an operator; sent as `Sequenced<OperatorOut>`.
    pub enum OperatorOut {
        "welcome" => Welcome(Welcome),
        "dialog_offered" => DialogOffered(DialogOffered),
        "dialog_revoked" => DialogRevoked(DialogRevoked),
        "dialog_assigned" => DialogAssigned(DialogAssigned),
        "message" => Message(OperatorMessage),
        "typing_preview" => TypingPreview(TypingPreview),
        "dialog_closed" => DialogClosed(DialogClosed),
        "rating" => Rating(Rating),
        "kpi_alert" => KpiAlert(KpiAlert),
        "history" => History(HistoryPage),
        "quick_answers" => QuickAnswers(QuickAnswerList),
        /// The server changed this operator's presence (e.g. `away` after missed offers).
        "status" => Status(StatusChanged),
        "contacts" => Contacts(ContactsPage),
        "contact" => Contact(ContactCard),
        "interactions" => Interactions(InteractionsPage),
        "ack" => Ack(Ack),
        "error" => Error(ErrorFrame),
    }
}

/// `ack` to an operator: the request with this `req` succeeded. For a `message` it names the
/// stored message (sent once durable); `dialog_seq` is its per-dialog sequence number, since the
/// frame's own `seq` is the operator event sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_seq: Option<u64>,
}

/// `hello`: a bad token gets `error unauthorized` and close 1008.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub token: String,
    /// The last operator event `seq` received; later events are sent again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
}

/// `status {state}` from the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub state: PresenceState,
}

/// `workday {action}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workday {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub action: WorkdayAction,
}

/// The body of `accept`, `decline`, `typing` and `close`: a request about one dialog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
}

/// `message` from an operator. The same `client_msg_id` again gets the same ack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    pub client_msg_id: String,
    pub text: String,
}

/// `transfer`: to another operator or to another line (one of the two).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_line: Option<String>,
}

/// `supervisor_rate {score: 1..5}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorRate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    pub score: SupervisorScore,
}

/// `history`: messages of a dialog older than `before_seq` (newest when absent), at most
/// `limit` (the server clamps it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `quick_answers`: fetch the line's canned replies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickAnswersRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
}

/// `save_quick_answer {text}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveQuickAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub text: String,
}

/// `welcome`: the answer to a good `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub operator_id: String,
    pub name: String,
    pub status: PresenceState,
    pub dialogs: Vec<DialogSummary>,
}

/// `dialog_offered`: take it with `accept` or by answering before `deadline_ts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogOffered {
    pub dialog_id: u64,
    pub line: String,
    pub client: ClientInfo,
    pub last_messages: Vec<MessageView>,
    /// Unix milliseconds.
    pub deadline_ts: i64,
    pub mode: OfferMode,
}

/// `dialog_revoked`: an offer was taken back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogRevoked {
    pub dialog_id: u64,
    pub reason: RevokeReason,
}

/// `dialog_assigned`: the dialog is now this operator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogAssigned {
    pub dialog_id: u64,
    pub line: String,
}

/// `message` to an operator. `dialog_seq` is the message's per-dialog sequence number (the
/// frame's own `seq` is the operator event sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMessage {
    pub dialog_id: u64,
    pub dialog_seq: u64,
    pub msg_id: u64,
    pub author: Author,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub text: String,
    /// Unix milliseconds.
    pub ts: i64,
}

/// `typing_preview`: the client's current draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypingPreview {
    pub dialog_id: u64,
    pub text: String,
}

/// `rating`: the client rated a dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub dialog_id: u64,
    pub score: Score,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `kpi_alert`: a KPI target passed without an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiAlert {
    pub dialog_id: u64,
    /// The operator who missed the target.
    pub operator_id: String,
    pub kind: KpiKind,
    pub text: String,
}

/// `history`: the answer to a `history` request, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    pub messages: Vec<MessageView>,
}

/// `quick_answers`: the answer to a `quick_answers` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickAnswerList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub items: Vec<QuickAnswer>,
}

/// `status` from the server: this operator's presence changed, with a short reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub state: PresenceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
