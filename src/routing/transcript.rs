//! What was said in one dialog and who takes part: the [`Transcript`] (messages numbered by
//! `seq` 1, 2, 3… with no gap, each sender's idempotency keys) and the [`Conversation`] around it
//! (the client's details, the operator told about ratings and closing, the ratings).
//!
//! Invariants (checked by the property tests against a reference model): `seq` goes up by one
//! per stored message; a `(side, key)` already stored answers with its first `(msg_id, seq)` and
//! stores nothing; client and operator keys never collide. Pure data: the routing [`Shard`]
//! decides every seq and msg id (`Shard::handle`), the shard task only reads and persists.
//! Must never: renumber, drop or reorder a stored message.
//!
//! [`Shard`]: super::Shard

use super::ids::{DialogId, OpIdx};
use crate::protocol::{Author, ClientInfo, MessageView};
use std::sync::Arc;

/// Which side sent an idempotency key (client and operator keys never collide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Client,
    Operator(OpIdx),
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub seq: u64,
    pub msg_id: u64,
    pub author: Author,
    pub name: Option<Arc<str>>,
    pub text: Arc<str>,
    /// Unix milliseconds.
    pub ts: i64,
    /// The sender's idempotency key.
    pub key: Option<(Side, String)>,
}

impl Message {
    /// The message as the wire shows it.
    pub fn view(&self, dialog: DialogId) -> MessageView {
        MessageView {
            dialog_id: dialog.0,
            seq: self.seq,
            msg_id: self.msg_id,
            author: self.author,
            name: self.name.as_deref().map(str::to_string),
            text: self.text.to_string(),
            ts: self.ts,
        }
    }
}

/// A new message before it gets its number.
#[derive(Clone, Debug)]
pub struct Draft {
    pub author: Author,
    pub name: Option<Arc<str>>,
    pub text: Arc<str>,
    pub ts: i64,
    pub key: Option<(Side, String)>,
}

/// How many of a dialog's newest messages stay in memory once older ones are durable (at least
/// the messages shown with an offer); the rest are read from the store.
pub const KEPT_MESSAGES: usize = 32;

/// The messages of one dialog in `seq` order and the keys they were sent with: the newest in
/// memory, the older ones (`seq <= forgotten`) only in the store, each leaving a 4-byte
/// fingerprint of its key behind so a repeat of it is noticed without reading the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Messages `forgotten + 1 ..= last_seq`, oldest first.
    messages: Vec<Message>,
    /// Messages up to this seq were dropped from memory (they are in the store).
    forgotten: u64,
    /// Sorted fingerprints of the dropped messages' keys ([`fingerprint`]).
    forgotten_keys: Vec<u32>,
    /// The highest msg id among the dropped messages, one per shard that numbered any.
    forgotten_ids: Vec<u64>,
}

