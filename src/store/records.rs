//! What the hub keeps durable, as bytes for the store, and how it is read back.
//!
//! The log holds *current-state upserts*, not inputs: every batch writes the full record of each
//! dialog it changed (`Dialog`), `Closed` when one ends, each new resume token's hash, and a
//! `Boot` per start. Replaying is therefore idempotent and independent of how shards
//! interleaved: the last record of a dialog wins. A snapshot is the same state folded (every
//! open dialog, every token), so recovery = snapshot + the log after it. Messages are stored
//! apart, by `(dialog, seq)`, with the sender's idempotency key.

use crate::protocol::{Author, ClientInfo};
use crate::routing::record::DialogRecord;
use crate::routing::{Conversation, DialogId, Message, OpIdx, Side};
use crate::store::Recovered;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One open dialog as the hub restores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DurableDialog {
    pub record: DialogRecord,
    pub client: ClientInfo,
    /// The operator told about ratings and closing (last holder), by id.
    pub operator: Option<String>,
    /// The client's rating and comment, given while the dialog awaits its close.
    #[serde(default)]
    pub rating: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub supervisor_score: Option<u8>,
    /// Its recent routing decisions in words (at most `decisions_per_dialog_max`).
    #[serde(default)]
    pub decisions: Vec<StoredDecision>,
}

impl DurableDialog {
    /// A dialog with no rating, score or decisions yet.
    pub fn new(record: DialogRecord, client: ClientInfo, operator: Option<String>) -> Self {
        Self {
            record,
            client,
            operator,
            rating: None,
            comment: None,
            supervisor_score: None,
            decisions: Vec::new(),
        }
    }
}

/// A routing decision as the admin API shows it: when, and what was decided and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDecision {
    pub ts: i64,
    pub text: String,
}

/// A closed dialog as the store keeps it for the admin API (the `dialogs` table): who, where,
/// when, why it ended, and its final KPI figures and ratings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosedDialog {
    pub id: u64,
    pub line: String,
    pub client: ClientInfo,
    /// The operator who held it last, by id.
    pub operator: Option<String>,
    pub created_ms: u64,
    pub closed_ms: u64,
    /// The close reason as the protocol names it.
    pub reason: String,
    pub ever_answered: bool,
    pub kpi: crate::routing::Kpi,
    /// The client's rating (`true` = like).
    pub rating: Option<bool>,
    /// What the client wrote with the rating.
    #[serde(default)]
    pub comment: Option<String>,
    pub supervisor_score: Option<u8>,
    /// Its last routing decisions in words.
    #[serde(default)]
    pub decisions: Vec<StoredDecision>,
    /// History retention deleted its messages.
    #[serde(default)]
    pub messages_deleted: bool,
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LogEvent {
    /// The service started; operator event sequences of this run start at `epoch << 32`.
    Boot {
        epoch: u64,
    },
    Dialog(Box<DurableDialog>),
    Closed {
        dialog: u64,
        /// The highest message id sequence its shard had handed out: a restart continues
        /// after it, so no message id of a closed dialog is handed out again.
        #[serde(default)]
        msg_seq_high: u64,
    },
    /// A line, operator or quick-answer list changed through the admin API (replayed over the
    /// config file at every start).
    Config(Box<crate::config::changes::Change>),
    /// A widget resume token: its SHA-256, the client and the line.
    Token {
        hash: [u8; 32],
        client: String,
        line: String,
    },
    /// An open dialog's routing decisions, written only when they change (a dialog's record,
    /// written with every message, leaves them out).
    Decisions {
        dialog: u64,
        decisions: Vec<StoredDecision>,
    },
}

/// The folded state: what a snapshot holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub epoch: u64,
    pub dialogs: BTreeMap<u64, DurableDialog>,
    pub tokens: Vec<([u8; 32], String, String)>,
    /// The highest dialog id sequence ever logged, closed dialogs included: new dialogs start
    /// after it, so an id (and the messages stored under it) is never handed out twice.
    #[serde(default)]
    pub dialog_seq_high: u64,
    /// The highest message id sequence any shard handed out, closed dialogs included: every
    /// shard continues after it.
    #[serde(default)]
    pub msg_seq_high: u64,
    /// Runtime configuration changes, oldest first (compacted in snapshots).
    #[serde(default)]
    pub changes: Vec<crate::config::changes::Change>,
    /// Dialogs each client started, by line id, then client id: kept when their dialogs close,
    /// so a bot's `first_contact` still knows a returning client after a restart.
    #[serde(default)]
    pub client_dialogs: BTreeMap<String, BTreeMap<String, u32>>,
}

