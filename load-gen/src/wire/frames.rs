//! The protocol subset the generator speaks (PROTOCOL.md), as typed frames: [`Out`] for what it
//! sends, [`In`] for the few fields it reads of what it receives, and the JSON / MessagePack
//! encoding of both. Pure: no sockets here.
//!
//! Message identity: the generator's own message texts start with `m<id>` (widget → operator)
//! or `r<id>` (operator → widget), where `<id>` is the message's slot in a `Ledger`; the
//! receiving side finds the scheduled send time through it. Request ids (`req`) of messages are
//! the same ids; every other request carries [`REQ_OTHER`] so the two never collide.

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

/// Set in the `req` of requests that are not messages (accept, close, rate).
pub const REQ_OTHER: u64 = 1 << 62;
/// `req` of an `accept` (plus a counter below bit 60).
pub const REQ_ACCEPT: u64 = REQ_OTHER | 1 << 60;
/// `req` of an operator's `close`.
pub const REQ_CLOSE: u64 = REQ_OTHER | 2 << 60;
/// `req` of a client's `rate`.
pub const REQ_RATE: u64 = REQ_OTHER | 3 << 60;
/// The kind bits of a non-message `req`.
pub const REQ_KIND_MASK: u64 = REQ_OTHER | 3 << 60;

/// The encoding of a connection: JSON text frames or MessagePack binary frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Json,
    MsgPack,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Json => "JSON",
            Encoding::MsgPack => "MessagePack",
        }
    }
}

/// A frame the generator sends.
#[derive(Serialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Out<'a> {
    #[serde(rename = "hello")]
    WidgetHello {
        line: &'a str,
        client_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        email: Option<&'a str>,
    },
    #[serde(rename = "hello")]
    OperatorHello {
        token: &'a str,
    },
    #[serde(rename = "message")]
    WidgetMessage {
        req: u64,
        client_msg_id: &'a str,
        text: &'a str,
    },
    #[serde(rename = "message")]
    OperatorMessage {
        req: u64,
        dialog_id: u64,
        client_msg_id: &'a str,
        text: &'a str,
    },
    #[serde(rename = "typing")]
    WidgetTyping {
        text: &'a str,
    },
    Accept {
        req: u64,
        dialog_id: u64,
    },
    #[serde(rename = "close")]
    OperatorClose {
        req: u64,
        dialog_id: u64,
    },
    Rate {
        req: u64,
        dialog_id: u64,
        score: &'a str,
    },
}

/// The `type` of a received frame; every other type is `Other`.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Welcome,
    Message,
    Ack,
    Error,
    DialogOffered,
    DialogRevoked,
    DialogAssigned,
    DialogClosed,
    OperatorJoined,
    RatingRequest,
    TypingPreview,
    #[default]
    #[serde(other)]
    Other,
}

/// The fields the generator reads of a received frame (unknown fields are skipped).
#[derive(Deserialize, Debug, Default)]
pub struct In {
    #[serde(rename = "type", default)]
    pub kind: Kind,
    #[serde(default)]
    pub req: Option<u64>,
    #[serde(default)]
    pub dialog_id: Option<u64>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub last_messages: Vec<Nested>,
}

