//! Selective receive on a [`Conn`]: take the next frame, or the first frame that matches
//! (leaving every other frame in the inbox, in order), gather or watch what arrives for a
//! while, wait for the server's close, and send a request and take the reply repeating its
//! `req`. Every wait is bounded; a missing frame fails the test with the unconsumed frames.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Conn, End, RECV_TIMEOUT};
use crate::common::frames::frame_type;

impl Conn {
    /// Reads from the socket into the inbox for `dur`, or until the connection ends.
    async fn read_into_inbox(&mut self, dur: Duration) {
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
    }

    /// Takes the first frame matching `pred`: from the inbox, else from the socket within
    /// `timeout` (the frames read before it go to the inbox). Returns it with the frames before
    /// it that stay in the inbox, or how reading ended.
    async fn take_first(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<(Value, Vec<Value>), End> {
        if let Some(pos) = self.inbox.iter().position(&pred) {
            let before: Vec<Value> = self.inbox.iter().take(pos).cloned().collect();
            let frame = self.inbox.remove(pos).expect("position is in range");
            return Ok((frame, before));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(frame) if pred(&frame) => {
                    return Ok((frame, self.inbox.iter().cloned().collect()));
                }
                Ok(frame) => self.inbox.push_back(frame),
                Err(end) => return Err(end),
            }
        }
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
            frame_type(&frame),
            kind,
            "{}: expected {kind}, got {frame}",
            self.label
        );
        frame
    }

    /// Takes the first frame of type `kind`; the frames before it stay in the inbox and are
    /// returned too.
    pub async fn recv_until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        self.recv_where(kind, |f| frame_type(f) == kind).await
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
        match self.take_first(timeout, pred).await {
            Ok(found) => found,
            Err(end) => panic!(
                "{}: waited {timeout:?} for {what}, got {end:?}; unconsumed frames:\n  {}",
                self.label,
                self.describe_inbox()
            ),
        }
    }

    /// Like [`Conn::recv_where_within`], but `None` instead of failing when nothing matches.
    pub async fn try_recv_where(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        self.take_first(timeout, pred)
            .await
            .ok()
            .map(|(frame, _)| frame)
    }

    /// Everything in the inbox plus whatever arrives within `dur` (consumed).
    pub async fn gather(&mut self, dur: Duration) -> Vec<Value> {
        self.read_into_inbox(dur).await;
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
        self.read_into_inbox(dur).await;
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
        let kind = frame_type(&frame).to_string();
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
        assert_eq!(
            frame_type(&reply),
            "ack",
            "{}: {shown} got {reply}",
            self.label
        );
        reply
    }

    /// Reads until the server ends the connection: `Ok(close code)`, or `Err(reason)` when it was
    /// dropped without a close frame reaching us (e.g. reset while our receive buffer was full).
    pub async fn expect_end(&mut self) -> Result<Option<u16>, String> {
        let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(frame) => self.inbox.push_back(frame),
                Err(End::Closed(code)) => return Ok(code),
                Err(End::Error(e)) => return Err(e),
                Err(End::Timeout) => panic!(
                    "{}: the server did not end the connection within {RECV_TIMEOUT:?}",
                    self.label
                ),
            }
        }
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
}
