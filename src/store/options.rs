//! The store's limits and switches, with their defaults and validation.
//!
//! Every bound the store keeps is here, with its unit in its name. Memory held by the store is at
//! most `queue_records_max + batch_records_max` records of at most `record_bytes_max` bytes each,
//! plus redb's page cache of `cache_bytes_max`.
//!
//! `on_commit` is the one hook: an observer the writer thread calls after each commit.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::StoreError;

/// What one successful group commit wrote and how long it took (for `on_commit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Records written (those of refused submissions not counted).
    pub records: usize,
    /// Submissions written together (refused ones not counted).
    pub submissions: usize,
    /// From the write transaction's begin to the durable commit's return (fsync included).
    pub duration: Duration,
}

/// Limits and switches of a [`Store`](super::Store).
#[derive(Clone)]
pub struct StoreOptions {
    /// Records written in one transaction at most (a single larger submission still goes alone).
    /// The default is the whole queue: under a backlog, one larger commit costs less than
    /// several smaller ones, because redb copies one 4 KiB page per dialog a commit touches
    /// (`cargo bench --bench store`, messages over 4,000 dialogs: ~28,000/s with 4,096 and
    /// ~93,000/s with 16,384 records per commit, single runs; 115,000/s with 65,536, median of
    /// 3).
    pub batch_records_max: usize,
    /// Records waiting for the writer at most; `submit` beyond it returns `Overloaded`.
    pub queue_records_max: usize,
    /// Bytes of one record at most; `submit` of a larger one returns `RecordTooLarge`.
    pub record_bytes_max: usize,
    /// redb's page cache, in bytes.
    pub cache_bytes_max: usize,
    /// Verify every page checksum when opening (cost: reading the whole file once per start), so
    /// a file damaged outside redb is refused with `Damaged` rather than trusted.
    pub check_integrity_on_open: bool,
    /// Commit with redb's quick-repair: two fsyncs per commit instead of one, but a restart
    /// after a crash does not walk the whole file to rebuild the allocator.
    pub quick_repair: bool,
    /// Longest time between two durable database commits while the journal holds batches (a
    /// checkpoint: the journal is emptied after it). Shorter: less to replay after a crash,
    /// more page writes and flushes.
    pub checkpoint_every: Duration,
    /// Journal bytes that make the next commit a checkpoint however recent the last one.
    pub journal_bytes_max: u64,
    /// How long the applier gathers journaled batches after the first before applying them in
    /// one database transaction, unless a reader waits for them. Longer: fewer, larger
    /// transactions (less CPU per message under load); a reader never waits for it.
    pub apply_gather: Duration,
    /// Called on the writer thread after each successful commit, before that batch's `done`
    /// callbacks run. Keep it short (the next batch waits for it); a panic in it is caught.
    pub on_commit: Option<Arc<dyn Fn(CommitStats) + Send + Sync>>,
    /// Disk faults on demand, for tests: while the switch is on, every write and sync of the
    /// file fails. `None` (the default) opens the plain file.
    pub faults: Option<Arc<super::FaultSwitch>>,
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be left out here unnoticed
        let StoreOptions {
            batch_records_max,
            queue_records_max,
            record_bytes_max,
            cache_bytes_max,
            check_integrity_on_open,
            quick_repair,
            checkpoint_every,
            journal_bytes_max,
            apply_gather,
            on_commit,
            faults,
        } = self;
        f.debug_struct("StoreOptions")
            .field("batch_records_max", batch_records_max)
            .field("queue_records_max", queue_records_max)
            .field("record_bytes_max", record_bytes_max)
            .field("cache_bytes_max", cache_bytes_max)
            .field("check_integrity_on_open", check_integrity_on_open)
            .field("quick_repair", quick_repair)
            .field("checkpoint_every", checkpoint_every)
            .field("journal_bytes_max", journal_bytes_max)
            .field("apply_gather", apply_gather)
            .field("on_commit", &on_commit.as_ref().map(|_| "Fn(CommitStats)"))
            .field("faults", faults)
            .finish()
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            batch_records_max: 65536,
            queue_records_max: 65536,
            record_bytes_max: 64 * 1024 * 1024,
            cache_bytes_max: 256 * 1024 * 1024,
            check_integrity_on_open: true,
            quick_repair: false,
            checkpoint_every: Duration::from_secs(1),
            journal_bytes_max: 64 * 1024 * 1024,
            apply_gather: Duration::from_millis(10),
            on_commit: None,
            faults: None,
        }
    }
}

/// redb refuses values over about 3 GiB; stay well below.
const RECORD_BYTES_LIMIT: usize = 1 << 30;

impl StoreOptions {
    /// Checks that every bound is usable.
    pub fn validate(&self) -> Result<(), StoreError> {
        let invalid = |reason| Err(StoreError::InvalidOptions { reason });
        if self.batch_records_max == 0 {
            return invalid("batch_records_max must be at least 1");
        }
        if self.queue_records_max == 0 {
            return invalid("queue_records_max must be at least 1");
        }
        if self.record_bytes_max == 0 || self.record_bytes_max > RECORD_BYTES_LIMIT {
            return invalid("record_bytes_max must be between 1 and 1 GiB");
        }
        if self.checkpoint_every.is_zero() || self.checkpoint_every > Duration::from_secs(3600) {
            return invalid("checkpoint_every must be between 1 ns and 1 hour");
        }
        if self.apply_gather > Duration::from_secs(3600) {
            return invalid("apply_gather must be at most 1 hour");
        }
        if self.journal_bytes_max < 4096 {
            return invalid("journal_bytes_max must be at least 4 KiB");
        }
        if self.cache_bytes_max < 1024 * 1024 {
            return invalid("cache_bytes_max must be at least 1 MiB");
        }
        Ok(())
    }
}