impl State {
    /// Notes that `client` started `started` dialogs on `line` (the larger count wins).
    pub fn note_client_dialogs(&mut self, line: &str, client: &str, started: u32) {
        let count = self
            .client_dialogs
            .entry(line.to_string())
            .or_default()
            .entry(client.to_string())
            .or_default();
        *count = (*count).max(started);
    }
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub msg_id: u64,
    pub author: Author,
    pub name: Option<String>,
    pub text: String,
    pub ts: i64,
    /// The sender's idempotency key: `None` side for the client, else the operator id.
    pub key: Option<(Option<String>, String)>,
}

/// Why stored bytes could not be read: which record, and the decoder's own error.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("log record at position {position} cannot be read: {source}")]
    Log {
        position: u64,
        source: rmp_serde::decode::Error,
    },
    #[error("the snapshot cannot be read: {0}")]
    Snapshot(#[source] rmp_serde::decode::Error),
    #[error("message {seq} of dialog {dialog} cannot be read: {source}")]
    Message {
        dialog: u64,
        seq: u64,
        source: rmp_serde::decode::Error,
    },
    #[error("the consent of client {client} on line {line} cannot be read: {source}")]
    Consent {
        line: String,
        client: String,
        source: rmp_serde::decode::Error,
    },
}

/// Why stored state could not be read back: the store failed, or what it holds does not decode.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Decode(#[from] PersistError),
}

/// Encodes a value (MessagePack with field names); our own types always encode.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("hub records always encode")
}

impl State {
    /// Applies one log event.
    pub fn apply(&mut self, event: LogEvent) {
        match event {
            LogEvent::Boot { epoch } => self.epoch = self.epoch.max(epoch),
            LogEvent::Dialog(mut state) => {
                self.note_dialog_id(state.record.id);
                // A record without decisions keeps the ones written before it.
                if state.decisions.is_empty() {
                    if let Some(before) = self.dialogs.get_mut(&state.record.id) {
                        state.decisions = std::mem::take(&mut before.decisions);
                    }
                }
                self.dialogs.insert(state.record.id, *state);
            }
            LogEvent::Decisions { dialog, decisions } => {
                if let Some(open) = self.dialogs.get_mut(&dialog) {
                    open.decisions = decisions;
                }
            }
            LogEvent::Closed {
                dialog,
                msg_seq_high,
            } => {
                self.msg_seq_high = self.msg_seq_high.max(msg_seq_high);
                self.note_dialog_id(dialog);
                if let Some(closed) = self.dialogs.remove(&dialog) {
                    let r = &closed.record;
                    self.note_client_dialogs(&r.origin_line, &r.client, r.client_dialogs_started);
                }
            }
            LogEvent::Token { hash, client, line } => self.tokens.push((hash, client, line)),
            LogEvent::Config(change) => self.changes.push(*change),
        }
    }

    fn note_dialog_id(&mut self, id: u64) {
        self.dialog_seq_high = self.dialog_seq_high.max(DialogId(id).seq());
    }

    /// The newest snapshot plus every log record after it.
    pub fn fold(recovered: &Recovered) -> Result<State, PersistError> {
        let mut state = match &recovered.snapshot {
            Some((_, bytes)) => rmp_serde::from_slice(bytes).map_err(PersistError::Snapshot)?,
            None => State::default(),
        };
        for (position, bytes) in &recovered.log {
            let event: LogEvent = rmp_serde::from_slice(bytes).map_err(|e| PersistError::Log {
                position: *position,
                source: e,
            })?;
            state.apply(event);
        }
        Ok(state)
    }
}

impl MessageRecord {
    /// The stored message numbered `seq` of `dialog` as the protocol shows it.
    pub fn view(self, dialog: u64, seq: u64) -> crate::protocol::MessageView {
        crate::protocol::MessageView {
            dialog_id: dialog,
            seq,
            msg_id: self.msg_id,
            author: self.author,
            name: self.name,
            text: self.text,
            ts: self.ts,
        }
    }

    /// The record of a stored message; `operator_id` names operators for the key's side.
    pub fn new(m: &Message, operator_id: impl Fn(OpIdx) -> String) -> Self {
        let key = m.key.as_ref().map(|(side, key)| {
            let side = match side {
                Side::Client => None,
                Side::Operator(op) => Some(operator_id(*op)),
            };
            (side, key.clone())
        });
        Self {
            msg_id: m.msg_id,
            author: m.author,
            name: m.name.as_deref().map(str::to_string),
            text: m.text.to_string(),
            ts: m.ts,
            key,
        }
    }
}

