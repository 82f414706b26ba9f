//! Example tests: every client → server frame of `docs/protocol.md`, written as literal JSON,
//! decodes to the right variant; every server → client frame encodes to the documented JSON;
//! every frame survives a JSON and a MessagePack round trip. The widget's frames are here, the
//! operator's in `operator`.

use std::fmt::Debug;

mod operator;

use super::common::*;
use super::operator::{self as op, OperatorIn, OperatorOut};
use super::widget::{self as w, WidgetIn, WidgetOut};
use super::{decode, encode, Encoding, Frame, Sequenced};

const MAX: usize = 65_536;

fn round_trip<F: Frame + PartialEq + Debug>(frame: &F) {
    for encoding in [Encoding::Json, Encoding::MsgPack] {
        let bytes = encode(frame, encoding).unwrap();
        let back: F = decode(&bytes, encoding, MAX).unwrap();
        assert_eq!(&back, frame, "{encoding:?} round trip");
    }
}

/// Decodes `json`, checks the result and its round trips.
fn decodes_to<F: Frame + PartialEq + Debug>(json: &str, expected: F) {
    let got: F = decode(json.as_bytes(), Encoding::Json, MAX).unwrap();
    assert_eq!(got, expected, "{json}");
    round_trip(&expected);
}

/// Encodes `frame` as JSON, compares with `json` as values, checks round trips.
fn encodes_to<F: Frame + PartialEq + Debug>(frame: F, json: &str) {
    let bytes = encode(&frame, Encoding::Json).unwrap();
    let got: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let want: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(got, want);
    round_trip(&frame);
}

fn seq(seq: u64, frame: OperatorOut) -> Sequenced<OperatorOut> {
    Sequenced { seq, frame }
}

fn msg(seq: u64, author: Author, name: Option<&str>) -> MessageView {
    MessageView {
        dialog_id: 42,
        seq,
        msg_id: 1000 + seq,
        author,
        name: name.map(String::from),
        text: "Hi".into(),
        ts: 1_760_000_000_000,
    }
}

fn client() -> ClientInfo {
    ClientInfo {
        client_id: "c-1".into(),
        name: Some("Ann".into()),
        email: None,
        phone: Some("+100".into()),
        contact_id: Some(5),
        ..ClientInfo::default()
    }
}

#[test]
fn widget_client_frames_decode() {
    decodes_to(
        r#"{"type":"hello","line":"support","client_id":"c-1","resume_token":"rt","name":"Ann",
            "email":"a@x.io","phone":"+100","lang":"en","last_seq":3,"extra":{"x":[1]}}"#,
        WidgetIn::Hello(w::Hello {
            req: None,
            line: "support".into(),
            client_id: Some("c-1".into()),
            resume_token: Some("rt".into()),
            name: Some("Ann".into()),
            email: Some("a@x.io".into()),
            phone: Some("+100".into()),
            lang: Some("en".into()),
            last_seq: Some(3),
            identity: None,
        }),
    );
    decodes_to(
        r#"{"type":"hello","line":"support"}"#,
        WidgetIn::Hello(w::Hello {
            line: "support".into(),
            ..Default::default()
        }),
    );
    decodes_to(
        r#"{"type":"message","req":7,"client_msg_id":"m-1","text":"Hello"}"#,
        WidgetIn::Message(w::SendMessage {
            req: Some(7),
            client_msg_id: "m-1".into(),
            text: "Hello".into(),
        }),
    );
    decodes_to(
        r#"{"type":"typing","text":"Hel"}"#,
        WidgetIn::Typing(w::Typing {
            req: None,
            text: "Hel".into(),
        }),
    );
    decodes_to(
        r#"{"type":"consent","accepted":true}"#,
        WidgetIn::Consent(w::Consent {
            req: None,
            accepted: true,
            version: None,
        }),
    );
    decodes_to(
        r#"{"type":"rate","req":8,"dialog_id":42,"score":"dislike","comment":"slow"}"#,
        WidgetIn::Rate(w::Rate {
            req: Some(8),
            dialog_id: 42,
            score: Score::Dislike,
            comment: Some("slow".into()),
        }),
    );
    decodes_to(
        r#"{"type":"rate","req":8,"dialog_id":42,"score":"like"}"#,
        WidgetIn::Rate(w::Rate {
            req: Some(8),
            dialog_id: 42,
            score: Score::Like,
            comment: None,
        }),
    );
    decodes_to(
        r#"{"type":"close","req":9}"#,
        WidgetIn::Close(w::Close { req: Some(9) }),
    );
}

