//! One WebSocket connection's plumbing, shared by both sides: the encoding chosen by the first
//! frame, decoding with the size limit, encoding replies, the per-connection token bucket, and
//! closing with a code. The only code that reads or writes a socket.

use crate::config::Limits;
use crate::metrics::{Metrics, Side};
use crate::protocol::{decode, encode, DecodeError, Encoding, ErrorCode, ErrorFrame, Frame};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use std::sync::Arc;
use std::time::Instant;

/// Close codes (PROTOCOL.md).
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const POLICY: u16 = 1008;
    pub const TOO_LARGE: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const SLOW_CONSUMER: u16 = 4000;
}

/// What came in.
pub enum Incoming<F> {
    Frame(F),
    /// A frame that did not decode: answer with this error, keep the connection.
    Bad(ErrorFrame),
    /// Close the connection with this code.
    Close(u16, &'static str),
    /// The peer closed or the socket failed.
    Gone,
    /// Ping/pong: nothing to do.
    Nothing,
}

/// A token bucket: `rate` per second, `burst` at most.
pub struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Takes a token if one is left.
    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A connection and its negotiated encoding.
pub struct Conn {
    pub socket: WebSocket,
    pub encoding: Encoding,
    frame_bytes_max: usize,
    pub bucket: Bucket,
    metrics: Arc<Metrics>,
    side: Side,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.metrics.counters.connection_closed(self.side);
    }
}

impl Conn {
    /// A connection of `side`, counted in `metrics` until dropped.
    pub fn new(socket: WebSocket, limits: &Limits, metrics: Arc<Metrics>, side: Side) -> Self {
        metrics.counters.connection_opened(side);
        Self {
            socket,
            encoding: Encoding::Json,
            frame_bytes_max: limits.frame_bytes_max,
            bucket: Bucket::new(limits.messages_per_sec, limits.messages_burst),
            metrics,
            side,
        }
    }

    /// Counts a chat message received from this side.
    pub fn count_message_in(&self) {
        self.metrics.counters.message_in(self.side);
    }

    /// Reads the next frame. The first data frame fixes the connection's encoding.
    pub async fn recv<F: Frame>(&mut self, first: bool) -> Incoming<F> {
        let (bytes, encoding) = match self.socket.recv().await {
            None => return Incoming::Gone,
            Some(Err(e)) => {
                let text = e.to_string();
                return if text.contains("too long")
                    || text.contains("Space limit")
                    || text.contains("too big")
                {
                    Incoming::Close(close::TOO_LARGE, "frame too large")
                } else {
                    Incoming::Gone
                };
            }
            Some(Ok(Message::Text(text))) => (text.as_bytes().to_vec(), Encoding::Json),
            Some(Ok(Message::Binary(bytes))) => (bytes.to_vec(), Encoding::MsgPack),
            Some(Ok(Message::Close(_))) => return Incoming::Gone,
            Some(Ok(_)) => return Incoming::Nothing,
        };
        if first {
            self.encoding = encoding;
        }
        match decode::<F>(&bytes, encoding, self.frame_bytes_max) {
            Ok(frame) => Incoming::Frame(frame),
            Err(DecodeError::TooLarge { .. }) => {
                Incoming::Close(close::TOO_LARGE, "frame too large")
            }
            Err(e) => Incoming::Bad(ErrorFrame {
                req: e.req(),
                code: e.code(),
                message: e.reason(),
            }),
        }
    }

    /// Encodes and sends one frame; false when the socket is gone.
    pub async fn send<F: Frame>(&mut self, frame: &F) -> bool {
        match self.message(frame) {
            Some(message) => self.socket.send(message).await.is_ok(),
            None => true,
        }
    }

    /// Encodes and queues one frame without flushing (see [`Conn::flush`]); false when the
    /// socket is gone.
    pub async fn feed<F: Frame>(&mut self, frame: &F) -> bool {
        match self.message(frame) {
            Some(message) => self.socket.feed(message).await.is_ok(),
            None => true,
        }
    }

    /// Writes out every fed frame.
    pub async fn flush(&mut self) -> bool {
        SinkExt::<Message>::flush(&mut self.socket).await.is_ok()
    }

    /// A frame as a WebSocket message in this connection's encoding, counted in the metrics.
    /// Our frames always encode; `None` would mean a frame that cannot, which is skipped.
    fn message<F: Frame>(&self, frame: &F) -> Option<Message> {
        if let Some(code) = frame.error_code() {
            self.metrics.counters.error(code);
        } else if frame.type_name() == "message" {
            self.metrics.counters.messages_out(1);
        }
        let bytes = encode(frame, self.encoding).ok()?;
        Some(match self.encoding {
            Encoding::Json => Message::Text(String::from_utf8(bytes).ok()?.into()),
            Encoding::MsgPack => Message::Binary(bytes.into()),
        })
    }

    /// Sends a close frame with `code` and ends the connection.
    pub async fn close(mut self, code: u16, reason: &'static str) {
        let _ = self
            .socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
            while let Some(Ok(message)) = self.socket.recv().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// An error frame with a fixed message.
pub fn error(req: Option<u64>, code: ErrorCode, message: &'static str) -> ErrorFrame {
    ErrorFrame::new(req, code, message)
}

/// The answer when a shard task is gone (only during shutdown).
pub fn shutting_down(req: Option<u64>) -> ErrorFrame {
    error(req, ErrorCode::Internal, "the server is shutting down")
}

/// Checks a message text: not empty, at most `text_chars_max` characters.
pub fn check_text(req: Option<u64>, text: &str, limits: &Limits) -> Result<(), ErrorFrame> {
    if !crate::protocol::text_within(text, limits.text_chars_max) {
        return Err(error(
            req,
            ErrorCode::TooLarge,
            "message text is over text_chars_max",
        ));
    }
    if text.trim().is_empty() {
        return Err(error(req, ErrorCode::BadFrame, "message text is empty"));
    }
    Ok(())
}
