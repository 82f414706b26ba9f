//! KPI figures, statistics and metrics through the real server: a scripted conversation with
//! known waits gives the dialog's response-time figures (over the admin API, durable across a
//! SIGKILL), the per-line and per-operator histograms of `/api/v1/stats`, and `/metrics` read
//! by a Prometheus text parser. A missed target is alerted once and recorded on the dialog.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Line `support` (strict, anna), with a 1 s first-response target told to supervisor dana.
fn config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna"])
        .operator_raw("id = \"dana\"\nname = \"Dana\"\ntoken = \"dana-token\"\nsupervisor = true")
        .line(line("support", "strict", &["anna"], "1m").section(
            "[lines.kpi.first_response]\ntarget = \"1s\"\nnotify = [\"dana\"]\n\
                 text = \"#OPERATOR# missed #DIALOG#\"",
        ))
}

/// The line or operator entry `id` of a `/stats` list.
fn entry<'a>(stats: &'a Value, list: &str, id: &str) -> &'a Value {
    stats[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {stats}"))
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}: {stats}"))
}

/// The sample of a parsed scrape with this name and these labels.
fn find<'a>(
    scrape: &'a prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> &'a prometheus_parse::Value {
    let found = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"));
    &found.value
}

/// A counter, gauge or untyped sample's value.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match find(scrape, name, labels) {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        other => panic!("{name} is not a single value: {other:?}"),
    }
}