/// Rebuilds an open dialog's conversation: `client` and the last `operator` from its durable
/// record, the transcript from its stored messages (`(seq, bytes)` in seq order). A key whose
/// operator is no longer configured is dropped (nobody can repeat it).
pub fn rebuild_conversation(
    id: DialogId,
    client: ClientInfo,
    operator: Option<OpIdx>,
    messages: Vec<(u64, Vec<u8>)>,
    operator_index: &HashMap<Arc<str>, OpIdx>,
) -> Result<Conversation, PersistError> {
    let mut conversation = Conversation::new(client);
    conversation.operator = operator;
    for (seq, bytes) in messages {
        let m = decode_message(id.0, seq, &bytes)?;
        let key = m.key.and_then(|(side, key)| {
            let side = match side {
                None => Side::Client,
                Some(op) => Side::Operator(*operator_index.get(op.as_str())?),
            };
            Some((side, key))
        });
        conversation.transcript.restore(Message {
            seq,
            msg_id: m.msg_id,
            author: m.author,
            name: m.name.map(Into::into),
            text: m.text.into(),
            ts: m.ts,
            key,
        });
    }
    Ok(conversation)
}

/// The newest `limit` stored messages of `dialog` with `seq` below `before` (all without it),
/// oldest first, as the protocol shows them.
pub fn stored_page(
    store: &crate::store::Store,
    dialog: u64,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<crate::protocol::MessageView>, ReadError> {
    views(
        dialog,
        store.newest_messages(dialog, before.unwrap_or(u64::MAX), limit)?,
    )
}

/// The stored messages of `dialog` with `seq` in `seqs`, oldest first, as the protocol shows
/// them.
pub fn stored_range(
    store: &crate::store::Store,
    dialog: u64,
    seqs: std::ops::Range<u64>,
) -> Result<Vec<crate::protocol::MessageView>, ReadError> {
    views(
        dialog,
        store.messages(dialog, seqs.start, seqs.end, usize::MAX)?,
    )
}

/// Stored messages `(seq, bytes)` of `dialog` as the protocol shows them.
fn views(
    dialog: u64,
    stored: Vec<(u64, Vec<u8>)>,
) -> Result<Vec<crate::protocol::MessageView>, ReadError> {
    stored
        .iter()
        .map(|(seq, bytes)| Ok(decode_message(dialog, *seq, bytes)?.view(dialog, *seq)))
        .collect()
}

/// `(msg_id, seq)` of the stored message of `dialog` up to seq `through` sent with `key` by
/// `operator` (by id; `None`: the client).
pub fn stored_key(
    store: &crate::store::Store,
    dialog: u64,
    through: u64,
    (operator, key): (Option<&str>, &str),
) -> Result<Option<(u64, u64)>, ReadError> {
    for (seq, bytes) in store.messages(dialog, 1, through.saturating_add(1), usize::MAX)? {
        let m = decode_message(dialog, seq, &bytes)?;
        if let Some((side, stored)) = &m.key {
            if side.as_deref() == operator && stored == key {
                return Ok(Some((m.msg_id, seq)));
            }
        }
    }
    Ok(None)
}

fn decode_message(dialog: u64, seq: u64, bytes: &[u8]) -> Result<MessageRecord, PersistError> {
    rmp_serde::from_slice(bytes).map_err(|e| PersistError::Message {
        dialog,
        seq,
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> DialogRecord {
        serde_json::from_value(serde_json::json!({
            "id": id, "line": "l", "origin_line": "l", "client": "c",
            "holder": {"state": "queued"}, "arrival": 1, "created_ms": 0,
            "holder_answered": false, "ever_answered": false, "client_wrote_last": true,
            "waiting_since_ms": 0, "tried": [], "cursor": null, "escalation": 0, "bot": null,
            "sent": [false, false, false, false], "timers": [], "client_dialogs_started": 1
        }))
        .expect("a dialog record")
    }

    fn decision(text: &str) -> StoredDecision {
        StoredDecision {
            ts: 1,
            text: text.into(),
        }
    }

    /// Decisions are logged apart, only when they change: a dialog's later records (written
    /// without them) keep them, and a snapshot folds them in.
    #[test]
    fn decisions_logged_apart_survive_the_dialogs_later_records() {
        let mut state = State::default();
        let open = |id| {
            LogEvent::Dialog(Box::new(DurableDialog::new(
                record(id),
                ClientInfo::default(),
                None,
            )))
        };
        state.apply(open(7));
        state.apply(LogEvent::Decisions {
            dialog: 7,
            decisions: vec![decision("offered to anna")],
        });
        state.apply(open(7));
        assert_eq!(
            state.dialogs[&7].decisions,
            vec![decision("offered to anna")]
        );
        state.apply(LogEvent::Decisions {
            dialog: 7,
            decisions: vec![decision("offered to anna"), decision("queued")],
        });
        assert_eq!(state.dialogs[&7].decisions.len(), 2);
        // Decisions of a dialog the state does not hold (closed since) change nothing.
        state.apply(LogEvent::Closed {
            dialog: 7,
            msg_seq_high: 0,
        });
        assert_eq!(
            state.client_dialogs["l"]["c"], 1,
            "the client's count of started dialogs outlives the dialog"
        );
        state.apply(LogEvent::Decisions {
            dialog: 7,
            decisions: vec![decision("late")],
        });
        assert!(state.dialogs.is_empty());
    }
}
