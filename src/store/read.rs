//! Reads: recovery, history ranges, dialog summaries, inspection and export. Each runs in one
//! redb read transaction, so it sees one committed state however the writer moves on meanwhile.
//!
//! Never writes, and never panics: redb runs under `guarded`. A file without the dialogs table
//! (written before it existed) reads as having no summaries.

use std::ops::Bound;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::error::{guarded, translate};
use super::schema::{self, KEY_FORMAT_VERSION, LOG, MESSAGES, META, SNAPSHOT};
use super::{ConsentEntry, Inspect, Recovered, StoreError};

/// Runs a redb read under the panic guard, translating its error for `path`.
fn read<T>(path: &Path, work: impl FnOnce() -> Result<T, redb::Error>) -> Result<T, StoreError> {
    guarded(path, || work().map_err(|e| translate(path, e)))
}

pub(super) fn recover(path: &Path, db: &Database) -> Result<Recovered, StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let snapshot_table = txn.open_table(SNAPSHOT)?;
        let snapshot = snapshot_table
            .last()?
            .map(|(covers, bytes)| (covers.value(), bytes.value().to_vec()));
        let covers = snapshot.as_ref().map_or(0, |(covers, _)| *covers);
        let log_table = txn.open_table(LOG)?;
        let mut log = Vec::new();
        for entry in log_table.range::<u64>((Bound::Excluded(covers), Bound::Unbounded))? {
            let (position, bytes) = entry?;
            log.push((position.value(), bytes.value().to_vec()));
        }
        let meta = txn.open_table(META)?;
        let last_position = schema::last_position(&meta, &log_table, covers)?;
        Ok(Recovered {
            snapshot,
            log,
            last_position,
        })
    })
}

pub(super) fn messages(
    path: &Path,
    db: &Database,
    dialog: u64,
    from_seq: u64,
    to_seq: u64,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    messages_in(path, db, dialog, from_seq..to_seq, limit, End::Oldest)
}

/// Walks back from `before_seq`: a page costs `limit` reads, however long the dialog.
pub(super) fn newest_messages(
    path: &Path,
    db: &Database,
    dialog: u64,
    before_seq: u64,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    messages_in(path, db, dialog, 0..before_seq, limit, End::Newest)
}

/// Which end of a seq range a read keeps when it holds more than `limit` messages.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Oldest,
    Newest,
}

/// At most `limit` messages of `dialog` with seq in `seqs`, taken from the `from` end and
/// returned oldest first.
fn messages_in(
    path: &Path,
    db: &Database,
    dialog: u64,
    seqs: std::ops::Range<u64>,
    limit: usize,
    from: End,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    if seqs.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    read(path, || {
        let txn = db.begin_read()?;
        let table = txn.open_table(MESSAGES)?;
        let range = table.range((dialog, seqs.start)..(dialog, seqs.end))?;
        let entries: Box<dyn Iterator<Item = _>> = match from {
            End::Oldest => Box::new(range),
            End::Newest => Box::new(range.rev()),
        };
        let mut found = Vec::new();
        for entry in entries.take(limit) {
            let (key, bytes) = entry?;
            found.push((key.value().1, bytes.value().to_vec()));
        }
        if from == End::Newest {
            found.reverse();
        }
        Ok(found)
    })
}

pub(super) fn inspect(path: &Path, db: &Database) -> Result<Inspect, StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let meta = txn.open_table(META)?;
        let log = txn.open_table(LOG)?;
        let messages = txn.open_table(MESSAGES)?;
        let snapshot_table = txn.open_table(SNAPSHOT)?;
        let snapshot = snapshot_table
            .last()?
            .map(|(covers, bytes)| (covers.value(), bytes.value().len() as u64));
        let covers = snapshot.map_or(0, |(covers, _)| covers);
        let format_version = schema::meta_get(&meta, KEY_FORMAT_VERSION)?.unwrap_or(0);
        Ok(Inspect {
            path: path.to_path_buf(),
            format_version: u32::try_from(format_version).unwrap_or(u32::MAX),
            log_records: log.len()?,
            messages: messages.len()?,
            dialogs_with_messages: count_dialogs(&messages)?,
            dialogs: match schema::open_dialogs(&txn)? {
                Some(dialogs) => dialogs.len()?,
                None => 0,
            },
            consents: match schema::open_consents(&txn)? {
                Some(consents) => consents.len()?,
                None => 0,
            },
            snapshot,
            last_position: schema::last_position(&meta, &log, covers)?,
        })
    })
}

