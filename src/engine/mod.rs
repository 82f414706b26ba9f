//! The running core: one tokio task per routing shard, fed through a [`Mailbox`], plus what
//! sessions share — the directory, per-operator event feeds and the widget client registry.
//!
//! A session never touches routing state: it posts a [`ShardMsg`] to the shard that owns the
//! line or dialog and awaits the answer. The shard task applies it to its sans-IO
//! [`crate::routing::Shard`] at the clock's current time, keeps the dialog's messages, and turns
//! the effects into frames on the affected sessions' bounded queues. Cross-shard consequences
//! (a freed or paused operator, a dialog moving to another shard's line) are posted to the
//! other shards' mailboxes. No lock is shared by all connections: each operator's feed has its
//! own, and the client registry is split in 64 parts.

mod dialog_log;
mod directory;
mod effects;
mod messages;
mod outbound;
mod outbox;
mod shard_task;

pub use dialog_log::DialogLog;
pub use directory::{sha256, Directory};
pub use messages::{ClientState, OperatorAction, Refusal, ShardMsg, Stored};
pub use outbound::{ClientRegistry, OperatorFeeds, Outbound, Overflow, SessionTx};

use crate::clock::Clock;
use crate::config::{Config, Limits};
use crate::routing::{setup, DialogId, LineIdx, Mailbox, OpIdx, Shard};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{oneshot, Notify};

/// Events kept per operator for resume.
pub const OPERATOR_EVENTS_KEPT_MAX: usize = 4_096;

/// A shard task's inbox.
pub struct ShardInbox {
    mailbox: Mailbox<ShardMsg>,
    notify: Notify,
}

/// What every session and shard task shares.
pub struct Engine {
    pub directory: Directory,
    pub feeds: OperatorFeeds,
    pub clients: ClientRegistry,
    pub limits: Limits,
    pub clock: Arc<dyn Clock>,
    inboxes: Vec<ShardInbox>,
    /// Dialogs that moved to another shard's line.
    moved: Mutex<HashMap<DialogId, usize>>,
}

impl Engine {
    /// Builds the routing state for `config` and starts one task per shard on the current
    /// tokio runtime.
    pub fn start(config: &Config, shards: usize, clock: Arc<dyn Clock>) -> Arc<Engine> {
        let shards = shards.clamp(1, crate::routing::ids::SHARDS_MAX);
        let routing = setup::Directory::build(config);
        let now = clock.now_ms();
        let directory = Directory::new(config, &routing, shards);
        let engine = Arc::new(Engine {
            feeds: OperatorFeeds::new(routing.operators.len(), OPERATOR_EVENTS_KEPT_MAX),
            clients: ClientRegistry::default(),
            limits: config.server.limits.clone(),
            clock,
            inboxes: (0..shards)
                .map(|_| ShardInbox {
                    mailbox: Mailbox::new(),
                    notify: Notify::new(),
                })
                .collect(),
            moved: Mutex::new(HashMap::new()),
            directory,
        });
        let line_count = routing.lines.len();
        for index in 0..shards {
            let core = Shard::new(
                index as u8,
                routing.operators.clone(),
                routing.lines_for_shard(index, shards),
                line_count,
                now,
                config.server.limits.decision_skips_max,
            );
            tokio::spawn(shard_task::ShardTask::new(index, core, engine.clone()).run());
        }
        engine
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.inboxes.len()
    }

    /// The shard owning `line`.
    pub fn shard_of_line(&self, line: LineIdx) -> usize {
        self.directory.lines[line.0 as usize].shard
    }

    /// The shard holding `dialog` now.
    pub fn shard_of_dialog(&self, dialog: DialogId) -> usize {
        self.moved
            .lock()
            .get(&dialog)
            .copied()
            .unwrap_or_else(|| dialog.home_shard() % self.inboxes.len())
    }

    fn note_moved(&self, dialog: DialogId, shard: usize) {
        self.moved.lock().insert(dialog, shard);
    }

    fn forget_moved(&self, dialog: DialogId) {
        let mut moved = self.moved.lock();
        if !moved.is_empty() {
            moved.remove(&dialog);
        }
    }

    /// Posts `msg` to shard `shard`.
    pub fn post(&self, shard: usize, msg: ShardMsg) {
        let inbox = &self.inboxes[shard];
        if inbox.mailbox.push(msg) {
            inbox.notify.notify_one();
        }
    }

    /// Posts a request built around a reply channel and awaits the answer (None if the shard
    /// task is gone, which only happens at shutdown).
    pub async fn ask<T>(
        &self,
        shard: usize,
        make: impl FnOnce(oneshot::Sender<T>) -> ShardMsg,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.post(shard, make(tx));
        rx.await.ok()
    }

    /// Tells every shard that `op`'s shared state changed.
    pub fn operator_changed(&self, op: OpIdx) {
        for shard in 0..self.inboxes.len() {
            self.post(shard, ShardMsg::OperatorChanged { op });
        }
    }

    /// Tells every shard but `except` that `op`'s shared state changed.
    fn operator_changed_elsewhere(&self, op: OpIdx, except: usize) {
        for shard in (0..self.inboxes.len()).filter(|s| *s != except) {
            self.post(shard, ShardMsg::OperatorChanged { op });
        }
    }
}
