//! The listening service: one TCP port for everything (PROTOCOL.md "Endpoints").
//!
//! Owns the tokio runtime, the listener and graceful shutdown (SIGINT/SIGTERM: stop accepting,
//! tell every session to close with 1001, wait for them, exit 0). It starts the hub (one task
//! per routing shard) and serves `GET /healthz`, `GET /ws/widget` and `GET /ws/operator` (the
//! sessions), and a JSON 404 elsewhere. Upgrades use tungstenite settings from `Limits`: frames
//! over `frame_bytes_max` are refused, read buffers are small and write buffers bounded, so an
//! idle connection costs little. Beyond `connections_max` open connections or
//! `handshakes_in_flight_max` handshakes, a new connection is upgraded and closed with 1013.

mod http;

use crate::clock::SystemClock;
use crate::config::bounds::{
    ACCEPT_QUEUE_CONNECTIONS, DISK_POLL, OPERATOR_READ_BUFFER_BYTES, SHUTDOWN_GRACE,
    WIDGET_READ_BUFFER_BYTES,
};
use crate::config::Config;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::session::{self, close, Gateway};
use crate::store::{CommitStats, Store, StoreOptions};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::{ListenerExt, TapIo};
use axum::Json;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("the server failed: {0}")]
    Serve(io::Error),
    #[error("cannot open the data directory: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot recover: {0}")]
    Start(#[from] crate::hub::StartError),
    #[error("cannot open the contact registry: {0}")]
    Contacts(#[from] crate::contacts::ContactError),
    /// A commit failed while serving; the server stopped so that a restart recovers from the
    /// disk (fail-stop, see `Hub::fail`).
    #[error("stopped after a failed commit (a restart recovers from the disk): {0}")]
    CommitFailed(crate::store::StoreError),
    #[error("cannot start webhook delivery: {0}")]
    Webhooks(String),
}

/// Runs the service until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> Result<(), ServerError> {
    let addr = config.server.listen.clone();
    let listener = bind(&addr)?;
    let metrics = Arc::new(Metrics::new());
    let commits = metrics.clone();
    let options = StoreOptions {
        on_commit: Some(Arc::new(move |stats: CommitStats| {
            commits
                .group_commit_us
                .record(stats.duration.as_micros() as u64);
        })),
        cache_bytes_max: config.server.store_cache_mib as usize * 1024 * 1024,
        ..StoreOptions::default()
    };
    let store = Store::open(&config.server.data_dir, options)?;
    serve_on(listener, config, store, metrics, shutdown_signal()).await
}

/// A listening socket that is not served yet (bind first, then learn the port, then serve).
pub struct Bound {
    listener: ServerListener,
    addr: std::net::SocketAddr,
}

