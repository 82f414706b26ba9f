//! Reads of the contact registry's tables: one [`ContactsRead`] is one redb read transaction,
//! so everything read through it is one consistent moment of the registry (a page of search
//! results, a duplicate scan, an export), and it is cheap enough to open for a single lookup.
//!
//! Tables are opened on first use (a lookup by key opens the key table only), and tables that
//! do not exist yet (a file no contact was ever written to) read as empty.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use redb::{
    MultimapTableDefinition, ReadOnlyMultimapTable, ReadOnlyTable, ReadTransaction,
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError,
};

use super::contacts::{
    CONTACTS, CONTACT_COUNTS, CONTACT_INTERACTIONS, CONTACT_KEYS, CONTACT_PHOTOS,
    KEY_CONTACTS_GENERATION,
};
use super::error::{guarded, translate};
use super::schema::{meta_get, META};
use super::{Store, StoreError};

/// An entry of a contact's interaction log: `((ts, nonce), bytes)`.
pub type LogEntry = ((u64, u64), Vec<u8>);

/// One consistent view of the registry's tables.
pub struct ContactsRead {
    path: PathBuf,
    contacts: OnceCell<Option<ReadOnlyTable<u64, &'static [u8]>>>,
    keys: OnceCell<Option<ReadOnlyMultimapTable<&'static str, u64>>>,
    counts: OnceCell<Option<ReadOnlyTable<&'static str, u64>>>,
    txn: ReadTransaction,
}

impl Store {
    /// A view of the registry as of now.
    pub fn contacts_read(&self) -> Result<ContactsRead, StoreError> {
        let db = self.caught_up()?;
        let path = &self.inner.path;
        read(path, || {
            Ok(ContactsRead {
                path: path.clone(),
                contacts: OnceCell::new(),
                keys: OnceCell::new(),
                counts: OnceCell::new(),
                txn: db.begin_read()?,
            })
        })
    }

    /// The stored photo of contact `id`, if any.
    pub fn contact_photo(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.caught_up()?;
        read(&self.inner.path, || {
            let txn = db.begin_read()?;
            let Some(photos) = table(&txn, CONTACT_PHOTOS)? else {
                return Ok(None);
            };
            Ok(photos.get(id)?.map(|bytes| bytes.value().to_vec()))
        })
    }

    /// The registry's generation: raised by every commit that writes a contact record.
    pub fn contacts_generation(&self) -> Result<u64, StoreError> {
        self.contacts_read()?.generation()
    }
}

impl ContactsRead {
    /// The registry's generation as of this view.
    pub fn generation(&self) -> Result<u64, StoreError> {
        read(&self.path, || {
            let meta = self.txn.open_table(META)?;
            Ok(meta_get(&meta, KEY_CONTACTS_GENERATION)?.unwrap_or(0))
        })
    }

