//! Limits and the less common operator requests, end to end: the connection cap answers 1013,
//! a widget flooding typing drafts reaches its shard at most once per preview window,
//! a consumer whose outbound queue overflows is closed with 4000 and loses nothing on resume,
//! and history, workday, transfer to another line, supervisor rating, durable quick answers and
//! consent answers work over the wire.

mod common;

use common::*;
use serde_json::json;
use std::collections::HashSet;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_connections_max_a_new_connection_is_closed_with_1013() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m"))
        .limit("connections_max", "2");
    let server = Server::start("conn-cap", &config);
    let first = Widget::join(&server, "support", "c1").await;
    let _second = Widget::join(&server, "support", "c2").await;
    let mut third = Conn::open(&server, "/ws/widget", Enc::Json, "third widget").await;
    assert_eq!(third.expect_close().await, Some(1013));
    first.conn.disconnect().await;
    // The freed slot takes a new connection again.
    let mut fourth = None;
    for _ in 0..50 {
        let mut conn = Conn::open(&server, "/ws/widget", Enc::Json, "fourth widget").await;
        conn.send(json!({"type": "hello", "line": "support", "client_id": "c4"}))
            .await;
        let frame = conn
            .try_recv_where(std::time::Duration::from_millis(500), |f| {
                frame_type(f) == "welcome"
            })
            .await;
        if frame.is_some() {
            fourth = Some(conn);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(fourth.is_some(), "a connection slot was never freed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_operator_is_closed_with_4000_and_resumes_without_loss() {
    const DIALOGS: usize = 80;
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "all", &["anna"], "10m"))
        .limit("outbound_frames_max", "1");
    let server = Server::start("slow-consumer", &config);
    let mut widgets = Vec::new();
    let mut dialogs = HashSet::new();
    for i in 0..DIALOGS {
        let mut widget = Widget::join(&server, "support", &format!("c{i}")).await;
        dialogs.insert(field_u64(&widget.say("m", "hello").await, "dialog_id"));
        widgets.push(widget);
    }
    // Anna comes online: every waiting dialog is offered to her at once, faster than a queue
    // of one frame drains.
    let mut anna = Operator::connect(&server, "anna").await;
    assert_eq!(anna.expect_close().await, Some(4000));
    let mut seen: Vec<u64> = Vec::new();
    let mut last_seq = field_u64(&anna.welcome, "seq");
    let frames: Vec<serde_json::Value> = anna.conn.inbox.drain(..).collect();
    for frame in frames.iter().filter(|f| frame_type(f) == "dialog_offered") {
        seen.push(field_u64(frame, "dialog_id"));
        last_seq = field_u64(frame, "seq");
    }
    let mut again = Operator::connect_with(
        &server,
        "anna",
        json!({"type": "hello", "token": token("anna"), "last_seq": last_seq}),
        Enc::Json,
    )
    .await;
    while seen.len() < DIALOGS {
        let (frame, _) = again
            .recv_where("dialog_offered", |f| frame_type(f) == "dialog_offered")
            .await;
        assert!(
            field_u64(&frame, "seq") > last_seq,
            "replayed an event already received: {frame}"
        );
        last_seq = field_u64(&frame, "seq");
        seen.push(field_u64(&frame, "dialog_id"));
    }
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an offer arrived twice");
    assert_eq!(
        unique, dialogs,
        "every dialog was offered exactly once across both connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_workday_transfer_to_a_line_and_supervisor_rating() {
    let config = Config::new()
        .operators(&["anna", "boris"])
        .operator_raw("id = \"dana\"\nname = \"Dana\"\ntoken = \"dana-token\"\nsupervisor = true")
        .line(line("support", "strict", &["anna"], "1m").queue("workday_tracking = true"))
        .line(line("sales", "strict", &["boris"], "1m"));
    let server = Server::start("requests", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut boris = Operator::connect(&server, "boris").await;
    let mut dana = Operator::connect(&server, "dana").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "first").await, "dialog_id");
    widget.say("m2", "second").await;
    // With workday tracking, being online is not enough.
    anna.assert_none_within(
        std::time::Duration::from_millis(300),
        "no offer before the workday",
        |f| frame_type(f) == "dialog_offered",
    )
    .await;
    anna.ack(json!({"type": "workday", "action": "start"}))
        .await;
    anna.offered(d).await;
    anna.accept(d).await;
    let page = anna
        .request(json!({"type": "history", "dialog_id": d, "limit": 1}))
        .await;
    assert_eq!(frame_type(&page), "history", "{page}");
    let messages = page["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0]["text"], "second",
        "the newest page comes first: {page}"
    );
    let older = anna
        .request(json!({"type": "history", "dialog_id": d, "before_seq": field_u64(&messages[0], "seq")}))
        .await;
    assert_eq!(older["messages"][0]["text"], "first", "{older}");
    let refused = boris
        .request(json!({"type": "history", "dialog_id": d}))
        .await;
    assert_error(&refused, "forbidden");

    let score = dana
        .request(json!({"type": "supervisor_rate", "dialog_id": d, "score": 4}))
        .await;
    assert_eq!(frame_type(&score), "ack", "a supervisor rates: {score}");
    let refused = anna
        .request(json!({"type": "supervisor_rate", "dialog_id": d, "score": 4}))
        .await;
    assert_error(&refused, "forbidden");
    let bad = dana
        .request(json!({"type": "supervisor_rate", "dialog_id": d, "score": 9}))
        .await;
    assert_error(&bad, "bad_frame");

    let moved = anna
        .request(json!({"type": "transfer", "dialog_id": d, "to_line": "sales"}))
        .await;
    assert_eq!(frame_type(&moved), "ack", "{moved}");
    anna.revoked(d).await;
    boris.offered(d).await;
    boris.accept(d).await;
    boris.say(d, "b1", "sales here").await;
    widget.operator_said("sales here").await;
    let unknown = boris
        .request(json!({"type": "transfer", "dialog_id": d, "to_line": "nowhere"}))
        .await;
    assert_error(&unknown, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_answers_are_served_and_saved_per_line_list() {
    let config = Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m").top("quick_answers = \"canned\""))
        .raw("[[quick_answers]]\nid = \"canned\"\nitems = [\"Thanks for waiting!\", \"What is your order number?\"]");
    let mut server = Server::start("quick-answers", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let list = anna.request(json!({"type": "quick_answers"})).await;
    assert_eq!(frame_type(&list), "quick_answers", "{list}");
    let texts: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        vec!["Thanks for waiting!", "What is your order number?"]
    );
    anna.ack(json!({"type": "save_quick_answer", "text": "Anything else?"}))
        .await;
    let list = anna.request(json!({"type": "quick_answers"})).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    assert_eq!(list["items"][2]["text"], "Anything else?");

    // Acknowledged means durable: the saved answer survives kill -9, and the next one is
    // numbered after it
    drop(anna);
    server.kill9();
    server.restart();
    let mut anna = Operator::connect(&server, "anna").await;
    anna.ack(json!({"type": "save_quick_answer", "text": "Have a nice day!"}))
        .await;
    let list = anna.request(json!({"type": "quick_answers"})).await;
    let items: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        items,
        vec![
            ("canned-1", "Thanks for waiting!"),
            ("canned-2", "What is your order number?"),
            ("canned-3", "Anything else?"),
            ("canned-4", "Have a nice day!"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_consent_comes_first_and_gates_routing_until_accepted() {
    let config = Config::new().operators(&["anna"]).line(
        line("support", "strict", &["anna"], "1m").section(
            "[lines.consent]\ntext = \"We store your data.\"\nversion = 3\nrequired = true",
        ),
    );
    let server = Server::start("consent", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let request = widget.expect("consent_request").await;
    assert_eq!(request["text"], "We store your data.");
    assert_eq!(request["version"], 3);
    let refused = widget
        .request(json!({"type": "message", "client_msg_id": "m1", "text": "hi"}))
        .await;
    assert_error(&refused, "consent_required");
    anna.assert_none_within(
        std::time::Duration::from_millis(300),
        "no offer before consent",
        |f| frame_type(f) == "dialog_offered",
    )
    .await;
    widget
        .ack(json!({"type": "consent", "accepted": true, "version": 3}))
        .await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_answers_are_stored_survive_kill_9_and_are_listed_per_line() {
    let config = Config::new()
        .admin()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "1m").section(
            "[lines.consent]\ntext = \"We store your data.\"\nversion = 3\nrequired = true",
        ))
        .line(line("sales", "strict", &["anna"], "1m"));
    let mut server = Server::start("consent-stored", &config);
    let mut tokens = Vec::new();
    for (client, accepted) in [("c1", true), ("c2", false)] {
        let mut widget = Widget::join(&server, "support", client).await;
        widget.expect("consent_request").await;
        widget
            .ack(json!({"type": "consent", "accepted": accepted}))
            .await;
        tokens.push(widget.resume_token());
    }
    // The same browsers come back with their resume tokens.
    let returning =
        |token: &str| json!({"type": "hello", "line": "support", "resume_token": token});

    // Acknowledged means durable
    server.kill9();
    server.restart();
    let mut anna = Operator::connect(&server, "anna").await;
    // c1 accepted version 3 before: not asked again, and routed at once
    let mut c1 = Widget::connect(&server, returning(&tokens[0]), Enc::Json).await;
    assert_eq!(c1.client_id(), "c1");
    let d = field_u64(&c1.say("m1", "hi again").await, "dialog_id");
    anna.offered(d).await;
    // c2 declined: asked again, and still held back
    let mut c2 = Widget::connect(&server, returning(&tokens[1]), Enc::Json).await;
    assert_eq!(c2.expect("consent_request").await["version"], 3);
    let refused = c2
        .request(json!({"type": "message", "client_msg_id": "m1", "text": "hi"}))
        .await;
    assert_error(&refused, "consent_required");
    // A client never asked is asked
    let mut c3 = Widget::join(&server, "support", "c3").await;
    c3.expect("consent_request").await;

    let http = Http::admin(&server);
    let page = http.get_ok("/api/v1/consents?line=support").await;
    let rows: Vec<(&str, &str, u64, bool)> = page["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(
                c["answered_ts"].as_i64().unwrap() > 1_600_000_000_000,
                "{c}"
            );
            (
                c["line"].as_str().unwrap(),
                c["client_id"].as_str().unwrap(),
                c["version"].as_u64().unwrap(),
                c["accepted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("support", "c1", 3, true), ("support", "c2", 3, false)]
    );
    assert!(page.get("next_after").is_none(), "{page}");
    // Paged one at a time
    let first = http.get_ok("/api/v1/consents?line=support&limit=1").await;
    assert_eq!(first["consents"][0]["client_id"], "c1");
    assert_eq!(first["next_after"], "c1");
    let second = http
        .get_ok("/api/v1/consents?line=support&limit=1&after=c1")
        .await;
    assert_eq!(second["consents"][0]["client_id"], "c2");
    assert!(second.get("next_after").is_none(), "{second}");
    // Another line has none
    let none = http.get_ok("/api/v1/consents?line=sales").await;
    assert_eq!(none["consents"], json!([]));
    // Mistakes name what was wrong
    http.get("/api/v1/consents")
        .await
        .assert_error(400, "bad_request", "`line`");
    http.get("/api/v1/consents?line=nowhere")
        .await
        .assert_error(404, "not_found", "nowhere");
    http.get("/api/v1/consents?line=support&limit=0")
        .await
        .assert_error(400, "bad_request", "`limit`");
    http.get("/api/v1/consents?line=support&colour=red")
        .await
        .assert_error(400, "bad_request", "colour");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_dialogs_history_is_served_from_the_store_to_supervisors_and_its_operator() {
    let config = Config::new()
        .operators(&["anna", "boris"])
        .operator_raw("id = \"dana\"\nname = \"Dana\"\ntoken = \"dana-token\"\nsupervisor = true")
        .line(line("support", "strict", &["anna"], "1m"));
    let server = Server::start("closed-history", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut dana = Operator::connect(&server, "dana").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "question").await, "dialog_id");
    anna.offered(d).await;
    anna.say(d, "a1", "answer").await;
    anna.close_dialog(d).await;
    let page = dana
        .request(json!({"type": "history", "dialog_id": d}))
        .await;
    assert_eq!(frame_type(&page), "history", "{page}");
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["question", "answer"]);
    let newest = dana
        .request(json!({"type": "history", "dialog_id": d, "limit": 1}))
        .await;
    assert_eq!(newest["messages"][0]["text"], "answer", "{newest}");
    let own = anna
        .request(json!({"type": "history", "dialog_id": d}))
        .await;
    assert_eq!(own["messages"][1]["text"], "answer", "{own}");
    let mut boris = Operator::connect(&server, "boris").await;
    let refused = boris
        .request(json!({"type": "history", "dialog_id": d}))
        .await;
    assert_error(&refused, "forbidden");
}

/// Shard passes so far: every request a shard task handled counts once in the server's
/// `dispatch_us` histogram.
async fn shard_passes(http: &Http) -> u64 {
    let stats = http.get_ok("/api/v1/stats").await;
    stats["server"]["dispatch_us"]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("no dispatch count in {stats}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_flooding_drafts_reaches_its_shard_at_most_once_per_preview_window() {
    let config = Config::new()
        .admin()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "60s").top("typing_preview = true"));
    let server = Server::start("draft-flood", &config);
    let http = Http::admin(&server);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hi").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;

    let before = shard_passes(&http).await;
    const DRAFTS: usize = 200;
    let started = Instant::now();
    for i in 0..DRAFTS {
        widget
            .send(json!({"type": "typing", "text": format!("draft {i}")}))
            .await;
    }
    let span = started.elapsed();
    // The newest draft still reaches the operator (once its window comes)
    let last = format!("draft {}", DRAFTS - 1);
    anna.recv_where("the newest draft's preview", |f| {
        frame_type(f) == "typing_preview" && f["text"] == last.as_str()
    })
    .await;
    let passes = shard_passes(&http).await - before;
    // One draft per 100 ms started, plus the trailing one, plus the stats requests' own passes
    // (one per shard each)
    let allowed = span.as_millis() as u64 / 100 + 2 + 4;
    assert!(
        passes <= allowed,
        "{DRAFTS} drafts in {span:?} took {passes} shard passes (at most {allowed})"
    );
}
