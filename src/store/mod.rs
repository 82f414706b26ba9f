//! Durable storage: the only module that imports redb (and the only one that touches the data
//! directory's database file).
//!
//! It stores opaque byte records and knows nothing about dialogs: a replay log with positions
//! 1, 2, 3, ... (never reused), messages kept for history under `(dialog, seq)`, one summary per
//! dialog id (for listing dialogs without replaying anything), and one snapshot that makes the
//! log before it unnecessary. Recovery is the snapshot plus the log after it.
//!
//! - `open.rs`: refuses a newer, foreign or damaged file without writing to it.
//! - `writer.rs`: one thread, group commit: each batch is made durable by one append to
//!   `journal.rs`, then handed to `applier.rs` (which writes it into redb through `apply.rs` and
//!   checkpoints), then its callbacks run in submission order.
//! - `record.rs`: the records a submission carries ([`Record`]).
//! - `read.rs`: recovery, history, dialog summaries, inspection, export, from read transactions.
//! - `schema.rs`: tables and the format version; `error.rs`: [`StoreError`]; `options.rs`:
//!   limits and the commit observer ([`StoreOptions`], [`CommitStats`]).
//!
//! Guarantees: a `done` that receives `Ok` means its records are on disk (the journal's
//! `fdatasync` returned) and survive `kill -9` (`tests::crash`). Records of one submission commit
//! together or not at all. Nothing panics on any input, including a damaged file (redb runs
//! under `catch_unwind`).
//!
//! Cost: a commit pays one sequential journal append and its `fdatasync` on the writer thread;
//! the applier thread then does redb's in-memory B-tree work (one copied 4 KiB page per distinct
//! leaf, no page written to the file). A checkpoint (every second under load) writes the pages
//! changed since the last one and flushes them, on the applier thread: acknowledgements do not
//! wait for it, though on a virtual disk the journal's own flushes queue behind its writes
//! (`docs/durability.md`, `docs/performance.md`).

mod applier;
mod apply;
mod contacts;
mod contacts_read;
mod error;
mod faults;
mod journal;
mod open;
mod options;
mod read;
mod record;
pub mod records;
mod schema;
mod webhooks;
mod writer;

#[cfg(test)]
mod tests;

use crate::sync::Mutex;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};

use crossbeam_channel::{Sender, TrySendError};
use redb::Database;

pub use contacts_read::ContactsRead;
pub use error::StoreError;
pub use faults::FaultSwitch;
pub use options::{CommitStats, StoreOptions};

use writer::{Command, Shared, Submission, Writer};
pub use writer::{EventListener, Events};

pub use journal::JOURNAL_FILE_NAME;
pub use record::Record;

/// Journaled batches waiting for the applier at most; the writer waits beyond it (a
/// checkpoint that takes long holds acknowledgements back only once this many are queued).
const APPLIER_QUEUE_BATCHES: usize = 4_096;

/// The database file's name inside the data directory.
pub const FILE_NAME: &str = "switchboard.redb";

/// Everything a restart needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The newest snapshot: the log position it covers and its bytes.
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// Every log record after the snapshot's position, oldest first.
    pub log: Vec<(u64, Vec<u8>)>,
    /// The newest log position ever given (0 for a new store).
    pub last_position: u64,
}

/// One stored consent answer (see [`Record::Consent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEntry {
    pub line: String,
    pub client: String,
    pub bytes: Vec<u8>,
}

/// Counts for `switchboard store inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspect {
    pub path: PathBuf,
    pub format_version: u32,
    pub log_records: u64,
    pub messages: u64,
    pub dialogs_with_messages: u64,
    /// Dialog summaries stored.
    pub dialogs: u64,
    /// Consent answers stored.
    pub consents: u64,
    /// The stored snapshot's `(covers, bytes)`.
    pub snapshot: Option<(u64, u64)>,
    pub last_position: u64,
}

/// A handle to the store; clones share one database and one writer thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Arc<Database>,
    shared: Arc<Shared>,
    options: StoreOptions,
    writer: WriterHandle,
}

