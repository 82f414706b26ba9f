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
use std::collections::HashMap;
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

/// The messages of one dialog, in `seq` order, and the keys they were sent with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    messages: Vec<Message>,
    keys: HashMap<(Side, String), (u64, u64)>,
}

impl Transcript {
    /// The sequence number of the newest message (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.messages.last().map_or(0, |m| m.seq)
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message was stored yet.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Every message, oldest first.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The message numbered `seq`.
    pub fn get(&self, seq: u64) -> Option<&Message> {
        let at = self.messages.partition_point(|m| m.seq < seq);
        self.messages.get(at).filter(|m| m.seq == seq)
    }

    /// `(msg_id, seq)` of the message stored earlier with this key.
    pub fn seen(&self, side: Side, key: &str) -> Option<(u64, u64)> {
        self.keys.get(&(side, key.to_string())).copied()
    }

    /// Stores `draft` as message `last_seq() + 1` with id `msg_id`; returns its seq. The caller
    /// checked [`Transcript::seen`] first (a repeated key is answered, never stored).
    pub fn append(&mut self, msg_id: u64, draft: Draft) -> u64 {
        let seq = self.last_seq() + 1;
        if let Some(key) = &draft.key {
            self.keys.insert(key.clone(), (msg_id, seq));
        }
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
    pub fn restore(&mut self, message: Message) {
        if message.seq <= self.last_seq() {
            return;
        }
        if let Some(key) = &message.key {
            self.keys.insert(key.clone(), (message.msg_id, message.seq));
        }
        self.messages.push(message);
    }

    /// Messages with `seq > after`, oldest first.
    pub fn since(&self, after: u64) -> &[Message] {
        let from = self.messages.partition_point(|m| m.seq <= after);
        &self.messages[from..]
    }

    /// Up to `limit` messages older than `before` (the newest when `None`), oldest first.
    pub fn page(&self, before: Option<u64>, limit: usize) -> &[Message] {
        let end = before.map_or(self.messages.len(), |b| {
            self.messages.partition_point(|m| m.seq < b)
        });
        &self.messages[end.saturating_sub(limit)..end]
    }
}

/// The highest message id sequence shard `shard` handed out among `messages` (0 when none):
/// message ids are `sequence << 8 | shard`.
pub fn msg_seq_high<'a>(messages: impl IntoIterator<Item = &'a Message>, shard: usize) -> u64 {
    messages
        .into_iter()
        .filter(|m| (m.msg_id & 0xFF) as usize == shard)
        .map(|m| m.msg_id >> 8)
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
