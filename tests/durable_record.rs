//! The parts of a dialog's record that used to live only in memory until it closed, now durable
//! and shown by the admin API: a client's rating and comment and a supervisor's score given
//! while the dialog awaits its close survive `kill -9`; a supervisor may score a closed dialog;
//! routing decisions stay with the dialog through a restart and after its close.

mod common;

use common::*;
use serde_json::json;

fn config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna"])
        .operator_raw("id = \"dana\"\nname = \"Dana\"\ntoken = \"dana-token\"\nsupervisor = true")
        .line(
            line("support", "even", &["anna"], "30s")
                .section("[lines.auto]\nrating_wait = \"1h\"")
                .section("[lines.rating]\nenabled = true"),
        )
}

async fn dialog(server: &Server, d: u64) -> serde_json::Value {
    Http::admin(server)
        .get_ok(&format!("/api/v1/dialogs/{d}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_scores_and_decisions_survive_kill_9_and_stay_after_the_close() {
    let mut server = Server::start("durable-record", &config());
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hello").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    let decided = dialog(&server, d).await;
    let decisions = decided["decisions"].as_array().unwrap().clone();
    assert!(!decisions.is_empty(), "{decided}");

    // Closed by the operator: awaiting the rating for an hour.
    anna.close_dialog(d).await;
    widget.recv_until("rating_request").await;
    widget
        .ack(json!({"type": "rate", "dialog_id": d, "score": "like", "comment": "quick, thanks"}))
        .await;
    let mut dana = Operator::connect(&server, "dana").await;
    dana.ack(json!({"type": "supervisor_rate", "dialog_id": d, "score": 4}))
        .await;

    server.kill9();
    server.restart();
    let restored = dialog(&server, d).await;
    assert_eq!(restored["state"], "closing", "{restored}");
    assert_eq!(restored["rating"], "like", "{restored}");
    assert_eq!(restored["comment"], "quick, thanks", "{restored}");
    assert_eq!(restored["supervisor_score"], 4, "{restored}");
    assert_eq!(
        restored["decisions"].as_array().unwrap(),
        &decisions,
        "the decisions come back with the dialog"
    );

    // The client closes it: everything stays in the closed summary.
    let mut widget = Widget::connect(
        &server,
        json!({"type": "hello", "line": "support", "resume_token": widget.resume_token()}),
        Enc::Json,
    )
    .await;
    widget.ack(json!({"type": "close"})).await;
    let closed = dialog(&server, d).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(closed["comment"], "quick, thanks");
    assert_eq!(closed["supervisor_score"], 4);
    assert_eq!(closed["decisions"].as_array().unwrap(), &decisions);

    // A supervisor may change the score of the closed dialog; it is durable before the ack.
    let mut dana = Operator::connect(&server, "dana").await;
    dana.ack(json!({"type": "supervisor_rate", "dialog_id": d, "score": 2}))
        .await;
    server.kill9();
    server.restart();
    let rescored = dialog(&server, d).await;
    assert_eq!(rescored["supervisor_score"], 2, "{rescored}");
    assert_eq!(rescored["comment"], "quick, thanks");

    // Not a supervisor: refused; an unknown dialog: not found.
    let mut anna = Operator::connect(&server, "anna").await;
    let refused = anna
        .request(json!({"type": "supervisor_rate", "dialog_id": d, "score": 5}))
        .await;
    assert_error(&refused, "forbidden");
    let mut dana = Operator::connect(&server, "dana").await;
    let missing = dana
        .request(json!({"type": "supervisor_rate", "dialog_id": 999_999, "score": 5}))
        .await;
    assert_error(&missing, "not_found");
}

/// Message ids are unique for good: after a restart, new messages never take the ids of a
/// closed dialog's messages (a restart used to number them again from the open dialogs only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_of_closed_dialogs_are_never_handed_out_again() {
    let config =
        Config::new()
            .admin()
            .operators(&["anna"])
            .line(line("support", "even", &["anna"], "30s"));
    let mut server = Server::start("msg-ids", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let mut before = Vec::new();
    let first = widget.say("m1", "hello").await;
    let d = field_u64(&first, "dialog_id");
    before.push(field_u64(&first, "msg_id"));
    anna.offered(d).await;
    before.push(field_u64(&anna.say(d, "a1", "hi").await, "msg_id"));
    before.push(field_u64(&widget.say("m2", "thanks").await, "msg_id"));
    anna.close_dialog(d).await;
    widget.recv_until("dialog_closed").await;
    for round in 0..2 {
        server.kill9();
        server.restart();
        let mut widget = Widget::join(&server, "support", &format!("c{}", round + 2)).await;
        let mut anna = Operator::connect(&server, "anna").await;
        let ack = widget.say("n1", "new chat").await;
        let (d, id) = (field_u64(&ack, "dialog_id"), field_u64(&ack, "msg_id"));
        anna.offered(d).await;
        let answer = field_u64(&anna.say(d, "b1", "hello again").await, "msg_id");
        for new in [id, answer] {
            assert!(
                !before.contains(&new),
                "msg id {new} handed out again: {before:?}"
            );
            assert!(
                new > *before.iter().max().unwrap(),
                "{new} after {before:?}"
            );
        }
        before.extend([id, answer]);
        anna.close_dialog(d).await;
        widget.recv_until("dialog_closed").await;
    }
}
