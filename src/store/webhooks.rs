//! The webhook outbox's tables: every event to send (written in the same transaction as the
//! change it reports), each endpoint's delivery outcomes, each endpoint's cursor, and the
//! deliveries retried by hand that have not settled.
//!
//! Like the rest of the store this knows nothing about what an event is: `crate::webhooks`
//! encodes and decodes the bytes. Event numbers come from `meta` (`webhook_event_seq`), raised
//! by every commit that writes an event, so a number is never handed out twice, even after old
//! events are deleted. Tables are created by the first commit that writes to them; a file
//! without them reads as having no events.

use std::path::Path;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableError,
    WriteTransaction,
};

use super::error::{guarded, translate};
use super::schema::{meta_get, META};
use super::{Store, StoreError};

/// `event seq -> event bytes`.
pub(super) const WEBHOOK_EVENTS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("webhook_events");
/// `(endpoint id, event seq) -> delivery bytes` (the latest written wins).
pub(super) const WEBHOOK_DELIVERIES: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("webhook_deliveries");
/// `(endpoint id, event seq) -> 1`: deliveries retried by hand and not settled yet.
pub(super) const WEBHOOK_RETRIES: TableDefinition<(&str, u64), u8> =
    TableDefinition::new("webhook_retries");
/// `endpoint id -> seq`: every event up to it is settled for that endpoint.
pub(super) const WEBHOOK_CURSORS: TableDefinition<&str, u64> =
    TableDefinition::new("webhook_cursors");
/// The `meta` key of the newest event number given.
pub(super) const KEY_WEBHOOK_EVENT_SEQ: &str = "webhook_event_seq";
/// The `meta` key of this file's random outbox id (set when the file is first opened): it makes
/// `webhook-id`s unique across data directories, since event numbers start at 1 in each.
pub(super) const KEY_WEBHOOK_INSTANCE: &str = "webhook_instance";

/// Webhook records of one batch, written after everything else in the transaction.
#[derive(Default)]
pub(super) struct PendingWebhooks<'batch> {
    pub events: Vec<&'batch [u8]>,
    pub deliveries: Vec<(&'batch str, u64, &'batch [u8])>,
    pub cursors: Vec<(&'batch str, Option<u64>)>,
    pub retries: Vec<(&'batch str, u64, bool)>,
    /// Events deleted up to this seq (inclusive).
    pub prune_to: Option<u64>,
}

impl PendingWebhooks<'_> {
    /// Numbers and writes the pending events in submission order, then the deliveries and
    /// cursors; opens no table without pending records.
    pub(super) fn flush(&mut self, txn: &WriteTransaction) -> Result<(), redb::Error> {
        if !self.events.is_empty() {
            let mut meta = txn.open_table(META)?;
            let mut seq = meta_get(&meta, KEY_WEBHOOK_EVENT_SEQ)?.unwrap_or(0);
            let mut table = txn.open_table(WEBHOOK_EVENTS)?;
            for bytes in self.events.drain(..) {
                seq = seq.saturating_add(1);
                table.insert(seq, bytes)?;
            }
            meta.insert(KEY_WEBHOOK_EVENT_SEQ, seq)?;
        }
        if !self.deliveries.is_empty() {
            let mut table = txn.open_table(WEBHOOK_DELIVERIES)?;
            for (endpoint, seq, bytes) in self.deliveries.drain(..) {
                table.insert((endpoint, seq), bytes)?;
            }
        }
        if !self.cursors.is_empty() {
            let mut table = txn.open_table(WEBHOOK_CURSORS)?;
            for (endpoint, seq) in self.cursors.drain(..) {
                match seq {
                    Some(seq) => table.insert(endpoint, seq).map(|_| ())?,
                    None => table.remove(endpoint).map(|_| ())?,
                }
            }
        }
        if !self.retries.is_empty() {
            let mut table = txn.open_table(WEBHOOK_RETRIES)?;
            for (endpoint, seq, pending) in self.retries.drain(..) {
                match pending {
                    true => table.insert((endpoint, seq), 1).map(|_| ())?,
                    false => table.remove((endpoint, seq)).map(|_| ())?,
                }
            }
        }
        if let Some(to) = self.prune_to.take() {
            txn.open_table(WEBHOOK_EVENTS)?
                .retain_in(..=to, |_, _| false)?;
            prune_deliveries(txn, to)?;
        }
        Ok(())
    }
}

/// Deletes every endpoint's delivery rows of events up to `to`: one range per endpoint, found
/// by jumping from one endpoint's rows to the next's.
fn prune_deliveries(txn: &WriteTransaction, to: u64) -> Result<(), redb::Error> {
    let mut table = txn.open_table(WEBHOOK_DELIVERIES)?;
    let mut endpoint = match table.first()? {
        Some((key, _)) => key.value().0.to_string(),
        None => return Ok(()),
    };
    loop {
        table.retain_in((endpoint.as_str(), 0)..=(endpoint.as_str(), to), |_, _| {
            false
        })?;
        let next = table
            .range((endpoint.as_str(), u64::MAX)..)?
            .map(|row| row.map(|(key, _)| key.value().0.to_string()))
            .find(|found| !matches!(found, Ok(e) if *e == endpoint))
            .transpose()?;
        match next {
            Some(next) => endpoint = next,
            None => return Ok(()),
        }
    }
}

