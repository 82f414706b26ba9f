//! The operator's frames: every client → server frame decodes from its documented JSON, every
//! event and reply encodes to it, with JSON and MessagePack round trips.

use super::*;

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
                crate::protocol::ErrorCode::InvalidState,
                "taken by another operator",
            )),
        ),
        r#"{"seq":14,"type":"error","req":1,"code":"invalid_state",
            "message":"taken by another operator"}"#,
    );
}