    fn contacts(&self) -> Result<&Option<ReadOnlyTable<u64, &'static [u8]>>, StoreError> {
        opened(&self.path, &self.contacts, || table(&self.txn, CONTACTS))
    }

    fn keys(&self) -> Result<&Option<ReadOnlyMultimapTable<&'static str, u64>>, StoreError> {
        opened(&self.path, &self.keys, || multimap(&self.txn, CONTACT_KEYS))
    }

    fn counts_table(&self) -> Result<&Option<ReadOnlyTable<&'static str, u64>>, StoreError> {
        opened(&self.path, &self.counts, || {
            table(&self.txn, CONTACT_COUNTS)
        })
    }

    /// The stored record of contact `id`, if any.
    pub fn record(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(contacts) = self.contacts()? else {
            return Ok(None);
        };
        read(&self.path, || {
            Ok(contacts.get(id)?.map(|bytes| bytes.value().to_vec()))
        })
    }

    /// The highest contact id stored, if any.
    pub fn last_id(&self) -> Result<Option<u64>, StoreError> {
        let Some(contacts) = self.contacts()? else {
            return Ok(None);
        };
        read(&self.path, || {
            Ok(contacts.last()?.map(|(id, _)| id.value()))
        })
    }

    /// Calls `each(id, record)` for the stored records from id `from` on, ascending, until it
    /// returns `false`.
    pub fn walk(
        &self,
        from: u64,
        mut each: impl FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let Some(contacts) = self.contacts()? else {
            return Ok(());
        };
        read(&self.path, || {
            for entry in contacts.range(from..)? {
                let (id, bytes) = entry?;
                if !each(id.value(), bytes.value()) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// The ids filed under `key`, ascending.
    pub fn ids(&self, key: &str) -> Result<Vec<u64>, StoreError> {
        let Some(keys) = self.keys()? else {
            return Ok(Vec::new());
        };
        read(&self.path, || {
            keys.get(key)?
                .map(|id| Ok(id?.value()))
                .collect::<Result<_, redb::StorageError>>()
                .map_err(Into::into)
        })
    }

    /// Every key starting with `prefix` that has more than one id, with its ids, by key.
    pub fn shared_keys(&self, prefix: &str) -> Result<Vec<(String, Vec<u64>)>, StoreError> {
        let Some(keys) = self.keys()? else {
            return Ok(Vec::new());
        };
        read(&self.path, || {
            let mut out = Vec::new();
            for entry in keys.range(prefix..)? {
                let (key, ids) = entry?;
                if !key.value().starts_with(prefix) {
                    break;
                }
                if ids.len() > 1 {
                    let ids = ids
                        .map(|id| Ok(id?.value()))
                        .collect::<Result<_, redb::StorageError>>()?;
                    out.push((key.value().to_string(), ids));
                }
            }
            Ok(out)
        })
    }

    /// Counter `name` (0 when never set).
    pub fn count(&self, name: &str) -> Result<u64, StoreError> {
        let Some(counts) = self.counts_table()? else {
            return Ok(0);
        };
        read(&self.path, || {
            Ok(counts.get(name)?.map_or(0, |c| c.value()))
        })
    }

    /// Every counter whose name starts with `prefix`, by name.
    pub fn counts(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let Some(counts) = self.counts_table()? else {
            return Ok(Vec::new());
        };
        read(&self.path, || {
            let mut out = Vec::new();
            for entry in counts.range(prefix..)? {
                let (name, count) = entry?;
                if !name.value().starts_with(prefix) {
                    break;
                }
                out.push((name.value().to_string(), count.value()));
            }
            Ok(out)
        })
    }

    /// Up to `limit` entries of contact `contact`'s interaction log, newest first, older than
    /// `before` (`(ts, nonce)`) when given.
    pub fn interactions(
        &self,
        contact: u64,
        before: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        read(&self.path, || {
            let Some(table) = table(&self.txn, CONTACT_INTERACTIONS)? else {
                return Ok(Vec::new());
            };
            let (ts, nonce) = before.unwrap_or((u64::MAX, u64::MAX));
            let range = if before.is_some() {
                table.range((contact, 0, 0)..(contact, ts, nonce))?
            } else {
                table.range((contact, 0, 0)..=(contact, ts, nonce))?
            };
            let mut out = Vec::new();
            for entry in range.rev().take(limit) {
                let (key, bytes) = entry?;
                let (_, ts, nonce) = key.value();
                out.push(((ts, nonce), bytes.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// Stored contact records (live, merged or deleted).
    pub fn records(&self) -> Result<u64, StoreError> {
        let Some(contacts) = self.contacts()? else {
            return Ok(0);
        };
        read(&self.path, || Ok(contacts.len()?))
    }
}

/// The table in `cell`, opened by `open` on first use.
fn opened<'a, T>(
    path: &Path,
    cell: &'a OnceCell<Option<T>>,
    open: impl FnOnce() -> Result<Option<T>, TableError>,
) -> Result<&'a Option<T>, StoreError> {
    if cell.get().is_none() {
        let table = read(path, || Ok(open()?))?;
        let _ = cell.set(table);
    }
    Ok(cell.get().unwrap_or(&None))
}

/// Runs a redb read under the panic guard.
fn read<T>(path: &Path, work: impl FnOnce() -> Result<T, redb::Error>) -> Result<T, StoreError> {
    guarded(path, || work().map_err(|e| translate(path, e)))
}

fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    definition: TableDefinition<K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>, TableError> {
    match txn.open_table(definition) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
    txn: &ReadTransaction,
    definition: MultimapTableDefinition<K, V>,
) -> Result<Option<ReadOnlyMultimapTable<K, V>>, TableError> {
    match txn.open_multimap_table(definition) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
