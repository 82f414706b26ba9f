//! Shared harness of the gateway end-to-end tests: builds a config, runs the real `switchboard`
//! binary on port 0 in a fresh temp dir, and talks to it over real WebSockets as widgets and
//! operators, in JSON (text frames) or MessagePack (binary frames).
//!
//! Receiving is *selective*: operators get frames asynchronously, so [`Conn::recv_where`] takes
//! the first frame that matches and leaves every other frame in the connection's inbox (in
//! order) for later calls. Every wait is bounded ([`RECV_TIMEOUT`]), so a missing frame fails the
//! test with the frames that did arrive instead of hanging it. Every received frame is also kept
//! in [`Conn::log`] for counting (duplicates, sequence checks).

#![allow(dead_code)]

pub mod in_process;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for one expected frame.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(700);

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/// The token of operator `id` in every test config.
pub fn token(id: &str) -> String {
    format!("{id}-token")
}

/// The display name of operator `id` in every test config: `anna` → `Anna`.
pub fn display_name(id: &str) -> String {
    let mut chars = id.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One `[[lines]]` block.
#[derive(Clone, Debug)]
pub struct Line {
    id: String,
    name: String,
    top: Vec<String>,
    queue: Vec<String>,
    sections: Vec<String>,
}

/// A line `id` (named like the id, capitalized) with the given queue.
pub fn line(id: &str, mode: &str, members: &[&str], transfer_after: &str) -> Line {
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    Line {
        id: id.to_string(),
        name: display_name(id),
        top: Vec::new(),
        queue: vec![
            format!("members = [{}]", members.join(", ")),
            format!("mode = \"{mode}\""),
            format!("transfer_after = \"{transfer_after}\""),
        ],
        sections: Vec::new(),
    }
}

impl Line {
    /// A key of the line itself, e.g. `typing_preview = true`.
    pub fn top(mut self, toml: &str) -> Self {
        self.top.push(toml.to_string());
        self
    }

    /// A key of `[lines.queue]`, e.g. `limit = { max = 1, count = "all" }`.
    pub fn queue(mut self, toml: &str) -> Self {
        self.queue.push(toml.to_string());
        self
    }

    /// A whole sub-table, e.g. `"[lines.auto]\ngreeting_text = \"Hi\""`.
    pub fn section(mut self, toml: &str) -> Self {
        self.sections.push(toml.to_string());
        self
    }

    fn render(&self, first: bool, out: &mut String) {
        out.push_str("\n[[lines]]\n");
        out.push_str(&format!("id = \"{}\"\nname = \"{}\"\n", self.id, self.name));
        if first {
            out.push_str("channels = [\"online_chat\"]\n");
        }
        for key in &self.top {
            out.push_str(key);
            out.push('\n');
        }
        out.push_str("[lines.queue]\n");
        for key in &self.queue {
            out.push_str(key);
            out.push('\n');
        }
        for section in &self.sections {
            out.push_str(section);
            out.push('\n');
        }
    }
}

/// A whole config file, minus `listen` and `data_dir` (the harness sets those).
#[derive(Clone, Debug, Default)]
pub struct Config {
    server: Vec<String>,
    operators: Vec<String>,
    lines: Vec<Line>,
    limits: Vec<String>,
    tail: Vec<String>,
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// Operators with id `id`, name [`display_name`] and token [`token`].
    pub fn operators(mut self, ids: &[&str]) -> Self {
        for id in ids {
            self.operators.push(format!(
                "id = \"{id}\"\nname = \"{}\"\ntoken = \"{}\"\n",
                display_name(id),
                token(id)
            ));
        }
        self
    }

    /// An operator block in raw TOML (without the `[[operators]]` header).
    pub fn operator_raw(mut self, toml: &str) -> Self {
        self.operators.push(format!("{toml}\n"));
        self
    }

    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    /// A `[server.limits]` key with its TOML value, e.g. `limit("frame_bytes_max", "1024")`.
    /// Top-level TOML appended at the end, e.g. a `[[quick_answers]]` table.
    pub fn raw(mut self, toml: &str) -> Self {
        self.tail.push(toml.to_string());
        self
    }

    /// A `[server]` key with its TOML value, e.g. `server_key("admin_token", "\"t\"")`.
    pub fn server_key(mut self, key: &str, value: &str) -> Self {
        self.server.push(format!("{key} = {value}"));
        self
    }

    /// Opens the admin API with [`ADMIN_TOKEN`].
    pub fn admin(self) -> Self {
        self.server_key("admin_token", &format!("\"{ADMIN_TOKEN}\""))
    }

    pub fn limit(mut self, key: &str, value: &str) -> Self {
        self.limits.push(format!("{key} = {value}"));
        self
    }

    pub fn render(&self, data_dir: &Path) -> String {
        let mut out = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n",
            data_dir.display()
        );
        for key in &self.server {
            out.push_str(key);
            out.push('\n');
        }
        if !self.limits.is_empty() {
            out.push_str("\n[server.limits]\n");
            for key in &self.limits {
                out.push_str(key);
                out.push('\n');
            }
        }
        for op in &self.operators {
            out.push_str("\n[[operators]]\n");
            out.push_str(op);
        }
        for (i, line) in self.lines.iter().enumerate() {
            line.render(i == 0, &mut out);
        }
        for toml in &self.tail {
            out.push('\n');
            out.push_str(toml);
            out.push('\n');
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------------------------

/// Where WebSocket clients connect: a server process or one served in the test process.
pub trait Endpoint {
    /// The `ws://` URL of `path` (e.g. `/ws/widget`).
    fn ws_url(&self, path: &str) -> String;
}

impl Endpoint for Server {
    fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

/// A running `switchboard serve`; killed (and its temp dir removed) on drop. When the test is
/// panicking, the server's stderr is printed and the dir is kept.
pub struct Server {
    child: Child,
    pub addr: String,
    pub dir: PathBuf,
    exited: Option<ExitStatus>,
}

static SERVERS: AtomicU64 = AtomicU64::new(0);

/// A new empty temp dir for one server of this test process; `name` labels it.
pub fn fresh_dir(name: &str) -> PathBuf {
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("switchboard-e2e-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

impl Server {
    /// Starts the binary on `config`; `name` labels its temp dir.
    pub fn start(name: &str, config: &Config) -> Server {
        let dir = fresh_dir(name);
        let config_path = dir.join("config.toml");
        let text = config.render(&dir.join("data"));
        std::fs::write(&config_path, &text).expect("write config");
        let (child, addr) = Server::launch(&dir);
        Server {
            child,
            addr,
            dir,
            exited: None,
        }
    }

    /// Spawns the binary on `dir/config.toml` and reads its address line.
    fn launch(dir: &Path) -> (Child, String) {
        let config_path = dir.join("config.toml");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .expect("stderr log");
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn switchboard");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the address line, then keeps draining stdout so the server never hits EPIPE.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send(first);
            let mut sink = String::new();
            while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        match first.trim().strip_prefix("switchboard listening on ") {
            Some(addr) => (child, addr.to_string()),
            None => {
                let _ = child.kill();
                panic!(
                    "server did not start; first stdout line {first:?}\nconfig:\n{}\nstderr:\n{}",
                    std::fs::read_to_string(&config_path).unwrap_or_default(),
                    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                )
            }
        }
    }

    /// SIGKILLs the process (no chance to flush or close anything) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the binary again on the same config and data directory (after `kill9`).
    pub fn restart(&mut self) {
        let (child, addr) = Server::launch(&self.dir);
        self.child = child;
        self.addr = addr;
        self.exited = None;
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- switchboard stderr ({}) ---\n{}",
                self.dir.display(),
                self.stderr()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------------

/// A connection's encoding: JSON text frames or MessagePack binary frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    Json,
    MsgPack,
}

/// The `type` of a frame ("" when missing).
pub fn ty(frame: &Value) -> &str {
    frame["type"].as_str().unwrap_or("")
}

/// A required unsigned field.
pub fn u(frame: &Value, key: &str) -> u64 {
    frame[key]
        .as_u64()
        .unwrap_or_else(|| panic!("field {key:?} is not an unsigned integer in {frame}"))
}

/// A required string field.
pub fn s<'a>(frame: &'a Value, key: &str) -> &'a str {
    frame[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key:?} is not a string in {frame}"))
}

/// Asserts `frame` is an `error` with `code`.
pub fn assert_error(frame: &Value, code: &str) {
    assert_eq!(ty(frame), "error", "expected error {code}, got {frame}");
    assert_eq!(s(frame, "code"), code, "wrong error code in {frame}");
    assert!(
        frame["message"].is_string(),
        "error without message: {frame}"
    );
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Whether `frame` is an operator-side `message` with this text.
pub fn is_message_with_text(frame: &Value, text: &str) -> bool {
    ty(frame) == "message" && frame["text"] == text
}

/// Frames of `frames` of type `kind`.
pub fn of_type<'a>(frames: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| ty(f) == kind).collect()
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How reading a frame ended, when it did not yield one.
#[derive(Debug)]
pub enum End {
    Timeout,
    /// A close frame arrived (its code, if any), or the stream ended (`None`).
    Closed(Option<u16>),
    Error(String),
}

/// One WebSocket connection with a selective-receive inbox.
pub struct Conn {
    ws: Ws,
    pub enc: Enc,
    pub label: String,
    pub inbox: VecDeque<Value>,
    /// Every frame received on this connection, in arrival order.
    pub log: Vec<Value>,
    next_req: u64,
    /// Set once the server closed the connection (close code, if any).
    pub closed: Option<Option<u16>>,
}

impl Conn {
    /// Opens a WebSocket to `path` (e.g. `/ws/widget`).
    pub async fn open(server: &impl Endpoint, path: &str, enc: Enc, label: &str) -> Conn {
        let url = server.ws_url(path);
        let (ws, _) =
            tokio::time::timeout(RECV_TIMEOUT, tokio_tungstenite::connect_async(url.as_str()))
                .await
                .unwrap_or_else(|_| panic!("{label}: WebSocket handshake to {url} timed out"))
                .unwrap_or_else(|e| panic!("{label}: WebSocket handshake to {url} failed: {e}"));
        Conn {
            ws,
            enc,
            label: label.to_string(),
            inbox: VecDeque::new(),
            log: Vec::new(),
            next_req: 1000,
            closed: None,
        }
    }

    /// A fresh `req` for this connection.
    pub fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    /// Sends `frame` in this connection's encoding.
    pub async fn send(&mut self, frame: Value) {
        match self.enc {
            Enc::Json => self.send_text(frame.to_string()).await,
            Enc::MsgPack => {
                let bytes = rmp_serde::to_vec_named(&frame).expect("encode MessagePack");
                self.send_binary(bytes).await
            }
        }
    }

    /// Sends a JSON frame; false when the connection is gone (for tests that kill the server).
    pub async fn try_send(&mut self, frame: Value) -> bool {
        self.ws.send(Message::text(frame.to_string())).await.is_ok()
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        self.ws
            .send(Message::text(text))
            .await
            .unwrap_or_else(|e| panic!("{}: send failed: {e}", self.label));
    }

    /// Sends a raw binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::binary(bytes))
            .await
            .unwrap_or_else(|e| panic!("{}: send failed: {e}", self.label));
    }

    /// Reads one data frame from the socket within `timeout` (pings and pongs are skipped).
    /// A frame in the other encoding than this connection's fails the test.
    async fn read(&mut self, timeout: Duration) -> Result<Value, End> {
        if let Some(code) = self.closed {
            return Err(End::Closed(code));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let next = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Err(End::Timeout),
                Ok(next) => next,
            };
            let msg = match next {
                None => {
                    self.closed = Some(None);
                    return Err(End::Closed(None));
                }
                Some(Err(e)) => {
                    self.closed = Some(None);
                    return Err(End::Error(e.to_string()));
                }
                Some(Ok(msg)) => msg,
            };
            let frame = match msg {
                Message::Text(text) => {
                    assert_eq!(
                        self.enc,
                        Enc::Json,
                        "{}: got a text frame on a MessagePack connection: {}",
                        self.label,
                        text.as_str()
                    );
                    serde_json::from_str::<Value>(text.as_str()).unwrap_or_else(|e| {
                        panic!("{}: server sent bad JSON {:?}: {e}", self.label, text)
                    })
                }
                Message::Binary(bytes) => {
                    assert_eq!(
                        self.enc,
                        Enc::MsgPack,
                        "{}: got a binary frame on a JSON connection",
                        self.label
                    );
                    rmp_serde::from_slice::<Value>(&bytes).unwrap_or_else(|e| {
                        panic!("{}: server sent bad MessagePack {bytes:?}: {e}", self.label)
                    })
                }
                Message::Close(frame) => {
                    let code = frame.map(|f| u16::from(f.code));
                    self.closed = Some(code);
                    return Err(End::Closed(code));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            };
            self.log.push(frame.clone());
            return Ok(frame);
        }
    }

    fn describe_inbox(&self) -> String {
        if self.inbox.is_empty() {
            return "(none)".into();
        }
        self.inbox
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n  ")
    }

    /// The next frame, whatever it is (inbox first).
    pub async fn next(&mut self) -> Value {
        if let Some(frame) = self.inbox.pop_front() {
            return frame;
        }
        match self.read(RECV_TIMEOUT).await {
            Ok(frame) => frame,
            Err(end) => panic!("{}: expected a frame, got {end:?}", self.label),
        }
    }

    /// The next frame, which must be of type `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let frame = self.next().await;
        assert_eq!(
            ty(&frame),
            kind,
            "{}: expected {kind}, got {frame}",
            self.label
        );
        frame
    }

    /// Takes the first frame of type `kind`; the frames before it stay in the inbox and are
    /// returned too.
    pub async fn recv_until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        self.recv_where(kind, |f| ty(f) == kind).await
    }

    /// Takes the first frame matching `pred` (inbox first, then the socket, at most
    /// [`RECV_TIMEOUT`]); every other frame stays in the inbox, and those before the match are
    /// returned as well.
    pub async fn recv_where(
        &mut self,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> (Value, Vec<Value>) {
        self.recv_where_within(what, RECV_TIMEOUT, pred).await
    }

    /// [`Conn::recv_where`] with its own time limit.
    pub async fn recv_where_within(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> (Value, Vec<Value>) {
        if let Some(pos) = self.inbox.iter().position(&pred) {
            let before: Vec<Value> = self.inbox.iter().take(pos).cloned().collect();
            let frame = self.inbox.remove(pos).expect("position is in range");
            return (frame, before);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(frame) if pred(&frame) => {
                    return (frame, self.inbox.iter().cloned().collect());
                }
                Ok(frame) => self.inbox.push_back(frame),
                Err(end) => panic!(
                    "{}: waited {timeout:?} for {what}, got {end:?}; unconsumed frames:\n  {}",
                    self.label,
                    self.describe_inbox()
                ),
            }
        }
    }

    /// Like [`Conn::recv_where_within`], but `None` instead of failing when nothing matches.
    pub async fn try_recv_where(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(pos) = self.inbox.iter().position(&pred) {
            return self.inbox.remove(pos);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(frame) if pred(&frame) => return Some(frame),
                Ok(frame) => self.inbox.push_back(frame),
                Err(_) => return None,
            }
        }
    }

    /// Everything in the inbox plus whatever arrives within `dur` (consumed).
    pub async fn gather(&mut self, dur: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + dur;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match self.read(left).await {
                Ok(frame) => self.inbox.push_back(frame),
                Err(_) => break,
            }
        }
        self.inbox.drain(..).collect()
    }

    /// Asserts that no frame matching `pred` is in the inbox or arrives within `dur`; other
    /// frames stay in the inbox.
    pub async fn assert_none_within(
        &mut self,
        dur: Duration,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + dur;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match self.read(left).await {
                Ok(frame) => self.inbox.push_back(frame),
                Err(_) => break,
            }
        }
        if let Some(bad) = self.inbox.iter().find(|f| pred(f)) {
            panic!(
                "{}: expected no {what} within {dur:?}, got {bad}",
                self.label
            );
        }
    }

    /// Sends `frame` with a `req` (a fresh one unless it has one) and takes the reply repeating
    /// it (`ack`, `error`, or a typed answer such as `history`).
    pub async fn request(&mut self, mut frame: Value) -> Value {
        let req = match frame["req"].as_u64() {
            Some(req) => req,
            None => {
                let req = self.req();
                frame["req"] = json!(req);
                req
            }
        };
        let kind = ty(&frame).to_string();
        self.send(frame).await;
        let (reply, _) = self
            .recv_where(&format!("the reply to {kind} req {req}"), |f| {
                f["req"].as_u64() == Some(req)
            })
            .await;
        reply
    }

    /// [`Conn::request`] that must succeed.
    pub async fn ack(&mut self, frame: Value) -> Value {
        let shown = frame.to_string();
        let reply = self.request(frame).await;
        assert_eq!(ty(&reply), "ack", "{}: {shown} got {reply}", self.label);
        reply
    }

    /// Reads until the server closes the connection and returns the close code (`None` when
    /// the stream ended without a close frame). Frames before the close stay in the inbox.
    pub async fn expect_close(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(frame) => self.inbox.push_back(frame),
                Err(End::Closed(code)) => return code,
                Err(End::Error(e)) => {
                    panic!("{}: connection failed without a close frame: {e}", self.label)
                }
                Err(End::Timeout) => panic!(
                    "{}: the server did not close the connection within {RECV_TIMEOUT:?}; frames:\n  {}",
                    self.label,
                    self.describe_inbox()
                ),
            }
        }
    }

    /// Closes the connection politely (close frame) and drops it.
    pub async fn disconnect(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
        // Let the close handshake finish so the server sees it at once.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// Widget and operator clients
// ---------------------------------------------------------------------------------------------

/// A chat widget that got its `welcome`.
pub struct Widget {
    pub conn: Conn,
    pub welcome: Value,
}

impl Deref for Widget {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for Widget {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Widget {
    /// Connects, sends `hello` and takes the `welcome`, which must be the first frame.
    pub async fn connect(server: &impl Endpoint, hello: Value, enc: Enc) -> Widget {
        let label = format!(
            "widget {}",
            hello["client_id"].as_str().unwrap_or("(resumed)")
        );
        let mut conn = Conn::open(server, "/ws/widget", enc, &label).await;
        conn.send(hello).await;
        let welcome = conn.expect("welcome").await;
        Widget { conn, welcome }
    }

    /// A new JSON client `client_id` on `line`.
    pub async fn join(server: &impl Endpoint, line: &str, client_id: &str) -> Widget {
        Widget::connect(
            server,
            json!({"type": "hello", "line": line, "client_id": client_id}),
            Enc::Json,
        )
        .await
    }

    pub fn client_id(&self) -> String {
        s(&self.welcome, "client_id").to_string()
    }

    pub fn resume_token(&self) -> String {
        s(&self.welcome, "resume_token").to_string()
    }

    /// Sends a message and returns its `ack`.
    pub async fn say(&mut self, client_msg_id: &str, text: &str) -> Value {
        self.conn
            .ack(json!({"type": "message", "client_msg_id": client_msg_id, "text": text}))
            .await
    }

    /// Takes the next `message` from an operator with this text.
    pub async fn operator_said(&mut self, text: &str) -> Value {
        let text = text.to_string();
        self.conn
            .recv_where(&format!("operator message {text:?}"), move |f| {
                is_message_with_text(f, &text) && f["author"] == "operator"
            })
            .await
            .0
    }
}

/// An operator client that got its `welcome`.
pub struct Operator {
    pub conn: Conn,
    pub welcome: Value,
    pub id: String,
}

impl Deref for Operator {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for Operator {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Operator {
    /// Connects as `id` (JSON) and takes the `welcome`.
    pub async fn connect(server: &impl Endpoint, id: &str) -> Operator {
        Operator::connect_with(
            server,
            id,
            json!({"type": "hello", "token": token(id)}),
            Enc::Json,
        )
        .await
    }

    /// Connects with this `hello` and takes the `welcome`, which must be the first frame.
    pub async fn connect_with(
        server: &impl Endpoint,
        id: &str,
        hello: Value,
        enc: Enc,
    ) -> Operator {
        let mut conn = Conn::open(server, "/ws/operator", enc, &format!("operator {id}")).await;
        conn.send(hello).await;
        let welcome = conn.expect("welcome").await;
        Operator {
            conn,
            welcome,
            id: id.to_string(),
        }
    }

    /// Takes the `dialog_offered` for dialog `d`.
    pub async fn offered(&mut self, d: u64) -> Value {
        self.conn
            .recv_where(&format!("dialog_offered {d}"), |f| {
                ty(f) == "dialog_offered" && f["dialog_id"] == d
            })
            .await
            .0
    }

    /// Takes the `dialog_revoked` for dialog `d`.
    pub async fn revoked(&mut self, d: u64) -> Value {
        self.conn
            .recv_where(&format!("dialog_revoked {d}"), |f| {
                ty(f) == "dialog_revoked" && f["dialog_id"] == d
            })
            .await
            .0
    }

    /// Takes the `dialog_assigned` for dialog `d`.
    pub async fn assigned(&mut self, d: u64) -> Value {
        self.conn
            .recv_where(&format!("dialog_assigned {d}"), |f| {
                ty(f) == "dialog_assigned" && f["dialog_id"] == d
            })
            .await
            .0
    }

    /// Takes the next client `message` with this text.
    pub async fn client_said(&mut self, text: &str) -> Value {
        let text = text.to_string();
        self.conn
            .recv_where(&format!("client message {text:?}"), move |f| {
                is_message_with_text(f, &text) && f["author"] == "client"
            })
            .await
            .0
    }

    pub async fn accept(&mut self, d: u64) -> Value {
        self.conn
            .ack(json!({"type": "accept", "dialog_id": d}))
            .await
    }

    /// Sends a message in dialog `d` and returns its `ack`.
    pub async fn say(&mut self, d: u64, client_msg_id: &str, text: &str) -> Value {
        self.conn
            .ack(json!({
                "type": "message",
                "dialog_id": d,
                "client_msg_id": client_msg_id,
                "text": text
            }))
            .await
    }

    pub async fn close_dialog(&mut self, d: u64) -> Value {
        self.conn
            .ack(json!({"type": "close", "dialog_id": d}))
            .await
    }

    /// Sets presence (`online`, `away`, `offline`); the server must ack it.
    pub async fn status(&mut self, state: &str) -> Value {
        self.conn
            .ack(json!({"type": "status", "state": state}))
            .await
    }
}

/// A brand-new widget can still connect to `line` and gets its `welcome`: the server survived.
pub async fn assert_new_widget_welcomed(server: &Server, line: &str) {
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    let widget = Widget::join(server, line, &format!("probe-{n}")).await;
    assert_eq!(
        widget.welcome["client_id"],
        format!("probe-{n}"),
        "{}",
        widget.welcome
    );
    widget.conn.disconnect().await;
}

// ---------------------------------------------------------------------------------------------
// Admin HTTP API
// ---------------------------------------------------------------------------------------------

/// The admin token of [`Config::admin`].
pub const ADMIN_TOKEN: &str = "admin-secret";

/// An HTTP client for the admin API and `/metrics` of one server.
pub struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An HTTP answer: status and body (JSON when it parses, else the text as a JSON string).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Http {
    /// A client with the right admin token.
    pub fn admin(server: &Server) -> Http {
        Http::with_token(server, Some(ADMIN_TOKEN))
    }

    /// A client sending `token` (or no `Authorization` header).
    pub fn with_token(server: &Server, token: Option<&str>) -> Http {
        Http {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
            base: format!("http://{}", server.addr),
            token: token.map(str::to_string),
        }
    }

    /// Sends `method path` with an optional raw body.
    pub async fn send(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Answer { status, body, text }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send("PUT", path, Some(&body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send("DELETE", path, None).await
    }

    /// `GET path`, which must answer 200; its JSON body.
    pub async fn ok(&self, path: &str) -> Value {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
        answer.body
    }
}

impl Answer {
    /// Asserts an admin API error: this status, this code, and a message mentioning `mentions`.
    pub fn assert_error(&self, status: u16, code: &str, mentions: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["error"]["code"], code, "{}", self.text);
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(mentions),
            "the message should mention {mentions:?}: {}",
            self.text
        );
    }
}
