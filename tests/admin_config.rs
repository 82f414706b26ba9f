//! Lines, operators and quick answers changed at run time through the admin API, end to end:
//! a change applies to live routing at once (a member added to a queue gets the waiting dialog,
//! a new operator can log in and take a new line, a deleted line closes its dialogs), survives a
//! SIGKILL, and every bad request gets a 4xx naming the field.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna", "boris"])
        .operator_raw("id = \"robo\"\nname = \"Robo\"\ntoken = \"robo-token\"\nbot = true")
        .line(line("support", "strict", &["anna"], "1m"))
        .line(line("bots", "strict", &["anna"], "1m").section(
            "[lines.bot]\noperator = \"robo\"\nwhen = \"every_dialog\"\nhandoff_after = \"1m\"",
        ))
        .raw("[[quick_answers]]\nid = \"general\"\nitems = [\"Hello!\"]")
}

fn support_with(members: &[&str]) -> Value {
    json!({
        "name": "Support",
        "channels": ["online_chat"],
        "queue": {"mode": "strict", "members": members, "transfer_after": "1m"}
    })
}

/// Sends a widget `hello` for `line` and returns the first frame back.
async fn hello_answer(server: &Server, line: &str) -> Value {
    let mut conn = Conn::open(server, "/ws/widget", Enc::Json, "widget probe").await;
    conn.send(json!({"type": "hello", "line": line, "client_id": "probe"}))
        .await;
    conn.next().await
}

