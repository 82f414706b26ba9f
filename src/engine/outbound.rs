//! Delivery to connections: each session has a bounded outbound queue; the engine never waits on
//! a slow one. When a queue is full the session is told to close with 4000 (slow consumer) and is
//! dropped from delivery; nothing durable is lost, and the client resumes with `last_seq`.
//!
//! - [`OperatorFeeds`]: per operator, the event sequence (`seq` on every server → operator frame),
//!   a bounded ring of recent events for resume, and the operator's live sessions. One small lock
//!   per operator, held only to number and hand out one event.
//! - [`ClientRegistry`]: widget sessions by client id, in 64 independently locked parts.

use crate::protocol::{OperatorOut, Sequenced, WidgetOut};
use crate::routing::OpIdx;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
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

/// The engine's handle to one session.
#[derive(Clone, Debug)]
pub struct SessionTx {
    pub id: u64,
    tx: mpsc::Sender<Outbound>,
    close: Arc<CloseSignal>,
}

/// Set when the queue overflowed (the session closes with 4000), or when the engine dismissed
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

/// One operator's event stream.
#[derive(Debug, Default)]
struct Feed {
    seq: u64,
    recent: VecDeque<Arc<Sequenced<OperatorOut>>>,
    sessions: Vec<SessionTx>,
}

/// Every operator's event stream.
pub struct OperatorFeeds {
    /// By operator index; replaced by a longer copy when operators are added at run time.
    feeds: arc_swap::ArcSwap<Vec<Arc<Mutex<Feed>>>>,
    recent_max: usize,
    start_seq: u64,
}

impl OperatorFeeds {
    /// Feeds for `operators` operators, each keeping `recent_max` events for resume; event
    /// numbers start after `start_seq` (a new boot epoch starts above every earlier number).
    pub fn new(operators: usize, recent_max: usize, start_seq: u64) -> Self {
        let feeds = (0..operators).map(|_| Self::feed(start_seq)).collect();
        Self {
            feeds: arc_swap::ArcSwap::from_pointee(feeds),
            recent_max,
            start_seq,
        }
    }

    fn feed(start_seq: u64) -> Arc<Mutex<Feed>> {
        Arc::new(Mutex::new(Feed {
            seq: start_seq,
            ..Feed::default()
        }))
    }

    /// Makes room for `operators` operators (existing feeds are kept).
    pub fn ensure(&self, operators: usize) {
        let current = self.feeds.load();
        if current.len() >= operators {
            return;
        }
        let mut grown: Vec<Arc<Mutex<Feed>>> = current.iter().cloned().collect();
        grown.resize_with(operators, || Self::feed(self.start_seq));
        self.feeds.store(Arc::new(grown));
    }

    /// Numbers `frame` as `op`'s next event, keeps it for resume and delivers it.
    pub fn publish(&self, op: OpIdx, frame: OperatorOut) {
        let feeds = self.feeds.load();
        let Some(feed) = feeds.get(op.0 as usize) else {
            return;
        };
        let mut feed = feed.lock();
        feed.seq += 1;
        let event = Arc::new(Sequenced {
            seq: feed.seq,
            frame,
        });
        if feed.recent.len() == self.recent_max {
            feed.recent.pop_front();
        }
        feed.recent.push_back(event.clone());
        feed.sessions
            .retain(|s| s.send(Outbound::Operator(event.clone())));
    }

    /// Sends `frame` to every live session of `op` with the current `seq`, without numbering it
    /// or keeping it for resume (typing previews: a resumed client needs only the next one).
    pub fn send_ephemeral(&self, op: OpIdx, frame: OperatorOut) {
        let feeds = self.feeds.load();
        let Some(feed) = feeds.get(op.0 as usize) else {
            return;
        };
        let mut feed = feed.lock();
        let event = Arc::new(Sequenced {
            seq: feed.seq,
            frame,
        });
        feed.sessions
            .retain(|s| s.send(Outbound::Operator(event.clone())));
    }

    /// Sends a reply (ack, error, history) to one session, stamped with the current `seq` but
    /// not numbered as an event nor kept for resume.
    pub fn reply(&self, op: OpIdx, session: &SessionTx, frame: OperatorOut) {
        let seq = self
            .feeds
            .load()
            .get(op.0 as usize)
            .map_or(0, |f| f.lock().seq);
        session.send(Outbound::Operator(Arc::new(Sequenced { seq, frame })));
    }

    /// Adds a session; returns the events after `last_seq` it missed (None when they are no
    /// longer kept: the client should refetch its dialogs) and the current `seq`. Events after
    /// that `seq` arrive on the session's queue.
    pub fn attach(
        &self,
        op: OpIdx,
        session: SessionTx,
        last_seq: Option<u64>,
    ) -> (Option<Vec<Arc<Sequenced<OperatorOut>>>>, u64) {
        let feeds = self.feeds.load();
        let Some(feed) = feeds.get(op.0 as usize) else {
            return (None, 0);
        };
        let mut feed = feed.lock();
        let missed = match last_seq {
            None => Some(Vec::new()),
            Some(last) if last >= feed.seq => Some(Vec::new()),
            Some(last) => match feed.recent.front() {
                Some(oldest) if oldest.seq <= last + 1 => Some(
                    feed.recent
                        .iter()
                        .filter(|e| e.seq > last)
                        .cloned()
                        .collect(),
                ),
                _ => None,
            },
        };
        feed.sessions.push(session);
        (missed, feed.seq)
    }

    /// Tells every live session of `op` to close (the operator was deleted) and forgets them.
    pub fn dismiss(&self, op: OpIdx) {
        let feeds = self.feeds.load();
        let Some(feed) = feeds.get(op.0 as usize) else {
            return;
        };
        for session in feed.lock().sessions.drain(..) {
            session.dismiss();
        }
    }

    /// Removes a session; returns how many remain.
    pub fn detach(&self, op: OpIdx, session_id: u64) -> usize {
        let feeds = self.feeds.load();
        let Some(feed) = feeds.get(op.0 as usize) else {
            return 0;
        };
        let mut feed = feed.lock();
        feed.sessions.retain(|s| s.id != session_id);
        feed.sessions.len()
    }
}

const PARTS: usize = 64;

/// Widget sessions by client id.
pub struct ClientRegistry {
    parts: Vec<Mutex<HashMap<Arc<str>, Vec<SessionTx>>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for ClientRegistry {
    fn default() -> Self {
        Self {
            parts: (0..PARTS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
        }
    }
}

impl ClientRegistry {
    fn part<K: Hash + ?Sized>(&self, key: &K) -> &Mutex<HashMap<Arc<str>, Vec<SessionTx>>> {
        &self.parts[(self.hasher.hash_one(key) as usize) % PARTS]
    }

    /// Adds a session of `client`.
    pub fn attach(&self, client: &Arc<str>, session: SessionTx) {
        self.part(&**client)
            .lock()
            .entry(client.clone())
            .or_default()
            .push(session);
    }

    /// Removes a session of `client`.
    pub fn detach(&self, client: &str, session_id: u64) {
        let mut part = self.part(client).lock();
        if let Some(list) = part.get_mut(client) {
            list.retain(|s| s.id != session_id);
            if list.is_empty() {
                part.remove(client);
            }
        }
    }

    /// Delivers `frame` to every session of `client`.
    pub fn send(&self, client: &str, frame: Arc<WidgetOut>) {
        if let Some(list) = self.part(client).lock().get_mut(client) {
            list.retain(|s| s.send(Outbound::Widget(frame.clone())));
        }
    }
}
