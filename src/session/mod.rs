//! One task per WebSocket connection: the only code that awaits a socket.
//!
//! A session decodes frames (`protocol`), checks what is the edge's job (hello first, auth,
//! sizes, rate, consent), asks the owning shard task (`hub`) and writes the answer; frames
//! for it from elsewhere arrive on its bounded outbound queue. A queue that overflows closes the
//! connection with 4000; shutdown closes it with 1001.

mod conn;
mod contact_links;
mod contacts;
mod drafts;
mod operator;
mod widget;

pub use conn::close;

use crate::hub::Hub;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// What all sessions share besides the hub.
pub struct Gateway {
    pub hub: Arc<Hub>,
    connections: AtomicUsize,
    pub handshakes: AtomicUsize,
    all_closed: Notify,
    shutdown: watch::Receiver<bool>,
    /// The contact registry operators search and edit (set once at start).
    pub contacts: std::sync::OnceLock<Arc<crate::contacts::Registry>>,
}

/// Counts one open connection while alive.
pub struct ConnectionSlot(Arc<Gateway>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if self.0.connections.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

impl Gateway {
    pub fn new(hub: Arc<Hub>, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        Arc::new(Self {
            hub,
            connections: AtomicUsize::new(0),
            handshakes: AtomicUsize::new(0),
            all_closed: Notify::new(),
            shutdown,
            contacts: std::sync::OnceLock::new(),
        })
    }

    /// Takes a connection slot, or None at `connections_max`.
    pub fn admit(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let max = self.hub.limits.connections_max;
        let mut current = self.connections.load(Ordering::Acquire);
        loop {
            if current >= max {
                return None;
            }
            match self.connections.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(ConnectionSlot(self.clone())),
                Err(actual) => current = actual,
            }
        }
    }

    /// Open connections now.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Waits until every connection closed.
    pub async fn drained(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.connections() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

pub use operator::run as run_operator;
pub use widget::run as run_widget;