/// Gives the file its random outbox id if it has none, in a durable commit. Done at open, never
/// while applying records: a journal replay must write exactly what the first run wrote, and an
/// id drawn again at replay would change every `webhook-id` after a crash.
pub(super) fn ensure_instance(db: &Database) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        if meta_get(&meta, KEY_WEBHOOK_INSTANCE)?.is_some() {
            return Ok(());
        }
        meta.insert(KEY_WEBHOOK_INSTANCE, random_instance())?;
    }
    txn.commit()?;
    Ok(())
}

/// A random non-zero id (the time, should the OS source fail: still unlikely to repeat).
fn random_instance() -> u64 {
    let mut bytes = [0u8; 8];
    let id = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    };
    id.max(1)
}

fn read<T>(path: &Path, work: impl FnOnce() -> Result<T, redb::Error>) -> Result<T, StoreError> {
    guarded(path, || work().map_err(|e| translate(path, e)))
}

fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, TableError> {
    match txn.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn events_after(
    db: &Database,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, redb::Error> {
    let txn = db.begin_read()?;
    let Some(table) = open(&txn, WEBHOOK_EVENTS)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in table.range(after.saturating_add(1)..)?.take(limit) {
        let (seq, bytes) = entry?;
        out.push((seq.value(), bytes.value().to_vec()));
    }
    Ok(out)
}

fn last_seq(db: &Database) -> Result<u64, redb::Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    Ok(meta_get(&meta, KEY_WEBHOOK_EVENT_SEQ)?.unwrap_or(0))
}

impl Store {
    /// The newest webhook event number given (0 before the first).
    pub fn webhook_last_seq(&self) -> Result<u64, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || last_seq(db))
    }

    /// This file's random outbox id (set at open; 0 only in a file this build never opened).
    pub fn webhook_instance(&self) -> Result<u64, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            Ok(meta_get(&meta, KEY_WEBHOOK_INSTANCE)?.unwrap_or(0))
        })
    }

    /// At most `limit` stored webhook events with seq > `after`, oldest first.
    pub fn webhook_events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || events_after(db, after, limit))
    }

    /// Like [`Store::webhook_events_after`] but without waiting for the database to catch up
    /// with the journal: it reads the events the database holds now. Those are the oldest of
    /// the acknowledged ones (events are numbered in journal order, and batches are applied
    /// whole and in that order), so a caller that expected more reads again later. The delivery
    /// tasks read this way, so that their thread never waits for the applier.
    pub fn webhook_events_applied_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.health()?;
        read(&self.inner.path, || {
            events_after(&self.inner.db, after, limit)
        })
    }

    /// The stored webhook event `seq`, if still kept.
    pub fn webhook_event(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let Some(table) = open(&txn, WEBHOOK_EVENTS)? else {
                return Ok(None);
            };
            Ok(table.get(seq)?.map(|bytes| bytes.value().to_vec()))
        })
    }

    /// The cursor of `endpoint`: every event up to it is settled there (`None`: never set).
    pub fn webhook_cursor(&self, endpoint: &str) -> Result<Option<u64>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let Some(table) = open(&txn, WEBHOOK_CURSORS)? else {
                return Ok(None);
            };
            Ok(table.get(endpoint)?.map(|seq| seq.value()))
        })
    }

    /// The events retried by hand for `endpoint` and not settled yet, oldest first.
    pub fn webhook_retries(&self, endpoint: &str) -> Result<Vec<u64>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let Some(table) = open(&txn, WEBHOOK_RETRIES)? else {
                return Ok(Vec::new());
            };
            table
                .range((endpoint, 0)..=(endpoint, u64::MAX))?
                .map(|row| Ok(row?.0.value().1))
                .collect()
        })
    }

    /// The stored delivery of event `seq` to `endpoint`, if any.
    pub fn webhook_delivery(
        &self,
        endpoint: &str,
        seq: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let Some(table) = open(&txn, WEBHOOK_DELIVERIES)? else {
                return Ok(None);
            };
            Ok(table.get((endpoint, seq))?.map(|b| b.value().to_vec()))
        })
    }

    /// At most `limit` stored deliveries to `endpoint` with seq < `before`, newest first.
    pub fn webhook_deliveries(
        &self,
        endpoint: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let Some(table) = open(&txn, WEBHOOK_DELIVERIES)? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for entry in table.range((endpoint, 0)..(endpoint, before))?.rev() {
                if out.len() >= limit {
                    break;
                }
                let (key, bytes) = entry?;
                out.push((key.value().1, bytes.value().to_vec()));
            }
            Ok(out)
        })
    }
}
