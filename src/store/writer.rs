//! The writer thread: the only code that writes to the database, with group commit.
//!
//! It blocks for one submission, takes whatever else is already queued up to
//! `batch_records_max` records (a submission is never split), writes the batch in ONE redb write
//! transaction and makes it durable, then tells the `on_commit` observer (if any), and only then
//! runs the batch's `done` callbacks, in submission order.
//!
//! Durable means one of two things. Usually the batch is appended to the journal (one write,
//! one `fdatasync`) and the transaction is committed with `Durability::None`, which costs redb
//! no page writes and no flush. At a checkpoint (`checkpoint_every` after the last one, the
//! journal over `journal_bytes_max`, the writer idle, or closing) the transaction is committed
//! with `Durability::Immediate` instead, which makes every earlier commit durable too, records
//! the newest journal batch it contains, and empties the journal. Recovery (`open.rs`) replays
//! the journal's frames after that batch.
//!
//! Invariants:
//! - A `done` runs exactly once: with the commit's outcome, with its submission's own refusal,
//!   or with `Stopped` if its submission is dropped unwritten ([`Submission`]'s `Drop`).
//! - `last_position` and `snapshot_covers` change only after a successful commit.
//! - A redb failure that leaves the database unusable (I/O, damage, a panic inside redb) stops
//!   the writer: it is reported to its batch, kept as the store's failure, and every later
//!   submission gets `Stopped`. Any other failure is reported to its batch and the writer goes on.
//! - `on_commit` is called once per successful commit and never otherwise.
//! - A batch is in the journal before its non-durable commit; a failure after the journal has
//!   it stops the writer (the journal and the database would otherwise disagree).
//! - A batch whose accepted submissions hold no records is not written: their `done` gets `Ok`
//!   at once (everything submitted before them is already durable).
//! - Nothing here panics: redb, the observer and the callbacks run under `catch_unwind`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use redb::{Database, Durability};

use super::apply::{self, Commit};
use super::error::{classify, panicked, Classified};
use super::journal::Journal;
use super::open::State;
use super::{CommitStats, Record, StoreError};

/// What a submitter is told once its records are durable (or could not be written).
pub(super) type Done = Box<dyn FnOnce(Result<u64, StoreError>) + Send>;

/// One `submit`: records committed together, and the callback to tell.
pub(super) struct Submission {
    records: Vec<Record>,
    /// Records counted against `queue_records_max` (at least 1, so empty submissions count).
    queued_records: usize,
    done: Option<Done>,
}

impl Submission {
    pub(super) fn new(records: Vec<Record>, done: Done) -> Submission {
        let queued_records = records.len().max(1);
        Submission {
            records,
            queued_records,
            done: Some(done),
        }
    }

    pub(super) fn queued_records(&self) -> usize {
        self.queued_records
    }

    /// Drops the submission without calling `done` (its `submit` returned an error instead).
    pub(super) fn disarm(mut self) {
        self.done = None;
    }

    fn report(mut self, result: Result<u64, StoreError>) {
        if let Some(done) = self.done.take() {
            // A panicking callback is the caller's bug; the writer must outlive it
            let _ = catch_unwind(AssertUnwindSafe(|| done(result)));
        }
    }
}

impl Drop for Submission {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = catch_unwind(AssertUnwindSafe(|| done(Err(StoreError::Stopped))));
        }
    }
}

/// How long the writer waits, idle, before it checkpoints commits the journal holds.
const IDLE_CHECKPOINT_AFTER: Duration = Duration::from_millis(200);

/// What the writer receives.
pub(super) enum Command {
    Submit(Submission),
    /// Commit everything queued before this, then stop.
    Stop,
}

/// State the `Store` handles and the writer share.
#[derive(Default)]
pub(super) struct Shared {
    /// Records in the channel, against `queue_records_max`.
    pub queued_records: AtomicUsize,
    /// Write transactions committed.
    pub commits: AtomicU64,
    /// No more submissions are accepted (closing, or the writer stopped).
    pub stopped: AtomicBool,
    /// The fatal error the writer stopped on, if it did.
    pub failure: OnceLock<StoreError>,
}

