//! Commit, then publish: nothing a message or a close produces reaches anyone before the
//! state that produced it is durable. The server runs in this process so the test can hold the
//! store's writer thread ([`hold_writer`]): while it is held, a widget's message, an operator's
//! message and a client's close are accepted by their shard but not yet durable, and neither
//! the other side nor the sender may hear of them; once released, everything arrives. A widget
//! that resumes while such a message waits for its commit gets it exactly once.

mod common;

use common::in_process::{hold_writer, InProcess};
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// An in-process server where anna holds client c1's dialog (opened by "hello"): the server,
/// anna, c1's widget and the dialog's id.
async fn accepted_dialog(name: &str) -> (InProcess, Operator, Widget, u64) {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = InProcess::start(name, &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hello").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    anna.assigned(d).await;
    (server, anna, widget, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_reaches_the_other_side_before_it_is_durable() {
    let (server, mut anna, mut widget, d) = accepted_dialog("commit-then-publish").await;

    // A client's message: no operator `message` and no `ack` while it is not durable.
    let hold = hold_writer(&server.store).await;
    let req = widget.req();
    widget
        .send(json!({"type": "message", "req": req, "client_msg_id": "m2", "text": "held back"}))
        .await;
    anna.assert_none_within(QUIET, "client message before it is durable", |f| {
        is_message_with_text(f, "held back")
    })
    .await;
    widget
        .assert_none_within(QUIET, "ack before the message is durable", |f| {
            f["req"].as_u64() == Some(req)
        })
        .await;
    drop(hold);
    anna.client_said("held back").await;
    let (ack, _) = widget
        .recv_where("the ack of m2", |f| f["req"].as_u64() == Some(req))
        .await;
    assert_eq!(frame_type(&ack), "ack", "{ack}");

    // An operator's message: nothing at the widget and no `ack` while it is not durable.
    let hold = hold_writer(&server.store).await;
    let req = anna.req();
    anna.send(json!({
        "type": "message", "req": req, "dialog_id": d, "client_msg_id": "o1", "text": "answer held"
    }))
    .await;
    widget
        .assert_none_within(QUIET, "operator message before it is durable", |f| {
            is_message_with_text(f, "answer held")
        })
        .await;
    anna.assert_none_within(QUIET, "ack before the message is durable", |f| {
        f["req"].as_u64() == Some(req)
    })
    .await;
    drop(hold);
    widget.operator_said("answer held").await;
    let (ack, _) = anna
        .recv_where("the ack of o1", |f| f["req"].as_u64() == Some(req))
        .await;
    assert_eq!(frame_type(&ack), "ack", "{ack}");

    // The client closes: the operator hears of it only once the close is durable.
    let hold = hold_writer(&server.store).await;
    let req = widget.req();
    widget.send(json!({"type": "close", "req": req})).await;
    anna.assert_none_within(QUIET, "dialog_closed before the close is durable", |f| {
        frame_type(f) == "dialog_closed"
    })
    .await;
    drop(hold);
    let (closed, _) = anna
        .recv_where("dialog_closed", |f| frame_type(f) == "dialog_closed")
        .await;
    assert_eq!(closed["dialog_id"], d, "{closed}");

    server.stop().await;
}

/// A widget resuming with `last_seq` attaches to its client's live frames before its shard
/// answers with what it missed; a message committed in between must reach it once, not once in
/// the replay and again live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_committed_while_a_widget_resumes_reaches_it_once() {
    let (server, mut anna, widget, d) = accepted_dialog("resume-during-commit").await;

    let hold = hold_writer(&server.store).await;
    let req = anna.req();
    anna.send(json!({
        "type": "message", "req": req, "dialog_id": d, "client_msg_id": "o1", "text": "while resuming"
    }))
    .await;
    let mut resumed = Conn::open(&server, "/ws/widget", Enc::Json, "widget c1 (resumed)").await;
    resumed
        .send(json!({"type": "hello", "line": "support", "resume_token": widget.resume_token(), "last_seq": 0}))
        .await;
    // The hello attaches and reaches the shard while the operator's message waits for the commit.
    resumed
        .assert_none_within(QUIET, "operator message before it is durable", |f| {
            is_message_with_text(f, "while resuming")
        })
        .await;
    drop(hold);

    let frames = resumed.gather(QUIET).await;
    assert_eq!(
        frames.first().map(frame_type),
        Some("welcome"),
        "{frames:?}"
    );
    let mut by_seq: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for m in frames.iter().filter(|f| frame_type(f) == "message") {
        by_seq.entry(field_u64(m, "seq")).or_default().push(m);
    }
    // (seq, how many times it came, text)
    let received: Vec<(u64, usize, &str)> = by_seq
        .iter()
        .map(|(seq, ms)| (*seq, ms.len(), field_str(ms[0], "text")))
        .collect();
    assert_eq!(
        received,
        vec![(1, 1, "hello"), (2, 1, "while resuming")],
        "each message of the dialog once, in order: {frames:?}"
    );
    server.stop().await;
}
