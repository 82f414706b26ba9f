//! The WebSocket gateway end to end, widget-centred: a whole conversation in JSON and in
//! MessagePack, the greeting, typing (preview and "operator is typing"), resuming a widget or
//! an operator with `last_seq`, idempotent retries, and graceful shutdown (close 1001, exit 0).
//! Each test runs its own `switchboard serve` on port 0.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// One line, `support`, strict, with rating (5 s wait, closed by the rating).
fn rated_config() -> Config {
    Config::new().operators(&["anna"]).line(
        line("support", "strict", &["anna"], "60s")
            .section("[lines.auto]\nrating_wait = \"5s\"")
            .section("[lines.rating]\nenabled = true\nclose_on_rating = true"),
    )
}

/// Every frame to an operator carries an event `seq`. Events (everything but `welcome`, `ack`
/// and `error`) take strictly increasing numbers; replies repeat the current one, so `seq` never
/// goes down on one connection.
fn assert_operator_seqs_increase(log: &[Value]) {
    let mut last_seen: Option<u64> = None;
    let mut last_event: Option<u64> = None;
    for frame in log {
        let seq = frame["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("operator frame without seq: {frame}"));
        if let Some(last) = last_seen {
            assert!(seq >= last, "operator seq went down from {last}: {frame}");
        }
        last_seen = Some(seq);
        if matches!(frame_type(frame), "welcome" | "ack" | "error") {
            continue;
        }
        if let Some(last) = last_event {
            assert!(
                seq > last,
                "operator event seq {seq} after event {last}: {frame}"
            );
        }
        last_event = Some(seq);
    }
}

async fn full_conversation(enc: Enc) {
    let server = Server::start(&format!("conversation-{enc:?}"), &rated_config());

    let (mut anna, mut widget) = welcomed_operator_and_widget(&server, enc).await;

    // The client's first message opens a dialog.
    let before = now_ms();
    let ack = widget
        .ack(json!({"type": "message", "req": 1, "client_msg_id": "m1", "text": "hi"}))
        .await;
    assert_eq!(ack["req"], 1, "{ack}");
    let d = field_u64(&ack, "dialog_id");
    let hi_seq = field_u64(&ack, "seq");
    let hi_id = field_u64(&ack, "msg_id");

    let offer = anna.offered(d).await;
    assert_eq!(offer["line"], "support", "{offer}");
    assert_eq!(offer["client"]["client_id"], "c1", "{offer}");
    assert_eq!(offer["mode"], "strict", "{offer}");
    let deadline = offer["deadline_ts"].as_i64().expect("deadline_ts");
    assert!(
        deadline > before && deadline <= now_ms() + 61_000,
        "deadline_ts {deadline} is not about 60 s ahead: {offer}"
    );
    let hi = offer["last_messages"]
        .as_array()
        .expect("last_messages array")
        .iter()
        .find(|m| m["text"] == "hi")
        .unwrap_or_else(|| panic!("the client's message is not in last_messages: {offer}"));
    assert_eq!(hi["author"], "client", "{offer}");
    assert_eq!(hi["seq"], hi_seq, "{offer}");
    assert_eq!(hi["msg_id"], hi_id, "{offer}");
    assert_eq!(hi["dialog_id"], d, "{offer}");

    // Accept: ack, then the dialog is anna's and the widget is told.
    let accepted = anna.accept(d).await;
    assert!(accepted["req"].is_u64(), "{accepted}");
    let assigned = anna.assigned(d).await;
    assert_eq!(assigned["line"], "support", "{assigned}");
    let (joined, _) = widget.recv_until("operator_joined").await;
    assert_eq!(joined["dialog_id"], d, "{joined}");
    assert_eq!(joined["operator"]["name"], "Anna", "{joined}");

    // Operator → client.
    let op_ack = anna.say(d, "o1", "How can I help?").await;
    assert_eq!(op_ack["dialog_id"], d, "{op_ack}");
    let op_seq = field_u64(&op_ack, "dialog_seq");
    assert!(op_seq > hi_seq, "dialog_seq {op_seq} not after {hi_seq}");
    let got = widget.operator_said("How can I help?").await;
    assert_eq!(got["dialog_id"], d, "{got}");
    assert_eq!(got["seq"], op_seq, "{got}");
    assert_eq!(got["msg_id"], op_ack["msg_id"], "{got}");
    assert!(got["ts"].as_i64().is_some_and(|ts| ts >= before), "{got}");

    // Client → operator: the operator's message frame carries the per-dialog dialog_seq.
    let ack2 = widget
        .ack(
            json!({"type": "message", "req": 2, "client_msg_id": "m2", "text": "My order is late"}),
        )
        .await;
    assert_eq!(ack2["dialog_id"], d, "{ack2}");
    assert!(field_u64(&ack2, "seq") > op_seq, "{ack2}");
    let got = anna.client_said("My order is late").await;
    assert_eq!(got["dialog_id"], d, "{got}");
    assert_eq!(got["dialog_seq"], ack2["seq"], "{got}");
    assert_eq!(got["msg_id"], ack2["msg_id"], "{got}");

    // Close → rating request → rating → closed on both sides.
    close_and_rate(&mut anna, &mut widget, d).await;

    assert_operator_seqs_increase(&anna.log);
}

/// Anna and client c1 connect in `enc`; their `welcome`s are checked.
async fn welcomed_operator_and_widget(server: &Server, enc: Enc) -> (Operator, Widget) {
    let anna = Operator::connect_with(
        server,
        "anna",
        json!({"type": "hello", "token": token("anna")}),
        enc,
    )
    .await;
    let w = &anna.welcome;
    assert_eq!(w["operator_id"], "anna", "{w}");
    assert_eq!(w["name"], "Anna", "{w}");
    assert_eq!(w["status"], "online", "{w}");
    assert_eq!(w["dialogs"], json!([]), "{w}");
    assert!(w["seq"].is_u64(), "operator welcome without seq: {w}");

    let widget = Widget::connect(
        server,
        json!({"type": "hello", "line": "support", "client_id": "c1"}),
        enc,
    )
    .await;
    let w = &widget.welcome;
    assert_eq!(w["client_id"], "c1", "{w}");
    assert!(
        !field_str(w, "resume_token").is_empty(),
        "empty resume_token: {w}"
    );
    assert_eq!(w["line_name"], "Support", "{w}");
    assert_eq!(w["working_hours_open"], true, "{w}");
    assert!(w["dialog_id"].is_null(), "a new client has no dialog: {w}");
    (anna, widget)
}

/// Anna closes dialog `d`; the widget is asked for a rating and rates it; both sides get
/// the rating's outcome: anna the `rating`, both the `dialog_closed`.
async fn close_and_rate(anna: &mut Operator, widget: &mut Widget, d: u64) {
    anna.close_dialog(d).await;
    let (request, _) = widget.recv_until("rating_request").await;
    assert_eq!(request["dialog_id"], d, "{request}");
    let rated = widget
        .ack(json!({"type": "rate", "req": 3, "dialog_id": d, "score": "like"}))
        .await;
    assert_eq!(rated["req"], 3, "{rated}");
    let (rating, _) = anna.recv_until("rating").await;
    assert_eq!(rating["dialog_id"], d, "{rating}");
    assert_eq!(rating["score"], "like", "{rating}");
    let (closed, _) = widget.recv_until("dialog_closed").await;
    assert_eq!(closed["dialog_id"], d, "{closed}");
    assert!(closed["reason"].is_string(), "{closed}");
    let (closed, _) = anna
        .recv_where("dialog_closed", |f| {
            frame_type(f) == "dialog_closed" && f["dialog_id"] == d
        })
        .await;
    assert!(closed["reason"].is_string(), "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_conversation_in_json() {
    full_conversation(Enc::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_conversation_in_messagepack_is_answered_in_binary() {
    // Conn fails the test on any text frame on a MessagePack connection.
    full_conversation(Enc::MsgPack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_greeting_answers_the_first_message_only_as_a_system_message() {
    let greeting = "Hello! An operator will answer shortly.";
    let config = Config::new().operators(&["anna"]).line(
        line("support", "strict", &["anna"], "60s")
            .section(&format!("[lines.auto]\ngreeting_text = \"{greeting}\"")),
    );
    let server = Server::start("greeting", &config);
    let mut widget = Widget::join(&server, "support", "c1").await;
    let ack = widget.say("m1", "hi").await;
    let d = field_u64(&ack, "dialog_id");
    let (hello, _) = widget
        .recv_where("the greeting", |f| {
            frame_type(f) == "message" && f["text"] == greeting
        })
        .await;
    assert_eq!(hello["author"], "system", "{hello}");
    assert_eq!(hello["dialog_id"], d, "{hello}");
    assert_ne!(
        hello["seq"], ack["seq"],
        "greeting shares the client's seq: {hello}"
    );

    widget.say("m2", "are you there?").await;
    widget
        .assert_none_within(QUIET, "a second greeting", |f| {
            frame_type(f) == "message" && f["text"] == greeting
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_previews_are_coalesced_and_operator_typing_reaches_the_widget() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "60s").top("typing_preview = true"));
    let server = Server::start("typing", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;

    let newest_seq = |log: &[Value]| log.iter().filter_map(|f| f["seq"].as_u64()).max();
    let before_typing = newest_seq(&anna.conn.log).expect("numbered events so far");
    let drafts = ["h", "he", "hel", "hell", "hello"];
    let started = Instant::now();
    for draft in drafts {
        widget.send(json!({"type": "typing", "text": draft})).await;
    }
    let span = started.elapsed();
    let (first, _) = anna
        .recv_where_within("a typing_preview", Duration::from_secs(1), |f| {
            frame_type(f) == "typing_preview"
        })
        .await;
    assert_eq!(first["dialog_id"], d, "{first}");
    let mut previews = vec![first];
    previews.extend(
        anna.gather(Duration::from_millis(900))
            .await
            .into_iter()
            .filter(|f| frame_type(f) == "typing_preview"),
    );
    assert_eq!(
        previews.last().unwrap()["text"],
        "hello",
        "the latest draft must win: {previews:?}"
    );
    // At most one per 100 ms: the drafts took `span`, plus a leading and a trailing preview.
    let allowed = (span.as_millis() / 100) as usize + 2;
    assert!(
        previews.len() <= allowed.min(drafts.len() - 1),
        "{} previews for {} drafts sent in {span:?}: {previews:?}",
        previews.len(),
        drafts.len()
    );
    // Previews are ephemeral: they carry the current seq without taking a number (nor a place
    // in the resume buffer), so the next event follows the last one before the typing
    for preview in &previews {
        assert_eq!(preview["seq"], before_typing, "{preview}");
    }
    widget.say("m2", "hello").await;
    let (message, _) = anna.recv_until("message").await;
    assert_eq!(message["seq"], before_typing + 1, "{message}");

    anna.send(json!({"type": "typing", "dialog_id": d})).await;
    let (typing, _) = widget.recv_until("operator_typing").await;
    assert_eq!(typing["dialog_id"], d, "{typing}");
    assert!(
        of_type(&widget.log, "typing_preview").is_empty(),
        "a widget got a typing preview"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_widget_gets_exactly_the_messages_it_missed() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = Server::start("widget-resume", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c9").await;
    let resume_token = widget.resume_token();
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    anna.say(d, "o1", "one").await;
    anna.say(d, "o2", "two").await;
    widget.operator_said("one").await;
    let last_seq = field_u64(&widget.operator_said("two").await, "seq");
    widget.conn.disconnect().await;

    let three = anna.say(d, "o3", "three").await;
    let three_seq = field_u64(&three, "dialog_seq");
    assert!(three_seq > last_seq);

    let mut widget = Widget::connect(
        &server,
        json!({
            "type": "hello",
            "line": "support",
            "resume_token": resume_token,
            "last_seq": last_seq
        }),
        Enc::Json,
    )
    .await;
    assert_eq!(widget.welcome["client_id"], "c9", "{}", widget.welcome);
    assert_eq!(widget.welcome["dialog_id"], d, "{}", widget.welcome);
    let again = widget.operator_said("three").await;
    assert_eq!(again["seq"], three_seq, "{again}");
    assert_eq!(again["msg_id"], three["msg_id"], "{again}");
    let rest = widget.gather(QUIET).await;
    let messages: Vec<&Value> = widget
        .log
        .iter()
        .filter(|f| frame_type(f) == "message")
        .collect();
    assert_eq!(
        messages.len(),
        1,
        "exactly the missed message, once; got {messages:?} (then {rest:?})"
    );

    // The dialog continues on the resumed connection.
    let ack = widget.say("m2", "back again").await;
    assert_eq!(ack["dialog_id"], d, "{ack}");
    anna.client_said("back again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_operator_gets_the_events_it_missed_and_nothing_twice() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = Server::start("operator-resume", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    anna.assigned(d).await;
    widget.say("m2", "one").await;
    let last_seq = field_u64(&anna.client_said("one").await, "seq");
    anna.conn.disconnect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Written while anna is away: the dialog stays hers, the event waits for her.
    widget.say("m3", "two").await;

    let mut anna = Operator::connect_with(
        &server,
        "anna",
        json!({"type": "hello", "token": token("anna"), "last_seq": last_seq}),
        Enc::Json,
    )
    .await;
    let listed = anna.welcome["dialogs"]
        .as_array()
        .unwrap_or_else(|| panic!("welcome without dialogs: {}", anna.welcome));
    assert!(
        listed.iter().any(|s| s["dialog_id"] == d),
        "the held dialog is not in welcome.dialogs: {}",
        anna.welcome
    );
    let two = anna.client_said("two").await;
    assert_eq!(two["dialog_id"], d, "{two}");
    anna.gather(QUIET).await;
    for frame in anna.log.iter().skip(1) {
        let seq = field_u64(frame, "seq");
        assert!(
            seq > last_seq,
            "replayed an event at or before last_seq {last_seq}: {frame}"
        );
    }
    let texts: Vec<&Value> = anna
        .log
        .iter()
        .filter(|f| frame_type(f) == "message")
        .map(|f| &f["text"])
        .collect();
    assert_eq!(texts, vec!["two"], "missed messages, once: {:?}", anna.log);
    let seqs: HashSet<u64> = anna
        .log
        .iter()
        .skip(1)
        .map(|f| field_u64(f, "seq"))
        .collect();
    assert_eq!(
        seqs.len(),
        anna.log.len() - 1,
        "an event came twice: {:?}",
        anna.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_client_msg_id_gets_the_same_ack_and_is_delivered_once() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = Server::start("idempotency", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;

    let first = widget.say("dup-1", "hi").await;
    let retry = widget.say("dup-1", "hi").await;
    let d = field_u64(&first, "dialog_id");
    for key in ["dialog_id", "msg_id", "seq"] {
        assert_eq!(first[key], retry[key], "{key}: {first} vs {retry}");
    }
    assert_ne!(first["req"], retry["req"], "each ack repeats its own req");
    let offer = anna.offered(d).await;
    let his = offer["last_messages"]
        .as_array()
        .expect("last_messages")
        .iter()
        .filter(|m| m["text"] == "hi")
        .count();
    assert_eq!(his, 1, "the retried message is stored twice: {offer}");

    anna.accept(d).await;
    let first = widget.say("dup-2", "again").await;
    let retry = widget.say("dup-2", "again").await;
    assert_eq!(first["msg_id"], retry["msg_id"], "{first} vs {retry}");
    assert_eq!(first["seq"], retry["seq"], "{first} vs {retry}");
    anna.client_said("again").await;
    anna.gather(QUIET).await;
    let delivered = anna
        .log
        .iter()
        .filter(|f| is_message_with_text(f, "again"))
        .count();
    assert_eq!(
        delivered, 1,
        "operator got the retried message {delivered} times"
    );

    // A new client_msg_id is a new message.
    let next = widget.say("dup-3", "again").await;
    assert_ne!(next["msg_id"], first["msg_id"], "{next}");
    assert!(field_u64(&next, "seq") > field_u64(&first, "seq"), "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_widgets_with_1001_and_exits_0() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let mut server = Server::start("shutdown", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.say("m1", "hi").await;

    server.terminate();
    assert_eq!(widget.expect_close().await, Some(1001), "widget close code");
    assert_eq!(anna.expect_close().await, Some(1001), "operator close code");
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server did not exit within 10 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "exit status {status}");
}