/// The writer's state; moved into its thread.
pub(super) struct Writer {
    pub db: Arc<Database>,
    pub path: PathBuf,
    pub shared: Arc<Shared>,
    pub batch_records_max: usize,
    pub quick_repair: bool,
    /// Told of each successful commit, before its callbacks.
    pub on_commit: Option<Arc<dyn Fn(CommitStats) + Send + Sync>>,
    /// As of the last successful commit.
    pub state: State,
    pub journal: Journal,
    /// The number the next journal frame gets.
    pub next_batch: u64,
    /// When the last durable commit returned.
    pub last_durable: Instant,
    pub checkpoint_every: Duration,
    pub journal_bytes_max: u64,
}

/// The outcome planned for each submission of a batch before it is written.
struct Plan {
    verdicts: Vec<Result<(), StoreError>>,
    last_position: u64,
    snapshot_covers: u64,
}

impl Writer {
    /// The thread's body: returns once stopped, closed, or after a fatal error.
    pub(super) fn run(mut self, commands: Receiver<Command>) {
        let mut carried: Option<Submission> = None;
        loop {
            let first = match carried.take() {
                Some(submission) => submission,
                None => match self.next_command(&commands) {
                    Ok(command) => match self.dequeued(command) {
                        Some(submission) => submission,
                        None => break,
                    },
                    Err(RecvTimeoutError::Timeout) => {
                        if self.checkpoint() {
                            break;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            let (batch, next, stop) = self.gather(first, &commands);
            carried = next;
            let fatal = self.commit(batch);
            if fatal || stop {
                break;
            }
        }
        if self.shared.failure.get().is_none() {
            self.checkpoint();
        }
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Whatever is left is reported `Stopped` as it is dropped
        drop(carried);
        while let Ok(command) = commands.try_recv() {
            drop(self.dequeued(command));
        }
    }

    /// The next command; with commits not yet durable in the database, waits at most until
    /// the next checkpoint is due (`Timeout`: idle, make them durable now).
    fn next_command(&self, commands: &Receiver<Command>) -> Result<Command, RecvTimeoutError> {
        if self.journal.len() == 0 {
            return commands.recv().map_err(|_| RecvTimeoutError::Disconnected);
        }
        let idle = self
            .checkpoint_every
            .saturating_sub(self.last_durable.elapsed())
            .min(IDLE_CHECKPOINT_AFTER);
        commands.recv_timeout(idle)
    }

    /// Whether this batch's commit must be durable itself.
    fn checkpoint_due(&self) -> bool {
        self.last_durable.elapsed() >= self.checkpoint_every
            || self.journal.len() >= self.journal_bytes_max
    }

    /// Makes every commit so far durable in the database (an empty durable commit) and empties
    /// the journal. Returns whether the writer must stop.
    fn checkpoint(&mut self) -> bool {
        if self.journal.len() == 0 {
            return false;
        }
        let empty: [&[Record]; 0] = [];
        let commit = Commit {
            durability: Durability::Immediate,
            journal_applied: Some(self.next_batch - 1),
            before_commit: || Ok(()),
        };
        let transaction = || {
            apply::write_batch(
                &self.db,
                self.quick_repair,
                self.state.last_position,
                empty.into_iter(),
                commit,
            )
        };
        match self.guarded(transaction, false) {
            Ok(_) => {
                self.durable();
                false
            }
            Err(Classified { error, fatal }) => {
                if fatal {
                    let _ = self.shared.failure.set(error);
                    self.shared.stopped.store(true, Ordering::SeqCst);
                }
                fatal
            }
        }
    }

    /// After a durable commit: everything journaled is in the database; empty the journal.
    fn durable(&mut self) {
        self.last_durable = Instant::now();
        if let Err(e) = self.journal.reset() {
            // Its frames are all in the database (replay skips them); the next checkpoint
            // tries again.
            eprintln!(
                "switchboard: cannot empty the journal {}: {e}",
                self.journal.path().display()
            );
        }
    }

    fn dequeued(&self, command: Command) -> Option<Submission> {
        match command {
            Command::Submit(submission) => {
                self.shared
                    .queued_records
                    .fetch_sub(submission.queued_records, Ordering::SeqCst);
                Some(submission)
            }
            Command::Stop => None,
        }
    }

    /// Takes what is already queued after `first`, up to `batch_records_max` records. Returns
    /// the batch, a submission that did not fit, and whether `Stop` was seen.
    fn gather(
        &self,
        first: Submission,
        commands: &Receiver<Command>,
    ) -> (Vec<Submission>, Option<Submission>, bool) {
        let mut records = first.records.len();
        let mut batch = vec![first];
        while records < self.batch_records_max {
            let Ok(command) = commands.try_recv() else {
                break;
            };
            let Some(submission) = self.dequeued(command) else {
                return (batch, None, true);
            };
            if records.saturating_add(submission.records.len()) > self.batch_records_max {
                return (batch, Some(submission), false);
            }
            records += submission.records.len();
            batch.push(submission);
        }
        (batch, None, false)
    }

    /// Writes and commits one batch, then runs its callbacks. Returns whether the writer must stop.
    fn commit(&mut self, batch: Vec<Submission>) -> bool {
        let plan = self.plan(&batch);
        // Submissions without records (a caller ordering its publishing behind everything
        // submitted before) need no transaction: the writer is sequential, so all of that is
        // already durable. Skipping spares a disk flush per such batch.
        let writes = batch
            .iter()
            .zip(&plan.verdicts)
            .any(|(submission, verdict)| verdict.is_ok() && !submission.records.is_empty());
        let outcome = if writes {
            self.write(&batch, &plan).map(Some)
        } else {
            Ok(None)
        };
        let (result, fatal) = match outcome {
            Ok(duration) => {
                if let Some(duration) = duration {
                    self.observe(&batch, &plan, duration);
                }
                self.state.last_position = plan.last_position;
                self.state.snapshot_covers = plan.snapshot_covers;
                (Ok(self.state.last_position), false)
            }
            Err(Classified { error, fatal }) => {
                if fatal {
                    let _ = self.shared.failure.set(error.clone());
                    self.shared.stopped.store(true, Ordering::SeqCst);
                }
                (Err(error), fatal)
            }
        };
        for (submission, verdict) in batch.into_iter().zip(plan.verdicts) {
            match verdict {
                Ok(()) => submission.report(result.clone()),
                Err(refused) => submission.report(Err(refused)),
            }
        }
        fatal
    }

    /// Tells the observer what the commit just made durable wrote.
    fn observe(&self, batch: &[Submission], plan: &Plan, duration: Duration) {
        let Some(on_commit) = &self.on_commit else {
            return;
        };
        let mut stats = CommitStats {
            records: 0,
            submissions: 0,
            duration,
        };
        for (submission, _) in batch.iter().zip(&plan.verdicts).filter(|(_, v)| v.is_ok()) {
            stats.records += submission.records.len();
            stats.submissions += 1;
        }
        // A panicking observer is the caller's bug; the writer must outlive it
        let _ = catch_unwind(AssertUnwindSafe(|| on_commit(stats)));
    }

    /// Gives each submission its log positions and refuses, whole, a submission whose snapshot
    /// is ahead of the log or older than the stored one.
    fn plan(&self, batch: &[Submission]) -> Plan {
        let mut plan = Plan {
            verdicts: Vec::with_capacity(batch.len()),
            last_position: self.state.last_position,
            snapshot_covers: self.state.snapshot_covers,
        };
        for submission in batch {
            let (mut position, mut covers) = (plan.last_position, plan.snapshot_covers);
            let mut verdict = Ok(());
            for record in &submission.records {
                match record {
                    Record::Log(_) => match position.checked_add(1) {
                        Some(next) => position = next,
                        None => {
                            verdict = Err(StoreError::LogPositionsExhausted {
                                path: self.path.clone(),
                            });
                            break;
                        }
                    },
                    Record::Snapshot {
                        covers: claimed, ..
                    } => {
                        if *claimed > position || *claimed < covers {
                            verdict = Err(StoreError::SnapshotRefused {
                                path: self.path.clone(),
                                covers: *claimed,
                                last_position: position,
                                stored_covers: covers,
                            });
                            break;
                        }
                        covers = *claimed;
                    }
                    Record::Message { .. }
                    | Record::ForgetDialog { .. }
                    | Record::Dialog { .. }
                    | Record::Consent { .. }
                    | Record::Contact { .. }
                    | Record::ContactPhoto { .. }
                    | Record::WebhookEvent(_)
                    | Record::WebhookDelivery { .. }
                    | Record::WebhookCursor { .. }
                    | Record::WebhookPrune { .. }
                    | Record::ContactKey { .. }
                    | Record::ContactCount { .. }
                    | Record::ContactInteraction { .. } => {}
                }
            }
            if verdict.is_ok() {
                plan.last_position = position;
                plan.snapshot_covers = covers;
            }
            plan.verdicts.push(verdict);
        }
        plan
    }

    /// Writes the accepted submissions in one transaction, under the panic guard, and makes it
    /// durable: through the journal, or (a checkpoint) with a durable commit. Returns how long
    /// the transaction took from begin to durable.
    fn write(&mut self, batch: &[Submission], plan: &Plan) -> Result<Duration, Classified> {
        let accepted = batch
            .iter()
            .zip(&plan.verdicts)
            .filter(|(_, verdict)| verdict.is_ok())
            .map(|(submission, _)| submission.records.as_slice());
        if self.checkpoint_due() {
            let commit = Commit {
                durability: Durability::Immediate,
                journal_applied: Some(self.next_batch - 1),
                before_commit: || Ok(()),
            };
            let (db, position) = (&self.db, self.state.last_position);
            let quick_repair = self.quick_repair;
            let transaction = || apply::write_batch(db, quick_repair, position, accepted, commit);
            let duration = self.guarded(transaction, false)?;
            self.durable();
            return Ok(duration);
        }
        let batch_no = self.next_batch;
        let journal_len = self.journal.len();
        let journal = &mut self.journal;
        let frame = accepted.clone();
        let commit = Commit {
            durability: Durability::None,
            journal_applied: None,
            before_commit: move || journal.append(batch_no, frame),
        };
        let (db, position) = (&self.db, self.state.last_position);
        let quick_repair = self.quick_repair;
        let transaction = || apply::write_batch(db, quick_repair, position, accepted, commit);
        let outcome = catch_unwind(AssertUnwindSafe(transaction));
        // Once the journal has the batch, the database must have it too.
        let journaled = self.journal.len() != journal_len;
        if journaled {
            self.next_batch += 1;
        }
        self.settle(outcome, journaled)
    }

    /// Runs `transaction` under the panic guard.
    fn guarded(
        &self,
        transaction: impl FnOnce() -> Result<Duration, redb::Error>,
        journaled: bool,
    ) -> Result<Duration, Classified> {
        self.settle(catch_unwind(AssertUnwindSafe(transaction)), journaled)
    }

    /// Counts a commit, or classifies its failure (fatal if the journal already has the batch).
    fn settle(
        &self,
        outcome: std::thread::Result<Result<Duration, redb::Error>>,
        journaled: bool,
    ) -> Result<Duration, Classified> {
        match outcome {
            Ok(Ok(duration)) => {
                self.shared.commits.fetch_add(1, Ordering::Relaxed);
                Ok(duration)
            }
            Ok(Err(error)) => {
                let mut classified = classify(&self.path, error);
                classified.fatal |= journaled;
                Err(classified)
            }
            Err(payload) => Err(Classified {
                error: panicked(&self.path, payload.as_ref()),
                fatal: true,
            }),
        }
    }
}
