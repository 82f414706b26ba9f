//! Every operator's event stream: per operator the event sequence (`seq` on every server →
//! operator frame), a bounded ring of recent events for resume, and the operator's live sessions.
//! One small lock per operator, held only to number and hand out one event.

use super::{Outbound, SessionTx};
use crate::protocol::{OperatorOut, Sequenced};
use crate::routing::OpIdx;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

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
