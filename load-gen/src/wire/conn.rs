//! One WebSocket connection's life from the generator's side: connect (TCP + WebSocket, with a
//! small read buffer and no Nagle), `hello` → `welcome`, bounded sends and receives, close.
//!
//! Invariant: every await on the network here has a timeout; a caller never hangs on a dead
//! server. The only module that calls tokio-tungstenite's client API.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
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
    let connecting = async {
        match loopback_source(url) {
            Some((source, server)) => {
                let tcp = connect_from(source, server).await?;
                tokio_tungstenite::client_async_with_config(
                    url,
                    MaybeTlsStream::Plain(tcp),
                    Some(config),
                )
                .await
            }
            None => tokio_tungstenite::connect_async_with_config(url, Some(config), true).await,
        }
    };
    match tokio::time::timeout(timeout, connecting).await {
        Err(_) => Err(ConnError::Timeout("connecting")),
        Ok(Err(e)) => Err(ConnError::Connect {
            url: url.to_string(),
            reason: e.to_string(),
        }),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// Loopback source addresses connections are spread over: each has its own ~28,000 ephemeral
/// ports, so one generator can hold more connections to a local server than one address allows.
const LOOPBACK_SOURCES: u32 = 16;

static NEXT_SOURCE: AtomicU32 = AtomicU32::new(0);

/// For a `ws://` URL whose host is an IPv4 loopback address: the next source address to
/// connect from (127.0.0.1 .. 127.0.0.16 in turn) and the server's address.
fn loopback_source(url: &str) -> Option<(Ipv4Addr, SocketAddr)> {
    let authority = url.strip_prefix("ws://")?.split('/').next()?;
    let server: SocketAddr = authority.parse().ok()?;
    match server {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => {
            let n = NEXT_SOURCE.fetch_add(1, Ordering::Relaxed) % LOOPBACK_SOURCES;
            Some((Ipv4Addr::from(u32::from(Ipv4Addr::LOCALHOST) + n), server))
        }
        _ => None,
    }
}

/// A TCP connection to `server` from `source` (any free port), without Nagle.
async fn connect_from(
    source: Ipv4Addr,
    server: SocketAddr,
) -> Result<TcpStream, tokio_tungstenite::tungstenite::Error> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let tcp = socket.connect(server).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_spread_over_sixteen_source_addresses() {
        let url = "ws://127.0.0.1:7878/ws/widget";
        let server: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1_000 {
            let (source, to) = loopback_source(url).expect("loopback");
            assert_eq!(to, server);
            let octets = source.octets();
            assert_eq!(&octets[..3], &[127, 0, 0], "{source}");
            assert!((1..=16).contains(&octets[3]), "{source}");
            seen.insert(source);
            // Other tests may take sources meanwhile: go on until every address was handed out
            if seen.len() == LOOPBACK_SOURCES as usize {
                break;
            }
        }
        assert_eq!(seen.len(), LOOPBACK_SOURCES as usize);
    }

    #[test]
    fn other_urls_connect_the_ordinary_way() {
        assert_eq!(loopback_source("ws://10.0.0.1:7878/ws/widget"), None);
        assert_eq!(loopback_source("ws://localhost:7878/ws/widget"), None);
        assert_eq!(loopback_source("wss://127.0.0.1:7878/ws/widget"), None);
        assert_eq!(loopback_source("ws://[::1]:7878/ws/widget"), None);
    }

    #[tokio::test]
    async fn a_connection_from_a_second_loopback_address_reaches_the_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let source = Ipv4Addr::new(127, 0, 0, 7);
        let (connected, accepted) = tokio::join!(connect_from(source, server), listener.accept());
        let tcp = connected.expect("connect");
        assert_eq!(tcp.local_addr().unwrap().ip(), std::net::IpAddr::V4(source));
        assert_eq!(accepted.unwrap().1.ip(), std::net::IpAddr::V4(source));
    }
}
