//! One batch as one redb write transaction: how each record changes the tables.
//!
//! Messages are inserted sorted by `(dialog, seq)` within each run between two `ForgetDialog`
//! records (a stable sort, so a later write of the same key still wins): sorted inserts walk
//! the B-tree in order and took a 4,096-message batch over 4,000 dialogs from 23 ms to 8 ms.
//! Log and Snapshot records never touch the messages table, so their order relative to
//! messages does not matter; among themselves they are applied in submission order.
//! Dialog summaries are inserted sorted by id the same way, after everything else: no other
//! record touches the dialogs table (`ForgetDialog` deletes messages only). The dialogs table is
//! opened only by a batch that has summaries, so a file from before the table existed gets it
//! with its first summary.
//!
//! Precondition (checked by the writer's plan): positions do not overflow, and each snapshot
//! covers a position the log has reached and is not older than the stored one.

use std::time::{Duration, Instant};

use redb::{Database, Durability, Key, Table, TableDefinition, Value, WriteTransaction};

use super::contacts::PendingContacts;
use super::schema::{
    CONSENTS, DIALOGS, KEY_JOURNAL_APPLIED, KEY_LAST_POSITION, LOG, MESSAGES, META, SNAPSHOT,
};
use super::webhooks::PendingWebhooks;
use super::Record;

/// How one batch's transaction is committed.
pub(super) struct Commit<J> {
    /// `Durability::Immediate` (fsync before `commit` returns) or `None` (made durable by the
    /// journal, and by the next durable commit).
    pub durability: Durability,
    /// The newest journal batch this commit's state contains, written to `meta` (a durable
    /// commit writes it; recovery replays the journal after it).
    pub journal_applied: Option<u64>,
    /// Runs after the records are applied and before the commit: appends them to the journal.
    /// An error aborts the transaction.
    pub before_commit: J,
}

/// Writes `submissions` (each in order) in one transaction and commits it as `commit` says.
/// Returns the time from the transaction's begin to the commit's return.
///
/// Only the tables a batch touches are opened, and `last_position` in `meta` is written only by
/// a batch with a snapshot (the one record that can empty the log): otherwise the newest log key
/// already says it (`schema::last_position`). Each table a commit touches costs redb a root
/// update and page bookkeeping, which is most of a small commit's CPU.
pub(super) fn write_batch<'a, J: FnOnce() -> std::io::Result<()>>(
    db: &Database,
    quick_repair: bool,
    last_position: u64,
    submissions: impl Iterator<Item = &'a [Record]>,
    commit: Commit<J>,
) -> Result<Duration, redb::Error> {
    let began = Instant::now();
    let mut txn = db.begin_write()?;
    txn.set_durability(commit.durability)?;
    txn.set_quick_repair(quick_repair);
    {
        let mut tables = Tables {
            txn: &txn,
            log: None,
            messages: None,
            position: last_position,
            snapshot_written: false,
            pending_messages: Vec::new(),
            pending_dialogs: Vec::new(),
            pending_consents: Vec::new(),
            pending_contacts: PendingContacts::default(),
            pending_webhooks: PendingWebhooks::default(),
        };
        for record in submissions.flatten() {
            tables.apply(record)?;
        }
        tables.flush_messages()?;
        flush_dialogs(&txn, &mut tables.pending_dialogs)?;
        flush_consents(&txn, &tables.pending_consents)?;
        tables.pending_contacts.flush(&txn)?;
        tables.pending_webhooks.flush(&txn)?;
        if tables.snapshot_written || commit.journal_applied.is_some() {
            let mut meta = txn.open_table(META)?;
            if tables.snapshot_written {
                meta.insert(KEY_LAST_POSITION, tables.position)?;
            }
            if let Some(batch) = commit.journal_applied {
                meta.insert(KEY_JOURNAL_APPLIED, batch)?;
            }
        }
    }
    (commit.before_commit)().map_err(redb::Error::Io)?;
    txn.commit()?;
    Ok(began.elapsed())
}

/// Inserts the pending summaries in id order (a later write of one id wins), opening (and in
/// an older file creating) the dialogs table only if there are any.
fn flush_dialogs(
    txn: &WriteTransaction,
    pending: &mut Vec<(u64, &[u8])>,
) -> Result<(), redb::Error> {
    if pending.is_empty() {
        return Ok(());
    }
    pending.sort_by_key(|(dialog, _)| *dialog);
    let mut dialogs = txn.open_table(DIALOGS)?;
    for (dialog, bytes) in pending.drain(..) {
        dialogs.insert(dialog, bytes)?;
    }
    Ok(())
}

/// Inserts the pending consent answers in order (a later write of one key wins), opening (and
/// in an older file creating) the consents table only if there are any.
fn flush_consents(
    txn: &WriteTransaction,
    pending: &[(&str, &str, &[u8])],
) -> Result<(), redb::Error> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut consents = txn.open_table(CONSENTS)?;
    for (line, client, bytes) in pending {
        consents.insert((*line, *client), *bytes)?;
    }
    Ok(())
}

