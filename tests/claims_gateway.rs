//! Claims of docs/protocol.md and docs/configuration.md that no other test covered, end to end
//! against the real binary over real WebSockets (issue 17, "Untested claims"): what a widget sees
//! of its operator under `operator_display = "override"` and `"hidden"` (`welcome.operator`,
//! `operator_joined`, message names); `auth_timeout` (close 1008); `handshakes_in_flight_max`
//! (close 1013); an unknown or foreign `resume_token` (`error unauthorized`, close 1008);
//! `line_inactive` on the wire; an operator's retried `client_msg_id` (same ack, stored once,
//! also after a SIGKILL); the `client_returned` and `rating_timeout` closes; and a line's `lang`
//! choosing the built-in text a client gets.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Resumes `widget`'s client with its token and returns the new widget (its `welcome` read).
async fn resume(server: &Server, line: &str, widget: &Widget) -> Widget {
    Widget::connect(
        server,
        json!({"type": "hello", "line": line, "resume_token": widget.resume_token()}),
        Enc::Json,
    )
    .await
}

/// Client `client` opens a dialog on `line`, `op` (alone on the line) accepts it; the dialog id.
async fn accepted(server: &Server, op: &mut Operator, line: &str, client: &str) -> (Widget, u64) {
    let mut widget = Widget::join(server, line, client).await;
    let d = field_u64(&widget.say("m1", "hello").await, "dialog_id");
    op.offered(d).await;
    op.accept(d).await;
    op.assigned(d).await;
    (widget, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_display_override_shows_the_lines_values_and_only_a_name_without_one() {
    let config = Config::new()
        .operator_raw(
            "id = \"anna\"\nname = \"Anna\"\ntoken = \"anna-token\"\ntitle = \"Senior agent\"\navatar = \"https://img.example/anna.png\"",
        )
        .operator_raw(
            "id = \"boris\"\nname = \"Boris\"\ntoken = \"boris-token\"\ntitle = \"Night shift\"\navatar = \"https://img.example/boris.png\"",
        )
        .line(
            line("support", "strict", &["anna"], "1m")
                .top("operator_display = \"override\"")
                .top("display_overrides.anna = { name = \"Alex\", title = \"Support\" }"),
        );
    let server = Server::start("display-override", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;

    let (joined, _) = widget.recv_until("operator_joined").await;
    assert_eq!(joined["dialog_id"], d, "{joined}");
    assert_eq!(
        joined["operator"],
        json!({"name": "Alex", "title": "Support"}),
        "the line's override, not anna's profile: {joined}"
    );
    anna.say(d, "o1", "Hi, Alex here").await;
    let said = widget.operator_said("Hi, Alex here").await;
    assert_eq!(said["name"], "Alex", "{said}");

    let again = resume(&server, "support", &widget).await;
    assert_eq!(again.welcome["dialog_id"], d, "{}", again.welcome);
    assert_eq!(
        again.welcome["operator"],
        json!({"name": "Alex", "title": "Support"}),
        "{}",
        again.welcome
    );
    again.conn.disconnect().await;

    // Boris has no override on this line: the widget sees his name only, not his profile.
    anna.ack(json!({"type": "transfer", "dialog_id": d, "to_operator": "boris"}))
        .await;
    boris.assigned(d).await;
    let (joined, _) = widget
        .recv_where("operator_joined for boris", |f| {
            frame_type(f) == "operator_joined" && f["operator"]["name"] != "Alex"
        })
        .await;
    assert_eq!(joined["operator"], json!({"name": "Boris"}), "{joined}");
    boris.say(d, "o1", "Boris now").await;
    let said = widget.operator_said("Boris now").await;
    assert_eq!(said["name"], "Boris", "{said}");
    let again = resume(&server, "support", &widget).await;
    assert_eq!(
        again.welcome["operator"],
        json!({"name": "Boris"}),
        "{}",
        again.welcome
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_display_hidden_shows_the_widget_no_operator_at_all() {
    let config = Config::new()
        .operator_raw(
            "id = \"anna\"\nname = \"Anna\"\ntoken = \"anna-token\"\ntitle = \"Senior agent\"",
        )
        .line(line("support", "strict", &["anna"], "1m").top("operator_display = \"hidden\""));
    let server = Server::start("display-hidden", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;

    let (joined, _) = widget.recv_until("operator_joined").await;
    assert_eq!(joined["dialog_id"], d, "{joined}");
    assert!(joined["operator"].is_null(), "hidden: {joined}");
    anna.say(d, "o1", "Hello from support").await;
    let said = widget.operator_said("Hello from support").await;
    assert!(said["name"].is_null(), "hidden: {said}");
    assert!(
        !said.to_string().contains("Anna"),
        "the operator's name leaked: {said}"
    );

    let again = resume(&server, "support", &widget).await;
    assert_eq!(again.welcome["dialog_id"], d, "{}", again.welcome);
    assert!(
        again.welcome["operator"].is_null(),
        "hidden: {}",
        again.welcome
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hello_within_auth_timeout_closes_with_1008() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m"))
        .limit("auth_timeout", "\"1s\"");
    let server = Server::start("auth-timeout", &config);
    let opened = Instant::now();
    let mut widget = Conn::open(&server, "/ws/widget", Enc::Json, "silent widget").await;
    let mut operator = Conn::open(&server, "/ws/operator", Enc::Json, "silent operator").await;
    assert_eq!(widget.expect_close().await, Some(1008), "{:?}", widget.log);
    assert_eq!(
        operator.expect_close().await,
        Some(1008),
        "{:?}",
        operator.log
    );
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "closed before auth_timeout: {:?}",
        opened.elapsed()
    );
    assert!(widget.log.is_empty(), "{:?}", widget.log);
    // A client that says hello in time is served.
    assert_new_widget_welcomed_after_pause(&server).await;
}

/// A widget that waits half the auth timeout before its `hello` still gets its `welcome`.
async fn assert_new_widget_welcomed_after_pause(server: &Server) {
    let mut conn = Conn::open(server, "/ws/widget", Enc::Json, "slow widget").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    conn.send(json!({"type": "hello", "line": "support", "client_id": "slow"}))
        .await;
    let welcome = conn.expect("welcome").await;
    assert_eq!(welcome["client_id"], "slow", "{welcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_beyond_handshakes_in_flight_max_are_closed_with_1013() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m"))
        .limit("handshakes_in_flight_max", "1");
    let server = Server::start("handshakes", &config);
    // One at a time, never more than one upgrade is in flight: every one is served.
    for i in 0..3 {
        let widget = Widget::join(&server, "support", &format!("one-{i}")).await;
        assert_eq!(frame_type(&widget.welcome), "welcome");
        widget.conn.disconnect().await;
    }
    // Bursts of concurrent upgrades: some find another in flight and are closed with 1013.
    let mut refused = 0;
    let mut served = 0;
    for round in 0..10 {
        let mut tasks = Vec::new();
        for i in 0..32 {
            let url = server.ws_url("/ws/widget");
            tasks.push(tokio::spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .expect("the upgrade itself completes");
                use futures_util::{SinkExt, StreamExt};
                let hello = json!({"type": "hello", "line": "support", "client_id": format!("b{round}-{i}")});
                let _ = ws
                    .send(tokio_tungstenite::tungstenite::Message::text(
                        hello.to_string(),
                    ))
                    .await;
                match tokio::time::timeout(RECV_TIMEOUT, ws.next()).await {
                    Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f))))) => {
                        Some(u16::from(f.code))
                    }
                    Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                        assert!(t.as_str().contains("\"welcome\""), "{}", t.as_str());
                        None
                    }
                    other => panic!("neither welcome nor close: {other:?}"),
                }
            }));
        }
        for task in tasks {
            match task.await.expect("task") {
                Some(code) => {
                    assert_eq!(code, 1013, "refused with the wrong code");
                    refused += 1;
                }
                None => served += 1,
            }
        }
        if refused > 0 && served > 0 {
            break;
        }
    }
    assert!(served > 0, "no upgrade was served at all");
    assert!(
        refused > 0,
        "{served} concurrent upgrades were all served with handshakes_in_flight_max = 1"
    );
    // The limit does not stick: a lone upgrade is served afterwards.
    assert_new_widget_welcomed(&server, "support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_foreign_resume_token_gets_unauthorized_and_close_1008() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m"))
        .line(line("sales", "strict", &["anna"], "1m"));
    let server = Server::start("resume-token", &config);
    let mut conn = Conn::open(&server, "/ws/widget", Enc::Json, "forged token").await;
    conn.send(json!({"type": "hello", "req": 5, "line": "support", "resume_token": "0123456789abcdef0123456789abcdef"}))
        .await;
    let error = conn.next().await;
    assert_error(&error, "unauthorized");
    assert_eq!(conn.expect_close().await, Some(1008));

    // A real token, but issued on another line.
    let sales = Widget::join(&server, "sales", "c1").await;
    let mut conn = Conn::open(&server, "/ws/widget", Enc::Json, "foreign token").await;
    conn.send(json!({"type": "hello", "line": "support", "resume_token": sales.resume_token()}))
        .await;
    assert_error(&conn.next().await, "unauthorized");
    assert_eq!(conn.expect_close().await, Some(1008));
    // On its own line it works.
    let again = resume(&server, "sales", &sales).await;
    assert_eq!(again.welcome["client_id"], "c1", "{}", again.welcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_line_routes_but_operator_messages_get_line_inactive() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m").top("active = false"));
    let server = Server::start("line-inactive", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;
    let refused = anna
        .request(json!({"type": "message", "dialog_id": d, "client_msg_id": "o1", "text": "hi"}))
        .await;
    assert_error(&refused, "line_inactive");
    widget
        .assert_none_within(QUIET, "an operator message", |f| {
            is_message_with_text(f, "hi")
        })
        .await;
    // The client still reaches the operator.
    widget.say("m2", "anyone?").await;
    anna.client_said("anyone?").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_retried_client_msg_id_gets_the_same_ack_and_is_stored_once() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "1m"));
    let server = Server::start("operator-retry", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;

    let first = anna.say(d, "o-1", "Once only").await;
    let retry = anna.say(d, "o-1", "Once only").await;
    for key in ["dialog_id", "msg_id", "dialog_seq"] {
        assert_eq!(first[key], retry[key], "{key}: {first} vs {retry}");
    }
    assert_ne!(first["req"], retry["req"], "each ack repeats its own req");
    widget.operator_said("Once only").await;
    widget
        .assert_none_within(QUIET, "the retried message again", |f| {
            is_message_with_text(f, "Once only")
        })
        .await;
    let history = anna
        .request(json!({"type": "history", "dialog_id": d}))
        .await;
    let stored = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["text"] == "Once only")
        .count();
    assert_eq!(stored, 1, "stored {stored} times: {history}");
    // A new client_msg_id is a new message.
    let next = anna.say(d, "o-2", "Once only").await;
    assert!(
        field_u64(&next, "dialog_seq") > field_u64(&first, "dialog_seq"),
        "{next}"
    );
}