/// Stops the writer (after it commits what is queued) when the last handle goes.
struct WriterHandle {
    sender: Sender<Command>,
    shared: Arc<Shared>,
    thread_id: ThreadId,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl WriterHandle {
    fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // From inside a `done` the writer cannot wait for itself: dropping the last sender
        // ends it once the queue is drained.
        if std::thread::current().id() == self.thread_id {
            return;
        }
        // Blocks only while the queue is full; fails at once if the writer is gone.
        let _ = self.sender.send(Command::Stop);
        let handle = self.thread.lock().take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Store {
    /// Opens (creating if absent) DATA_DIR/switchboard.redb and starts the writer thread. A file
    /// from a newer format version, or one redb reports as damaged/corrupted, is an error naming
    /// the file; it is never overwritten or emptied.
    pub fn open(data_dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        options.validate()?;
        let path = data_dir.join(FILE_NAME);
        let opened = open::open(data_dir, &path, &options)?;
        let db = Arc::new(opened.db);
        let next_batch = opened.next_batch;
        let shared = Arc::new(Shared {
            progress: applier::Progress::starting_at(next_batch - 1),
            ..Shared::default()
        });
        let (sender, receiver) = crossbeam_channel::bounded(options.queue_records_max);
        let (to_applier, applier_queue) = crossbeam_channel::bounded(APPLIER_QUEUE_BATCHES);
        let applier = applier::Applier {
            db: Arc::clone(&db),
            path: path.clone(),
            shared: Arc::clone(&shared),
            quick_repair: options.quick_repair,
            checkpoint_every: options.checkpoint_every,
            journal_bytes_max: options.journal_bytes_max,
            gather: options.apply_gather,
            last_durable: std::time::Instant::now(),
        };
        let applier_thread = std::thread::Builder::new()
            .name("switchboard-apply".to_string())
            .spawn(move || {
                // Behind the journal, the applier's work is never waited on by an ack.
                crate::thread_priority::lower_this_thread(
                    applier::NICE,
                    "the store's applier thread",
                );
                applier.run(applier_queue)
            })
            .map_err(|e| error::io(&path, e))?;
        let writer = Writer {
            path: path.clone(),
            shared: Arc::clone(&shared),
            batch_records_max: options.batch_records_max,
            on_commit: options.on_commit.clone(),
            state: opened.state,
            journal: opened.journal,
            next_batch,
            applier: Some(to_applier),
            applier_thread: Some(applier_thread),
            collected: next_batch - 1,
        };
        let thread = std::thread::Builder::new()
            .name("switchboard-store".to_string())
            .spawn(move || writer.run(receiver))
            .map_err(|e| error::io(&path, e))?;
        let writer = WriterHandle {
            sender,
            shared: Arc::clone(&shared),
            thread_id: thread.thread().id(),
            thread: Mutex::new(Some(thread)),
        };
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                db,
                shared,
                options,
                writer,
            }),
        })
    }

    /// Queues records for the next group commit. `done` runs on the writer thread once they are
    /// durable (write transaction committed with redb's durable commit), with Ok(log position of
    /// the last Log record in the whole commit, or the current position if none) or the error.
    /// Records from one submit are committed in one transaction, in order.
    ///
    /// Never blocks. If it returns `Err`, `done` is dropped without being called; otherwise
    /// `done` runs exactly once (with `Stopped` if the store closes before writing it). Keep
    /// `done` short: the next batch waits for it.
    pub fn submit(
        &self,
        records: Vec<Record>,
        done: Box<dyn FnOnce(Result<u64, StoreError>) + Send>,
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        if inner.shared.stopped.load(Ordering::SeqCst) {
            return Err(StoreError::Stopped);
        }
        let queue_records_max = inner.options.queue_records_max;
        if records.len() > queue_records_max {
            return Err(StoreError::SubmitTooLarge {
                records: records.len(),
                queue_records_max,
            });
        }
        let record_bytes_max = inner.options.record_bytes_max;
        if let Some(bytes) = records
            .iter()
            .map(Record::bytes_len)
            .find(|bytes| *bytes > record_bytes_max)
        {
            return Err(StoreError::RecordTooLarge {
                bytes,
                record_bytes_max,
            });
        }
        let submission = Submission::new(records, done);
        let counted = submission.queued_records();
        let queued = inner
            .shared
            .queued_records
            .fetch_add(counted, Ordering::SeqCst);
        if queued.saturating_add(counted) > queue_records_max {
            inner
                .shared
                .queued_records
                .fetch_sub(counted, Ordering::SeqCst);
            submission.disarm();
            return Err(StoreError::Overloaded { queue_records_max });
        }
        match inner.writer.sender.try_send(Command::Submit(submission)) {
            Ok(()) => Ok(()),
            Err(refused) => {
                inner
                    .shared
                    .queued_records
                    .fetch_sub(counted, Ordering::SeqCst);
                let error = match &refused {
                    TrySendError::Full(_) => StoreError::Overloaded { queue_records_max },
                    TrySendError::Disconnected(_) => StoreError::Stopped,
                };
                if let Command::Submit(submission) = refused.into_inner() {
                    submission.disarm();
                }
                Err(error)
            }
        }
    }

    /// Everything a restart needs: the newest snapshot (its bytes and the log position it covers)
    /// and every Log record after that position, in order.
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        let db = self.caught_up()?;
        read::recover(&self.inner.path, db)
    }

    /// Stored messages of one dialog with seq in [from_seq, to_seq), oldest first (history).
    pub fn messages(
        &self,
        dialog: u64,
        from_seq: u64,
        to_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let db = self.caught_up()?;
        read::messages(&self.inner.path, db, dialog, from_seq, to_seq, limit)
    }

    /// The newest `limit` stored messages of one dialog with seq below `before_seq`, oldest
    /// first (a history page).
    pub fn newest_messages(
        &self,
        dialog: u64,
        before_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let db = self.caught_up()?;
        read::newest_messages(&self.inner.path, db, dialog, before_seq, limit)
    }

    /// The stored summary of `dialog`, if any.
    pub fn dialog(&self, dialog: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.caught_up()?;
        read::dialog(&self.inner.path, db, dialog)
    }

    /// Calls `each(dialog, summary)` for every stored summary, by ascending dialog id. A panic in
    /// `each` is caught and returned as an error.
    pub fn for_each_dialog(&self, each: impl FnMut(u64, &[u8])) -> Result<(), StoreError> {
        let db = self.caught_up()?;
        read::for_each_dialog(&self.inner.path, db, each)
    }

    /// At most `limit` summaries of the dialogs with id > `after`, by ascending id (paging: pass
    /// the last id of one page as `after` of the next).
    pub fn dialogs_range(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let db = self.caught_up()?;
        read::dialogs_range(&self.inner.path, db, after, limit)
    }

    /// The stored consent answer of `client` on `line`, if any.
    pub fn consent(&self, line: &str, client: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.caught_up()?;
        read::consent(&self.inner.path, db, line, client)
    }

    /// At most `limit` consent answers on `line` from clients after `after_client`, by client
    /// id (paging: pass the last client of one page as `after_client` of the next).
    pub fn consents_of_line(
        &self,
        line: &str,
        after_client: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConsentEntry>, StoreError> {
        let db = self.caught_up()?;
        read::consents_of_line(&self.inner.path, db, line, after_client, limit)
    }

    /// Calls `each(line, client, answer)` for every stored consent answer, by line, then
    /// client. A panic in `each` is caught and returned as an error.
    pub fn for_each_consent(&self, each: impl FnMut(&str, &str, &[u8])) -> Result<(), StoreError> {
        let db = self.caught_up()?;
        read::for_each_consent(&self.inner.path, db, each)
    }

    /// Counts and the newest snapshot's position (for `switchboard store inspect`).
    pub fn inspect(&self) -> Result<Inspect, StoreError> {
        let db = self.caught_up()?;
        read::inspect(&self.inner.path, db)
    }

    /// Calls `each(dialog, seq, bytes)` for every stored message in key order (for `store
    /// export`). A panic in `each` is caught and returned as an error.
    pub fn for_each_message(&self, each: impl FnMut(u64, u64, &[u8])) -> Result<(), StoreError> {
        let db = self.caught_up()?;
        read::for_each_message(&self.inner.path, db, each)
    }

    /// The database once it has every batch acknowledged so far (reads see every write
    /// acknowledged before they began); the store's failure if it stopped first.
    fn caught_up(&self) -> Result<&Database, StoreError> {
        let inner = &self.inner;
        inner.shared.progress.wait_applied(&inner.shared)?;
        Ok(&inner.db)
    }

    /// Sets the listener told of every durable batch's webhook events, numbered, on the writer
    /// thread after the batch's callbacks (keep it short). Only the first call sets it.
    pub fn listen_events(&self, listener: EventListener) -> bool {
        self.inner.shared.events.set(listener).is_ok()
    }

    /// Batches made durable since open.
    pub fn commits(&self) -> u64 {
        self.inner.shared.commits.load(Ordering::Relaxed)
    }

    /// `Err` with the fatal error the writer stopped on, if it stopped on one.
    pub fn health(&self) -> Result<(), StoreError> {
        match self.inner.shared.failure.get() {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Stops the writer after committing everything queued; waits for it. Later submits on
    /// other handles get `Stopped`. The file is closed once no handle remains.
    pub fn close(self) -> Result<(), StoreError> {
        self.inner.writer.stop();
        let path = self.inner.path.clone();
        let failure = self.inner.shared.failure.get().cloned();
        if let Ok(inner) = Arc::try_unwrap(self.inner) {
            drop(inner.writer);
            if let Ok(db) = Arc::try_unwrap(inner.db) {
                db.close().map_err(|e| error::translate(&path, e))?;
            }
        }
        match failure {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}
