//! The writer thread: the only code that writes to the database, with group commit.
//!
//! It blocks for one submission, takes whatever else is already queued up to
//! `batch_records_max` records (a submission is never split), writes the batch in ONE redb write
//! transaction and makes it durable, then tells the `on_commit` observer (if any), and only then
//! runs the batch's `done` callbacks, in submission order.
//!
//! Durable means in the journal: the batch is appended to it (one write, one `fdatasync`), and
//! only then is it handed to the applier thread (`applier.rs`), which brings the database up to
//! date behind it and checkpoints. The `done` callbacks do not wait for the database; reads do
//! (they wait until the applier has every acknowledged batch).
//!
//! Invariants:
//! - A `done` runs exactly once: with the commit's outcome, with its submission's own refusal,
//!   or with `Stopped` if its submission is dropped unwritten ([`Submission`]'s `Drop`).
//! - `last_position` and `snapshot_covers` change only after a successful commit.
//! - A redb failure that leaves the database unusable (I/O, damage, a panic inside redb) stops
//!   the writer: it is reported to its batch, kept as the store's failure, and every later
//!   submission gets `Stopped`. Any other failure is reported to its batch and the writer goes on.
//! - `on_commit` is called once per successful commit and never otherwise.
//! - A batch is in the journal before it is acknowledged or applied; it is handed to the
//!   applier before its callbacks run, and `acked` is raised first, so a read started by a
//!   callback waits for it. Any journal failure stops the writer.
//! - A batch whose accepted submissions hold no records is not written: their `done` gets `Ok`
//!   at once (everything submitted before them is already durable).
//! - Nothing here panics: redb, the observer and the callbacks run under `catch_unwind`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::applier::{Durable, Progress};
use super::error::{io, panicked, Classified};
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
    /// Batches made durable (journal appends).
    pub commits: AtomicU64,
    /// How far the database is behind the journal.
    pub progress: Progress,
    /// No more submissions are accepted (closing, or the writer stopped).
    pub stopped: AtomicBool,
    /// The fatal error the writer stopped on, if it did.
    pub failure: OnceLock<StoreError>,
    /// Told of every batch's webhook events once the batch is durable, after its callbacks.
    pub events: OnceLock<EventListener>,
}

/// The webhook events of a durable batch: `(event number, event bytes)`, in order, shared so
/// that every listener's task gets them without a copy.
pub type Events = Arc<[(u64, Arc<[u8]>)]>;

/// Takes the webhook events of each durable batch.
pub type EventListener = Arc<dyn Fn(&Events) + Send + Sync>;

