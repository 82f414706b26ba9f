//! What a shard task keeps per open dialog beyond the routing core, all of it about I/O: the
//! typing-preview window (drafts coalesced to one preview per interval), how far the dialog's
//! messages are queued for the store and known durable there (older ones may leave memory),
//! and its recent routing decisions (for the admin API). The messages themselves, their
//! numbering and idempotency live in the dialog's
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
    /// Messages up to this seq are queued for the store (or in it).
    pub saved: u64,
    /// Messages up to this seq are durable: they may leave memory.
    pub durable: u64,
    /// `(submission, seq)`: messages up to `seq` are durable once the shard's submission
    /// numbered `submission` is committed (one at a time, so it resolves under steady load).
    pub awaiting: Option<(u64, u64)>,
}

impl DialogIo {
    /// The state of a dialog whose messages up to `seq` are already durable.
    pub fn stored(seq: u64) -> Self {
        Self {
            saved: seq,
            durable: seq,
            ..Self::default()
        }
    }

    /// Notes that messages up to `seq` go to the store with submission `submission`.
    pub fn queued(&mut self, seq: u64, submission: u64) {
        self.saved = seq;
        if self.awaiting.is_none() && self.durable < seq {
            self.awaiting = Some((submission, seq));
        }
    }

    /// Moves `durable` up once the awaited submission is committed (`committed` submissions of
    /// this shard are); returns it.
    pub fn durable_after(&mut self, committed: u64) -> u64 {
        if let Some((submission, seq)) = self.awaiting {
            if committed >= submission {
                self.durable = seq;
                self.awaiting = None;
            }
        }
        self.durable
    }

    /// Keeps `decision`, dropping the oldest beyond `max`.
    pub fn record(&mut self, decision: StoredDecision, max: usize) {
        if self.decisions.len() >= max {
            self.decisions.pop_front();
        }
        self.decisions.push_back(decision);
    }
}