/// A line with rating on and this `rating_wait`.
fn rated(wait: &str) -> Config {
    Config::new().operators(&["anna"]).line(
        line("support", "strict", &["anna"], "1m")
            .section(&format!("[lines.auto]\nrating_wait = \"{wait}\""))
            .section("[lines.rating]\nenabled = true"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_writing_while_a_rating_is_awaited_closes_with_client_returned() {
    let server = Server::start("client-returned", &rated("1m"));
    let mut anna = Operator::connect(&server, "anna").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;
    anna.close_dialog(d).await;
    let (request, _) = widget.recv_until("rating_request").await;
    assert_eq!(request["dialog_id"], d, "{request}");

    let ack = widget.say("m2", "one more thing").await;
    let d2 = field_u64(&ack, "dialog_id");
    assert_ne!(d2, d, "the message starts a new dialog: {ack}");
    let (closed, _) = widget.recv_until("dialog_closed").await;
    assert_eq!(closed["dialog_id"], d, "{closed}");
    assert_eq!(closed["reason"], "client_returned", "{closed}");
    let (closed, _) = anna
        .recv_where("dialog_closed", |f| {
            frame_type(f) == "dialog_closed" && f["dialog_id"] == d
        })
        .await;
    assert_eq!(closed["reason"], "client_returned", "{closed}");
    let offer = anna.offered(d2).await;
    assert!(
        offer["last_messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["text"] == "one more thing")),
        "{offer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrated_dialog_closes_with_rating_timeout_when_the_wait_passes() {
    let server = Server::start("rating-timeout", &rated("1s"));
    let mut anna = Operator::connect(&server, "anna").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;
    anna.close_dialog(d).await;
    let asked = Instant::now();
    widget.recv_until("rating_request").await;
    let (closed, _) = widget.recv_until("dialog_closed").await;
    assert!(
        asked.elapsed() >= Duration::from_millis(700),
        "closed {:?} after the request, before the 1 s wait passed",
        asked.elapsed()
    );
    assert_eq!(closed["dialog_id"], d, "{closed}");
    assert_eq!(closed["reason"], "rating_timeout", "{closed}");
    let (closed, _) = anna
        .recv_where("dialog_closed", |f| {
            frame_type(f) == "dialog_closed" && f["dialog_id"] == d
        })
        .await;
    assert_eq!(closed["reason"], "rating_timeout", "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lines_lang_picks_the_built_in_text_the_client_gets() {
    let config = Config::new().operators(&["anna", "boris"]).line(
        line("support", "strict", &["anna", "boris"], "1m")
            .top("lang = \"de\"")
            .queue("reassign_on_offline = { after = \"1s\" }"),
    );
    let server = Server::start("lang-de", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let (mut widget, d) = accepted(&server, &mut anna, "support", "c1").await;
    let mut boris = Operator::connect(&server, "boris").await;
    anna.conn.disconnect().await;

    let (text, _) = widget
        .recv_where("the reassignment text", |f| {
            frame_type(f) == "message" && f["author"] == "system"
        })
        .await;
    assert_eq!(
        text["text"],
        "Ihr Berater ist nicht mehr erreichbar. Wir verbinden Sie mit einem Kollegen.",
        "the built-in text in the line's lang: {text}"
    );
    boris.offered(d).await;
}

/// The case a retry is for: the server went down around the ack. After a SIGKILL and a restart
/// the operator sends the same `client_msg_id` again and gets the same ack; the client's replay
/// holds the message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_retried_client_msg_id_after_kill_9_gets_the_same_ack() {
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "1m"));
    let mut server = Server::start("operator-retry-restart", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let (widget, d) = accepted(&server, &mut anna, "support", "c1").await;
    let first = anna.say(d, "o-1", "Before the crash").await;
    let token = widget.resume_token();
    drop((anna, widget));

    server.kill9();
    server.restart();
    let mut anna = Operator::connect(&server, "anna").await;
    let retry = anna.say(d, "o-1", "Before the crash").await;
    for key in ["dialog_id", "msg_id", "dialog_seq"] {
        assert_eq!(first[key], retry[key], "{key}: {first} vs {retry}");
    }
    let mut widget = Widget::connect(
        &server,
        json!({"type": "hello", "line": "support", "resume_token": token, "last_seq": 0}),
        Enc::Json,
    )
    .await;
    assert_eq!(widget.welcome["dialog_id"], d, "{}", widget.welcome);
    let replay = widget.gather(QUIET).await;
    let copies = replay
        .iter()
        .filter(|f| is_message_with_text(f, "Before the crash"))
        .count();
    assert_eq!(copies, 1, "replayed {copies} times: {replay:?}");
}
