//! One session's bounded outbound queue: what a shard or a feed hands to a connection. The sender
//! never waits: a full queue marks the session for closing with 4000 (slow consumer) and drops it
//! from delivery; nothing durable is lost, the client resumes with `last_seq`.

use crate::protocol::{OperatorOut, Sequenced, WidgetOut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};

/// A frame queued toward one connection.
#[derive(Clone, Debug)]
pub enum Outbound {
    Widget(Arc<WidgetOut>),
    Operator(Arc<Sequenced<OperatorOut>>),
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// The hub's handle to one session.
#[derive(Clone, Debug)]
pub struct SessionTx {
    pub id: u64,
    tx: mpsc::Sender<Outbound>,
    close: Arc<CloseSignal>,
}

/// Set when the queue overflowed (the session closes with 4000), or when the hub dismissed
/// the session (its operator was deleted: it closes with 1008).
#[derive(Debug, Default)]
pub struct CloseSignal {
    pub overflowed: AtomicBool,
    pub dismissed: AtomicBool,
    pub notify: Notify,
}

impl SessionTx {
    /// A new session's handle and its receiving end.
    pub fn new(frames_max: usize) -> (SessionTx, mpsc::Receiver<Outbound>, Arc<CloseSignal>) {
        let (tx, rx) = mpsc::channel(frames_max.max(1));
        let close = Arc::new(CloseSignal::default());
        let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
        (
            SessionTx {
                id,
                tx,
                close: close.clone(),
            },
            rx,
            close,
        )
    }

    /// Tells the session to close: whoever it speaks for no longer exists.
    pub fn dismiss(&self) {
        self.close.dismissed.store(true, Ordering::Release);
        self.close.notify.notify_one();
    }

    /// Queues `frame`; false when the session is gone or overflowed (it is then told to close).
    pub fn send(&self, frame: Outbound) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close.overflowed.store(true, Ordering::Release);
                self.close.notify.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
