//! The registry as stored, read through one store read transaction: contacts by id (merged
//! ids followed to their survivor), ids by lookup key, and walks in id order. Everything read
//! through one `View` is one consistent moment of the registry.

use super::keys;
use super::model::{Contact, Stored};
use super::normalize;
use super::state::Gone;
use super::ContactError;
use crate::store::{ContactsRead, Store, StoreError};

/// Merge pointers followed at most (a survivor may be merged on later).
const MERGE_HOPS_MAX: usize = 64;

/// One consistent view of the stored registry.
pub struct View<'a> {
    store: &'a Store,
    read: ContactsRead,
}

impl<'a> View<'a> {
    pub fn new(store: &'a Store) -> Result<View<'a>, ContactError> {
        Ok(View {
            store,
            read: store.contacts_read()?,
        })
    }

    /// The store read underneath.
    pub fn read(&self) -> &ContactsRead {
        &self.read
    }

    /// What is stored under `id`, if anything.
    pub fn stored(&self, id: u64) -> Result<Option<Stored>, ContactError> {
        match self.read.record(id)? {
            Some(bytes) => self.decode(id, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The live contact `id`, or why there is none (a merged id names its survivor).
    pub fn live(&self, id: u64) -> Result<Contact, ContactError> {
        match self.stored(id)? {
            Some(Stored::Live(contact)) => Ok(*contact),
            Some(Stored::Deleted { .. }) => Err(ContactError::Deleted(id)),
            Some(Stored::Merged { .. }) => Err(ContactError::Merged {
                id,
                into: self.resolve(id)?.0,
            }),
            None => Err(ContactError::NotFound(id)),
        }
    }

    /// Follows merge pointers from `id` to the contact it ended in, and what became of that.
    pub fn resolve(&self, mut id: u64) -> Result<(u64, Option<Gone>), ContactError> {
        for _ in 0..MERGE_HOPS_MAX {
            match self.stored(id)? {
                Some(Stored::Merged { into, .. }) => id = into,
                Some(Stored::Deleted { .. }) => return Ok((id, Some(Gone::Deleted))),
                _ => return Ok((id, None)),
            }
        }
        Ok((id, Some(Gone::Merged { into: id })))
    }

    /// Live contacts with this email (trimmed, case-insensitive).
    pub fn by_email(&self, email: &str) -> Result<Vec<u64>, ContactError> {
        Ok(self.read.ids(&keys::email(&normalize::email_key(email)))?)
    }

    /// Live contacts with this phone key (as [`normalize::phone_key`] gives it).
    pub fn by_phone_key(&self, key: &str) -> Result<Vec<u64>, ContactError> {
        Ok(self.read.ids(&keys::phone(key))?)
    }

    /// Live persons linked to company `id`.
    pub fn persons_of(&self, company: u64) -> Result<Vec<Contact>, ContactError> {
        let mut out = Vec::new();
        for id in self.read.ids(&keys::company(company))? {
            if let Some(Stored::Live(contact)) = self.stored(id)? {
                out.push(*contact);
            }
        }
        Ok(out)
    }

    /// Calls `each` for every live contact from id `from` on, ascending, until it returns
    /// `false`.
    pub fn walk(
        &self,
        from: u64,
        mut each: impl FnMut(Contact) -> bool,
    ) -> Result<(), ContactError> {
        let mut damaged = None;
        self.read
            .walk(from, |id, bytes| match Stored::decode(bytes) {
                Ok(Stored::Live(contact)) => each(*contact),
                Ok(_) => true,
                Err(e) => {
                    damaged = Some(self.damaged(id, &e));
                    false
                }
            })?;
        damaged.map_or(Ok(()), Err)
    }

    fn decode(&self, id: u64, bytes: &[u8]) -> Result<Stored, ContactError> {
        Stored::decode(bytes).map_err(|e| self.damaged(id, &e))
    }

    fn damaged(&self, id: u64, e: &rmp_serde::decode::Error) -> ContactError {
        ContactError::Store(StoreError::Damaged {
            path: self.store.path().to_path_buf(),
            message: format!("contact record {id} cannot be read: {e}"),
        })
    }
}