/// A histogram's count (its `+Inf` bucket).
fn histogram_count(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> u64 {
    match find(scrape, name, labels) {
        prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0, |b| b.count as u64),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_conversation_gives_its_kpi_figures_stats_and_metrics() {
    let mut server = Server::start("kpi-figures", &config());
    let http = Http::admin(&server);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;

    // First wait: ≥ 400 ms until anna's first reply.
    let d = field_u64(&widget.say("m1", "hello?").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    anna.say(d, "o1", "Hi!").await;
    // Second wait: ≥ 200 ms.
    widget.say("m2", "one more thing").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    anna.say(d, "o2", "Sure.").await;

    let open = http.get_ok(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(open["state"], "active", "{open}");
    assert_eq!(open["operator"], "anna", "{open}");
    let kpi = &open["kpi"];
    let first = kpi["first_response_ms"]
        .as_u64()
        .expect("first_response_ms");
    assert!(
        (400..5_000).contains(&first),
        "first response {first} ms: {open}"
    );
    assert_eq!(kpi["responses"], 2, "{open}");
    let total = kpi["total_response_ms"].as_u64().unwrap();
    let max = kpi["max_response_ms"].as_u64().unwrap();
    assert!(
        total >= first + 200 && max == first.max(total - first),
        "{open}"
    );
    assert_eq!(kpi["average_response_ms"], total / 2, "{open}");
    assert_eq!(kpi["unanswered"], false, "{open}");
    let decisions = open["decisions"]
        .as_array()
        .expect("decisions of an open dialog");
    assert!(
        decisions
            .iter()
            .any(|x| x["text"].as_str().unwrap_or("").contains("anna")),
        "a decision naming anna: {open}"
    );

    anna.close_dialog(d).await;
    let closed = http.get_ok(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(closed["close_reason"], "operator", "{closed}");
    assert_eq!(closed["kpi"], open["kpi"], "figures at close: {closed}");
    let listed = http
        .get_ok("/api/v1/dialogs?state=closed&line=support")
        .await;
    assert!(
        listed["dialogs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == d),
        "{listed}"
    );
    let none = http.get_ok("/api/v1/dialogs?state=active").await;
    assert_eq!(none["dialogs"], json!([]), "{none}");
    let messages = http.get_ok(&format!("/api/v1/dialogs/{d}/messages")).await;
    let texts: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["hello?", "Hi!", "one more thing", "Sure."],
        "{messages}"
    );

    assert_stats_of_the_conversation(&http, first).await;
    assert_metrics_of_the_conversation(&server).await;

    // The dialog's figures are durable.
    drop((anna, widget));
    server.kill9();
    server.restart();
    let after = Http::admin(&server)
        .get_ok(&format!("/api/v1/dialogs/{d}"))
        .await;
    assert_eq!(after["kpi"], closed["kpi"], "after a restart: {after}");
    assert_eq!(after["state"], "closed", "{after}");
}

/// `/api/v1/stats` after the scripted conversation (two responses by anna, the first after
/// `first` ms, the dialog closed).
async fn assert_stats_of_the_conversation(http: &Http, first: u64) {
    let stats = http.get_ok("/api/v1/stats").await;
    let support = entry(&stats, "lines", "support");
    assert_eq!(support["response_ms"]["count"], 2, "{stats}");
    assert_eq!(support["first_response_ms"]["count"], 1, "{stats}");
    let p99 = support["first_response_ms"]["p99"].as_u64().unwrap();
    assert!(
        p99 * 100 >= first * 98 && p99 * 100 <= first * 102,
        "p99 {p99} vs {first}"
    );
    assert_eq!(support["closed"], 1, "{stats}");
    assert_eq!(support["unanswered"], 0, "{stats}");
    assert_eq!(support["dialogs"]["active"], 0, "{stats}");
    assert_eq!(
        entry(&stats, "operators", "anna")["response_ms"]["count"],
        2,
        "{stats}"
    );
    assert_eq!(
        entry(&stats, "operators", "dana")["response_ms"]["count"],
        0,
        "{stats}"
    );
    for server_side in ["dispatch_us", "delivery_us", "ack_us", "group_commit_us"] {
        let summary = &stats["server"][server_side];
        assert!(
            summary["count"].as_u64() >= Some(2),
            "{server_side}: {stats}"
        );
        assert!(
            summary["p50"].as_u64() <= summary["max"].as_u64(),
            "{server_side}: {stats}"
        );
    }
}

/// `/metrics` after the scripted conversation, read by a Prometheus text parser; it serves
/// every metric the shipped Grafana dashboard queries.
async fn assert_metrics_of_the_conversation(server: &Server) {
    let text = Http::with_token(server, None).get("/metrics").await;
    assert_eq!(text.status, 200, "/metrics needs no token: {}", text.text);
    let lines = text.text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
    assert_eq!(
        histogram_count(
            &scrape,
            "switchboard_response_seconds",
            &[("line", "support")]
        ),
        2
    );
    assert_eq!(
        histogram_count(
            &scrape,
            "switchboard_operator_response_seconds",
            &[("operator", "anna")]
        ),
        2
    );
    assert!(histogram_count(&scrape, "switchboard_ack_seconds", &[]) >= 2);
    assert!(histogram_count(&scrape, "switchboard_group_commit_seconds", &[]) >= 1);
    assert_eq!(
        sample(&scrape, "switchboard_dialogs_created_total", &[]),
        1.0
    );
    assert_eq!(
        sample(&scrape, "switchboard_dialogs_closed_total", &[]),
        1.0
    );
    assert_eq!(
        sample(&scrape, "switchboard_dialogs", &[("state", "active")]),
        0.0
    );
    assert_eq!(
        sample(&scrape, "switchboard_queue_length", &[("line", "support")]),
        0.0
    );
    // Every metric the shipped Grafana dashboard queries is served.
    let dashboard = include_str!("../deploy/dashboards/switchboard.json");
    for word in dashboard.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("switchboard_") {
            assert!(
                text.text.contains(word),
                "the dashboard queries {word}, which /metrics does not serve"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_target_is_alerted_once_and_recorded_on_the_dialog_across_a_restart() {
    let mut server = Server::start("kpi-missed", &config());
    let mut dana = Operator::connect(&server, "dana").await;
    // anna is not connected: nobody answers within the 1 s target.
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "anyone?").await, "dialog_id");
    let (alert, _) = dana.recv_until("kpi_alert").await;
    assert_eq!(alert["dialog_id"], d, "{alert}");
    assert_eq!(alert["text"], format!("nobody missed {d}"), "{alert}");
    dana.assert_none_within(Duration::from_millis(1_500), "a second alert", |f| {
        frame_type(f) == "kpi_alert"
    })
    .await;
    let http = Http::admin(&server);
    let view = http.get_ok(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(view["kpi"]["first_response_missed"], true, "{view}");
    assert_eq!(view["kpi"]["unanswered"], true, "{view}");
    assert_eq!(view["state"], "queued", "{view}");

    drop((dana, widget));
    server.kill9();
    server.restart();
    let after = Http::admin(&server)
        .get_ok(&format!("/api/v1/dialogs/{d}"))
        .await;
    assert_eq!(after["kpi"]["first_response_missed"], true, "{after}");
    let mut dana = Operator::connect(&server, "dana").await;
    dana.assert_none_within(
        Duration::from_millis(1_500),
        "an alert again after restart",
        |f| frame_type(f) == "kpi_alert",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_refuses_bad_tokens_and_bad_parameters_with_clear_errors() {
    let server = Server::start("admin-errors", &config());
    let path = "/api/v1/dialogs";
    Http::with_token(&server, None)
        .get(path)
        .await
        .assert_error(401, "unauthorized", "Bearer");
    Http::with_token(&server, Some("wrong"))
        .get(path)
        .await
        .assert_error(401, "unauthorized", "wrong admin token");
    let http = Http::admin(&server);
    http.get("/api/v1/dialogs/abc")
        .await
        .assert_error(400, "bad_request", "`abc`");
    http.get("/api/v1/dialogs?limit=ten")
        .await
        .assert_error(400, "bad_request", "`limit`");
    http.get("/api/v1/dialogs?limit=0")
        .await
        .assert_error(400, "bad_request", "`limit`");
    http.get("/api/v1/dialogs?state=sleeping")
        .await
        .assert_error(400, "bad_request", "`state`");
    http.get("/api/v1/dialogs?colour=red")
        .await
        .assert_error(400, "bad_request", "colour");
    http.get("/api/v1/dialogs?line=nowhere")
        .await
        .assert_error(404, "not_found", "nowhere");
    http.get("/api/v1/dialogs?operator=zed")
        .await
        .assert_error(404, "not_found", "zed");
    http.get("/api/v1/dialogs/987654321")
        .await
        .assert_error(404, "not_found", "987654321");
    http.get("/api/v1/dialogs/987654321/messages")
        .await
        .assert_error(404, "not_found", "987654321");
    http.get("/api/v1/no-such-thing")
        .await
        .assert_error(404, "not_found", "endpoint");
    // A server without an admin token keeps the admin API closed.
    let closed = Server::start(
        "admin-closed",
        &Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "1m")),
    );
    Http::with_token(&closed, Some(ADMIN_TOKEN))
        .get(path)
        .await
        .assert_error(403, "forbidden", "admin_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_retention_deletes_old_messages_and_keeps_the_summary() {
    let config = config().server_key("history_retention", "\"1s\"");
    let server = Server::start("retention", &config);
    let http = Http::admin(&server);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "hello?").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    anna.say(d, "o1", "Hi!").await;
    anna.close_dialog(d).await;
    let path = format!("/api/v1/dialogs/{d}/messages");
    let kept = http.get_ok(&path).await;
    assert_eq!(kept["messages"].as_array().map(Vec::len), Some(2), "{kept}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = http.get_ok(&path).await;
        if now["messages"] == json!([]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "messages still kept 10 s after closing with a 1 s retention: {now}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let summary = http.get_ok(&format!("/api/v1/dialogs/{d}")).await;
    assert_eq!(summary["messages_deleted"], true, "{summary}");
    assert_eq!(summary["kpi"]["responses"], 1, "{summary}");
    // An open dialog keeps its messages whatever its age.
    let d2 = field_u64(&widget.say("m2", "again").await, "dialog_id");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let open = http.get_ok(&format!("/api/v1/dialogs/{d2}/messages")).await;
    assert_eq!(open["messages"][0]["text"], "again", "{open}");
}
