//! `switchboard` served inside the test process ([`switchboard::server::serve_on`]) on port 0,
//! with the test holding a handle to its store. A test that must act on the store's writer
//! (hold its thread so that nothing submitted after becomes durable) needs this; everything
//! else runs the real binary ([`super::process::Server`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use switchboard::metrics::Metrics;
use switchboard::server::{self, ServerError};
use switchboard::store::{Store, StoreOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::client::{Endpoint, RECV_TIMEOUT};
use super::config::Config;
use super::process::fresh_dir;

/// A server running on the test's tokio runtime; stopped (and its temp dir removed) by
/// [`InProcess::stop`].
pub struct InProcess {
    pub addr: SocketAddr,
    /// The store the server writes to.
    pub store: Store,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    served: JoinHandle<Result<(), ServerError>>,
}

impl Endpoint for InProcess {
    fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

impl InProcess {
    /// Serves `config` on `127.0.0.1:0` with a store in a fresh temp dir.
    pub fn start(name: &str, config: &Config) -> InProcess {
        InProcess::start_with_store(name, config, StoreOptions::default())
    }

    /// [`InProcess::start`] with the store opened with `options` (e.g. a disk-fault switch).
    pub fn start_with_store(name: &str, config: &Config, options: StoreOptions) -> InProcess {
        let dir = fresh_dir(name);
        // Rendered with `listen = "127.0.0.1:0"`, as for the binary
        let text = config.render(&dir.join("data"));
        let parsed = switchboard::config::Config::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("test config does not load: {e:?}\n{text}"));
        let store = Store::open(&parsed.server.data_dir, options).expect("open store");
        let bound = server::bind(&parsed.server.listen).expect("bind");
        let addr = bound.local_addr();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let stop = async move {
            let _ = stop_rx.await;
        };
        let served = tokio::spawn(server::serve_on(
            bound,
            parsed,
            store.clone(),
            Arc::new(Metrics::new()),
            stop,
        ));
        InProcess {
            addr,
            store,
            dir,
            stop: Some(stop_tx),
            served,
        }
    }

    /// Waits for the server to stop by itself (without being told to) and returns how it ended,
    /// with the data directory (left in place for the test to inspect; the store is closed).
    pub async fn stopped_by_itself(mut self) -> (Result<(), ServerError>, PathBuf) {
        let served = tokio::time::timeout(RECV_TIMEOUT * 2, &mut self.served)
            .await
            .expect("the server stops by itself within the shutdown grace")
            .expect("the server task did not panic");
        let InProcess { store, dir, .. } = self;
        drop(store);
        (served, dir)
    }

    /// Shuts the server down as SIGTERM would and checks that it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = tokio::time::timeout(RECV_TIMEOUT * 2, &mut self.served)
            .await
            .expect("the server stops within the shutdown grace")
            .expect("the server task did not panic");
        assert!(served.is_ok(), "the server stopped with {served:?}");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The store's writer thread, held: every submission queued after [`hold_writer`] returns stays
/// unwritten (so nothing that waits for it is durable) until this is dropped.
pub struct WriterHold {
    _release: std::sync::mpsc::Sender<()>,
}

/// Holds `store`'s writer thread inside a callback of its own (an empty submission whose `done`
/// waits), and returns once the writer is in it.
pub async fn hold_writer(store: &Store) -> WriterHold {
    let (entered_tx, entered_rx) = oneshot::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    store
        .submit(
            Vec::new(),
            Box::new(move |_| {
                let _ = entered_tx.send(());
                // Returns when the hold is dropped (its sender with it).
                let _ = release_rx.recv();
            }),
        )
        .expect("submit the hold");
    tokio::time::timeout(RECV_TIMEOUT, entered_rx)
        .await
        .expect("the writer takes the hold")
        .expect("the hold's callback ran");
    WriterHold {
        _release: release_tx,
    }
}
