//! The registry in memory: every live contact by id, what became of merged and deleted ids,
//! and the lookups kept beside them (normalized email and phone -> ids, tag -> count). It is a
//! copy of what the store holds, loaded at start and changed only after a commit, so it never
//! holds anything the disk does not.
//!
//! Pure: no I/O, no locks (the registry holds the lock).

use std::collections::{BTreeMap, HashMap};

use super::model::{Contact, Stored};
use super::normalize;

/// What became of an id that is no longer a live contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    Merged { into: u64 },
    Deleted,
}

/// The in-memory registry.
#[derive(Default)]
pub struct State {
    pub contacts: BTreeMap<u64, Contact>,
    pub gone: HashMap<u64, Gone>,
    by_email: HashMap<String, Vec<u64>>,
    by_phone: HashMap<String, Vec<u64>>,
    tags: BTreeMap<String, u64>,
    /// The next id to give (ids are never reused).
    pub next_id: u64,
    /// The store generation this state reflects.
    pub generation: u64,
}

impl State {
    /// Sets what `id` is now, keeping every lookup in step.
    pub fn set(&mut self, id: u64, stored: Stored) {
        if let Some(old) = self.contacts.remove(&id) {
            self.unlink(&old);
        }
        self.gone.remove(&id);
        self.next_id = self.next_id.max(id.saturating_add(1));
        match stored {
            Stored::Live(contact) => {
                self.link(&contact);
                self.contacts.insert(id, *contact);
            }
            Stored::Merged { into, .. } => {
                self.gone.insert(id, Gone::Merged { into });
            }
            Stored::Deleted { .. } => {
                self.gone.insert(id, Gone::Deleted);
            }
        }
    }

    fn link(&mut self, contact: &Contact) {
        for email in &contact.emails {
            push(
                &mut self.by_email,
                normalize::email_key(&email.value),
                contact.id,
            );
        }
        for phone in &contact.phones {
            push(&mut self.by_phone, phone_key(&phone.value), contact.id);
        }
        for tag in &contact.tags {
            *self.tags.entry(tag.clone()).or_default() += 1;
        }
    }

    fn unlink(&mut self, contact: &Contact) {
        for email in &contact.emails {
            pull(
                &mut self.by_email,
                &normalize::email_key(&email.value),
                contact.id,
            );
        }
        for phone in &contact.phones {
            pull(&mut self.by_phone, &phone_key(&phone.value), contact.id);
        }
        for tag in &contact.tags {
            if let Some(count) = self.tags.get_mut(tag) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.tags.remove(tag);
                }
            }
        }
    }

    /// Live contacts with this email (matched trimmed and case-insensitively).
    pub fn by_email(&self, email: &str) -> &[u64] {
        self.by_email
            .get(&normalize::email_key(email))
            .map_or(&[], Vec::as_slice)
    }

    /// Live contacts with this phone (`key` as [`normalize::phone_key`] gives it).
    pub fn by_phone(&self, key: &str) -> &[u64] {
        self.by_phone.get(key).map_or(&[], Vec::as_slice)
    }

    /// Every email key shared by more than one live contact, with the contacts.
    pub fn shared_emails(&self) -> impl Iterator<Item = (&String, &Vec<u64>)> {
        self.by_email.iter().filter(|(_, ids)| ids.len() > 1)
    }

    /// Every phone key shared by more than one live contact, with the contacts.
    pub fn shared_phones(&self) -> impl Iterator<Item = (&String, &Vec<u64>)> {
        self.by_phone.iter().filter(|(_, ids)| ids.len() > 1)
    }

    /// Tags in use with the number of live contacts carrying each, by tag.
    pub fn tags(&self) -> &BTreeMap<String, u64> {
        &self.tags
    }

    /// Follows merge pointers from `id` to the contact it ended in (at most a few hops: a
    /// survivor is live when merged into, but may be merged on later).
    pub fn resolve(&self, mut id: u64) -> (u64, Option<Gone>) {
        for _ in 0..64 {
            match self.gone.get(&id) {
                Some(Gone::Merged { into }) => id = *into,
                other => return (id, other.copied()),
            }
        }
        (id, self.gone.get(&id).copied())
    }
}

/// A stored phone value's key: E.164 values are their own key; text kept as given is keyed by
/// its digits.
fn phone_key(value: &str) -> String {
    if value.starts_with('+') && value[1..].bytes().all(|b| b.is_ascii_digit()) {
        value.to_string()
    } else {
        normalize::phone_key(value, None)
    }
}

fn push(map: &mut HashMap<String, Vec<u64>>, key: String, id: u64) {
    let ids = map.entry(key).or_default();
    if !ids.contains(&id) {
        ids.push(id);
    }
}

fn pull(map: &mut HashMap<String, Vec<u64>>, key: &str, id: u64) {
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|other| *other != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}
