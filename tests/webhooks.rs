//! Webhooks end to end: a real receiver on loopback checks every signature with the
//! `standardwebhooks` crate. A scripted conversation arrives complete and in order; nothing is
//! sent while its commit is held; a 503 receiver gets each event once it recovers; a 400 is not
//! retried and shows as failed; `Retry-After` is honoured; events survive `kill -9` while the
//! receiver is down and arrive in order per dialog; a private address is refused without the
//! flag; a slow endpoint does not hold up another.

mod common;

use common::in_process::{hold_writer, InProcess};
use common::webhook_receiver::{assert_signed, retry_by_hand, Got, Receiver};
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const LIFECYCLE: &str = r#"["dialog.created", "dialog.offered", "dialog.assigned",
    "dialog.transferred", "dialog.closed", "dialog.rated", "kpi.missed", "message.created"]"#;

/// A config with anna on a strict `support` line (ratings on) and webhooks to `hooks`
/// (`(id, url, events)`); private addresses allowed.
fn config(hooks: &[(&str, &str, &str)]) -> Config {
    let mut config = Config::new()
        .admin()
        .server_key("webhooks_allow_private", "true")
        .operators(&["anna"])
        .line(
            line("support", "strict", &["anna"], "60s")
                .section("[lines.auto]\nrating_wait = \"1h\"")
                .section("[lines.rating]\nenabled = true\nclose_on_rating = true"),
        );
    for (id, url, events) in hooks {
        config = config.raw(&format!(
            "[[webhooks]]\nid = \"{id}\"\nurl = \"{url}\"\nevents = {events}\nsecret = \"{SECRET}\""
        ));
    }
    config
}

/// The distinct delivered events by seq.
fn by_seq(got: &[Got]) -> BTreeMap<u64, Got> {
    got.iter()
        .filter(|g| (200..300).contains(&g.answered))
        .map(|g| (g.seq(), g.clone()))
        .collect()
}

/// Delivered events of `dialog` in arrival order, first delivery of each id only.
fn arrivals_of(got: &[Got], dialog: u64) -> Vec<Got> {
    let mut seen = BTreeSet::new();
    got.iter()
        .filter(|g| (200..300).contains(&g.answered) && g.dialog() == dialog)
        .filter(|g| seen.insert(g.id.clone()))
        .cloned()
        .collect()
}

