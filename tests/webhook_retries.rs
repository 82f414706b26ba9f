//! A delivery retried by hand survives a crash: the endpoint's cursor is past its event (it had
//! failed for good), so only the store's mark of the retry brings it back after `kill -9`, and
//! it is sent again with the same `webhook-id` until it is delivered. Real receiver on loopback,
//! signatures checked with the `standardwebhooks` crate.

mod common;

use common::webhook_receiver::{assert_signed, retry_by_hand, Receiver};
use common::*;
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(url: &str) -> Config {
    Config::new()
        .admin()
        .server_key("webhooks_allow_private", "true")
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "60s"))
        .raw(&format!(
            "[[webhooks]]\nid = \"crm\"\nurl = \"{url}\"\nevents = [\"dialog.created\"]\nsecret = \"{SECRET}\""
        ))
}

/// Waits (at most 10 s) until the admin API lists a delivery of `crm` with `status`.
async fn listed(http: &Http, status: &str, receiver: &Receiver) -> serde_json::Value {
    let path = format!("/api/v1/webhooks/crm/deliveries?status={status}");
    for _ in 0..100 {
        let shown = http.get_ok(&path).await;
        if !shown["deliveries"].as_array().unwrap().is_empty() {
            return shown["deliveries"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: Vec<(String, u16)> = receiver
        .all()
        .iter()
        .map(|g| (g.id.clone(), g.answered))
        .collect();
    panic!("no {status} delivery listed within 10 s; the receiver got {got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_retried_by_hand_is_resumed_after_kill_9() {
    let receiver = Receiver::start(SECRET).await;
    receiver.script(|_, _| (400, None));
    let mut server = Server::start("webhooks-hand-retry", &config(&receiver.url()));
    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.say("m1", "hello").await;
    let http = Http::admin(&server);
    let failed = listed(&http, "failed", &receiver).await;
    let id = failed["id"].as_str().unwrap().to_string();
    let webhook_id = failed["webhook_id"].as_str().unwrap().to_string();

    // Retried by hand while the receiver is failing: it stays pending, waiting for its backoff.
    receiver.script(|_, _| (503, None));
    // 202 is answered once the retry is recorded durably: a crash from here on keeps it.
    let retry = retry_by_hand(&http, "crm", &id).await;
    assert_eq!(retry.status, 202, "{:?}", retry.body);
    receiver
        .wait_for("the retry's first attempt", |g| {
            g.iter().any(|g| g.answered == 503)
        })
        .await;
    assert_eq!(listed(&http, "pending", &receiver).await["id"], id.as_str());

    server.kill9();
    receiver.script(|_, _| (200, None));
    server.restart();
    let got = receiver
        .wait_for("the retry resumed after the restart", |g| {
            g.iter().any(|g| g.answered == 200)
        })
        .await;
    assert_signed(&got);
    let delivered: Vec<_> = got.iter().filter(|g| g.answered == 200).collect();
    assert_eq!(delivered.len(), 1, "delivered once");
    assert_eq!(delivered[0].id, webhook_id, "the same webhook-id");
    assert_eq!(delivered[0].kind(), "dialog.created");
    // Settled: neither pending nor resumed by a second restart.
    let http = Http::admin(&server);
    let delivered_row = listed(&http, "delivered", &receiver).await;
    assert_eq!(delivered_row["id"], id.as_str());
    server.kill9();
    server.restart();
    // A new dialog's event after the second restart: once it is delivered, the task is past
    // its start, where a retry still marked would have been resumed.
    let mut widget = Widget::join(&server, "support", "c2").await;
    widget.say("m1", "hello again").await;
    let after = receiver
        .wait_for("the new dialog's event", |g| {
            g.iter().any(|g| g.answered == 200 && g.id != webhook_id)
        })
        .await;
    assert_signed(&after);
    assert_eq!(
        after
            .iter()
            .filter(|g| g.answered == 200 && g.id == webhook_id)
            .count(),
        1,
        "not sent again once delivered"
    );
}
