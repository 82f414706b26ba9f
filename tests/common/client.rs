//! The one WebSocket test client: [`Conn`] opens a real WebSocket to an [`Endpoint`] (the
//! binary or the in-process server), sends frames in its encoding ([`Enc`]: JSON text or
//! MessagePack binary frames) and reads and decodes what comes back, keeping every frame in
//! [`Conn::log`].
//!
//! Receiving is *selective* (in [`receive`]): operators get frames asynchronously, so
//! [`Conn::recv_where`] takes the first frame that matches and leaves every other frame in the
//! connection's inbox (in order) for later calls. Every wait is bounded ([`RECV_TIMEOUT`]), so a
//! missing frame fails the test with the frames that did arrive instead of hanging it.

mod receive;

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for one expected frame.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// How long "nothing more arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(700);

/// Where WebSocket clients connect: a server process or one served in the test process.
pub trait Endpoint {
    /// The `ws://` URL of `path` (e.g. `/ws/widget`).
    fn ws_url(&self, path: &str) -> String;
}

/// A connection's encoding: JSON text frames or MessagePack binary frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enc {
    Json,
    MsgPack,
}

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

    /// Opens a WebSocket to `path` as a browser page of `origin` would (an `Origin` header).
    pub async fn open_from(server: &impl Endpoint, path: &str, origin: &str, label: &str) -> Conn {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = server.ws_url(path);
        let mut request = url.as_str().into_client_request().expect("a WebSocket URL");
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("an origin header value"));
        let (ws, _) = tokio::time::timeout(RECV_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("{label}: WebSocket handshake to {url} timed out"))
            .unwrap_or_else(|e| panic!("{label}: WebSocket handshake to {url} failed: {e}"));
        Conn {
            ws,
            enc: Enc::Json,
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