impl Transcript {
    /// The sequence number of the newest message (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.messages.last().map_or(self.forgotten, |m| m.seq)
    }

    /// Number of messages, in memory or not (seq runs from 1 without a gap).
    pub fn len(&self) -> usize {
        self.last_seq() as usize
    }

    /// Whether no message was stored yet.
    pub fn is_empty(&self) -> bool {
        self.last_seq() == 0
    }

    /// Messages up to this seq are only in the store (0: every message is in memory).
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// The messages in memory, oldest first: every one after [`Transcript::forgotten`].
    pub fn kept(&self) -> &[Message] {
        &self.messages
    }

    /// The message numbered `seq`, if it is in memory.
    pub fn get(&self, seq: u64) -> Option<&Message> {
        let at = self.messages.partition_point(|m| m.seq < seq);
        self.messages.get(at).filter(|m| m.seq == seq)
    }

    /// `(msg_id, seq)` of the message in memory stored earlier with this key. Looks through
    /// the messages in memory, newest first: fewer than `2 * KEPT_MESSAGES` once a store takes
    /// the older ones (a map of their keys would cost more memory than the messages' texts).
    pub fn seen(&self, side: Side, key: &str) -> Option<(u64, u64)> {
        let m = self
            .messages
            .iter()
            .rev()
            .find(|m| m.key.as_ref().is_some_and(|(s, k)| *s == side && k == key))?;
        Some((m.msg_id, m.seq))
    }

    /// Whether a message no longer in memory may have been sent with this key (a fingerprint
    /// matches: the store decides; `false` is certain).
    pub fn may_have_forgotten(&self, side: Side, key: &str) -> bool {
        self.forgotten_keys
            .binary_search(&fingerprint(side, key))
            .is_ok()
    }

    /// Stores `draft` as message `last_seq() + 1` with id `msg_id`; returns its seq. The caller
    /// checked [`Transcript::seen`] first (a repeated key is answered, never stored).
    pub fn append(&mut self, msg_id: u64, draft: Draft) -> u64 {
        let seq = self.last_seq() + 1;
        self.messages.push(Message {
            seq,
            msg_id,
            author: draft.author,
            name: draft.name,
            text: draft.text,
            ts: draft.ts,
            key: draft.key,
        });
        seq
    }

    /// Puts back a message read from the store (in seq order; an out-of-order one is ignored).
    /// Everything restored is durable, so memory keeps only the newest.
    pub fn restore(&mut self, message: Message) {
        if message.seq <= self.last_seq() {
            return;
        }
        self.messages.push(message);
        self.forget_through(self.last_seq());
    }

    /// Drops from memory the messages up to `durable` (all in the store), keeping at least the
    /// newest [`KEPT_MESSAGES`]. Drops only once twice as many are kept, so each message is
    /// moved once.
    pub fn forget_through(&mut self, durable: u64) {
        if self.messages.len() < 2 * KEPT_MESSAGES {
            return;
        }
        let newest_kept = self.last_seq() - KEPT_MESSAGES as u64;
        let count = self
            .messages
            .partition_point(|m| m.seq <= durable.min(newest_kept));
        if count == 0 {
            return;
        }
        // Exactly 4 bytes per dropped message, however many there are
        self.forgotten_keys.reserve_exact(count);
        for m in self.messages.drain(..count) {
            if let Some(key) = &m.key {
                self.forgotten_keys.push(fingerprint(key.0, &key.1));
            }
            let shard = m.msg_id & 0xFF;
            match self
                .forgotten_ids
                .iter_mut()
                .find(|id| **id & 0xFF == shard)
            {
                Some(id) => *id = (*id).max(m.msg_id),
                None => self.forgotten_ids.push(m.msg_id),
            }
            self.forgotten = m.seq;
        }
        self.forgotten_keys.sort_unstable();
    }

    /// Every message id this transcript gave out that matters for numbering: those in memory
    /// and, per shard, the highest of those dropped.
    pub fn msg_ids(&self) -> impl Iterator<Item = u64> + '_ {
        let kept = self.messages.iter().map(|m| m.msg_id);
        kept.chain(self.forgotten_ids.iter().copied())
    }

    /// Messages in memory with `seq > after`, oldest first (those up to
    /// [`Transcript::forgotten`] are in the store).
    pub fn since(&self, after: u64) -> &[Message] {
        let from = self.messages.partition_point(|m| m.seq <= after);
        &self.messages[from..]
    }

    /// Up to `limit` messages in memory older than `before` (the newest when `None`), oldest
    /// first (older ones are in the store).
    pub fn page(&self, before: Option<u64>, limit: usize) -> &[Message] {
        let end = before.map_or(self.messages.len(), |b| {
            self.messages.partition_point(|m| m.seq < b)
        });
        &self.messages[end.saturating_sub(limit)..end]
    }
}

/// A key's 32-bit fingerprint (a fixed hash, the same in every run of one build).
fn fingerprint(side: Side, key: &str) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    side.hash(&mut hasher);
    key.hash(&mut hasher);
    hasher.finish() as u32
}

/// The highest message id sequence shard `shard` handed out among `msg_ids` (0 when none):
/// message ids are `sequence << 8 | shard`.
pub fn msg_seq_high(msg_ids: impl IntoIterator<Item = u64>, shard: usize) -> u64 {
    msg_ids
        .into_iter()
        .filter(|id| (id & 0xFF) as usize == shard)
        .map(|id| id >> 8)
        .max()
        .unwrap_or(0)
}

/// `messages` of `dialog` as the wire shows them.
pub fn views(dialog: DialogId, messages: &[Message]) -> Vec<MessageView> {
    messages.iter().map(|m| m.view(dialog)).collect()
}

/// A dialog's people and what they said: travels with the dialog when it moves to another shard
/// and leaves with it in [`Effect::Closed`](super::Effect::Closed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conversation {
    /// The client as the widget described it with its first message.
    pub client: ClientInfo,
    /// The operator (or bot) assigned last: told about ratings and closing.
    pub operator: Option<OpIdx>,
    /// The client's rating (`true` = like).
    pub rating: Option<bool>,
    /// What the client wrote with the rating.
    pub comment: Option<String>,
    pub supervisor_score: Option<u8>,
    pub transcript: Transcript,
}

impl Conversation {
    /// A conversation with `client` and no message yet.
    pub fn new(client: ClientInfo) -> Self {
        Self {
            client,
            ..Self::default()
        }
    }
}
