//! The applier thread: brings the database up to date behind the journal. It takes the batches
//! the writer has made durable in the journal (in journal order), applies whatever is queued in
//! one redb transaction committed with `Durability::None`, and every `checkpoint_every` (or when
//! the journal passes `journal_bytes_max`, when idle, and when the writer stops) commits with
//! `Durability::Immediate` instead, recording the newest batch the file now contains.
//!
//! A checkpoint writes and flushes every page changed since the last one (tens of ms on a
//! virtual disk); it delays only this thread, never an acknowledgement. Reads wait for this
//! thread to reach the newest acknowledged batch (`Progress::wait_applied`), so a reader sees
//! every write acknowledged before it began.
//!
//! The applier gathers: once a batch arrives it waits for more for up to `apply_gather` (10 ms
//! by default) and applies all of it in one transaction. Each redb commit costs a fixed amount
//! of CPU (table roots, page bookkeeping, checksums) and copies every page it touches, so under
//! load one commit per few ms instead of one per journal batch (every ~0.5 ms at 10,000 msg/s)
//! spares most of that, and the writer's sends find the applier asleep instead of waking it for
//! each batch. A reader that has to wait cuts the gathering short (`Progress::hurry`), and so
//! does a stop, so reads wait no longer than before. The thread runs at nice 10.
//!
//! Invariants: batches are applied in journal order, each exactly once; `applied` only rises
//! after a successful commit, `checkpointed` only after a durable one. Any failure stops the
//! store (the journal holds what was acknowledged; a restart replays it).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use redb::{Database, Durability};

use super::apply::{self, Commit};
use super::error::{classify, panicked, Classified};
use super::writer::Shared;
use super::{Record, StoreError};
use crate::sync::{Condvar, Mutex};

/// How long the applier waits, idle, before it checkpoints what it applied.
const IDLE_CHECKPOINT_AFTER: Duration = Duration::from_millis(200);
/// How much lower than the server the applier thread runs (a nice value): an acknowledgement
/// never waits for it, and when the cores are busy the gateway and the writer come first.
pub(super) const NICE: i32 = 10;
/// Records applied in one transaction at most (more stay queued for the next).
const RECORDS_PER_TRANSACTION_MAX: usize = 65_536;

/// A batch the journal has: its number, the log position before it, its records.
pub(super) struct Durable {
    pub batch: u64,
    pub position: u64,
    pub records: Vec<Record>,
}

/// How far the database is behind the journal, shared with readers and the writer.
#[derive(Default)]
pub(super) struct Progress {
    /// The newest batch whose submitters have been (or are being) told it is durable.
    pub acked: AtomicU64,
    /// The newest batch the database has (committed, durable or not).
    pub applied: AtomicU64,
    /// The newest batch a durable database commit contains.
    pub checkpointed: AtomicU64,
    /// Bytes in the journal, as the writer last counted them.
    pub journal_bytes: AtomicU64,
    /// Whether someone waits for the applier (a reader, or the writer stopping): set by them,
    /// cleared by the applier as it stops gathering and applies at once.
    hurried: Mutex<bool>,
    /// Tells readers that `applied` moved (or the store failed).
    changed: Condvar,
    /// Tells the gathering applier that it is awaited.
    awaited: Condvar,
}

impl Progress {
    pub(super) fn starting_at(batch: u64) -> Progress {
        let progress = Progress::default();
        progress.acked.store(batch, Ordering::SeqCst);
        progress.applied.store(batch, Ordering::SeqCst);
        progress.checkpointed.store(batch, Ordering::SeqCst);
        progress
    }