/// Distinct dialogs in the messages table, by seeking past each one (O(dialogs · log n)).
fn count_dialogs(
    messages: &impl ReadableTable<(u64, u64), &'static [u8]>,
) -> Result<u64, redb::Error> {
    let mut count = 0;
    let mut next = Some(0u64);
    while let Some(dialog) = next {
        let Some(entry) = messages.range((dialog, 0)..)?.next() else {
            break;
        };
        let (key, _) = entry?;
        let (found, _) = key.value();
        count += 1;
        next = found.checked_add(1);
    }
    Ok(count)
}

pub(super) fn for_each_message(
    path: &Path,
    db: &Database,
    mut each: impl FnMut(u64, u64, &[u8]),
) -> Result<(), StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let table = txn.open_table(MESSAGES)?;
        for entry in table.iter()? {
            let (key, bytes) = entry?;
            let (dialog, seq) = key.value();
            each(dialog, seq, bytes.value());
        }
        Ok(())
    })
}

pub(super) fn dialog(
    path: &Path,
    db: &Database,
    dialog: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = schema::open_dialogs(&txn)? else {
            return Ok(None);
        };
        Ok(table.get(dialog)?.map(|bytes| bytes.value().to_vec()))
    })
}

pub(super) fn consent(
    path: &Path,
    db: &Database,
    line: &str,
    client: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = schema::open_consents(&txn)? else {
            return Ok(None);
        };
        Ok(table
            .get((line, client))?
            .map(|bytes| bytes.value().to_vec()))
    })
}

pub(super) fn consents_of_line(
    path: &Path,
    db: &Database,
    line: &str,
    after_client: Option<&str>,
    limit: usize,
) -> Result<Vec<ConsentEntry>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = schema::open_consents(&txn)? else {
            return Ok(Vec::new());
        };
        // Keys sort by line, then client: one line's answers are one run
        let start = match after_client {
            Some(client) => Bound::Excluded((line, client)),
            None => Bound::Included((line, "")),
        };
        let mut found = Vec::new();
        for entry in table.range::<(&str, &str)>((start, Bound::Unbounded))? {
            let (key, bytes) = entry?;
            let (key_line, client) = key.value();
            if key_line != line || found.len() == limit {
                break;
            }
            found.push(ConsentEntry {
                line: key_line.to_string(),
                client: client.to_string(),
                bytes: bytes.value().to_vec(),
            });
        }
        Ok(found)
    })
}

pub(super) fn for_each_consent(
    path: &Path,
    db: &Database,
    mut each: impl FnMut(&str, &str, &[u8]),
) -> Result<(), StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = schema::open_consents(&txn)? else {
            return Ok(());
        };
        for entry in table.iter()? {
            let (key, bytes) = entry?;
            let (line, client) = key.value();
            each(line, client, bytes.value());
        }
        Ok(())
    })
}

pub(super) fn for_each_dialog(
    path: &Path,
    db: &Database,
    mut each: impl FnMut(u64, &[u8]),
) -> Result<(), StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = schema::open_dialogs(&txn)? else {
            return Ok(());
        };
        for entry in table.iter()? {
            let (dialog, bytes) = entry?;
            each(dialog.value(), bytes.value());
        }
        Ok(())
    })
}

pub(super) fn dialogs_range(
    path: &Path,
    db: &Database,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    if limit == 0 || after == u64::MAX {
        return Ok(Vec::new());
    }
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = schema::open_dialogs(&txn)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in table
            .range::<u64>((Bound::Excluded(after), Bound::Unbounded))?
            .take(limit)
        {
            let (dialog, bytes) = entry?;
            found.push((dialog.value(), bytes.value().to_vec()));
        }
        Ok(found)
    })
}
