//! The bare relay baseline (`switchboard-load relay`): the protocol subset the generator uses,
//! written the straightforward way — tokio-tungstenite, one task per connection plus one
//! writer task draining that connection's mpsc, one `Mutex` around the shared maps, frames
//! parsed into `serde_json::Value`. No routing rules (offers go round-robin to online
//! operators), no persistence (an `ack` is sent as soon as the message is forwarded).
//!
//! Speaks: widget `hello` → `welcome`, `message` → `ack` + forward (a dialog's first message
//! → `dialog_offered`), `typing` → `typing_preview`, `rate` / `close` → `ack`; operator
//! `hello` → `welcome`, `accept` → `ack` + `dialog_assigned` (+ `operator_joined` to the
//! widget), `message` → `ack` + forward, `close` → `ack` + `dialog_closed` and
//! `rating_request` to the widget. Each connection is answered in the encoding of its first
//! frame, like Switchboard.
//!
//! With `--durable FILE` it is the durable relay (`relay_journal`): every request's frames
//! (except typing previews and the welcome) wait until its batch of messages is appended to
//! FILE and synced.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::relay_journal::{Entry, Held, Journal};

/// Frames queued toward one connection; a connection that falls further behind is dropped.
const OUTBOUND_FRAMES_MAX: usize = 8_192;
/// Largest frame accepted.
const FRAME_BYTES_MAX: usize = 64 * 1024;
/// Client messages a not-yet-offered dialog keeps for its offer.
const PENDING_MAX: usize = 20;

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Widget,
    Operator,
}

struct Dialog {
    widget: u64,
    /// The operator it is offered to or held by.
    operator: Option<u64>,
    line: String,
    client_id: String,
    seq: u64,
    /// Messages waiting for an operator to come online.
    pending: Vec<Value>,
}

#[derive(Default)]
struct State {
    /// Every connection's outbound queue.
    conns: HashMap<u64, mpsc::Sender<Value>>,
    /// Online operators, in order of arrival (round-robin offers).
    operators: Vec<u64>,
    next_operator: usize,
    dialogs: HashMap<u64, Dialog>,
    /// A widget's open dialog.
    widget_dialog: HashMap<u64, u64>,
    /// The durable mode's journal.
    journal: Option<Journal>,
    /// While a request is handled in durable mode: its frames, held for the journal.
    held: Option<Held>,
}

