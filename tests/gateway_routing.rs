//! The routing rules of README "Routing rules in plain words", end to end over WebSockets:
//! queue modes (strict timeouts and wrap-around, all, even), the line limit, presence (away,
//! online, disconnect), taking a dialog by answering, declining, transferring, and KPI alerts.
//! Each test runs its own `switchboard serve` on port 0.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Two operators, one line `support` in `mode` with both as members, in that order.
fn two_operators(mode: &str, transfer_after: &str) -> Config {
    Config::new().operators(&["anna", "boris"]).line(line(
        "support",
        mode,
        &["anna", "boris"],
        transfer_after,
    ))
}

fn is_offer(frame: &serde_json::Value) -> bool {
    frame_type(frame) == "dialog_offered"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_offers_in_order_times_out_to_the_next_and_wraps_around() {
    let server = Server::start("strict-timeout", &two_operators("strict", "1s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");

    let offer = anna.offered(d).await;
    let offered_at = Instant::now();
    assert_eq!(offer["mode"], "strict", "{offer}");
    let deadline = offer["deadline_ts"].as_i64().expect("deadline_ts");
    let left = deadline - now_ms();
    assert!(
        (-200..=1_200).contains(&left),
        "deadline_ts should be ~1 s ahead, is {left} ms: {offer}"
    );

    let revoked = anna.revoked(d).await;
    assert_eq!(revoked["reason"], "timeout", "{revoked}");
    assert!(
        offered_at.elapsed() >= Duration::from_millis(700),
        "revoked after only {:?}",
        offered_at.elapsed()
    );
    let second = boris.offered(d).await;
    assert_eq!(second["client"]["client_id"], "c1", "{second}");
    assert!(
        !anna.log.iter().any(|f| frame_type(f) == "dialog_assigned"),
        "nobody took it"
    );
    let second_deadline = second["deadline_ts"].as_i64().expect("deadline_ts");
    assert!(
        second_deadline - deadline >= 700,
        "boris was offered before anna's offer lapsed: {offer} then {second}"
    );

    // Nobody takes it: it circulates back to anna.
    let revoked = boris.revoked(d).await;
    assert_eq!(revoked["reason"], "timeout", "{revoked}");
    anna.offered(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_mode_offers_everyone_and_the_first_accept_wins() {
    let server = Server::start("all-mode", &two_operators("all", "60s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");

    let to_anna = anna.offered(d).await;
    let to_boris = boris.offered(d).await;
    assert_eq!(to_anna["mode"], "all", "{to_anna}");
    assert_eq!(to_boris["mode"], "all", "{to_boris}");

    anna.accept(d).await;
    anna.assigned(d).await;
    let revoked = boris.revoked(d).await;
    assert_eq!(revoked["reason"], "taken", "{revoked}");
    let late = boris
        .request(json!({"type": "accept", "dialog_id": d}))
        .await;
    assert_error(&late, "invalid_state");
    assert!(
        !boris.log.iter().any(|f| frame_type(f) == "dialog_assigned"),
        "boris got the dialog too"
    );

    // It is anna's: her message reaches the client.
    anna.say(d, "o1", "Anna here").await;
    widget.operator_said("Anna here").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn even_mode_spreads_two_dialogs_over_two_operators() {
    let server = Server::start("even-mode", &two_operators("even", "60s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut w1 = Widget::join(&server, "support", "c1").await;
    let mut w2 = Widget::join(&server, "support", "c2").await;
    let d1 = field_u64(&w1.say("m1", "first").await, "dialog_id");
    let d2 = field_u64(&w2.say("m1", "second").await, "dialog_id");
    assert_ne!(d1, d2);

    // Never-given operators first, ties in queue order; an offer counts as being given one.
    let offer = anna.offered(d1).await;
    assert_eq!(offer["mode"], "even", "{offer}");
    boris.offered(d2).await;
    anna.gather(QUIET).await;
    boris.gather(Duration::from_millis(100)).await;
    assert_eq!(
        of_type(&anna.log, "dialog_offered").len(),
        1,
        "{:?}",
        anna.log
    );
    assert_eq!(
        of_type(&boris.log, "dialog_offered").len(),
        1,
        "{:?}",
        boris.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_limit_holds_the_next_dialog_until_a_slot_frees() {
    let config = Config::new().operators(&["anna"]).line(
        line("support", "strict", &["anna"], "60s").queue("limit = { max = 1, count = \"all\" }"),
    );
    let server = Server::start("line-limit", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut w1 = Widget::join(&server, "support", "c1").await;
    let mut w2 = Widget::join(&server, "support", "c2").await;
    let d1 = field_u64(&w1.say("m1", "first").await, "dialog_id");
    anna.offered(d1).await;
    anna.accept(d1).await;

    let d2 = field_u64(&w2.say("m1", "second").await, "dialog_id");
    anna.assert_none_within(QUIET, "an offer beyond limit.max = 1", |f| {
        is_offer(f) && f["dialog_id"] == d2
    })
    .await;

    anna.close_dialog(d1).await;
    let freed = Instant::now();
    anna.offered(d2).await;
    assert!(
        freed.elapsed() < Duration::from_secs(1),
        "the freed slot was refilled only after {:?}",
        freed.elapsed()
    );
    let (closed, _) = w1.recv_until("dialog_closed").await;
    assert_eq!(closed["dialog_id"], d1, "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_stops_offers_and_online_offers_the_waiting_dialog() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = Server::start("away-online", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    anna.status("away").await;

    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.assert_none_within(QUIET, "an offer while away", is_offer)
        .await;

    anna.status("online").await;
    let back = Instant::now();
    anna.offered(d).await;
    assert!(
        back.elapsed() < Duration::from_secs(1),
        "offered only {:?} after coming online",
        back.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_operators_offer_moves_on_at_once() {
    let server = Server::start("disconnect", &two_operators("strict", "60s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
    boris
        .assert_none_within(
            Duration::from_millis(300),
            "an offer while anna has it",
            is_offer,
        )
        .await;

    anna.conn.disconnect().await;
    let gone = Instant::now();
    boris.offered(d).await;
    assert!(
        gone.elapsed() < Duration::from_secs(3),
        "moved on only after {:?} (transfer_after is 60 s)",
        gone.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_an_offered_dialog_takes_it() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = Server::start("answer-takes", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;

    let ack = anna.say(d, "o1", "Hello, I am Anna").await;
    assert_eq!(ack["dialog_id"], d, "{ack}");
    assert!(ack["dialog_seq"].is_u64(), "{ack}");
    let assigned = anna.assigned(d).await;
    assert_eq!(assigned["line"], "support", "{assigned}");
    widget.operator_said("Hello, I am Anna").await;
    // Taken: the offer does not lapse into a timeout or move on.
    anna.assert_none_within(QUIET, "a revoke of a taken dialog", |f| {
        frame_type(f) == "dialog_revoked"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_passes_the_dialog_on_at_once() {
    let server = Server::start("decline", &two_operators("strict", "60s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;

    anna.ack(json!({"type": "decline", "dialog_id": d})).await;
    let declined = Instant::now();
    let revoked = anna.revoked(d).await;
    assert_eq!(revoked["reason"], "declined", "{revoked}");
    boris.offered(d).await;
    assert!(
        declined.elapsed() < Duration::from_secs(1),
        "passed on only after {:?}",
        declined.elapsed()
    );
    // The decliner is skipped for the rest of the round.
    anna.assert_none_within(
        Duration::from_millis(300),
        "a new offer to the decliner",
        is_offer,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_another_operator_moves_the_dialog() {
    let server = Server::start("transfer", &two_operators("strict", "60s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    anna.assigned(d).await;

    anna.ack(json!({"type": "transfer", "dialog_id": d, "to_operator": "boris"}))
        .await;
    let assigned = boris.assigned(d).await;
    assert_eq!(assigned["line"], "support", "{assigned}");
    let revoked = anna.revoked(d).await;
    assert_eq!(revoked["reason"], "transferred", "{revoked}");

    boris.say(d, "o1", "Boris here").await;
    widget.operator_said("Boris here").await;
    widget.say("m2", "thanks").await;
    boris.client_said("thanks").await;
    let refused = anna
        .request(json!({"type": "message", "dialog_id": d, "client_msg_id": "late", "text": "x"}))
        .await;
    assert_error(&refused, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_first_response_target_alerts_the_notified_operator_once() {
    let config = Config::new().operators(&["anna", "boss"]).line(
        line("support", "strict", &["anna"], "60s").section(
            "[lines.kpi.first_response]\ntarget = \"1s\"\nnotify = [\"boss\"]\ntext = \"#OPERATOR# missed #DIALOG#\"",
        ),
    );
    let server = Server::start("kpi", &config);
    let mut boss = Operator::connect(&server, "boss").await;
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let sent = Instant::now();
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;

    let (alert, _) = boss.recv_until("kpi_alert").await;
    assert!(
        sent.elapsed() >= Duration::from_millis(900),
        "alert before the 1 s target: {:?}",
        sent.elapsed()
    );
    assert_eq!(alert["dialog_id"], d, "{alert}");
    assert_eq!(alert["kind"], "first_response", "{alert}");
    assert_eq!(alert["operator_id"], "anna", "{alert}");
    assert_eq!(alert["text"], format!("Anna missed {d}"), "{alert}");

    let watch = Duration::from_millis(3_500).saturating_sub(sent.elapsed());
    boss.gather(watch).await;
    assert_eq!(
        of_type(&boss.log, "kpi_alert").len(),
        1,
        "one alert per miss: {:?}",
        boss.log
    );
    anna.gather(Duration::from_millis(50)).await;
    assert!(
        of_type(&anna.log, "kpi_alert").is_empty(),
        "anna is not in notify: {:?}",
        anna.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balanced_mode_offers_the_operator_with_fewer_counted_dialogs() {
    let server = Server::start("balanced", &two_operators("balanced", "1m"));
    let mut anna = Operator::connect(&server, "anna").await;
    // Anna alone takes two dialogs.
    let mut w1 = Widget::join(&server, "support", "c1").await;
    let d1 = field_u64(&w1.say("m1", "one").await, "dialog_id");
    anna.offered(d1).await;
    anna.accept(d1).await;
    let mut w2 = Widget::join(&server, "support", "c2").await;
    let d2 = field_u64(&w2.say("m1", "two").await, "dialog_id");
    anna.offered(d2).await;
    anna.accept(d2).await;
    // Boris comes online with none: the next two go to him (0 < 2, then 1 < 2).
    let mut boris = Operator::connect(&server, "boris").await;
    let mut w3 = Widget::join(&server, "support", "c3").await;
    let d3 = field_u64(&w3.say("m1", "three").await, "dialog_id");
    boris.offered(d3).await;
    let mut w4 = Widget::join(&server, "support", "c4").await;
    let d4 = field_u64(&w4.say("m1", "four").await, "dialog_id");
    boris.offered(d4).await;
    anna.assert_none_within(
        Duration::from_millis(200),
        "no offer to the busier operator",
        |f| frame_type(f) == "dialog_offered",
    )
    .await;
}

/// An operator may send requests without waiting for each answer: they are taken in order
/// (one dialog's accept, message and close stay in that order) and answered in the order they
/// were sent, also when a later request (or a bad frame) is answered at once and an earlier one
/// waits for its durable commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_operator_requests_are_answered_in_the_order_sent() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "even", &["anna"], "60s"));
    let server = Server::start("pipelined-requests", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widgets = Vec::new();
    let mut dialogs = Vec::new();
    for client in ["c1", "c2", "c3"] {
        let mut widget = Widget::join(&server, "support", client).await;
        dialogs.push(field_u64(&widget.say("m1", "hello").await, "dialog_id"));
        widgets.push(widget);
    }
    for &d in &dialogs {
        anna.offered(d).await;
    }
    let (d1, d2, d3) = (dialogs[0], dialogs[1], dialogs[2]);
    let requests = [
        json!({"type": "accept", "dialog_id": d1}),
        json!({"type": "quick_answers"}),
        json!({"type": "accept"}),
        json!({"type": "message", "dialog_id": d1, "client_msg_id": "o1", "text": "Anna here"}),
        json!({"type": "accept", "dialog_id": d2}),
        json!({"type": "status", "state": "online"}),
        json!({"type": "close", "dialog_id": d1}),
        json!({"type": "accept", "dialog_id": d3}),
        json!({"type": "history", "dialog_id": d1}),
        json!({"type": "accept", "dialog_id": d1}),
    ];
    let first_req = anna.req();
    for (i, mut frame) in requests.iter().cloned().enumerate() {
        frame["req"] = json!(first_req + 1 + i as u64);
        anna.send(frame).await;
    }
    let last_req = first_req + requests.len() as u64;
    anna.recv_where("the reply to the last request", |f| {
        f["req"].as_u64() == Some(last_req)
    })
    .await;
    let replies: Vec<&serde_json::Value> = anna
        .log
        .iter()
        .filter(|f| f["req"].as_u64().is_some_and(|r| r > first_req))
        .collect();
    let order: Vec<u64> = replies.iter().map(|f| field_u64(f, "req")).collect();
    let expected: Vec<u64> = (first_req + 1..=last_req).collect();
    assert_eq!(order, expected, "replies out of order: {replies:?}");
    let kinds: Vec<&str> = replies.iter().map(|f| frame_type(f)).collect();
    assert_eq!(
        kinds,
        [
            "ack",
            "quick_answers",
            "error",
            "ack",
            "ack",
            "ack",
            "ack",
            "ack",
            "history",
            "error"
        ],
        "{replies:?}"
    );
    // A frame that cannot be taken is answered in its place too.
    assert_error(replies[2], "bad_frame");
    // The message went out before the close, and the history holds it.
    assert!(
        replies[8]["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["text"] == "Anna here")),
        "{}",
        replies[8]
    );
    // Accepting the dialog it just closed is refused: the close was taken first.
    assert_error(replies[9], "not_found");
    let widget = &mut widgets[0];
    widget.operator_said("Anna here").await;
    widget
        .recv_where("dialog_closed", |f| frame_type(f) == "dialog_closed")
        .await;
}
