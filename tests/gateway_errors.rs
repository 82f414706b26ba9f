//! Bad input over the WebSocket gateway, end to end: malformed frames, unknown types, oversized
//! frames (1009), wrong tokens (unauthorized + 1008), text over `text_chars_max`, another
//! client's or operator's dialog, and the per-connection rate limit. Each answer must be a
//! clear `error` or close code; the connection (where it stays open) and the server keep
//! working: after each bad input a new widget still gets its `welcome`.

mod common;

use common::*;
use serde_json::json;

fn one_line() -> Config {
    Config::new()
        .operators(&["anna", "boris"])
        .line(line("support", "strict", &["anna"], "60s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_bad_frame_and_the_connection_keeps_working() {
    let server = Server::start("malformed", &one_line());

    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.send_text("{not json").await;
    let (error, _) = widget.recv_until("error").await;
    assert_error(&error, "bad_frame");
    let mistyped = widget
        .request(json!({"type": "message", "req": 4, "client_msg_id": "m0", "text": 5}))
        .await;
    assert_error(&mistyped, "bad_frame");
    assert_eq!(mistyped["req"], 4, "{mistyped}");
    assert_eq!(
        mistyped["message"], "field text: invalid type: integer `5`, expected a string",
        "the message names the field and what it expected"
    );
    let ack = widget.say("m1", "still here").await;
    assert!(ack["dialog_id"].is_u64(), "{ack}");
    assert_new_widget_welcomed(&server, "support").await;

    let mut anna = Operator::connect(&server, "anna").await;
    anna.send_text("[1, 2").await;
    let (error, _) = anna.recv_until("error").await;
    assert_error(&error, "bad_frame");
    anna.status("online").await;

    let mut packed = Widget::connect(
        &server,
        json!({"type": "hello", "line": "support", "client_id": "c2"}),
        Enc::MsgPack,
    )
    .await;
    packed.send_binary(vec![0xc1, 0xff, 0x00]).await;
    let (error, _) = packed.recv_until("error").await;
    assert_error(&error, "bad_frame");
    packed.say("m1", "packed and fine").await;
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_types_get_unknown_type_with_their_req() {
    let server = Server::start("unknown-type", &one_line());
    let mut widget = Widget::join(&server, "support", "c1").await;
    let reply = widget
        .request(json!({"type": "frobnicate", "req": 9}))
        .await;
    assert_error(&reply, "unknown_type");
    assert_eq!(reply["req"], 9, "{reply}");
    // An operator-only type is unknown on the widget side, and the other way round.
    let reply = widget
        .request(json!({"type": "accept", "req": 10, "dialog_id": 1}))
        .await;
    assert_error(&reply, "unknown_type");
    widget.say("m1", "hi").await;

    let mut anna = Operator::connect(&server, "anna").await;
    let reply = anna.request(json!({"type": "frobnicate", "req": 11})).await;
    assert_error(&reply, "unknown_type");
    assert_eq!(reply["req"], 11, "{reply}");
    let reply = anna
        .request(json!({"type": "rate", "req": 12, "dialog_id": 1, "score": "like"}))
        .await;
    assert_error(&reply, "unknown_type");
    anna.status("online").await;
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_frame_bytes_max_closes_with_1009() {
    let config = one_line().limit("frame_bytes_max", "1024");
    let server = Server::start("frame-too-large", &config);
    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.say("m1", &"x".repeat(800)).await;

    widget
        .send(json!({"type": "message", "req": 2, "client_msg_id": "m2", "text": "x".repeat(2000)}))
        .await;
    assert_eq!(widget.expect_close().await, Some(1009));
    assert!(
        !widget
            .log
            .iter()
            .any(|f| f["req"] == 2 && frame_type(f) == "ack"),
        "the oversized message was acked: {:?}",
        widget.log
    );
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_operator_token_gets_unauthorized_and_close_1008() {
    let server = Server::start("unauthorized", &one_line());
    let mut conn = Conn::open(&server, "/ws/operator", Enc::Json, "intruder").await;
    conn.send(json!({"type": "hello", "token": "not-a-token"}))
        .await;
    let error = conn.next().await;
    assert_error(&error, "unauthorized");
    assert_eq!(conn.expect_close().await, Some(1008));

    let anna = Operator::connect(&server, "anna").await;
    assert_eq!(anna.welcome["operator_id"], "anna", "{}", anna.welcome);
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_over_text_chars_max_gets_too_large() {
    let config = one_line().limit("text_chars_max", "10");
    let server = Server::start("text-too-large", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;

    // The limit counts characters, not bytes: ten two-byte characters fit.
    let ack = widget.say("m1", "éééééééééé").await;
    let d = field_u64(&ack, "dialog_id");
    let refused = widget
        .request(json!({"type": "message", "req": 7, "client_msg_id": "m2", "text": "eleven char"}))
        .await;
    assert_error(&refused, "too_large");
    assert_eq!(refused["req"], 7, "{refused}");
    widget.say("m3", "short").await;

    anna.offered(d).await;
    anna.accept(d).await;
    let refused = anna
        .request(json!({
            "type": "message",
            "dialog_id": d,
            "client_msg_id": "o1",
            "text": "far too long for this line"
        }))
        .await;
    assert_error(&refused, "too_large");
    anna.say(d, "o2", "ok").await;
    widget.operator_said("ok").await;
    anna.gather(QUIET).await;
    assert!(
        !anna
            .log
            .iter()
            .any(|f| is_message_with_text(f, "eleven char")),
        "a refused message was delivered"
    );
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_or_operators_dialog_is_refused() {
    let server = Server::start("foreign-dialog", &one_line());
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut alice = Widget::join(&server, "support", "alice").await;
    let mut mallory = Widget::join(&server, "support", "mallory").await;
    let d = field_u64(&alice.say("m1", "hi").await, "dialog_id");
    let own = field_u64(&mallory.say("m1", "hello").await, "dialog_id");
    assert_ne!(d, own);

    let refused = mallory
        .request(json!({"type": "rate", "dialog_id": d, "score": "dislike"}))
        .await;
    assert_eq!(frame_type(&refused), "error", "{refused}");
    assert!(
        matches!(field_str(&refused, "code"), "forbidden" | "not_found"),
        "{refused}"
    );

    anna.offered(d).await;
    anna.accept(d).await;
    for frame in [
        json!({"type": "close", "dialog_id": d}),
        json!({"type": "message", "dialog_id": d, "client_msg_id": "b1", "text": "mine now"}),
        json!({"type": "transfer", "dialog_id": d, "to_operator": "boris"}),
    ] {
        let shown = frame.to_string();
        let refused = boris.request(frame).await;
        assert_eq!(frame_type(&refused), "error", "{shown}: {refused}");
        assert!(
            matches!(field_str(&refused, "code"), "forbidden" | "not_found"),
            "{shown}: {refused}"
        );
    }

    // Nothing happened to the dialog: it is still anna's and alice's.
    anna.say(d, "o1", "still mine").await;
    alice.operator_said("still mine").await;
    alice.say("m2", "good").await;
    anna.client_said("good").await;
    alice
        .assert_none_within(QUIET, "a close or rating request", |f| {
            matches!(frame_type(f), "dialog_closed" | "rating_request")
        })
        .await;
    assert!(
        !mallory.log.iter().any(|f| f["text"] == "still mine"),
        "another client's message leaked: {:?}",
        mallory.log
    );
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_rate_limit_gets_rate_limited() {
    let config = one_line()
        .limit("messages_per_sec", "1")
        .limit("messages_burst", "2");
    let server = Server::start("rate-limit", &config);
    let mut widget = Widget::join(&server, "support", "c1").await;
    for req in 1..=5u64 {
        widget
            .send(json!({
                "type": "message",
                "req": req,
                "client_msg_id": format!("m{req}"),
                "text": "spam"
            }))
            .await;
    }
    let mut replies = Vec::new();
    for req in 1..=5u64 {
        let (reply, _) = widget
            .recv_where(&format!("the reply to req {req}"), |f| {
                matches!(frame_type(f), "ack" | "error") && f["req"] == req
            })
            .await;
        replies.push(reply);
    }
    assert_eq!(
        frame_type(&replies[0]),
        "ack",
        "the first message is within the burst: {replies:?}"
    );
    let limited = replies
        .iter()
        .filter(|r| frame_type(r) == "error" && r["code"] == "rate_limited")
        .count();
    assert!(limited >= 1, "no rate_limited among {replies:?}");
    for reply in &replies {
        assert!(
            frame_type(reply) == "ack" || reply["code"] == "rate_limited",
            "unexpected reply {reply}"
        );
    }
    // The limit is per connection: a new widget is welcomed and may write at once.
    assert_new_widget_welcomed(&server, "support").await;
    let mut other = Widget::join(&server, "support", "c2").await;
    other.say("m1", "hello").await;
}