/// Sends an operator `hello` with `token` and returns the first frame back.
async fn operator_hello(server: &Server, token: &str) -> Value {
    let mut conn = Conn::open(server, "/ws/operator", Enc::Json, "operator probe").await;
    conn.send(json!({"type": "hello", "token": token})).await;
    conn.next().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_apply_to_live_routing_at_once_and_survive_a_restart() {
    let mut server = Server::start("admin-config", &config());
    let http = Http::admin(&server);
    // boris is online but not on the line: the dialog waits (anna is not connected).
    let mut boris = Operator::connect(&server, "boris").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hello?").await, "dialog_id");
    boris
        .assert_none_within(
            Duration::from_millis(300),
            "no offer to a non-member",
            |f| frame_type(f) == "dialog_offered",
        )
        .await;

    // Adding boris to the queue offers him the waiting dialog at once.
    let put = http
        .put("/api/v1/lines/support", &support_with(&["anna", "boris"]))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        put.body["queue"]["members"],
        json!(["anna", "boris"]),
        "{}",
        put.text
    );
    boris.offered(d).await;
    let shown = http.get_ok("/api/v1/lines/support").await;
    assert_eq!(
        shown["queue"]["members"],
        json!(["anna", "boris"]),
        "{shown}"
    );

    // A new operator can log in, and a new line routes to them.
    let (carl, mut buyer, s) = new_operator_takes_a_new_line(&server, &http).await;

    // Deleting the line closes its dialog and refuses new widgets.
    let deleted = http.delete("/api/v1/lines/sales").await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let (closed, _) = buyer.recv_until("dialog_closed").await;
    assert_eq!(closed["reason"], "line_deleted", "{closed}");
    assert_error(&hello_answer(&server, "sales").await, "not_found");
    let refused = buyer
        .conn
        .request(json!({"type": "message", "client_msg_id": "b2", "text": "hello?"}))
        .await;
    assert_error(&refused, "not_found");
    http.get("/api/v1/lines/sales")
        .await
        .assert_error(404, "not_found", "sales");
    let after = http.get_ok(&format!("/api/v1/dialogs/{s}")).await;
    assert_eq!(after["close_reason"], "line_deleted", "{after}");

    // Deleting an operator removes them from queues, closes their connected client with 1008
    // and their token stops working.
    let gone = http.delete("/api/v1/operators/boris").await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert_eq!(boris.conn.expect_close().await, Some(1008));
    let support = http.get_ok("/api/v1/lines/support").await;
    assert_eq!(support["queue"]["members"], json!(["anna"]), "{support}");
    assert_error(
        &operator_hello(&server, &token("boris")).await,
        "unauthorized",
    );

    // Quick answers.
    let list = http.get_ok("/api/v1/quick-answers/general").await;
    assert_eq!(list["items"][0]["text"], "Hello!", "{list}");
    let put = http
        .put(
            "/api/v1/quick-answers/general",
            &json!({"items": ["Hi there", "Bye"]}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["items"][1]["text"], "Bye", "{}", put.text);

    // Everything is durable.
    drop((boris, widget, carl, buyer));
    server.kill9();
    server.restart();
    assert_changes_kept(&server).await;
}

/// A new operator, carl, can log in, and a new line, sales, routes to him: carl, the buyer
/// widget on sales and its dialog.
async fn new_operator_takes_a_new_line(server: &Server, http: &Http) -> (Operator, Widget, u64) {
    let created = http
        .put(
            "/api/v1/operators/carl",
            &json!({"name": "Carl", "token": "carl-token", "capacity": 2}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(
        created.body.get("token").is_none_or(Value::is_null),
        "{}",
        created.text
    );
    assert_eq!(
        created.body["token_sha256"].as_str().map(str::len),
        Some(64)
    );
    let mut carl = Operator::connect_with(
        server,
        "carl",
        json!({"type": "hello", "token": "carl-token"}),
        Enc::Json,
    )
    .await;
    assert_eq!(carl.welcome["operator_id"], "carl", "{}", carl.welcome);
    let sales = http
        .put(
            "/api/v1/lines/sales",
            &json!({"name": "Sales", "queue": {"mode": "even", "members": ["carl"], "transfer_after": "1m"}}),
        )
        .await;
    assert_eq!(sales.status, 201, "{}", sales.text);
    let mut buyer = Widget::join(server, "sales", "buyer").await;
    let s = field_u64(&buyer.say("b1", "a price?").await, "dialog_id");
    carl.offered(s).await;
    let listed = http.get_ok("/api/v1/lines").await;
    let ids: Vec<&str> = listed["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert_eq!(ids, ["support", "bots", "sales"], "{listed}");
    (carl, buyer, s)
}

/// After the restart: every change that the live-routing test made is still there.
async fn assert_changes_kept(server: &Server) {
    let http = Http::admin(server);
    let support = http.get_ok("/api/v1/lines/support").await;
    assert_eq!(support["queue"]["members"], json!(["anna"]), "{support}");
    http.get("/api/v1/lines/sales")
        .await
        .assert_error(404, "not_found", "sales");
    http.get("/api/v1/operators/boris")
        .await
        .assert_error(404, "not_found", "boris");
    let carl = http.get_ok("/api/v1/operators/carl").await;
    assert_eq!(carl["capacity"], 2, "{carl}");
    let carl_again = operator_hello(server, "carl-token").await;
    assert_eq!(frame_type(&carl_again), "welcome", "{carl_again}");
    let list = http.get_ok("/api/v1/quick-answers/general").await;
    assert_eq!(list["items"][0]["text"], "Hi there", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_changes_get_clear_errors_naming_the_field_and_change_nothing() {
    let server = Server::start("admin-config-errors", &config());
    let http = Http::admin(&server);
    let path = "/api/v1/lines/support";
    http.send("PUT", path, Some("{\"name\": "))
        .await
        .assert_error(400, "bad_json", "line 1");
    let mut wrong_type = support_with(&["anna"]);
    wrong_type["queue"]["mode"] = json!("fastest");
    http.put(path, &wrong_type)
        .await
        .assert_error(422, "invalid", "queue.mode");
    let mut unknown_key = support_with(&["anna"]);
    unknown_key["colour"] = json!("red");
    http.put(path, &unknown_key)
        .await
        .assert_error(422, "invalid", "colour");
    http.put(path, &support_with(&["anna", "zed"]))
        .await
        .assert_error(422, "invalid", "zed");
    let mut other_id = support_with(&["anna"]);
    other_id["id"] = json!("sales");
    http.put(path, &other_id)
        .await
        .assert_error(422, "invalid", "id");
    http.put("/api/v1/operators/dora", &json!({"name": 5}))
        .await
        .assert_error(422, "invalid", "name");
    http.delete("/api/v1/lines/nowhere")
        .await
        .assert_error(404, "not_found", "nowhere");
    http.delete("/api/v1/operators/zed")
        .await
        .assert_error(404, "not_found", "zed");
    http.delete("/api/v1/operators/robo")
        .await
        .assert_error(409, "conflict", "bots");
    http.put("/api/v1/quick-answers/general", &json!({"items": "Hi"}))
        .await
        .assert_error(422, "invalid", "items");
    http.get("/api/v1/quick-answers/none")
        .await
        .assert_error(404, "not_found", "none");
    http.send("POST", path, Some("{}"))
        .await
        .assert_error(405, "method_not_allowed", "method");
    Http::with_token(&server, None)
        .put(path, &support_with(&["anna", "boris"]))
        .await
        .assert_error(401, "unauthorized", "Bearer");
    // Nothing changed.
    let support = http.get_ok(path).await;
    assert_eq!(support["queue"]["members"], json!(["anna"]), "{support}");
    assert_eq!(support["queue"]["mode"], "strict", "{support}");
    let ops = http.get_ok("/api/v1/operators").await;
    assert_eq!(ops["operators"].as_array().map(Vec::len), Some(3), "{ops}");
}
