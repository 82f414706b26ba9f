//! A webhook receiver on loopback for the tests: records every request it gets, checks each
//! signature with an independent Standard Webhooks implementation (the `standardwebhooks`
//! crate, not Switchboard's code), and answers as the test scripts it (status, `Retry-After`,
//! or holding the request until a gate opens). It can go down (its port closed, so connections
//! are refused) and come back on the same port.

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::{Duration, Instant};
use switchboard::sync::Mutex;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// A generous deadline for anything the tests wait for (retries come seconds apart).
pub const WAIT: Duration = Duration::from_secs(60);

/// One request as received.
#[derive(Clone, Debug)]
pub struct Got {
    pub id: String,
    pub body: Value,
    /// `Ok` when the signature verified with the receiver's secret.
    pub verified: Result<(), String>,
    pub at: Instant,
    /// The status answered.
    pub answered: u16,
}

impl Got {
    pub fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }

    /// The outbox number from the id (`msg_<instance>_17` → 17).
    pub fn seq(&self) -> u64 {
        self.id
            .rsplit('_')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    pub fn dialog(&self) -> u64 {
        self.body["data"]["dialog_id"].as_u64().unwrap_or(0)
    }
}

/// What to answer: status, optional `Retry-After`.
pub type Script = Box<dyn FnMut(&Got, &[Got]) -> (u16, Option<String>) + Send>;

struct Shared {
    secret: String,
    got: Mutex<Vec<Got>>,
    script: Mutex<Script>,
    /// While false, requests wait before they are answered.
    gate: watch::Sender<bool>,
    arrived: Notify,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `127.0.0.1:0`, answering 200 to everything.
    pub async fn start(secret: &str) -> Receiver {
        let shared = Arc::new(Shared {
            secret: secret.to_string(),
            got: Mutex::new(Vec::new()),
            script: Mutex::new(Box::new(|_, _| (200, None))),
            gate: watch::Sender::new(true),
            arrived: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut receiver = Receiver {
            addr,
            shared,
            task: None,
        };
        receiver.serve(listener);
        receiver
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(self.shared.clone());
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers from now on as `script` says.
    pub fn script(
        &self,
        script: impl FnMut(&Got, &[Got]) -> (u16, Option<String>) + Send + 'static,
    ) {
        *self.shared.script.lock() = Box::new(script);
    }

    /// Holds every request (unanswered) until [`Receiver::open`].
    pub fn close_gate(&self) {
        self.shared.gate.send_replace(false);
    }

    pub fn open(&self) {
        self.shared.gate.send_replace(true);
    }

    /// Closes the port: connections are refused until [`Receiver::up`].
    pub fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn up(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => return self.serve(listener),
                Err(e) if Instant::now() > deadline => panic!("rebind {}: {e}", self.addr),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Every request so far, in arrival order.
    pub fn all(&self) -> Vec<Got> {
        self.shared.got.lock().clone()
    }

    /// Requests answered with 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Got> {
        let all = self.all();
        all.into_iter()
            .filter(|g| (200..300).contains(&g.answered))
            .collect()
    }

    /// Waits (up to [`WAIT`]) until `done(all requests)` holds; returns them.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let deadline = Instant::now() + WAIT;
        loop {
            let arrived = self.shared.arrived.notified();
            let all = self.all();
            if done(&all) {
                return all;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let kinds: Vec<String> = all
                    .iter()
                    .map(|g| format!("{} {} {}", g.id, g.kind(), g.answered))
                    .collect();
                panic!("webhook receiver: {what} did not happen within {WAIT:?}; got {kinds:#?}");
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), arrived).await;
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut gate = shared.gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;
    let verified = standardwebhooks::Webhook::new(&shared.secret)
        .map_err(|e| e.to_string())
        .and_then(|hook| hook.verify(&body, &headers).map_err(|e| e.to_string()));
    let mut got = Got {
        id: header(&headers, "webhook-id"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        verified,
        at: Instant::now(),
        answered: 0,
    };
    let (status, retry_after) = {
        let all = shared.got.lock();
        (shared.script.lock())(&got, &all)
    };
    got.answered = status;
    shared.got.lock().push(got);
    shared.arrived.notify_waiters();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match retry_after {
        Some(after) => (status, [("retry-after", after)]).into_response(),
        None => status.into_response(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Every request verified with the receiver's secret, with a real outbox id; panics naming the
/// first that is not.
pub fn assert_signed(got: &[Got]) {
    for g in got {
        assert!(
            g.verified.is_ok(),
            "{} not verified: {:?}",
            g.id,
            g.verified
        );
        assert!(g.id.starts_with("msg_"), "{}", g.id);
        assert!(!g.id.starts_with("msg_0000000000000000_"), "{}", g.id);
    }
}

/// Asks the admin API to retry delivery `id` of webhook `hook` by hand.
pub async fn retry_by_hand(http: &super::http::Http, hook: &str, id: &str) -> super::http::Answer {
    let path = format!("/api/v1/webhooks/{hook}/deliveries/{id}/retry");
    http.send("POST", &path, None).await
}
