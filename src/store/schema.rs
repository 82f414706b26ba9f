//! The file's layout: table names, key and value types, and the format version.
//!
//! Format version 1:
//! - `meta`: `&str -> u64`. `format_version` (1) and `last_position`, written with each
//!   snapshot (older builds wrote it with every commit). The newest log position ever given is
//!   the largest of it, the newest log key and the snapshot's `covers` ([`last_position`]), so
//!   positions are never reused after a snapshot trims the log. This table's name and types are
//!   frozen for every future version, so any build can read the version of any file and refuse
//!   a newer one. `journal_applied` (the newest journal batch the file contains) came later,
//!   without a version bump; an older build ignores the journal, so it must only open a file
//!   closed cleanly (a clean close leaves the journal empty).
//! - `log`: position `u64 -> bytes`. Positions 1, 2, 3, ...; only those after the snapshot's
//!   `covers` are kept.
//! - `messages`: `(dialog, seq) -> bytes`.
//! - `snapshot`: `covers u64 -> bytes`, at most one row.
//! - `dialogs`: dialog `u64 -> bytes`, one opaque summary per dialog (the latest written wins).
//!   Added after files of this version already existed, without a version bump: a file without
//!   the table reads as having no summaries, and the writer creates the table with the first
//!   summary it writes. `ForgetDialog` never touches it.
//! - `consents`: `(line, client) -> bytes`, one opaque consent answer per client and line (the
//!   latest written wins). Added the same way as `dialogs`, without a version bump.
//!
//! Invariants after every commit, with `last_position` as [`last_position`] computes it:
//! `last_position >= covers`, every log key is in `(covers, last_position]`, and the log keys
//! form a gap-free run ending at `last_position`.

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, TableDefinition, TableError};

/// The format this build writes and the newest it opens.
pub(super) const FORMAT_VERSION: u32 = 1;

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
pub(super) const MESSAGES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("messages");
pub(super) const SNAPSHOT: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshot");
pub(super) const DIALOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("dialogs");
pub(super) const CONSENTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("consents");

pub(super) const KEY_FORMAT_VERSION: &str = "format_version";
pub(super) const KEY_LAST_POSITION: &str = "last_position";
/// The newest journal batch a durable commit contains (absent: none yet). Recovery replays the
/// journal's frames after it (`journal.rs`).
pub(super) const KEY_JOURNAL_APPLIED: &str = "journal_applied";

/// Reads one meta value (absent reads as `None`).
pub(super) fn meta_get(
    meta: &impl ReadableTable<&'static str, u64>,
    key: &str,
) -> Result<Option<u64>, redb::StorageError> {
    Ok(meta.get(key)?.map(|guard| guard.value()))
}

/// The position the log has reached: the meta value, or the newest key if it were ever ahead.
pub(super) fn last_position(
    meta: &impl ReadableTable<&'static str, u64>,
    log: &impl ReadableTable<u64, &'static [u8]>,
    snapshot_covers: u64,
) -> Result<u64, redb::StorageError> {
    let recorded = meta_get(meta, KEY_LAST_POSITION)?.unwrap_or(0);
    let newest_log = log.last()?.map(|(key, _)| key.value()).unwrap_or(0);
    Ok(recorded.max(newest_log).max(snapshot_covers))
}

/// The stored snapshot's `covers`, or 0 without one.
pub(super) fn snapshot_covers(
    snapshot: &impl ReadableTable<u64, &'static [u8]>,
) -> Result<u64, redb::StorageError> {
    Ok(snapshot.last()?.map(|(key, _)| key.value()).unwrap_or(0))
}

/// The dialogs table, or `None` in a file written before it existed (which reads as empty). A
/// table of that name with other types is an error (`TableTypeMismatch`), never `None`.
/// The consents table as a read transaction sees it: (line, client) -> answer.
pub(super) type ConsentsTable = ReadOnlyTable<(&'static str, &'static str), &'static [u8]>;

/// The consents table, or `None` in a file written before it existed (which reads as empty).
pub(super) fn open_consents(txn: &ReadTransaction) -> Result<Option<ConsentsTable>, TableError> {
    match txn.open_table(CONSENTS) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn open_dialogs(
    txn: &ReadTransaction,
) -> Result<Option<ReadOnlyTable<u64, &'static [u8]>>, TableError> {
    match txn.open_table(DIALOGS) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