    /// Waits until the database has every batch acknowledged so far; `Err` with the store's
    /// failure if it stopped first. On a worker thread of a multi-threaded tokio runtime the wait
    /// (up to a checkpoint's length) is announced with `block_in_place`, so the runtime moves the
    /// thread's other tasks elsewhere instead of stalling them.
    pub(super) fn wait_applied(&self, shared: &Shared) -> Result<(), StoreError> {
        let target = self.acked.load(Ordering::SeqCst);
        if self.applied.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        let wait = || self.wait_for(target, shared);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    fn wait_for(&self, target: u64, shared: &Shared) -> Result<(), StoreError> {
        let mut hurried = self.hurried.lock();
        loop {
            if self.applied.load(Ordering::SeqCst) >= target {
                return Ok(());
            }
            if let Some(failure) = shared.failure.get() {
                return Err(failure.clone());
            }
            *hurried = true;
            self.awaited.notify_one();
            self.changed
                .wait_for(&mut hurried, Duration::from_millis(100));
        }
    }

    /// Asks the applier to apply what it holds at once instead of gathering more.
    pub(super) fn hurry(&self) {
        *self.hurried.lock() = true;
        self.awaited.notify_one();
    }

    /// The applier's wait while it gathers: until `deadline`, or until someone hurries it.
    /// Clears the request either way (one applied transaction answers every waiter so far).
    fn gather_until(&self, deadline: Instant) {
        let mut hurried = self.hurried.lock();
        while !*hurried {
            if self.awaited.wait_until(&mut hurried, deadline).timed_out() {
                break;
            }
        }
        *hurried = false;
    }

    fn notify(&self) {
        let _guard = self.hurried.lock();
        self.changed.notify_all();
    }
}

/// The applier's state; moved into its thread.
pub(super) struct Applier {
    pub db: Arc<Database>,
    pub path: PathBuf,
    pub shared: Arc<Shared>,
    pub quick_repair: bool,
    pub checkpoint_every: Duration,
    pub journal_bytes_max: u64,
    /// How long to gather batches after the first before applying them (unless hurried).
    pub gather: Duration,
    pub last_durable: Instant,
}

impl Applier {
    /// The thread's body: returns once the writer is gone (after a last checkpoint) or after a
    /// failure.
    pub(super) fn run(mut self, batches: Receiver<Durable>) {
        loop {
            let progress = &self.shared.progress;
            let dirty = progress.applied.load(Ordering::SeqCst)
                > progress.checkpointed.load(Ordering::SeqCst);
            let first = match dirty {
                false => batches.recv().map_err(|_| RecvTimeoutError::Disconnected),
                true => batches.recv_timeout(self.idle_wait()),
            };
            let outcome = match first {
                Ok(first) => self.apply(first, &batches),
                Err(RecvTimeoutError::Timeout) => self.checkpoint(),
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.checkpoint();
                    return;
                }
            };
            if let Err(Classified { error, .. }) = outcome {
                let _ = self.shared.failure.set(error);
                self.shared.stopped.store(true, Ordering::SeqCst);
                self.shared.progress.notify();
                return;
            }
        }
    }

    fn idle_wait(&self) -> Duration {
        self.checkpoint_every
            .saturating_sub(self.last_durable.elapsed())
            .min(IDLE_CHECKPOINT_AFTER)
    }

    /// Gathers for up to `gather` after `first` came, then applies it and whatever else is
    /// queued in one transaction.
    fn apply(&mut self, first: Durable, batches: &Receiver<Durable>) -> Result<(), Classified> {
        if !self.gather.is_zero() {
            self.shared
                .progress
                .gather_until(Instant::now() + self.gather);
        }
        let mut records = first.records.len();
        let (position, mut last) = (first.position, first.batch);
        let mut taken = vec![first.records];
        while records < RECORDS_PER_TRANSACTION_MAX {
            let Ok(next) = batches.try_recv() else {
                break;
            };
            records += next.records.len();
            last = next.batch;
            taken.push(next.records);
        }
        let progress = &self.shared.progress;
        let checkpoint = self.last_durable.elapsed() >= self.checkpoint_every
            || progress.journal_bytes.load(Ordering::Relaxed) >= self.journal_bytes_max;
        self.commit(taken.iter().map(Vec::as_slice), position, last, checkpoint)
    }

    /// Makes everything applied durable in the database (an empty durable commit).
    fn checkpoint(&mut self) -> Result<(), Classified> {
        let progress = &self.shared.progress;
        let applied = progress.applied.load(Ordering::SeqCst);
        if applied <= progress.checkpointed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let empty: [&[Record]; 0] = [];
        // An empty batch numbers no log record: any position will do.
        self.commit(empty.into_iter(), 0, applied, true)
    }

    fn commit<'a>(
        &mut self,
        records: impl Iterator<Item = &'a [Record]>,
        position: u64,
        last: u64,
        durable: bool,
    ) -> Result<(), Classified> {
        let commit = Commit {
            durability: match durable {
                true => Durability::Immediate,
                false => Durability::None,
            },
            journal_applied: durable.then_some(last),
            before_commit: || Ok(()),
        };
        let (db, quick_repair) = (&self.db, self.quick_repair);
        let transaction = || apply::write_batch(db, quick_repair, position, records, commit);
        match catch_unwind(AssertUnwindSafe(transaction)) {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(classify(&self.path, error)),
            Err(payload) => {
                return Err(Classified {
                    error: panicked(&self.path, payload.as_ref()),
                    fatal: true,
                })
            }
        }
        let progress = &self.shared.progress;
        progress.applied.store(last, Ordering::SeqCst);
        if durable {
            self.last_durable = Instant::now();
            progress.checkpointed.store(last, Ordering::SeqCst);
        }
        progress.notify();
        Ok(())
    }
}
