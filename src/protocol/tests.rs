//! Example tests: every client → server frame of PROTOCOL.md, written as literal JSON, decodes
//! to the right variant; every server → client frame encodes to the documented JSON; every frame
//! survives a JSON and a MessagePack round trip.

use std::fmt::Debug;

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

#[test]
fn operator_client_frames_decode() {
    let dialog = |req| op::DialogRequest { req, dialog_id: 42 };
    decodes_to(
        r#"{"type":"hello","token":"t0k","last_seq":17}"#,
        OperatorIn::Hello(op::Hello {
            req: None,
            token: "t0k".into(),
            last_seq: Some(17),
        }),
    );
    decodes_to(
        r#"{"type":"status","state":"away"}"#,
        OperatorIn::Status(op::SetStatus {
            req: None,
            state: PresenceState::Away,
        }),
    );
    decodes_to(
        r#"{"type":"workday","action":"pause"}"#,
        OperatorIn::Workday(op::Workday {
            req: None,
            action: WorkdayAction::Pause,
        }),
    );
    decodes_to(
        r#"{"type":"accept","req":1,"dialog_id":42}"#,
        OperatorIn::Accept(dialog(Some(1))),
    );
    decodes_to(
        r#"{"type":"decline","req":2,"dialog_id":42}"#,
        OperatorIn::Decline(dialog(Some(2))),
    );
    decodes_to(
        r#"{"type":"message","req":3,"dialog_id":42,"client_msg_id":"o-1","text":"Hi"}"#,
        OperatorIn::Message(op::SendMessage {
            req: Some(3),
            dialog_id: 42,
            client_msg_id: "o-1".into(),
            text: "Hi".into(),
        }),
    );
    decodes_to(
        r#"{"type":"typing","dialog_id":42}"#,
        OperatorIn::Typing(dialog(None)),
    );
    decodes_to(
        r#"{"type":"close","req":4,"dialog_id":42}"#,
        OperatorIn::Close(dialog(Some(4))),
    );
    decodes_to(
        r#"{"type":"transfer","req":5,"dialog_id":42,"to_operator":"boris"}"#,
        OperatorIn::Transfer(op::Transfer {
            req: Some(5),
            dialog_id: 42,
            to_operator: Some("boris".into()),
            to_line: None,
        }),
    );
    decodes_to(
        r#"{"type":"transfer","req":6,"dialog_id":42,"to_line":"sales"}"#,
        OperatorIn::Transfer(op::Transfer {
            req: Some(6),
            dialog_id: 42,
            to_operator: None,
            to_line: Some("sales".into()),
        }),
    );
    decodes_to(
        r#"{"type":"supervisor_rate","req":7,"dialog_id":42,"score":5}"#,
        OperatorIn::SupervisorRate(op::SupervisorRate {
            req: Some(7),
            dialog_id: 42,
            score: SupervisorScore::new(5).unwrap(),
        }),
    );
    decodes_to(
        r#"{"type":"history","req":8,"dialog_id":42,"before_seq":100,"limit":50}"#,
        OperatorIn::History(op::HistoryRequest {
            req: Some(8),
            dialog_id: 42,
            before_seq: Some(100),
            limit: Some(50),
        }),
    );
    decodes_to(
        r#"{"type":"quick_answers","req":9}"#,
        OperatorIn::QuickAnswers(op::QuickAnswersRequest { req: Some(9) }),
    );
    decodes_to(
        r#"{"type":"save_quick_answer","req":10,"text":"Thanks!"}"#,
        OperatorIn::SaveQuickAnswer(op::SaveQuickAnswer {
            req: Some(10),
            text: "Thanks!".into(),
        }),
    );
}

