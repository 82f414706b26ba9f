//! One WebSocket connection's life from the generator's side: connect (TCP + WebSocket, with a
//! small read buffer and no Nagle), `hello` → `welcome`, bounded sends and receives, close.
//!
//! Invariant: every await on the network here has a timeout; a caller never hangs on a dead
//! server. The only module that calls tokio-tungstenite's client API.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::fmt;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::frames::{decode, encode, Encoding, Kind, Out, Received};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
pub type Sink = SplitSink<Ws, Message>;
pub type Stream = SplitStream<Ws>;

/// Read buffer per connection: frames here are a few hundred bytes, and tungstenite zero-fills
/// the whole buffer before each read (128 KiB by default).
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// Largest message accepted from the server.
const MESSAGE_BYTES_MAX: usize = 1 << 20;

/// Why a connection step failed.
#[derive(Debug, Clone)]
pub enum ConnError {
    /// TCP or the WebSocket upgrade failed.
    Connect { url: String, reason: String },
    /// A step took longer than the I/O timeout.
    Timeout(&'static str),
    /// The server closed the connection (with this close code, if any).
    Closed(Option<u16>),
    /// The server answered `hello` with an `error`.
    Refused(String),
    /// Reading or writing failed.
    Io(String),
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Connect { url, reason } => write!(f, "cannot connect to {url}: {reason}"),
            ConnError::Timeout(what) => write!(f, "{what} timed out"),
            ConnError::Closed(Some(code)) => write!(f, "the server closed with {code}"),
            ConnError::Closed(None) => write!(f, "the server closed the connection"),
            ConnError::Refused(code) => write!(f, "the server refused hello: {code}"),
            ConnError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Opens a WebSocket to `url` (TCP + upgrade), within `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Result<Ws, ConnError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(MESSAGE_BYTES_MAX))
        .max_frame_size(Some(MESSAGE_BYTES_MAX));
    let connecting = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(ConnError::Timeout("connecting")),
        Ok(Err(e)) => Err(ConnError::Connect {
            url: url.to_string(),
            reason: e.to_string(),
        }),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// Sends one message within `timeout`.
pub async fn send<S>(sink: &mut S, message: Message, timeout: Duration) -> Result<(), ConnError>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    match tokio::time::timeout(timeout, sink.send(message)).await {
        Err(_) => Err(ConnError::Timeout("sending")),
        Ok(Err(e)) => Err(ConnError::Io(format!("send failed: {e}"))),
        Ok(Ok(())) => Ok(()),
    }
}

/// Encodes and sends one frame within `timeout`.
pub async fn send_frame<S>(
    sink: &mut S,
    encoding: Encoding,
    frame: &Out<'_>,
    timeout: Duration,
) -> Result<(), ConnError>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    let message = encode(encoding, frame).map_err(ConnError::Io)?;
    send(sink, message, timeout).await
}

/// Sends `hello` and waits for `welcome` (skipping anything else), within `timeout` in all.
pub async fn hello(
    ws: &mut Ws,
    encoding: Encoding,
    frame: &Out<'_>,
    timeout: Duration,
) -> Result<(), ConnError> {
    send_frame(ws, encoding, frame, timeout).await?;
    let waiting = async {
        loop {
            let Some(next) = ws.next().await else {
                return Err(ConnError::Closed(None));
            };
            let message = next.map_err(|e| ConnError::Io(format!("receive failed: {e}")))?;
            match decode(message) {
                Ok(Received::Frame(f)) if f.kind == Kind::Welcome => return Ok(()),
                Ok(Received::Frame(f)) if f.kind == Kind::Error => {
                    return Err(ConnError::Refused(f.code.unwrap_or_default()))
                }
                Ok(Received::Closed(code)) => return Err(ConnError::Closed(code)),
                _ => continue,
            }
        }
    };
    tokio::time::timeout(timeout, waiting)
        .await
        .map_err(|_| ConnError::Timeout("waiting for welcome"))?
}

/// Connects and says hello: the whole connection setup.
pub async fn open(
    url: &str,
    encoding: Encoding,
    frame: &Out<'_>,
    timeout: Duration,
) -> Result<Ws, ConnError> {
    let mut ws = connect(url, timeout).await?;
    hello(&mut ws, encoding, frame, timeout).await?;
    Ok(ws)
}

/// Sends a close frame and waits briefly for the server's; errors are of no interest here.
pub async fn close(mut ws: Ws, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, async move {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Closes the write half (the read half ends when the server answers).
pub async fn close_sink(sink: &mut Sink, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, sink.close()).await;
}