#[test]
fn widget_req_accessor() {
    let frame: WidgetIn = decode(br#"{"req":5,"type":"close"}"#, Encoding::Json, MAX).unwrap();
    assert_eq!(frame.req(), Some(5));
    assert_eq!(frame.type_name(), "close");
}

#[test]
fn widget_server_frames_encode() {
    encodes_to(
        WidgetOut::Welcome(w::Welcome {
            client_id: "c-1".into(),
            resume_token: "rt".into(),
            line_name: "Support".into(),
            dialog_id: Some(42),
            operator: Some(OperatorView {
                name: "Anna".into(),
                title: Some("Agent".into()),
                avatar: None,
            }),
            working_hours_open: true,
            prechat: vec!["name".into(), "email".into()],
        }),
        r#"{"type":"welcome","client_id":"c-1","resume_token":"rt","line_name":"Support",
            "dialog_id":42,"operator":{"name":"Anna","title":"Agent"},"working_hours_open":true,
            "prechat":["name","email"]}"#,
    );
    encodes_to(
        WidgetOut::Welcome(w::Welcome {
            client_id: "c-1".into(),
            resume_token: "rt".into(),
            line_name: "Support".into(),
            dialog_id: None,
            operator: None,
            working_hours_open: false,
            prechat: Vec::new(),
        }),
        r#"{"type":"welcome","client_id":"c-1","resume_token":"rt","line_name":"Support",
            "working_hours_open":false}"#,
    );
    encodes_to(
        WidgetOut::Message(msg(4, Author::Operator, Some("Anna"))),
        r#"{"type":"message","dialog_id":42,"seq":4,"msg_id":1004,"author":"operator",
            "name":"Anna","text":"Hi","ts":1760000000000}"#,
    );
    encodes_to(
        WidgetOut::Message(msg(5, Author::System, None)),
        r#"{"type":"message","dialog_id":42,"seq":5,"msg_id":1005,"author":"system",
            "text":"Hi","ts":1760000000000}"#,
    );
    encodes_to(
        WidgetOut::OperatorTyping(w::OperatorTyping { dialog_id: 42 }),
        r#"{"type":"operator_typing","dialog_id":42}"#,
    );
    encodes_to(
        WidgetOut::OperatorJoined(w::OperatorJoined {
            dialog_id: 42,
            operator: None,
        }),
        r#"{"type":"operator_joined","dialog_id":42}"#,
    );
    encodes_to(
        WidgetOut::ConsentRequest(w::ConsentRequest {
            text: "We store data".into(),
            version: 2,
        }),
        r#"{"type":"consent_request","text":"We store data","version":2}"#,
    );
    encodes_to(
        WidgetOut::RatingRequest(w::RatingRequest { dialog_id: 42 }),
        r#"{"type":"rating_request","dialog_id":42}"#,
    );
    encodes_to(
        WidgetOut::DialogClosed(DialogClosed {
            dialog_id: 42,
            reason: CloseReason::ClientIdle,
        }),
        r#"{"type":"dialog_closed","dialog_id":42,"reason":"client_idle"}"#,
    );
    encodes_to(
        WidgetOut::Ack(Ack {
            req: Some(7),
            dialog_id: Some(42),
            msg_id: Some(1006),
            seq: Some(6),
        }),
        r#"{"type":"ack","req":7,"dialog_id":42,"msg_id":1006,"seq":6}"#,
    );
    encodes_to(
        WidgetOut::Error(ErrorFrame::new(
            Some(7),
            super::ErrorCode::RateLimited,
            "slow down",
        )),
        r#"{"type":"error","req":7,"code":"rate_limited","message":"slow down"}"#,
    );
}