#[test]
fn operator_server_frames_encode() {
    encodes_to(
        seq(
            1,
            OperatorOut::Welcome(op::Welcome {
                operator_id: "anna".into(),
                name: "Anna".into(),
                status: PresenceState::Online,
                dialogs: vec![DialogSummary {
                    dialog_id: 42,
                    line: "support".into(),
                    state: DialogState::Active,
                    client: client(),
                    last_seq: 9,
                    deadline_ts: None,
                }],
            }),
        ),
        r#"{"seq":1,"type":"welcome","operator_id":"anna","name":"Anna","status":"online",
            "dialogs":[{"dialog_id":42,"line":"support","state":"active","last_seq":9,
            "client":{"client_id":"c-1","name":"Ann","phone":"+100","contact_id":5}}]}"#,
    );
    encodes_to(
        seq(
            2,
            OperatorOut::DialogOffered(op::DialogOffered {
                dialog_id: 42,
                line: "support".into(),
                client: client(),
                last_messages: vec![msg(1, Author::Client, None)],
                deadline_ts: 1_760_000_120_000,
                mode: OfferMode::Strict,
            }),
        ),
        r#"{"seq":2,"type":"dialog_offered","dialog_id":42,"line":"support",
            "client":{"client_id":"c-1","name":"Ann","phone":"+100","contact_id":5},
            "last_messages":[{"dialog_id":42,"seq":1,"msg_id":1001,"author":"client",
            "text":"Hi","ts":1760000000000}],"deadline_ts":1760000120000,"mode":"strict"}"#,
    );
    encodes_to(
        seq(
            3,
            OperatorOut::DialogRevoked(op::DialogRevoked {
                dialog_id: 42,
                reason: RevokeReason::Taken,
            }),
        ),
        r#"{"seq":3,"type":"dialog_revoked","dialog_id":42,"reason":"taken"}"#,
    );
    encodes_to(
        seq(
            4,
            OperatorOut::DialogAssigned(op::DialogAssigned {
                dialog_id: 42,
                line: "support".into(),
            }),
        ),
        r#"{"seq":4,"type":"dialog_assigned","dialog_id":42,"line":"support"}"#,
    );
    encodes_to(
        seq(
            5,
            OperatorOut::Message(op::OperatorMessage {
                dialog_id: 42,
                dialog_seq: 10,
                msg_id: 1010,
                author: Author::Client,
                name: None,
                text: "Hello?".into(),
                ts: 1_760_000_000_000,
            }),
        ),
        r#"{"seq":5,"type":"message","dialog_id":42,"dialog_seq":10,"msg_id":1010,
            "author":"client","text":"Hello?","ts":1760000000000}"#,
    );
    encodes_to(
        seq(
            6,
            OperatorOut::TypingPreview(op::TypingPreview {
                dialog_id: 42,
                text: "Hel".into(),
            }),
        ),
        r#"{"seq":6,"type":"typing_preview","dialog_id":42,"text":"Hel"}"#,
    );
    encodes_to(
        seq(
            7,
            OperatorOut::DialogClosed(DialogClosed {
                dialog_id: 42,
                reason: CloseReason::Client,
            }),
        ),
        r#"{"seq":7,"type":"dialog_closed","dialog_id":42,"reason":"client"}"#,
    );
    encodes_to(
        seq(
            8,
            OperatorOut::Rating(op::Rating {
                dialog_id: 42,
                score: Score::Like,
                comment: Some("great".into()),
            }),
        ),
        r#"{"seq":8,"type":"rating","dialog_id":42,"score":"like","comment":"great"}"#,
    );
    encodes_to(
        seq(
            9,
            OperatorOut::KpiAlert(op::KpiAlert {
                dialog_id: 42,
                operator_id: "anna".into(),
                kind: KpiKind::FirstResponse,
                text: "Anna has not answered dialog 42 in time".into(),
            }),
        ),
        r#"{"seq":9,"type":"kpi_alert","dialog_id":42,"operator_id":"anna",
            "kind":"first_response","text":"Anna has not answered dialog 42 in time"}"#,
    );
    operator_replies_encode();
}

fn operator_replies_encode() {
    encodes_to(
        seq(
            10,
            OperatorOut::History(op::HistoryPage {
                req: Some(8),
                dialog_id: 42,
                messages: vec![
                    msg(1, Author::Client, None),
                    msg(2, Author::Bot, Some("Bot")),
                ],
            }),
        ),
        r#"{"seq":10,"type":"history","req":8,"dialog_id":42,"messages":[
            {"dialog_id":42,"seq":1,"msg_id":1001,"author":"client","text":"Hi","ts":1760000000000},
            {"dialog_id":42,"seq":2,"msg_id":1002,"author":"bot","name":"Bot","text":"Hi",
             "ts":1760000000000}]}"#,
    );
    encodes_to(
        seq(
            11,
            OperatorOut::QuickAnswers(op::QuickAnswerList {
                req: Some(9),
                items: vec![QuickAnswer {
                    id: "qa1".into(),
                    text: "Thanks!".into(),
                }],
            }),
        ),
        r#"{"seq":11,"type":"quick_answers","req":9,"items":[{"id":"qa1","text":"Thanks!"}]}"#,
    );
    encodes_to(
        seq(
            12,
            OperatorOut::Status(op::StatusChanged {
                state: PresenceState::Away,
                reason: Some("missed 3 offers".into()),
            }),
        ),
        r#"{"seq":12,"type":"status","state":"away","reason":"missed 3 offers"}"#,
    );
    encodes_to(
        seq(
            13,
            OperatorOut::Ack(op::Ack {
                req: Some(1),
                dialog_id: Some(42),
                ..op::Ack::default()
            }),
        ),
        r#"{"seq":13,"type":"ack","req":1,"dialog_id":42}"#,
    );
    encodes_to(
        seq(
            13,
            OperatorOut::Ack(op::Ack {
                req: Some(3),
                dialog_id: Some(42),
                msg_id: Some(1011),
                dialog_seq: Some(11),
            }),
        ),
        r#"{"seq":13,"type":"ack","req":3,"dialog_id":42,"msg_id":1011,"dialog_seq":11}"#,
    );
    encodes_to(
        seq(
            14,
            OperatorOut::Error(ErrorFrame::new(
                Some(1),
                super::ErrorCode::InvalidState,
                "taken by another operator",
            )),
        ),
        r#"{"seq":14,"type":"error","req":1,"code":"invalid_state",
            "message":"taken by another operator"}"#,
    );
}