struct Relay {
    state: Mutex<State>,
    ids: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Relay {
    fn id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    fn push(&mut self, conn: u64, frame: Value) {
        let Some(tx) = self.conns.get(&conn) else {
            return;
        };
        match &mut self.held {
            Some(held) => held.push((tx.clone(), frame)),
            // A full queue drops the frame (the generator then counts the message lost).
            None => {
                let _ = tx.try_send(frame);
            }
        }
    }

    fn pick_operator(&mut self) -> Option<u64> {
        if self.operators.is_empty() {
            return None;
        }
        let op = self.operators[self.next_operator % self.operators.len()];
        self.next_operator = self.next_operator.wrapping_add(1);
        Some(op)
    }

    fn offer(&mut self, dialog_id: u64, operator: u64) {
        let Some(d) = self.dialogs.get_mut(&dialog_id) else {
            return;
        };
        d.operator = Some(operator);
        let frame = json!({
            "type": "dialog_offered", "dialog_id": dialog_id, "line": d.line,
            "client": {"client_id": d.client_id}, "last_messages": std::mem::take(&mut d.pending),
            "deadline_ts": now_ms() + 600_000, "mode": "even",
        });
        self.push(operator, frame);
    }
}

/// Serves the relay on `listen` until the process is killed; prints `relay listening on ADDR`.
pub async fn serve(listen: &str, durable: Option<&std::path::Path>) -> Result<(), String> {
    let journal = durable.map(Journal::open).transpose()?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    println!("relay listening on {addr}");
    let relay = Arc::new(Relay {
        state: Mutex::new(State {
            journal,
            ..State::default()
        }),
        ids: AtomicU64::new(0),
    });
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(connection(relay.clone(), stream, peer));
            }
            Err(e) => {
                eprintln!("relay: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

// The handshake callback's error type is tungstenite's (an HTTP response).
#[allow(clippy::result_large_err)]
async fn connection(relay: Arc<Relay>, stream: TcpStream, _peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(FRAME_BYTES_MAX))
        .max_frame_size(Some(FRAME_BYTES_MAX));
    let callback = |req: &Request, resp: Response| {
        path = req.uri().path().to_string();
        Ok(resp)
    };
    let accepting = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let Ok(Ok(ws)) = tokio::time::timeout(std::time::Duration::from_secs(10), accepting).await
    else {
        return;
    };
    let role = match path.as_str() {
        "/ws/widget" => Role::Widget,
        "/ws/operator" => Role::Operator,
        _ => return,
    };
    let id = relay.id();
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Value>(OUTBOUND_FRAMES_MAX);
    relay.state().conns.insert(id, tx);
    let binary = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer_binary = binary.clone();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let message = if writer_binary.load(Ordering::Relaxed) {
                match rmp_serde::to_vec_named(&frame) {
                    Ok(bytes) => Message::Binary(bytes.into()),
                    Err(_) => continue,
                }
            } else {
                Message::Text(frame.to_string().into())
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut session = Session {
        id,
        role,
        hello: false,
        client_id: String::new(),
        line: String::new(),
    };
    let mut first = true;
    while let Some(Ok(message)) = stream.next().await {
        let frame: Option<Value> = match &message {
            Message::Text(text) => serde_json::from_str(text).ok(),
            Message::Binary(bytes) => rmp_serde::from_slice(bytes).ok(),
            Message::Close(_) => break,
            _ => continue,
        };
        if first {
            binary.store(matches!(message, Message::Binary(_)), Ordering::Relaxed);
            first = false;
        }
        let Some(frame) = frame else {
            relay.state().push(id, error(None, "bad_frame"));
            continue;
        };
        session.handle(&relay, &frame);
    }
    session.gone(&relay);
    writer.abort();
}

fn error(req: Option<&Value>, code: &str) -> Value {
    json!({"type": "error", "req": req, "code": code, "message": code})
}

struct Session {
    id: u64,
    role: Role,
    hello: bool,
    client_id: String,
    line: String,
}

impl Session {
    fn handle(&mut self, relay: &Relay, frame: &Value) {
        let kind = frame["type"].as_str().unwrap_or("");
        let req = frame.get("req");
        let mut st = relay.state();
        if !self.hello {
            if kind != "hello" {
                st.push(self.id, error(req, "unauthorized"));
                return;
            }
            self.hello = true;
            self.welcome(relay, &mut st, frame);
            return;
        }
        // Durable: hold every frame this request produces until its batch is synced (drafts
        // are never stored, so typing previews go at once).
        let durable = st.journal.is_some() && kind != "typing";
        if durable {
            st.held = Some(Vec::new());
        }
        self.dispatch(relay, &mut st, kind, frame);
        if durable {
            let frames = st.held.take().unwrap_or_default();
            let record = (kind == "message").then(|| frame.to_string().into_bytes());
            if let Some(journal) = &st.journal {
                journal.push(Entry { record, frames });
            }
        }
    }

    fn dispatch(&mut self, relay: &Relay, st: &mut State, kind: &str, frame: &Value) {
        let req = frame.get("req");
        match (self.role, kind) {
            (Role::Widget, "message") => self.client_message(relay, st, frame),
            (Role::Widget, "typing") => {
                let dialog = st.widget_dialog.get(&self.id).copied();
                if let Some(d) = dialog.and_then(|d| st.dialogs.get(&d)) {
                    if let Some(op) = d.operator {
                        let preview = json!({"type": "typing_preview", "dialog_id": dialog, "text": frame["text"]});
                        st.push(op, preview);
                    }
                }
            }
            (Role::Widget, "rate" | "close" | "consent") => {
                let dialog = st.widget_dialog.get(&self.id).copied();
                st.push(
                    self.id,
                    json!({"type": "ack", "req": req, "dialog_id": dialog}),
                );
            }
            (Role::Operator, "accept") => {
                let dialog_id = frame["dialog_id"].as_u64().unwrap_or(0);
                match st.dialogs.get_mut(&dialog_id) {
                    Some(d) => {
                        d.operator = Some(self.id);
                        let (widget, line) = (d.widget, d.line.clone());
                        st.push(
                            self.id,
                            json!({"type": "ack", "req": req, "dialog_id": dialog_id}),
                        );
                        st.push(self.id, json!({"type": "dialog_assigned", "dialog_id": dialog_id, "line": line}));
                        st.push(widget, json!({"type": "operator_joined", "dialog_id": dialog_id, "operator": {"name": "Operator"}}));
                    }
                    None => st.push(self.id, error(req, "not_found")),
                }
            }
            (Role::Operator, "message") => {
                let dialog_id = frame["dialog_id"].as_u64().unwrap_or(0);
                let msg_id = relay.id();
                match st.dialogs.get_mut(&dialog_id) {
                    Some(d) => {
                        d.seq += 1;
                        let (widget, seq) = (d.widget, d.seq);
                        st.push(self.id, json!({"type": "ack", "req": req, "dialog_id": dialog_id, "msg_id": msg_id, "dialog_seq": seq}));
                        st.push(widget, json!({
                            "type": "message", "dialog_id": dialog_id, "seq": seq, "msg_id": msg_id,
                            "author": "operator", "name": "Operator", "text": frame["text"], "ts": now_ms(),
                        }));
                    }
                    None => st.push(self.id, error(req, "not_found")),
                }
            }
            (Role::Operator, "close") => {
                let dialog_id = frame["dialog_id"].as_u64().unwrap_or(0);
                match st.dialogs.remove(&dialog_id) {
                    Some(d) => {
                        st.widget_dialog.remove(&d.widget);
                        st.push(
                            self.id,
                            json!({"type": "ack", "req": req, "dialog_id": dialog_id}),
                        );
                        st.push(self.id, json!({"type": "dialog_closed", "dialog_id": dialog_id, "reason": "operator"}));
                        st.push(d.widget, json!({"type": "dialog_closed", "dialog_id": dialog_id, "reason": "operator"}));
                        st.push(
                            d.widget,
                            json!({"type": "rating_request", "dialog_id": dialog_id}),
                        );
                    }
                    None => st.push(self.id, error(req, "not_found")),
                }
            }
            (Role::Operator, "typing" | "status" | "decline") => {}
            _ => st.push(self.id, error(req, "unknown_type")),
        }
    }

    fn welcome(&mut self, relay: &Relay, st: &mut State, frame: &Value) {
        match self.role {
            Role::Widget => {
                self.line = frame["line"].as_str().unwrap_or("").to_string();
                self.client_id = frame["client_id"]
                    .as_str()
                    .map_or_else(|| format!("c{}", relay.id()), str::to_string);
                st.push(
                    self.id,
                    json!({
                        "type": "welcome", "client_id": self.client_id, "resume_token": "",
                        "line_name": self.line, "working_hours_open": true,
                    }),
                );
            }
            Role::Operator => {
                let token = frame["token"].as_str().unwrap_or("");
                st.push(
                    self.id,
                    json!({
                        "type": "welcome", "operator_id": token, "name": token, "status": "online",
                        "dialogs": [],
                    }),
                );
                st.operators.push(self.id);
                // Dialogs that waited for anyone to come online.
                let waiting: Vec<u64> = st
                    .dialogs
                    .iter()
                    .filter(|(_, d)| d.operator.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                for dialog_id in waiting {
                    st.offer(dialog_id, self.id);
                }
            }
        }
    }

    fn client_message(&mut self, relay: &Relay, st: &mut State, frame: &Value) {
        let req = frame.get("req");
        let msg_id = relay.id();
        let (dialog_id, new) = match st.widget_dialog.get(&self.id) {
            Some(&d) => (d, false),
            None => {
                let d = relay.id();
                st.widget_dialog.insert(self.id, d);
                st.dialogs.insert(
                    d,
                    Dialog {
                        widget: self.id,
                        operator: None,
                        line: self.line.clone(),
                        client_id: self.client_id.clone(),
                        seq: 0,
                        pending: Vec::new(),
                    },
                );
                (d, true)
            }
        };
        let Some(d) = st.dialogs.get_mut(&dialog_id) else {
            return;
        };
        d.seq += 1;
        let seq = d.seq;
        let message = json!({
            "seq": seq, "msg_id": msg_id, "author": "client", "text": frame["text"], "ts": now_ms(),
        });
        let operator = d.operator;
        if operator.is_none() && d.pending.len() < PENDING_MAX {
            d.pending.push(message.clone());
        }
        st.push(self.id, json!({"type": "ack", "req": req, "dialog_id": dialog_id, "msg_id": msg_id, "seq": seq}));
        match operator {
            Some(op) => st.push(
                op,
                json!({
                    "type": "message", "dialog_id": dialog_id, "dialog_seq": seq, "msg_id": msg_id,
                    "author": "client", "text": frame["text"], "ts": now_ms(),
                }),
            ),
            None if new => {
                if let Some(op) = st.pick_operator() {
                    st.offer(dialog_id, op);
                }
            }
            None => {}
        }
    }

    fn gone(&self, relay: &Relay) {
        let mut st = relay.state();
        st.conns.remove(&self.id);
        if self.role == Role::Operator {
            st.operators.retain(|&op| op != self.id);
            for d in st.dialogs.values_mut() {
                if d.operator == Some(self.id) {
                    d.operator = None;
                }
            }
        } else if let Some(d) = st.widget_dialog.remove(&self.id) {
            st.dialogs.remove(&d);
        }
    }
}