impl Bound {
    /// The address bound (the real port when `:0` was asked for).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

/// Binds `addr` (e.g. `127.0.0.1:0`) the way the service does.
pub fn bind(addr: &str) -> Result<Bound, ServerError> {
    let listener = listen(addr).map_err(|source| ServerError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let addr = axum::serve::Listener::local_addr(&listener).map_err(ServerError::Serve)?;
    Ok(Bound { listener, addr })
}

/// Serves `config` on `bound` with `store` until `stop` resolves, then shuts down as on SIGTERM
/// (sessions closed with 1001, the store's queue committed). Once recovered and ready it prints
/// `switchboard listening on ADDR` as the first line on stdout. `config.server.data_dir` and
/// `listen` are not read: the caller opened the store and bound the socket, and may keep a
/// handle to the store (the binary's `serve` is this with the signal handler).
pub async fn serve_on(
    bound: Bound,
    config: Config,
    store: Store,
    metrics: Arc<Metrics>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let shards = match config.server.shards {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let hub =
        Hub::start_with_metrics(&config, shards, Arc::new(SystemClock), Some(store), metrics)?;
    let contacts = open_contacts(&hub, &config)?;
    if let Some(contacts) = &contacts {
        contacts.send_webhooks_to(hub.webhooks.outlet.clone());
    }
    if let Some(store) = hub.store.clone() {
        let live = hub.live_config().await;
        hub.webhooks
            .start(store, &live)
            .map_err(ServerError::Webhooks)?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let gateway = Gateway::new(hub.clone(), stop_rx);
    if let Some(contacts) = &contacts {
        let _ = gateway.contacts.set(contacts.clone());
    }
    // The first line on stdout is the bound address: tests and scripts read it (port 0 works).
    println!("switchboard listening on {}", bound.addr);
    eprintln!(
        "switchboard: {} lines on {} shards, {} operators",
        config.lines.len(),
        hub.shards(),
        hub.directory().operators.len()
    );
    if let Some(dir) = hub
        .store
        .as_ref()
        .and_then(|s| s.path().parent().map(|p| p.to_path_buf()))
    {
        // Free space of the data directory, read every poll (see hub::disk_watch).
        let watched = Arc::downgrade(&hub);
        tokio::spawn(async move {
            while let Some(hub) = watched.upgrade() {
                hub.disk.check(&dir);
                drop(hub);
                tokio::time::sleep(DISK_POLL).await;
            }
        });
    }
    let app = axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/ws/widget", get(widget_upgrade))
        .route("/ws/operator", get(operator_upgrade))
        .with_state(gateway.clone())
        .merge(crate::admin::routes(
            hub.clone(),
            &config.server,
            contacts.clone(),
        ))
        .merge(crate::web::routes(hub.clone()))
        .fallback(not_found);
    let failed = {
        let hub = hub.clone();
        async move { hub.failed().await }
    };
    let stop = async move {
        // A failed commit stops the server like a signal does, and makes it exit non-zero.
        tokio::select! {
            _ = stop => {}
            _ = failed => {}
        }
        let _ = stop_tx.send(true);
    };
    let limits = &config.server.limits;
    http::serve(
        bound.listener,
        app,
        hub.metrics.clone(),
        Duration::from_millis(limits.request_head_timeout.as_ms()),
        limits.half_open_per_source_max,
        stop,
    )
    .await;
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, gateway.drained()).await;
    if let Some(error) = hub.failure() {
        hub.stop();
        return Err(ServerError::CommitFailed(error));
    }
    if let Some(store) = hub.store.clone() {
        // Commits whatever is still queued; shard tasks submit nothing more without requests.
        tokio::task::spawn_blocking(move || store.close())
            .await
            .ok()
            .transpose()?;
    }
    eprintln!("switchboard: stopped");
    Ok(())
}

/// The contact registry beside the hub's store (in the same data directory), checking
/// operator ids against the live configuration.
fn open_contacts(
    hub: &Arc<Hub>,
    config: &Config,
) -> Result<Option<Arc<crate::contacts::Registry>>, ServerError> {
    let Some(store) = hub.store.clone() else {
        return Ok(None);
    };
    let data_dir = store
        .path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let directory_of = hub.clone();
    let operators: crate::contacts::OperatorCheck =
        Arc::new(move |id| directory_of.directory().operator_index.contains_key(id));
    let registry = crate::contacts::Registry::open(
        store,
        &data_dir,
        crate::contacts::Settings::from_config(&config.contacts),
        Arc::new(SystemClock),
        operators,
    )?;
    Ok(Some(Arc::new(registry)))
}

/// The listening socket, with [`no_delay`] applied to each connection it accepts.
type ServerListener = TapIo<tokio::net::TcpListener, fn(&mut TcpStream)>;

/// Binds `addr` with a deep accept queue, so a burst of new connections waits for the accept
/// loop instead of overflowing the kernel's queue (clients would retry a second later), and
/// sets up every accepted connection with [`no_delay`].
fn listen(addr: &str) -> io::Result<ServerListener> {
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket
        .listen(ACCEPT_QUEUE_CONNECTIONS)?
        .tap_io(no_delay as fn(&mut TcpStream)))
}

/// Turns off Nagle's algorithm on an accepted connection. Sessions write once per wake-up, so
/// every write is a frame that should leave now: with Nagle, a small frame behind an
/// unacknowledged one waited for the peer's delayed ACK (offers at 300 dialogs/s took 22 ms
/// median instead of 0.85 ms).
fn no_delay(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        eprintln!("switchboard: cannot set TCP_NODELAY on a connection: {e}");
    }
}

fn configure(ws: WebSocketUpgrade, gw: &Gateway, read_buffer_bytes: usize) -> WebSocketUpgrade {
    let frame_max = gw.hub.limits.frame_bytes_max;
    ws.read_buffer_size(read_buffer_bytes)
        .write_buffer_size(0)
        .max_write_buffer_size(
            frame_max
                .saturating_mul(4)
                .max(OPERATOR_READ_BUFFER_BYTES * 4),
        )
        .max_frame_size(frame_max)
        .max_message_size(frame_max)
}

/// Upgrades, then runs `session` if a connection slot is free, else closes with 1013.
fn upgrade<F, Fut>(
    ws: WebSocketUpgrade,
    gw: Arc<Gateway>,
    read_buffer_bytes: usize,
    session: F,
) -> Response
where
    F: FnOnce(WebSocket, Arc<Gateway>, session::ConnectionSlot) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let in_flight = gw.handshakes.fetch_add(1, Ordering::AcqRel) + 1;
    // Dropped when the upgrade completes or is abandoned, so the count never leaks.
    let guard = HandshakeGuard(gw.clone());
    let over_handshakes = in_flight > gw.hub.limits.handshakes_in_flight_max;
    let ws = configure(ws, &gw, read_buffer_bytes);
    ws.on_upgrade(move |socket| async move {
        drop(guard);
        let slot = if over_handshakes { None } else { gw.admit() };
        match slot {
            Some(slot) => session(socket, gw, slot).await,
            None => refuse(socket).await,
        }
    })
}

