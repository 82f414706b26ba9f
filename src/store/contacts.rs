//! The contact registry's tables: one opaque record per contact id, one photo per contact id,
//! and the registry's generation (in `meta`), which every commit that writes a contact record
//! raises by one so that a search index beside the file can tell whether it is behind.
//!
//! Like the rest of the store this knows nothing about what a contact is: the registry
//! (`crate::contacts`) encodes and decodes the bytes. Contacts are never part of the routing
//! snapshot, so a million of them cost a snapshot nothing. Tables are created by the first
//! commit that writes to them; a file without them reads as having no contacts.

use std::path::Path;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableError,
    WriteTransaction,
};

use super::error::{guarded, translate};
use super::schema::{meta_get, META};
use super::{Store, StoreError};

/// `id -> contact record bytes` (the latest written wins).
pub(super) const CONTACTS: TableDefinition<u64, &[u8]> = TableDefinition::new("contacts");
/// `id -> photo bytes`.
pub(super) const CONTACT_PHOTOS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("contact_photos");
/// The `meta` key of the registry's generation.
pub(super) const KEY_CONTACTS_GENERATION: &str = "contacts_generation";

/// Contact records of one batch, written after everything else in the transaction.
#[derive(Default)]
pub(super) struct PendingContacts<'batch> {
    pub contacts: Vec<(u64, &'batch [u8])>,
    pub photos: Vec<(u64, Option<&'batch [u8]>)>,
}

impl PendingContacts<'_> {
    /// Writes the pending records in id order (a later write of one id wins) and raises the
    /// generation once; does nothing (opens no table) without pending records.
    pub(super) fn flush(&mut self, txn: &WriteTransaction) -> Result<(), redb::Error> {
        if self.contacts.is_empty() && self.photos.is_empty() {
            return Ok(());
        }
        if !self.contacts.is_empty() {
            self.contacts.sort_by_key(|(id, _)| *id);
            let mut table = txn.open_table(CONTACTS)?;
            for (id, bytes) in self.contacts.drain(..) {
                table.insert(id, bytes)?;
            }
        }
        if !self.photos.is_empty() {
            let mut table = txn.open_table(CONTACT_PHOTOS)?;
            for (id, bytes) in self.photos.drain(..) {
                match bytes {
                    Some(bytes) => {
                        table.insert(id, bytes)?;
                    }
                    None => {
                        table.remove(id)?;
                    }
                }
            }
        }
        let mut meta = txn.open_table(META)?;
        let generation = meta_get(&meta, KEY_CONTACTS_GENERATION)?.unwrap_or(0);
        meta.insert(KEY_CONTACTS_GENERATION, generation.saturating_add(1))?;
        Ok(())
    }
}

/// Runs a redb read under the panic guard.
fn read<T>(path: &Path, work: impl FnOnce() -> Result<T, redb::Error>) -> Result<T, StoreError> {
    guarded(path, || work().map_err(|e| translate(path, e)))
}

/// `table` in `txn`, or `None` in a file written before it existed.
fn open(
    txn: &ReadTransaction,
    table: TableDefinition<u64, &[u8]>,
) -> Result<Option<redb::ReadOnlyTable<u64, &'static [u8]>>, TableError> {
    match txn.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn get(
    db: &Database,
    path: &Path,
    table: TableDefinition<u64, &[u8]>,
    id: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    read(path, || {
        let txn = db.begin_read()?;
        let Some(table) = open(&txn, table)? else {
            return Ok(None);
        };
        Ok(table.get(id)?.map(|bytes| bytes.value().to_vec()))
    })
}

impl Store {
    /// The stored record of contact `id`, if any.
    pub fn contact(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.inner.db, &self.inner.path, CONTACTS, id)
    }

    /// The stored photo of contact `id`, if any.
    pub fn contact_photo(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        get(&self.inner.db, &self.inner.path, CONTACT_PHOTOS, id)
    }

    /// Calls `each(id, record)` for every stored contact record by ascending id, and returns
    /// the registry's generation as of the same read transaction. A panic in `each` is caught
    /// and returned as an error.
    pub fn for_each_contact(&self, mut each: impl FnMut(u64, &[u8])) -> Result<u64, StoreError> {
        let (path, db) = (&self.inner.path, &self.inner.db);
        read(path, || {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            let generation = meta_get(&meta, KEY_CONTACTS_GENERATION)?.unwrap_or(0);
            if let Some(table) = open(&txn, CONTACTS)? {
                for entry in table.iter()? {
                    let (id, bytes) = entry?;
                    each(id.value(), bytes.value());
                }
            }
            Ok(generation)
        })
    }

    /// The registry's generation: raised by every commit that writes a contact record.
    pub fn contacts_generation(&self) -> Result<u64, StoreError> {
        let (path, db) = (&self.inner.path, &self.inner.db);
        read(path, || {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            Ok(meta_get(&meta, KEY_CONTACTS_GENERATION)?.unwrap_or(0))
        })
    }
}
