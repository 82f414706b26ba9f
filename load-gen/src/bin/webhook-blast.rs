//! `webhook-blast URL [--rate N] [--seconds S] [--concurrency C]`: the plain way to send
//! webhooks, as a baseline for the server's delivery. POSTs `N` events a second (open loop,
//! paced every millisecond) for `S` seconds to `URL`, each shaped like the server's
//! `message.created` (same headers, a body of the same size and an HMAC-SHA256 signature over
//! `id.timestamp.body`), over one current-thread runtime with at most `C` requests in flight on
//! keep-alive connections. Nothing is stored and nothing is retried. Run beside a load without
//! webhooks, it shows what the same HTTP work costs the chat path on the same cores; the
//! `webhook-sink` receiving it measures the delay as it does for the server.
//! Prints how many were sent, answered 2xx, and failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;

/// The plain way to send webhooks, as a baseline for the server's delivery.
#[derive(clap::Parser)]
#[command(name = "webhook-blast")]
struct Args {
    /// The receiver's http:// URL.
    #[arg(value_parser = http_url)]
    url: String,
    /// Events per second.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// How long to send.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: u32,
}

fn http_url(text: &str) -> Result<String, String> {
    match text.starts_with("http://") {
        true => Ok(text.to_string()),
        false => Err("the receiver's URL must start with http://".to_string()),
    }
}

#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    ok: AtomicU64,
    failed: AtomicU64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = <Args as clap::Parser>::parse();
    let concurrency = args.concurrency as usize;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("an HTTP client");
    let key: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    let counts = Arc::new(Counts::default());
    let slots = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut due = 0u64;
    let total = args.rate * args.seconds;
    let mut seq = 0u64;
    while seq < total {
        tick.tick().await;
        due = (started.elapsed().as_secs_f64() * args.rate as f64) as u64;
        while seq < due.min(total) {
            seq += 1;
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let request = signed(&client, &args.url, &key, seq);
            let counts = counts.clone();
            counts.sent.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let answered = match request.send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                let counter = if answered { &counts.ok } else { &counts.failed };
                counter.fetch_add(1, Ordering::Relaxed);
                drop(slot);
            });
        }
    }
    let _ = slots.acquire_many(args.concurrency).await;
    println!(
        "sent {} ok {} failed {} in {:.1} s (due {due})",
        counts.sent.load(Ordering::Relaxed),
        counts.ok.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

/// Event `seq` as the server would send a `message.created`: body, id, timestamp, signature.
fn signed(client: &reqwest::Client, url: &str, key: &[u8], seq: u64) -> reqwest::RequestBuilder {
    let now = jiff::Timestamp::now();
    let body = serde_json::json!({
        "type": "message.created",
        "timestamp": now.to_string(),
        "data": {
            "dialog_id": 1_000_000 + seq % 1_000,
            "line": "sales",
            "msg_id": seq,
            "seq": seq / 1_000 + 1,
            "author": "client",
            "name": "Visitor",
            "text": "Hello, I have a question about my order number 12345 please",
            "ts": now.as_millisecond(),
        },
    });
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let id = format!("msg_blast_{seq}");
    let timestamp = now.as_second();
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&body);
    let signature = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
}
