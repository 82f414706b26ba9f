//! The messages of one open dialog as its shard task keeps them: per-dialog `seq`, message ids,
//! the senders' idempotency keys (a repeated `client_msg_id` gets the same ack, stored once), the
//! participants to deliver to, recent routing decisions, and typing-preview coalescing.
//! In memory for now: durability (redb) comes with the durability issue.

use crate::protocol::{Author, ClientInfo, MessageView};
use crate::routing::{Decision, DialogId, LineIdx, OpIdx};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// One stored message.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub seq: u64,
    pub msg_id: u64,
    pub author: Author,
    pub name: Option<Arc<str>>,
    pub text: Arc<str>,
    pub ts: i64,
    /// The sender's idempotency key.
    pub key: Option<(Side, String)>,
}

/// Which side sent an idempotency key (client and operator keys never collide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Operator(OpIdx),
}

/// The latest draft waiting for the preview window (100 ms per dialog).
#[derive(Clone, Debug, Default)]
pub struct TypingState {
    pub last_sent_ms: u64,
    pub pending: Option<String>,
}

/// An open dialog's log.
#[derive(Clone, Debug)]
pub struct DialogLog {
    pub id: DialogId,
    pub line: LineIdx,
    pub client: Arc<str>,
    pub info: ClientInfo,
    /// The operator (or bot) holding it last: told about ratings and closing.
    pub operator: Option<OpIdx>,
    pub messages: Vec<StoredMessage>,
    pub idempotency: HashMap<(Side, String), (u64, u64)>,
    pub decisions: VecDeque<Decision>,
    pub typing: TypingState,
    pub supervisor_score: Option<u8>,
    /// The client's rating (`true` = like).
    pub rating: Option<bool>,
    /// Messages `[..saved]` are in the store.
    pub saved: usize,
}

impl DialogLog {
    /// An empty log.
    pub fn new(id: DialogId, line: LineIdx, client: Arc<str>, info: ClientInfo) -> Self {
        Self {
            id,
            line,
            client,
            info,
            operator: None,
            messages: Vec::new(),
            idempotency: HashMap::new(),
            decisions: VecDeque::new(),
            typing: TypingState::default(),
            supervisor_score: None,
            rating: None,
            saved: 0,
        }
    }

    /// The sequence number of the newest message (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.messages.last().map_or(0, |m| m.seq)
    }

    /// The ack of an earlier message with this key.
    pub fn seen(&self, side: Side, key: &str) -> Option<(u64, u64)> {
        self.idempotency.get(&(side, key.to_string())).copied()
    }

    /// Appends a message; returns it as the wire shows it.
    pub fn append(
        &mut self,
        msg_id: u64,
        author: Author,
        name: Option<Arc<str>>,
        text: Arc<str>,
        ts: i64,
        key: Option<(Side, String)>,
    ) -> MessageView {
        let seq = self.last_seq() + 1;
        if let Some(key) = &key {
            self.idempotency.insert(key.clone(), (msg_id, seq));
        }
        self.messages.push(StoredMessage {
            seq,
            msg_id,
            author,
            name,
            text,
            ts,
            key,
        });
        self.view(self.messages.last().expect("just pushed"))
    }

    /// Puts back a message read from the store (in seq order).
    pub fn restore(&mut self, message: StoredMessage) {
        if let Some(key) = &message.key {
            self.idempotency
                .insert(key.clone(), (message.msg_id, message.seq));
        }
        self.messages.push(message);
        self.saved = self.messages.len();
    }

    /// Keeps `decision`, dropping the oldest beyond `max`.
    pub fn record(&mut self, decision: Decision, max: usize) {
        if self.decisions.len() >= max {
            self.decisions.pop_front();
        }
        self.decisions.push_back(decision);
    }

    /// A message as the wire shows it.
    pub fn view(&self, m: &StoredMessage) -> MessageView {
        MessageView {
            dialog_id: self.id.0,
            seq: m.seq,
            msg_id: m.msg_id,
            author: m.author,
            name: m.name.as_deref().map(str::to_string),
            text: m.text.to_string(),
            ts: m.ts,
        }
    }

    /// Messages with `seq > after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<MessageView> {
        let from = self.messages.partition_point(|m| m.seq <= after);
        self.messages[from..].iter().map(|m| self.view(m)).collect()
    }

    /// Up to `limit` messages older than `before` (newest when `None`), oldest first.
    pub fn page(&self, before: Option<u64>, limit: usize) -> Vec<MessageView> {
        let end = before.map_or(self.messages.len(), |b| {
            self.messages.partition_point(|m| m.seq < b)
        });
        let start = end.saturating_sub(limit);
        self.messages[start..end]
            .iter()
            .map(|m| self.view(m))
            .collect()
    }
}