/// Plays one conversation: hello, offer, accept, an answer, close, a rating. Returns the dialog.
async fn conversation(server: &impl Endpoint, anna: &mut Operator, client: &str) -> u64 {
    let mut widget = Widget::join(server, "support", client).await;
    let d = field_u64(&widget.say("m1", "hello").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    anna.assigned(d).await;
    anna.say(d, &format!("a-{client}"), "how can I help?").await;
    anna.close_dialog(d).await;
    widget.recv_until("rating_request").await;
    widget
        .ack(json!({"type": "rate", "dialog_id": d, "score": "like"}))
        .await;
    d
}

/// Plays [`conversation`] as anna with client `client` and waits until `receiver` has its
/// `dialog.closed`; returns the dialog and everything received so far, signatures checked.
async fn delivered_conversation(
    server: &Server,
    receiver: &Receiver,
    anna: &mut Operator,
    client: &str,
) -> (u64, Vec<Got>) {
    let d = conversation(server, anna, client).await;
    let got = receiver
        .wait_for("dialog.closed", |g| {
            g.iter().any(|g| g.kind() == "dialog.closed")
        })
        .await;
    assert_signed(&got);
    (d, got)
}

/// The lifecycle types of `events` in order, message events left out.
fn lifecycle(events: &[Got]) -> Vec<String> {
    events
        .iter()
        .map(|g| g.kind().to_string())
        .filter(|k| k != "message.created")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_conversation_arrives_signed_complete_and_in_order() {
    let receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    let server = Server::start("webhooks-order", &config(&[("crm", &url, LIFECYCLE)]));
    let mut anna = Operator::connect(&server, "anna").await;
    let (d, got) = delivered_conversation(&server, &receiver, &mut anna, "c1").await;
    let events = arrivals_of(&got, d);
    assert_eq!(
        lifecycle(&events),
        [
            "dialog.created",
            "dialog.offered",
            "dialog.assigned",
            "dialog.rated",
            "dialog.closed"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(Got::seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let texts: Vec<&str> = events
        .iter()
        .filter(|g| g.kind() == "message.created")
        .map(|g| g.body["data"]["text"].as_str().unwrap_or(""))
        .collect();
    assert!(texts.contains(&"hello"), "{texts:?}");
    assert!(texts.contains(&"how can I help?"), "{texts:?}");
    let assigned = &events[events
        .iter()
        .position(|g| g.kind() == "dialog.assigned")
        .unwrap()];
    assert_eq!(assigned.body["data"]["operator_id"], "anna");
    assert_eq!(assigned.body["data"]["line"], "support");
    assert!(assigned.body["timestamp"].as_str().unwrap().ends_with('Z'));
    let closed = events.last().unwrap();
    assert_eq!(closed.body["data"]["client_id"], "c1", "{}", closed.body);
    // Every outbox number from the first to the last arrived (nothing skipped).
    let all = by_seq(&got);
    let (first, last) = (*all.keys().next().unwrap(), *all.keys().last().unwrap());
    assert_eq!(all.len() as u64, last - first + 1, "{:?}", all.keys());

    let http = Http::admin(&server);
    // The last event's outcome is known to the server only once it has read the receiver's
    // answer, just after the receiver counted the event: ask again until it is listed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let deliveries = loop {
        let deliveries = http
            .get_ok("/api/v1/webhooks/crm/deliveries?status=delivered")
            .await;
        let listed = deliveries["deliveries"].as_array().map_or(0, Vec::len);
        if listed >= all.len() || std::time::Instant::now() > deadline {
            break deliveries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let list = deliveries["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), all.len(), "{deliveries}");
    assert_eq!(list[0]["attempts"][0]["status_code"], 200, "{deliveries}");
    let metrics = http.send("GET", "/metrics", None).await.text;
    assert!(
        metrics.contains(
            "switchboard_webhook_deliveries_total{endpoint=\"crm\",result=\"delivered\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_webhook_outbox_depth{endpoint=\"crm\"}"));
    assert!(metrics.contains("switchboard_webhook_attempt_latency_seconds_bucket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_for_a_change_whose_commit_is_held() {
    let receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    let server = InProcess::start(
        "webhooks-held",
        &config(&[("crm", &url, r#"["dialog.created", "message.created"]"#)]),
    );
    let mut widget = Widget::join(&server, "support", "c1").await;
    let hold = hold_writer(&server.store).await;
    let req = widget.req();
    widget
        .send(json!({"type": "message", "req": req, "client_msg_id": "m1", "text": "held"}))
        .await;
    // The shard took the message and wrote its batch; the writer holds it.
    tokio::time::sleep(QUIET).await;
    assert!(receiver.all().is_empty(), "{:?}", receiver.all());
    drop(hold);
    let got = receiver
        .wait_for("the held message", |g| {
            g.iter().any(|g| g.body["data"]["text"] == "held")
        })
        .await;
    assert_signed(&got);
    assert_eq!(got[0].kind(), "dialog.created");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_receiver_gets_each_event_once_it_recovers() {
    let receiver = Receiver::start(SECRET).await;
    // The first attempt of every id fails.
    receiver.script(|got, before| {
        if before.iter().any(|b| b.id == got.id) {
            (200, None)
        } else {
            (503, None)
        }
    });
    let url = receiver.url();
    let server = Server::start("webhooks-503", &config(&[("crm", &url, LIFECYCLE)]));
    let mut anna = Operator::connect(&server, "anna").await;
    let d = conversation(&server, &mut anna, "c1").await;
    let got = receiver
        .wait_for("dialog.closed delivered", |g| {
            g.iter()
                .any(|g| g.kind() == "dialog.closed" && g.answered == 200)
        })
        .await;
    assert_signed(&got);
    let failed: BTreeSet<String> = got
        .iter()
        .filter(|g| g.answered == 503)
        .map(|g| g.id.clone())
        .collect();
    let delivered: BTreeSet<String> = receiver.delivered().iter().map(|g| g.id.clone()).collect();
    assert_eq!(failed, delivered, "every event failed once, then arrived");
    assert_eq!(
        lifecycle(&arrivals_of(&got, d)),
        [
            "dialog.created",
            "dialog.offered",
            "dialog.assigned",
            "dialog.rated",
            "dialog.closed"
        ]
    );
    let http = Http::admin(&server);
    let deliveries = http
        .get_ok("/api/v1/webhooks/crm/deliveries?status=delivered")
        .await;
    let first = &deliveries["deliveries"][0];
    assert_eq!(first["tries"], 2, "{deliveries}");
    assert_eq!(first["attempts"][0]["status_code"], 503, "{deliveries}");
    assert_eq!(first["attempts"][1]["status_code"], 200, "{deliveries}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_is_not_retried_shows_as_failed_and_can_be_retried_by_hand() {
    let receiver = Receiver::start(SECRET).await;
    receiver.script(|_, _| (400, None));
    let url = receiver.url();
    let server = Server::start(
        "webhooks-400",
        &config(&[("crm", &url, r#"["dialog.created"]"#)]),
    );
    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.say("m1", "hello").await;
    let got = receiver
        .wait_for("the first attempt", |g| !g.is_empty())
        .await;
    let http = Http::admin(&server);
    let failed = "/api/v1/webhooks/crm/deliveries?status=failed";
    let mut shown = http.get_ok(failed).await;
    for _ in 0..100 {
        if !shown["deliveries"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        shown = http.get_ok(failed).await;
    }
    let delivery = &shown["deliveries"][0];
    assert_eq!(delivery["status"], "failed", "{shown}");
    assert_eq!(delivery["tries"], 1, "{shown}");
    assert_eq!(delivery["attempts"][0]["status_code"], 400, "{shown}");
    assert!(delivery["attempts"][0]["latency_ms"].is_u64(), "{shown}");
    assert_eq!(delivery["webhook_id"], got[0].id.as_str());
    // A retry would have come within 6 s (the first backoff is 4 to 6 s).
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    assert_eq!(receiver.all().len(), 1, "a 400 is not retried");
    let pending = http
        .get_ok("/api/v1/webhooks/crm/deliveries?status=pending")
        .await;
    assert_eq!(pending["deliveries"], json!([]), "{pending}");

    // Retried by hand, it goes out again with the same id.
    receiver.script(|_, _| (200, None));
    let id = delivery["id"].as_str().unwrap();
    let retry = retry_by_hand(&http, "crm", id).await;
    assert_eq!(retry.status, 202, "{:?}", retry.body);
    let got = receiver.wait_for("the retry", |g| g.len() == 2).await;
    assert_eq!(got[0].id, got[1].id);
    assert_signed(&got);
    let missing = retry_by_hand(&http, "crm", "999999").await;
    assert_eq!(missing.status, 404, "{:?}", missing.body);
    let bad = http
        .get("/api/v1/webhooks/crm/deliveries?status=lost")
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("status"), "{}", bad.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let receiver = Receiver::start(SECRET).await;
    // 8 s: longer than any first backoff (at most 6 s), so only Retry-After explains the wait.
    receiver.script(|_, before| {
        if before.is_empty() {
            (429, Some("8".into()))
        } else {
            (200, None)
        }
    });
    let url = receiver.url();
    let server = Server::start(
        "webhooks-retry-after",
        &config(&[("crm", &url, r#"["dialog.created"]"#)]),
    );
    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.say("m1", "hello").await;
    let got = receiver
        .wait_for("the second attempt", |g| g.len() == 2)
        .await;
    let waited = got[1].at - got[0].at;
    assert!(
        waited >= std::time::Duration::from_millis(7_900),
        "{waited:?}"
    );
    assert_eq!(got[0].id, got[1].id);
    assert_signed(&got);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_survive_kill_9_while_the_receiver_is_down_and_arrive_in_order() {
    let mut receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    receiver.down();
    let mut server = Server::start("webhooks-kill9", &config(&[("crm", &url, LIFECYCLE)]));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut dialogs = Vec::new();
    for client in ["c1", "c2", "c3"] {
        dialogs.push(conversation(&server, &mut anna, client).await);
    }
    server.kill9();
    server.restart();
    receiver.up().await;
    let got = receiver
        .wait_for("every dialog closed", |g| {
            g.iter().filter(|g| g.kind() == "dialog.closed").count() >= dialogs.len()
        })
        .await;
    assert_signed(&got);
    for d in &dialogs {
        let events = arrivals_of(&got, *d);
        let seqs: Vec<u64> = events.iter().map(Got::seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "dialog {d}: {seqs:?}");
        assert_eq!(
            lifecycle(&events),
            [
                "dialog.created",
                "dialog.offered",
                "dialog.assigned",
                "dialog.rated",
                "dialog.closed"
            ],
            "dialog {d}"
        );
    }
    // One outbox id across the restart: the same event keeps its webhook-id.
    let instances: BTreeSet<&str> = got
        .iter()
        .filter_map(|g| g.id.rsplit_once('_'))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(instances.len(), 1, "{instances:?}");
    // Every event once: outbox numbers 1..=n, each delivered exactly once.
    let delivered = receiver.delivered();
    let seqs: Vec<u64> = delivered.iter().map(Got::seq).collect();
    let distinct: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(seqs.len(), distinct.len(), "no id twice: {seqs:?}");
    let n = *distinct.iter().last().unwrap();
    assert_eq!(distinct, (1..=n).collect::<BTreeSet<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_address_is_refused_without_the_flag_and_changes_are_durable() {
    let mut server = Server::start(
        "webhooks-private",
        &Config::new().admin().operators(&["anna"]).line(line(
            "support",
            "strict",
            &["anna"],
            "60s",
        )),
    );
    let http = Http::admin(&server);
    let body = |url: &str| json!({"url": url, "events": ["dialog.created"], "secret": SECRET});
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.1/hook",
        "http://localhost/x",
        "http://[::1]/",
    ] {
        let answer = http.put("/api/v1/webhooks/crm", &body(url)).await;
        assert_eq!(answer.status, 400, "{url}: {:?}", answer.body);
        assert!(answer.text.contains("url"), "{}", answer.text);
        assert!(
            answer.text.contains("webhooks_allow_private"),
            "{}",
            answer.text
        );
    }
    let answer = http
        .put("/api/v1/webhooks/crm", &body("ftp://example.com/"))
        .await;
    assert_eq!(answer.status, 400);
    let mut bad = body("https://example.com/hook");
    bad["events"] = json!(["dialog.nope"]);
    let answer = http.put("/api/v1/webhooks/crm", &bad).await;
    assert_eq!(answer.status, 400);
    assert!(answer.text.contains("events[0]"), "{}", answer.text);
    let mut bad = body("https://example.com/hook");
    bad["secret"] = json!("plain");
    let answer = http.put("/api/v1/webhooks/crm", &bad).await;
    assert!(answer.text.contains("secret"), "{}", answer.text);
    assert_eq!(http.get("/api/v1/webhooks/crm").await.status, 404);

    // A public URL is taken, kept across kill -9, shown without its secret, and deleted.
    let answer = http
        .put("/api/v1/webhooks/crm", &body("https://example.com/hook"))
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    server.kill9();
    server.restart();
    let http = Http::admin(&server);
    let shown: Value = http.get_ok("/api/v1/webhooks/crm").await;
    assert_eq!(shown["url"], "https://example.com/hook");
    assert_eq!(shown["secrets"], 1);
    assert!(!shown.to_string().contains("whsec_"), "{shown}");
    assert_eq!(
        http.get_ok("/api/v1/webhooks").await["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(http.delete("/api/v1/webhooks/crm").await.status, 200);
    assert_eq!(http.get("/api/v1/webhooks/crm").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_does_not_hold_up_another() {
    let slow = Receiver::start(SECRET).await;
    slow.close_gate();
    let fast = Receiver::start(SECRET).await;
    let (slow_url, fast_url) = (slow.url(), fast.url());
    let events = r#"["dialog.created", "message.created"]"#;
    let server = Server::start(
        "webhooks-slow",
        &config(&[("slow", &slow_url, events), ("fast", &fast_url, events)]),
    );
    let mut widget = Widget::join(&server, "support", "c1").await;
    for i in 0..20 {
        widget.say(&format!("m{i}"), &format!("text {i}")).await;
    }
    let got = fast
        .wait_for("all 20 messages at the fast endpoint", |g| {
            g.iter().filter(|g| g.kind() == "message.created").count() >= 20
        })
        .await;
    assert_signed(&got);
    assert!(
        slow.all().is_empty(),
        "the slow endpoint answered nothing yet"
    );
    let texts: Vec<&str> = got
        .iter()
        .filter(|g| g.kind() == "message.created" && g.body["data"]["author"] == "client")
        .map(|g| g.body["data"]["text"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("text {i}")).collect();
    assert_eq!(texts, expected, "in order");
    slow.open();
    let got = slow
        .wait_for("the slow endpoint catches up", |g| {
            g.iter().filter(|g| g.kind() == "message.created").count() >= 20
        })
        .await;
    assert_signed(&got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_endpoint_sends_a_signed_test_event() {
    let receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    let server = Server::start(
        "webhooks-test",
        &config(&[("crm", &url, r#"["dialog.closed"]"#)]),
    );
    let http = Http::admin(&server);
    let answer = http.send("POST", "/api/v1/webhooks/crm/test", None).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["delivered"], true, "{:?}", answer.body);
    let got = receiver.wait_for("the test event", |g| !g.is_empty()).await;
    assert_eq!(got[0].kind(), "webhook.test");
    assert!(got[0].verified.is_ok(), "{:?}", got[0].verified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_changes_arrive_as_events_in_order() {
    let receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    let events = r#"["contact.created", "contact.updated", "contact.merged", "contact.deleted"]"#;
    let server = Server::start("webhooks-contacts", &config(&[("crm", &url, events)]));
    let http = Http::admin(&server);
    let mut ids = Vec::new();
    for name in ["Smith", "Smyth"] {
        let body = json!({"kind": "person", "last_name": name}).to_string();
        let answer = http.send("POST", "/api/v1/contacts", Some(&body)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        ids.push(answer.body["id"].as_u64().unwrap());
    }
    let (a, b) = (ids[0], ids[1]);
    let patch = json!({"version": 1, "position": "CEO"}).to_string();
    let answer = http
        .send("PATCH", &format!("/api/v1/contacts/{a}"), Some(&patch))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let merge = json!({"from": [b]}).to_string();
    let answer = http
        .send("POST", &format!("/api/v1/contacts/{a}/merge"), Some(&merge))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = http.delete(&format!("/api/v1/contacts/{a}")).await;
    assert!(answer.status < 300, "{}", answer.text);
    let got = receiver
        .wait_for("contact.deleted", |g| {
            g.iter().any(|g| g.kind() == "contact.deleted")
        })
        .await;
    assert_signed(&got);
    let of = |id: u64| -> Vec<String> {
        got.iter()
            .filter(|g| g.body["data"]["contact_id"] == id)
            .map(|g| g.kind().to_string())
            .collect()
    };
    assert_eq!(
        of(a),
        [
            "contact.created",
            "contact.updated",
            "contact.updated",
            "contact.deleted"
        ]
    );
    assert_eq!(of(b), ["contact.created", "contact.merged"]);
    let merged = got.iter().find(|g| g.kind() == "contact.merged").unwrap();
    assert_eq!(merged.body["data"]["into"], a);
}

/// Each of the server's threads: its name (cut at 15 bytes by the kernel) and nice value, read
/// from `/proc/PID/task/*/stat`.
fn threads_of(pid: u32) -> Vec<(String, i64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads");
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
            let name = stat[stat.find('(')? + 1..stat.rfind(')')?].to_string();
            // After the name: state is field 3, nice field 19.
            let nice = stat[stat.rfind(')')? + 1..]
                .split_whitespace()
                .nth(16)?
                .parse()
                .ok()?;
            Some((name, nice))
        })
        .collect()
}

/// Deliveries run on one thread of their own at nice 10, below the chat's threads (nice 0),
/// and events still arrive from there, a test event too. The store's applier (behind the
/// journal, never waited on by an acknowledgement) runs at nice 10 as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_run_on_one_thread_below_the_chat() {
    let receiver = Receiver::start(SECRET).await;
    let url = receiver.url();
    let server = Server::start("webhooks-thread", &config(&[("crm", &url, LIFECYCLE)]));
    let mut anna = Operator::connect(&server, "anna").await;
    delivered_conversation(&server, &receiver, &mut anna, "c1").await;
    let http = Http::admin(&server);
    let answer = http.send("POST", "/api/v1/webhooks/crm/test", None).await;
    assert_eq!(answer.body["delivered"], true, "{:?}", answer.body);

    let threads = threads_of(server.pid());
    // The nice value of the one thread called `wanted`.
    let nice_of_the_one = |wanted: &str| {
        let found: Vec<i64> = threads
            .iter()
            .filter(|(name, _)| name == wanted)
            .map(|(_, nice)| *nice)
            .collect();
        assert_eq!(found.len(), 1, "{wanted}: {threads:?}");
        found[0]
    };
    assert_eq!(nice_of_the_one("switchboard-hoo"), 10, "{threads:?}");
    assert_eq!(nice_of_the_one("switchboard-app"), 10, "{threads:?}");
    let chat: Vec<_> = threads
        .iter()
        .filter(|(name, _)| name.starts_with("tokio-r") || name.starts_with("switchboard-sto"))
        .collect();
    assert!(!chat.is_empty(), "{threads:?}");
    assert!(chat.iter().all(|(_, nice)| *nice == 0), "{threads:?}");
}
