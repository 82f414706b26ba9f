//! The crash run's connections: JSON frames over one WebSocket, opened to whatever address the
//! server has now (it gets a new port at each restart), with every wait bounded. Shared by the
//! widget and operator actors.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::wire::conn::{self, Sink, Stream};

/// How long one network step may take before the connection counts as lost.
pub const STEP: Duration = Duration::from_secs(3);

/// Where the run is: load on, load off (settling), or over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Load,
    Settle,
    Over,
}

/// The server's current `ws://ADDR` and the phase, as every actor watches them.
#[derive(Clone)]
pub struct Signals {
    pub url: watch::Receiver<String>,
    pub phase: watch::Receiver<Phase>,
}

impl Signals {
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }
}

/// One open connection.
pub struct Link {
    sink: Sink,
    stream: Stream,
}

/// What reading gave.
pub enum Read {
    Frame(Value),
    /// The connection is gone (the server was killed, or closed it).
    Lost,
}

impl Link {
    /// Connects to `path` on the server's current address.
    pub async fn open(signals: &Signals, path: &str) -> Option<Link> {
        let url = format!("{}{path}", signals.url.borrow().clone());
        let ws = conn::connect(&url, STEP).await.ok()?;
        let (sink, stream) = ws.split();
        Some(Link { sink, stream })
    }

    /// Sends one JSON frame; false when the connection is gone.
    pub async fn send(&mut self, frame: &Value) -> bool {
        let message = Message::text(frame.to_string());
        matches!(
            tokio::time::timeout(STEP, self.sink.send(message)).await,
            Ok(Ok(()))
        )
    }

    /// The next JSON frame (anything that is not one is skipped).
    pub async fn read(&mut self) -> Read {
        loop {
            match self.stream.next().await {
                Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
                    Ok(value) => return Read::Frame(value),
                    Err(_) => continue,
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Read::Lost,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads until a frame of `kind` arrives, within [`STEP`].
    pub async fn expect(&mut self, kind: &str) -> Option<Value> {
        tokio::time::timeout(STEP, async {
            loop {
                match self.read().await {
                    Read::Frame(f) if f["type"] == kind => return Some(f),
                    Read::Frame(f) if f["type"] == "error" => return None,
                    Read::Frame(_) => continue,
                    Read::Lost => return None,
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.sink.close()).await;
    }
}

/// A number field of a frame.
pub fn num(frame: &Value, key: &str) -> u64 {
    frame[key].as_u64().unwrap_or(0)
}

/// A text field of a frame.
pub fn text(frame: &Value, key: &str) -> String {
    frame[key].as_str().unwrap_or_default().to_string()
}