/// A message nested in `dialog_offered.last_messages`.
#[derive(Deserialize, Debug, Default)]
pub struct Nested {
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// What one WebSocket message turned out to be.
#[derive(Debug)]
pub enum Received {
    Frame(Box<In>),
    /// The peer closed, with this close code if it gave one.
    Closed(Option<u16>),
    /// Ping, pong or a raw frame: nothing to look at.
    Nothing,
}

/// A frame that could not be decoded (counted, never fatal).
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError;

/// Encodes `frame` as a text (JSON) or binary (MessagePack, named fields) message.
pub fn encode(encoding: Encoding, frame: &Out<'_>) -> Result<Message, String> {
    match encoding {
        Encoding::Json => serde_json::to_string(frame)
            .map(|s| Message::Text(s.into()))
            .map_err(|e| e.to_string()),
        Encoding::MsgPack => rmp_serde::to_vec_named(frame)
            .map(|v| Message::Binary(v.into()))
            .map_err(|e| e.to_string()),
    }
}

/// Decodes one received WebSocket message (either encoding, whatever was asked for).
pub fn decode(message: Message) -> Result<Received, DecodeError> {
    match message {
        Message::Text(text) => serde_json::from_str::<In>(&text)
            .map(|f| Received::Frame(Box::new(f)))
            .map_err(|_| DecodeError),
        Message::Binary(bytes) => rmp_serde::from_slice::<In>(&bytes)
            .map(|f| Received::Frame(Box::new(f)))
            .map_err(|_| DecodeError),
        Message::Close(frame) => Ok(Received::Closed(frame.map(|f| u16::from(f.code)))),
        _ => Ok(Received::Nothing),
    }
}

/// The text of message `id` (`m<id>` or `r<id>` by `prefix`), padded with `.` to `bytes`.
pub fn message_text(prefix: char, id: u64, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes.max(24));
    text.push(prefix);
    text.push_str(&id.to_string());
    text.push(' ');
    while text.len() < bytes {
        text.push('.');
    }
    text
}

/// The id in a text written by [`message_text`] with `prefix`; `None` for anyone else's text.
pub fn parse_message_id(prefix: char, text: &str) -> Option<u64> {
    let rest = text.strip_prefix(prefix)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_texts() {
        let text = message_text('m', 12345, 32);
        assert_eq!(text.len(), 32);
        assert_eq!(parse_message_id('m', &text), Some(12345));
        assert_eq!(parse_message_id('r', &text), None);
        assert_eq!(parse_message_id('m', "m7"), Some(7));
        assert_eq!(parse_message_id('m', "hello"), None);
        assert_eq!(parse_message_id('m', "m"), None);
        assert_eq!(parse_message_id('m', "m99999999999999999999999"), None);
    }

    #[test]
    fn json_frames_carry_their_type() {
        let frame = Out::WidgetMessage {
            req: 3,
            client_msg_id: "c3",
            text: "m3",
        };
        let Ok(Message::Text(text)) = encode(Encoding::Json, &frame) else {
            panic!("text frame expected");
        };
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["type"], "message");
        assert_eq!(value["req"], 3);
        let hello = encode(Encoding::Json, &Out::OperatorHello { token: "t" }).expect("encodes");
        assert!(hello
            .to_text()
            .expect("text")
            .contains("\"type\":\"hello\""));
    }

    #[test]
    fn msgpack_frames_decode_with_unknown_fields_and_types() {
        let offered = serde_json::json!({
            "type": "dialog_offered", "seq": 4, "dialog_id": 9, "line": "l",
            "client": {"client_id": "w1", "name": "x"},
            "last_messages": [{"seq": 1, "msg_id": 2, "author": "client", "text": "m5 ", "ts": 1}],
            "deadline_ts": 5, "mode": "even"
        });
        let bytes = rmp_serde::to_vec_named(&offered).expect("encode");
        let Ok(Received::Frame(frame)) = decode(Message::Binary(bytes.into())) else {
            panic!("frame expected");
        };
        assert_eq!(frame.kind, Kind::DialogOffered);
        assert_eq!(frame.dialog_id, Some(9));
        assert_eq!(frame.last_messages[0].text.as_deref(), Some("m5 "));
        let odd = rmp_serde::to_vec_named(&serde_json::json!({"type": "kpi_alert", "x": [1]}))
            .expect("encode");
        let Ok(Received::Frame(frame)) = decode(Message::Binary(odd.into())) else {
            panic!("frame expected");
        };
        assert_eq!(frame.kind, Kind::Other);
        let out = encode(
            Encoding::MsgPack,
            &Out::Accept {
                req: 1,
                dialog_id: 2,
            },
        )
        .expect("enc");
        let back: serde_json::Value = rmp_serde::from_slice(&out.into_data()).expect("decode");
        assert_eq!(back["type"], "accept");
        assert_eq!(back["dialog_id"], 2);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(Message::Text("{".into())).is_err());
        assert!(decode(Message::Binary(vec![0xc1].into())).is_err());
        assert!(matches!(
            decode(Message::Ping(Vec::new().into())),
            Ok(Received::Nothing)
        ));
    }
}
