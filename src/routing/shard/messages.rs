//! The shard's side of every message: message ids (`msg_seq << 8 | shard`, never reused by a
//! shard), repeats answered from the transcript before anything else happens, client and
//! operator messages stored in their dialog's [`Transcript`](crate::routing::Transcript), and
//! automatic texts stored as `system` messages when they are said.
//! Must never: store a repeated key twice, or number a message outside its dialog's transcript.

use super::Shard;
use crate::protocol::Author;
use crate::routing::api::{AutoText, Command, Effect, Reply, RoutingError};
use crate::routing::ids::{DialogId, OpIdx};
use crate::routing::transcript::{Draft, Side};
use std::sync::Arc;

impl Shard {
    /// New message ids continue after sequence `seq` (restored messages keep theirs).
    pub fn continue_msg_ids_after(&mut self, seq: u64) {
        self.next_msg = self.next_msg.max(seq + 1);
    }

    /// The highest message id sequence handed out (closed dialogs included).
    pub fn msg_seq_high(&self) -> u64 {
        self.next_msg.saturating_sub(1)
    }

    fn new_msg_id(&mut self) -> u64 {
        let id = self.next_msg << 8 | u64::from(self.index);
        self.next_msg += 1;
        id
    }

    /// Stores `draft` in `dialog`'s transcript; returns `(msg_id, seq)`.
    pub(super) fn store_message(&mut self, dialog: DialogId, draft: Draft) -> Option<(u64, u64)> {
        if !self.dialogs.contains_key(&dialog) {
            return None;
        }
        let msg_id = self.new_msg_id();
        let d = self.dialogs.get_mut(&dialog).expect("checked above");
        Some((msg_id, d.conversation.transcript.append(msg_id, draft)))
    }

    /// Stores the automatic text `kind` in `dialog` and tells the caller to send it.
    pub(super) fn say(
        &mut self,
        dialog: DialogId,
        kind: AutoText,
        text: Arc<str>,
        out: &mut Vec<crate::routing::Effect>,
    ) {
        let ts = self.now_ms as i64;
        let draft = Draft {
            author: Author::System,
            name: None,
            text: text.clone(),
            ts,
            key: None,
        };
        let Some((msg_id, seq)) = self.store_message(dialog, draft) else {
            return;
        };
        let client = self.dialogs[&dialog].client.clone();
        out.push(Effect::Text {
            dialog,
            kind,
            text,
            client,
            msg_id,
            seq,
            ts,
        });
    }

    /// Lets `dialog`'s messages up to `durable` (all in the store) leave memory, keeping the
    /// newest ([`Transcript::forget_through`](crate::routing::Transcript::forget_through)).
    pub fn forget_messages(&mut self, dialog: DialogId, durable: u64) {
        if let Some(d) = self.dialogs.get_mut(&dialog) {
            d.conversation.transcript.forget_through(durable);
        }
    }

    /// The open dialog a message command writes to, and its sender's side and key (`None`:
    /// not a message command, or no such open dialog).
    fn keyed_target<'c>(&self, command: &'c Command) -> Option<(DialogId, Side, &'c str)> {
        match command {
            Command::ClientMessage {
                line,
                client,
                dialog,
                key,
                ..
            } => {
                let open = dialog
                    .filter(|d| self.dialogs.get(d).is_some_and(|d| d.client == *client))
                    .or_else(|| self.client_open(*line, client))?;
                Some((open, Side::Client, key))
            }
            Command::OperatorMessage {
                op, dialog, key, ..
            } => self.dialogs.contains_key(dialog).then_some((
                *dialog,
                Side::Operator(*op),
                key.as_str(),
            )),
            _ => None,
        }
    }

    /// For a message command whose key is not among the messages in memory but may belong to
    /// one that left memory: the dialog, the sender's side and key, and the last seq to look
    /// through in the store. The caller answers a key it finds there with
    /// [`Shard::repeat_reply`]; otherwise the command runs.
    pub fn may_repeat_forgotten<'c>(
        &self,
        command: &'c Command,
    ) -> Option<(DialogId, Side, &'c str, u64)> {
        let (dialog, side, key) = self.keyed_target(command)?;
        let transcript = &self.dialogs[&dialog].conversation.transcript;
        // Cheapest first: most messages go to dialogs with nothing dropped, or with a new key
        let maybe = transcript.forgotten() > 0
            && transcript.may_have_forgotten(side, key)
            && transcript.seen(side, key).is_none();
        maybe.then_some((dialog, side, key, transcript.forgotten()))
    }

    /// The answer to a message command that repeats the key of message `(msg_id, seq)` of
    /// `dialog`: its first ack, marked duplicate.
    pub fn repeat_reply(command: &Command, dialog: DialogId, msg_id: u64, seq: u64) -> Reply {
        match command {
            Command::OperatorMessage { .. } => Reply::OperatorMessage {
                dialog,
                msg_id,
                seq,
                duplicate: true,
                took: false,
            },
            _ => Reply::ClientMessage {
                dialog,
                msg_id,
                seq,
                duplicate: true,
                created: false,
                audience: Vec::new(),
            },
        }
    }

    /// The answer to a message command that repeats a key already stored in memory (or, for an
    /// operator, names no open dialog); `None` when the command must run.
    pub(super) fn repeat(&self, command: &Command) -> Option<Result<Reply, RoutingError>> {
        match command {
            Command::OperatorMessage { dialog, .. } if !self.dialogs.contains_key(dialog) => {
                return Some(Err(RoutingError::NotFound));
            }
            Command::ClientMessage { .. } | Command::OperatorMessage { .. } => {}
            _ => return None,
        }
        let (dialog, side, key) = self.keyed_target(command)?;
        let transcript = &self.dialogs[&dialog].conversation.transcript;
        let (msg_id, seq) = transcript.seen(side, key)?;
        Some(Ok(Self::repeat_reply(command, dialog, msg_id, seq)))
    }

    /// Stores `op`'s message (as operator or bot, with their name) after routing accepted it.
    pub(super) fn store_operator_message(
        &mut self,
        op: OpIdx,
        dialog: DialogId,
        key: String,
        text: Arc<str>,
    ) -> Option<(u64, u64)> {
        let operator = &self.ops[op.0 as usize];
        let draft = Draft {
            author: if operator.bot {
                Author::Bot
            } else {
                Author::Operator
            },
            name: Some(operator.name.clone()),
            text,
            ts: self.now_ms as i64,
            key: Some((Side::Operator(op), key)),
        };
        self.store_message(dialog, draft)
    }

    /// Stores the client's message in `dialog`.
    pub(super) fn store_client_message(
        &mut self,
        dialog: DialogId,
        key: String,
        text: Arc<str>,
    ) -> Option<(u64, u64)> {
        let draft = Draft {
            author: Author::Client,
            name: None,
            text,
            ts: self.now_ms as i64,
            key: Some((Side::Client, key)),
        };
        self.store_message(dialog, draft)
    }
}
