//! One shard's task around its sans-IO [`Shard`]: drains the inbox, applies each request at the
//! clock's time, turns the effects into frames and records, and sleeps until the next request,
//! timer or typing-preview flush. The only code that mutates a shard. The dialogs themselves
//! (messages, numbering, idempotency, participants) are the core's; this task keeps only their
//! I/O state (`dialog_io`).
//!
//! Files follow a request's path: `dispatch` (which code answers it), `client_requests` and
//! `operator_requests` (the answers), `effect_handler` (routing effects into frames and
//! records), `fan_out` (one message to its audience), `outbox` (everything held until the
//! commit), `commit` (the batch's records, then release), `admin_answers` (read-only views),
//! `dialog_io` (typing previews, what is stored, decisions), `requests` (what sessions may ask).
//! Must never: release anything before its batch is durable, or block on I/O.

mod admin_answers;
mod client_requests;
mod commit;
pub mod dialog_io;
mod dispatch;
mod effect_handler;
mod fan_out;
mod open_history;
mod operator_requests;
mod outbox;
pub mod requests;

use crate::config::bounds::SHARD_BATCH_REQUESTS_MAX;
use crate::hub::Hub;
use crate::kpi::stats::ShardStats;
use crate::routing::{Command, DialogId, Effect, Park, Shard};
use crate::store::Record;
use dialog_io::DialogIo;
use outbox::Outbox;
pub use requests::{ClientState, OperatorAction, Refusal, ShardRequest, Stored};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

pub struct ShardTask {
    pub(super) index: usize,
    pub(super) core: Shard,
    /// I/O state of open dialogs (created when first needed).
    pub(super) io: HashMap<DialogId, DialogIo>,
    pub(super) hub: Arc<Hub>,
    pub(super) out: Vec<Effect>,
    pub(super) typing_due: BTreeSet<(u64, DialogId)>,
    pub(super) outbox: Outbox,
    /// Dialogs this batch changed: their records are written at the flush.
    pub(super) touched: BTreeSet<DialogId>,
    /// Open dialogs whose routing decisions changed in this batch.
    pub(super) decided: BTreeSet<DialogId>,
    /// Dialogs this batch closed.
    pub(super) closed: Vec<DialogId>,
    /// Records already prepared for this batch (messages of dialogs that left).
    pub(super) pending: Vec<Record>,
    /// KPI statistics of this shard's lines and operators.
    pub(super) stats: ShardStats,
    /// A digest of the record last written per open dialog (unchanged records are skipped).
    pub(super) written: HashMap<DialogId, u64>,
    /// When this batch's client messages arrived (delivery latency, recorded at release).
    pub(super) arrivals: Vec<std::time::Instant>,
    /// This shard's batches submitted to the store whose release has not run yet.
    in_flight: Arc<AtomicUsize>,
    /// How many batches this shard submitted to the store, and how many of them committed (in
    /// order): a dialog's messages leave memory once the submission that carried them commits.
    submitted: u64,
    committed: Arc<AtomicU64>,
}

impl ShardTask {
    /// A shard task around `core`, whose restored dialogs' messages are all in the store.
    pub fn new(index: usize, core: Shard, hub: Arc<Hub>) -> Self {
        let io = core
            .dialogs()
            .map(|d| (d.id, DialogIo::stored(d.conversation.transcript.last_seq())))
            .collect();
        Self {
            index,
            core,
            io,
            hub,
            out: Vec::new(),
            typing_due: BTreeSet::new(),
            outbox: Outbox::default(),
            touched: BTreeSet::new(),
            decided: BTreeSet::new(),
            closed: Vec::new(),
            pending: Vec::new(),
            stats: ShardStats::default(),
            arrivals: Vec::new(),
            written: HashMap::new(),
            in_flight: Arc::default(),
            submitted: 0,
            committed: Arc::default(),
        }
    }

    pub async fn run(mut self) {
        let hub = self.hub.clone();
        let inbox = hub.inbox(self.index);
        let mut batch = Vec::with_capacity(SHARD_BATCH_REQUESTS_MAX);
        loop {
            inbox
                .mailbox
                .drain_into(&mut batch, SHARD_BATCH_REQUESTS_MAX);
            let now = hub.clock.now_ms();
            let mut stop = false;
            for msg in batch.drain(..) {
                stop |= matches!(msg, ShardRequest::Stop);
                // One command through the routing core, decisions and effects included.
                let started = std::time::Instant::now();
                self.on_msg(now, msg);
                hub.metrics
                    .dispatch_us
                    .record(started.elapsed().as_micros() as u64);
            }
            if stop {
                self.flush();
                return;
            }
            self.tick(now);
            self.flush();
            if !inbox.mailbox.is_empty() || inbox.mailbox.try_park() == Park::Again {
                continue;
            }
            let wake = [
                self.core.next_wake(),
                self.typing_due.first().map(|(at, _)| *at),
            ]
            .into_iter()
            .flatten()
            .min();
            match wake {
                Some(at) => {
                    let delay = at.saturating_sub(hub.clock.now_ms());
                    tokio::select! {
                        _ = inbox.notify.notified() => {}
                        _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                    }
                }
                None => inbox.notify.notified().await,
            }
        }
    }

    /// Puts back the stored routing decisions of restored dialogs.
    pub fn restore_decisions(
        &mut self,
        decisions: &HashMap<u64, Vec<crate::store::records::StoredDecision>>,
    ) {
        for (id, io) in &mut self.io {
            if let Some(kept) = decisions.get(&id.0) {
                io.decisions = kept.iter().cloned().collect();
            }
        }
    }

    /// Notes that `dialog` changed in this batch.
    pub(super) fn touch(&mut self, dialog: DialogId) {
        self.touched.insert(dialog);
    }

    fn tick(&mut self, now: u64) {
        let _ = self.core.handle(now, Command::Tick, &mut self.out);
        self.apply_effects();
        while let Some(&(at, dialog)) = self.typing_due.first() {
            if at > now {
                break;
            }
            self.typing_due.remove(&(at, dialog));
            if let Some(text) = self
                .io
                .get_mut(&dialog)
                .and_then(|io| io.typing.pending.take())
            {
                self.send_preview(now, dialog, text);
            }
        }
    }
}