/// Counts one handshake in flight.
struct HandshakeGuard(Arc<Gateway>);

impl Drop for HandshakeGuard {
    fn drop(&mut self) {
        self.0.handshakes.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn refuse(mut socket: WebSocket) {
    let frame = CloseFrame {
        code: close::TRY_AGAIN_LATER,
        reason: "server busy, try again later".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn widget_upgrade(
    State(gw): State<Arc<Gateway>>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // The page's origin is checked against the line's `allowed_origins` once `hello` names it.
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    upgrade(ws, gw, WIDGET_READ_BUFFER_BYTES, move |socket, gw, slot| {
        session::run_widget(socket, gw, slot, origin)
    })
}

async fn operator_upgrade(
    State(gw): State<Arc<Gateway>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    // Wrong tokens at `hello` count against the source address (set by the accept loop).
    let peer = Some(peer.ip());
    upgrade(
        ws,
        gw,
        OPERATOR_READ_BUFFER_BYTES,
        move |socket, gw, slot| session::run_operator(socket, gw, slot, peer),
    )
}

fn error_body(code: &str, message: &str) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "error": { "code": code, "message": message } }))
}

/// `ok`, or 503 naming why the server cannot take writes now (its disk is full, or a commit
/// failed).
async fn healthz(State(gw): State<Arc<Gateway>>) -> Response {
    if let Some(error) = gw.hub.failure() {
        let text = format!("failed: a commit failed ({error}); restart the server\n");
        return (StatusCode::SERVICE_UNAVAILABLE, text).into_response();
    }
    match gw.hub.disk.refusal() {
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("read-only: {why}\n"),
        )
            .into_response(),
        None => "ok\n".into_response(),
    }
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        error_body("not_found", "no such endpoint"),
    )
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener;

    #[tokio::test]
    async fn accepted_connections_send_small_frames_without_delay() {
        let mut listener = listen("127.0.0.1:0").expect("listen");
        let addr = Listener::local_addr(&listener).expect("addr");
        let client = TcpStream::connect(addr).await.expect("connect");
        let (accepted, peer) = listener.accept().await;
        assert_eq!(peer, client.local_addr().expect("client addr"));
        assert!(
            accepted.nodelay().expect("read TCP_NODELAY"),
            "an accepted connection must have Nagle's algorithm off"
        );
    }

    #[test]
    fn a_listen_address_that_is_not_an_address_is_refused() {
        let error = listen("localhost:7979").expect_err("not a socket address");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