/// The writer's state; moved into its thread.
pub(super) struct Writer {
    pub path: PathBuf,
    pub shared: Arc<Shared>,
    pub batch_records_max: usize,
    /// Told of each successful commit, before its callbacks.
    pub on_commit: Option<Arc<dyn Fn(CommitStats) + Send + Sync>>,
    /// As of the last successful commit.
    pub state: State,
    pub journal: Journal,
    /// The number the next journal frame gets.
    pub next_batch: u64,
    /// Where durable batches go; dropped when the writer stops, which ends the applier.
    pub applier: Option<Sender<Durable>>,
    pub applier_thread: Option<JoinHandle<()>>,
    /// The checkpointed batch the journal was last collected at.
    pub collected: u64,
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
                None => match commands.recv() {
                    Ok(command) => match self.dequeued(command) {
                        Some(submission) => submission,
                        None => break,
                    },
                    Err(_) => break,
                },
            };
            let (batch, next, stop) = self.gather(first, &commands);
            carried = next;
            let fatal = self.commit(batch);
            if fatal || stop {
                break;
            }
        }
        self.stop_applier();
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Whatever is left is reported `Stopped` as it is dropped
        drop(carried);
        while let Ok(command) = commands.try_recv() {
            drop(self.dequeued(command));
        }
    }

    /// Lets the applier finish (it checkpoints everything applied) and deletes the journal
    /// segments the database then holds.
    fn stop_applier(&mut self) {
        drop(self.applier.take());
        self.shared.progress.hurry();
        if let Some(thread) = self.applier_thread.take() {
            let _ = thread.join();
        }
        if self.shared.failure.get().is_none() {
            let checkpointed = self.shared.progress.checkpointed.load(Ordering::SeqCst);
            if let Err(e) = self.journal.close(checkpointed) {
                eprintln!(
                    "switchboard: cannot delete the journal segments in {}: {e}",
                    self.journal.dir().display()
                );
            }
        }
    }

    /// Deletes the journal segments every batch of which a durable database commit holds.
    fn collect_journal(&mut self) {
        let progress = &self.shared.progress;
        let checkpointed = progress.checkpointed.load(Ordering::SeqCst);
        if let Err(e) = self.journal.collect(checkpointed) {
            // Replay skips what the database has; the next checkpoint tries again.
            eprintln!(
                "switchboard: cannot delete old journal segments in {}: {e}",
                self.journal.dir().display()
            );
        }
        progress
            .journal_bytes
            .store(self.journal.len(), Ordering::Relaxed);
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
        let mut batch = batch;
        let mut events = None;
        let (result, fatal) = match outcome {
            Ok(duration) => {
                if let Some(duration) = duration {
                    self.observe(&batch, &plan, duration);
                    events = self.hand_over(&mut batch, &plan);
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
        if let (Some(listener), Some(events)) = (self.shared.events.get(), events) {
            // A panicking listener is the caller's bug; the writer must outlive it
            let _ = catch_unwind(AssertUnwindSafe(|| listener(&events)));
        }
        if result.is_ok() {
            self.collect_checkpointed();
        }
        fatal
    }

    /// Numbers the webhook events of the batch just journaled (as the database will: in order,
    /// after the newest); with a listener, returns them to tell it.
    fn number_events(&mut self, batch: &[Submission], plan: &Plan) -> Option<Events> {
        let events = batch
            .iter()
            .zip(&plan.verdicts)
            .filter(|(_, verdict)| verdict.is_ok())
            .flat_map(|(submission, _)| &submission.records)
            .filter_map(|record| match record {
                Record::WebhookEvent(bytes) => Some(bytes),
                _ => None,
            });
        if self.shared.events.get().is_none() {
            self.state.webhook_seq += events.count() as u64;
            return None;
        }
        let numbered: Events = events
            .map(|bytes| {
                self.state.webhook_seq += 1;
                (self.state.webhook_seq, Arc::from(bytes.as_slice()))
            })
            .collect();
        (!numbered.is_empty()).then_some(numbered)
    }

    /// Gives the applier the accepted records of the batch just journaled and counts it as
    /// acknowledged (before any callback runs), and returns its events numbered for the
    /// listener. The listener is told after the callbacks: the acknowledgements that people
    /// wait for go out first, and a read it starts waits for the batch (`acked` is raised).
    fn hand_over(&mut self, batch: &mut [Submission], plan: &Plan) -> Option<Events> {
        let events = self.number_events(batch, plan);
        let records = batch
            .iter_mut()
            .zip(&plan.verdicts)
            .filter(|(_, verdict)| verdict.is_ok())
            .flat_map(|(submission, _)| std::mem::take(&mut submission.records))
            .collect();
        let number = self.next_batch - 1;
        let durable = Durable {
            batch: number,
            position: self.state.last_position,
            records,
        };
        let progress = &self.shared.progress;
        progress.acked.store(number, Ordering::SeqCst);
        if let Some(applier) = &self.applier {
            // A gone applier has stopped the store (its failure is set): reads say so.
            let _ = applier.send(durable);
        }
        events
    }

    /// Collects the journal segments a checkpoint has covered since the last look (after a
    /// batch's callbacks, so that renaming and deleting files never delays them).
    fn collect_checkpointed(&mut self) {
        let progress = &self.shared.progress;
        let checkpointed = progress.checkpointed.load(Ordering::SeqCst);
        if checkpointed > self.collected {
            self.collected = checkpointed;
            self.collect_journal();
        } else {
            progress
                .journal_bytes
                .store(self.journal.len(), Ordering::Relaxed);
        }
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
                    | Record::WebhookRetry { .. }
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

    /// Appends the accepted submissions to the journal as the next batch and waits for it to be
    /// on disk. Returns how long that took.
    fn write(&mut self, batch: &[Submission], plan: &Plan) -> Result<Duration, Classified> {
        if self.shared.failure.get().is_some() {
            // The applier stopped the store: nothing more is acknowledged.
            return Err(Classified {
                error: StoreError::Stopped,
                fatal: true,
            });
        }
        let began = Instant::now();
        let accepted = batch
            .iter()
            .zip(&plan.verdicts)
            .filter(|(_, verdict)| verdict.is_ok())
            .map(|(submission, _)| submission.records.as_slice());
        let (journal, number) = (&mut self.journal, self.next_batch);
        match catch_unwind(AssertUnwindSafe(|| journal.append(number, accepted))) {
            Ok(Ok(())) => {
                self.next_batch += 1;
                self.shared.commits.fetch_add(1, Ordering::Relaxed);
                Ok(began.elapsed())
            }
            Ok(Err(e)) => Err(Classified {
                error: io(self.journal.dir(), e),
                fatal: true,
            }),
            Err(payload) => Err(Classified {
                error: panicked(&self.path, payload.as_ref()),
                fatal: true,
            }),
        }
    }
}
