//! What a shard task keeps per open dialog beyond the routing core, all of it about I/O: the
//! typing-preview window (drafts coalesced to one preview per interval), how many of the
//! dialog's messages are already in the store, and its recent routing decisions (for the admin
//! API). The messages themselves, their numbering and idempotency live in the dialog's
//! [`Transcript`](crate::routing::Transcript), owned by the routing core.
//! Must never: hold a message, or decide anything routing decides.

use crate::store::records::StoredDecision;
use std::collections::VecDeque;

/// The latest draft waiting for the preview window (100 ms per dialog).
#[derive(Clone, Debug, Default)]
pub struct TypingState {
    pub last_sent_ms: u64,
    pub pending: Option<String>,
}

/// The shard task's I/O state of one open dialog.
#[derive(Clone, Debug, Default)]
pub struct DialogIo {
    pub typing: TypingState,
    /// Recent routing decisions in words, oldest first.
    pub decisions: VecDeque<StoredDecision>,
    /// Messages `[..saved]` of the transcript are in the store.
    pub saved: usize,
}

impl DialogIo {
    /// The state of a dialog whose first `saved` messages are already stored.
    pub fn stored(saved: usize) -> Self {
        Self {
            saved,
            ..Self::default()
        }
    }

    /// Keeps `decision`, dropping the oldest beyond `max`.
    pub fn record(&mut self, decision: StoredDecision, max: usize) {
        if self.decisions.len() >= max {
            self.decisions.pop_front();
        }
        self.decisions.push_back(decision);
    }
}