/// The tables one write transaction changes (each opened on first use), and the records
/// waiting to be inserted sorted.
struct Tables<'txn, 'batch> {
    txn: &'txn WriteTransaction,
    log: Option<Table<'txn, u64, &'static [u8]>>,
    messages: Option<Table<'txn, (u64, u64), &'static [u8]>>,
    /// The log position of the last Log record applied.
    position: u64,
    /// Whether a snapshot record was applied (it trims the log).
    snapshot_written: bool,
    pending_messages: Vec<((u64, u64), &'batch [u8])>,
    pending_dialogs: Vec<(u64, &'batch [u8])>,
    pending_consents: Vec<(&'batch str, &'batch str, &'batch [u8])>,
    pending_contacts: PendingContacts<'batch>,
    pending_webhooks: PendingWebhooks<'batch>,
}

impl<'txn, 'batch> Tables<'txn, 'batch> {
    fn apply(&mut self, record: &'batch Record) -> Result<(), redb::Error> {
        match record {
            Record::Log(bytes) => {
                // The plan refused any submission that would overflow
                self.position = self.position.saturating_add(1);
                opened(self.txn, &mut self.log, LOG)?.insert(self.position, bytes.as_slice())?;
            }
            Record::Message { dialog, seq, bytes } => {
                self.pending_messages.push(((*dialog, *seq), bytes));
            }
            Record::Snapshot { covers, bytes } => {
                let mut snapshot = self.txn.open_table(SNAPSHOT)?;
                snapshot.retain(|_, _| false)?;
                snapshot.insert(*covers, bytes.as_slice())?;
                opened(self.txn, &mut self.log, LOG)?.retain_in(..=*covers, |_, _| false)?;
                self.snapshot_written = true;
            }
            Record::ForgetDialog { dialog } => {
                self.flush_messages()?;
                opened(self.txn, &mut self.messages, MESSAGES)?
                    .retain_in((*dialog, 0)..=(*dialog, u64::MAX), |_, _| false)?;
            }
            Record::Dialog { dialog, bytes } => {
                self.pending_dialogs.push((*dialog, bytes));
            }
            Record::Consent {
                line,
                client,
                bytes,
            } => self.pending_consents.push((line, client, bytes)),
            Record::Contact { id, bytes } => self.pending_contacts.contacts.push((*id, bytes)),
            Record::ContactPhoto { id, bytes } => {
                self.pending_contacts.photos.push((*id, bytes.as_deref()))
            }
            Record::WebhookEvent(bytes) => self.pending_webhooks.events.push(bytes),
            Record::WebhookDelivery {
                endpoint,
                seq,
                bytes,
            } => self
                .pending_webhooks
                .deliveries
                .push((endpoint, *seq, bytes)),
            Record::WebhookCursor { endpoint, seq } => {
                self.pending_webhooks.cursors.push((endpoint, *seq))
            }
            Record::WebhookRetry {
                endpoint,
                seq,
                pending,
            } => self
                .pending_webhooks
                .retries
                .push((endpoint, *seq, *pending)),
            Record::WebhookPrune { seq } => {
                let to = self.pending_webhooks.prune_to.map_or(*seq, |t| t.max(*seq));
                self.pending_webhooks.prune_to = Some(to);
            }
            Record::ContactKey { key, id, present } => {
                self.pending_contacts.keys.push((key, *id, *present))
            }
            Record::ContactCount { name, count } => {
                self.pending_contacts.counts.push((name, *count))
            }
            Record::ContactInteraction {
                contact,
                ts,
                nonce,
                bytes,
            } => self
                .pending_contacts
                .interactions
                .push(((*contact, *ts, *nonce), bytes.as_deref())),
        }
        Ok(())
    }

    /// Inserts the pending messages in key order; a later write of one key wins.
    fn flush_messages(&mut self) -> Result<(), redb::Error> {
        if self.pending_messages.is_empty() {
            return Ok(());
        }
        self.pending_messages.sort_by_key(|(key, _)| *key);
        let messages = opened(self.txn, &mut self.messages, MESSAGES)?;
        for (key, bytes) in self.pending_messages.drain(..) {
            messages.insert(key, bytes)?;
        }
        Ok(())
    }
}

/// The table in `slot`, opened in `txn` on first use.
fn opened<'s, 'txn, K: Key + 'static, V: Value + 'static>(
    txn: &'txn WriteTransaction,
    slot: &'s mut Option<Table<'txn, K, V>>,
    table: TableDefinition<'_, K, V>,
) -> Result<&'s mut Table<'txn, K, V>, redb::Error> {
    match slot {
        Some(open) => Ok(open),
        None => Ok(slot.insert(txn.open_table(table)?)),
    }
}
