//! The contact registry's tables and how a commit writes them: one opaque record per contact
//! id, one photo per contact id, the lookup keys (`key -> ids`, a multimap), named counters,
//! each contact's interaction log,
//! and the registry's generation (in `meta`), which every commit that writes a contact record
//! raises by one so that a search index beside the file can tell whether it is behind. Reads
//! are in `contacts_read.rs`.
//!
//! Like the rest of the store this knows nothing about what a contact is: the registry
//! (`crate::contacts`) encodes and decodes the bytes and chooses the keys and counters.
//! Contacts are never part of the routing snapshot, so a million of them cost a snapshot
//! nothing. Tables are created by the first commit that writes to them; a file without them
//! reads as having no contacts.

use redb::{MultimapTableDefinition, TableDefinition, WriteTransaction};

use super::schema::{meta_get, META};

/// `id -> contact record bytes` (the latest written wins).
pub(super) const CONTACTS: TableDefinition<u64, &[u8]> = TableDefinition::new("contacts");
/// `id -> photo bytes`.
pub(super) const CONTACT_PHOTOS: TableDefinition<u64, &[u8]> =
    TableDefinition::new("contact_photos");
/// `key -> contact ids` filed under it.
pub(super) const CONTACT_KEYS: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("contact_keys");
/// `counter name -> count` (absent = 0).
pub(super) const CONTACT_COUNTS: TableDefinition<&str, u64> =
    TableDefinition::new("contact_counts");
/// `(contact, ts, nonce) -> interaction bytes`: each contact's interaction log, by time.
pub(super) const CONTACT_INTERACTIONS: TableDefinition<(u64, u64, u64), &[u8]> =
    TableDefinition::new("contact_interactions");
/// `(contact, ts, nonce)`.
pub(super) type InteractionKey = (u64, u64, u64);
/// The `meta` key of the registry's generation.
pub(super) const KEY_CONTACTS_GENERATION: &str = "contacts_generation";

/// Contact records of one batch, written after everything else in the transaction.
#[derive(Default)]
pub(super) struct PendingContacts<'batch> {
    pub contacts: Vec<(u64, &'batch [u8])>,
    pub photos: Vec<(u64, Option<&'batch [u8]>)>,
    pub keys: Vec<(&'batch str, u64, bool)>,
    pub counts: Vec<(&'batch str, u64)>,
    pub interactions: Vec<(InteractionKey, Option<&'batch [u8]>)>,
}

impl PendingContacts<'_> {
    /// Writes the pending records in id order (a later write of one id wins) and raises the
    /// generation once if any contact or photo was written; then the keys and counters in
    /// submission order. Does nothing (opens no table) without pending records.
    pub(super) fn flush(&mut self, txn: &WriteTransaction) -> Result<(), redb::Error> {
        self.flush_keys(txn)?;
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

    fn flush_keys(&mut self, txn: &WriteTransaction) -> Result<(), redb::Error> {
        if !self.keys.is_empty() {
            // Sorted (stably: one key's changes keep their order) so the tree is written in order.
            self.keys.sort_by(|a, b| a.0.cmp(b.0));
            let mut table = txn.open_multimap_table(CONTACT_KEYS)?;
            for (key, id, present) in self.keys.drain(..) {
                if present {
                    table.insert(key, id)?;
                } else {
                    table.remove(key, id)?;
                }
            }
        }
        if !self.interactions.is_empty() {
            let mut table = txn.open_table(CONTACT_INTERACTIONS)?;
            for (key, bytes) in self.interactions.drain(..) {
                match bytes {
                    Some(bytes) => {
                        table.insert(key, bytes)?;
                    }
                    None => {
                        table.remove(key)?;
                    }
                }
            }
        }
        if !self.counts.is_empty() {
            let mut table = txn.open_table(CONTACT_COUNTS)?;
            for (name, count) in self.counts.drain(..) {
                if count == 0 {
                    table.remove(name)?;
                } else {
                    table.insert(name, count)?;
                }
            }
        }
        Ok(())
    }
}
