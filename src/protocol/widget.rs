//! Frames of the widget (client) WebSocket, `/ws/widget`: [`WidgetIn`] (client → server) and
//! [`WidgetOut`] (server → client), with one body struct per frame type.
//!
//! Invariants: field names and `type` names are exactly those of PROTOCOL.md; every client frame
//! may carry `req`; shapes only — limits (text length, rates) are the session's checks.

use serde::{Deserialize, Serialize};

use super::common::{Ack, DialogClosed, ErrorFrame, MessageView, OperatorView, Score};
use super::frame::frame_enum;

frame_enum! {
    @requests
    /// A frame from a chat widget.
    pub enum WidgetIn {
        /// First frame: start or resume a client session.
        "hello" => Hello(Hello),
        /// A client message; acked once durable.
        "message" => Message(SendMessage),
        /// The current draft (typing preview); no ack.
        "typing" => Typing(Typing),
        /// The answer to a `consent_request`.
        "consent" => Consent(Consent),
        /// The client's rating of a dialog.
        "rate" => Rate(Rate),
        /// The client ends its dialog.
        "close" => Close(Close),
    }
}

frame_enum! {
    /// A frame to a chat widget.
    pub enum WidgetOut {
        "welcome" => Welcome(Welcome),
        "message" => Message(MessageView),
        "operator_typing" => OperatorTyping(OperatorTyping),
        "operator_joined" => OperatorJoined(OperatorJoined),
        "consent_request" => ConsentRequest(ConsentRequest),
        "rating_request" => RatingRequest(RatingRequest),
        "dialog_closed" => DialogClosed(DialogClosed),
        "ack" => Ack(Ack),
        "error" => Error(ErrorFrame),
    }
}

/// `hello`: without `resume_token` a new client session starts; with a valid one the same
/// client and its open dialog continue and messages with `seq > last_seq` are sent again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    /// Line id.
    pub line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// Extension: a logged-in user the site vouches for (see [`Identity`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Box<Identity>>,
}

/// `hello.identity`: a user the site knows, signed with the line's identity secret:
/// `hmac = hex(HMAC-SHA256(identity_secret, external_id))`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub external_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub hmac: String,
}

/// `message` from the client. The same `client_msg_id` again gets the same ack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub client_msg_id: String,
    pub text: String,
}

/// `typing`: the client's current draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub text: String,
}

/// `consent`: accepted or refused; `version` repeats the `consent_request` version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// `rate`: like or dislike, with an optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    pub score: Score,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `close`: the client ends its open dialog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Close {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
}

/// `welcome`: the answer to `hello`. `operator` is absent when the line hides operators or
/// nobody answers yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub client_id: String,
    pub resume_token: String,
    pub line_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorView>,
    pub working_hours_open: bool,
    /// Extension: the details the widget asks for before the first message (`name`, `email`,
    /// `phone`), from the line's `prechat`; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prechat: Vec<String>,
}

/// `operator_typing`: the operator of this dialog is typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorTyping {
    pub dialog_id: u64,
}

/// `operator_joined`: an operator took the dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorJoined {
    pub dialog_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorView>,
}

/// `consent_request`: the personal-data notice to accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRequest {
    pub text: String,
    pub version: u32,
}

/// `rating_request`: the dialog was closed; the client may rate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRequest {
    pub dialog_id: u64,
}
