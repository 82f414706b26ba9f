//! What the store files a contact under, and what it counts: the lookup keys of a live contact
//! (normalized emails, phones, the company it belongs to, the widget client ids and verified
//! external ids whose chats follow it), the key of a merged id (under its survivor, so a
//! survivor finds the chats and interactions of everything merged into it), and the counters (live contacts,
//! contacts per tag). The registry turns the difference between a contact's old and new record
//! into key and counter records of the same commit, so the lookups are always exactly as
//! durable as the contacts themselves, and nothing has to be rebuilt in memory at start.
//!
//! Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Contact, Stored};
use super::normalize;
use crate::store::Record;

/// The version of the key layout; a store whose `keys_version` counter differs has its keys
/// and counters rebuilt from the records at start.
pub const KEYS_VERSION: u64 = 2;
/// The counter that holds [`KEYS_VERSION`] once the keys are complete.
pub const KEYS_VERSION_COUNTER: &str = "keys_version";
/// The counter of live contacts.
pub const LIVE_COUNTER: &str = "live";
/// The prefix of the per-tag counters.
pub const TAG_COUNTER: &str = "tag:";

/// The key of a normalized email.
pub fn email(key: &str) -> String {
    format!("e:{key}")
}

/// The key of a normalized phone.
pub fn phone(key: &str) -> String {
    format!("p:{key}")
}

/// The key under which the persons of company `id` are filed.
pub fn company(id: u64) -> String {
    format!("k:{id}")
}

/// The key of a widget client id.
pub fn client(id: &str) -> String {
    format!("c:{id}")
}

/// The key of a verified external id.
pub fn external(id: &str) -> String {
    format!("x:{id}")
}

/// The key under which the ids merged into `id` are filed.
pub fn merged_into(id: u64) -> String {
    format!("m:{id}")
}

/// The keys of a stored record: a live contact's lookups, a merged id's survivor.
pub fn of(stored: Option<&Stored>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let contact = match stored {
        Some(Stored::Live(contact)) => contact,
        Some(Stored::Merged { into, .. }) => {
            keys.insert(merged_into(*into));
            return keys;
        }
        _ => return keys,
    };
    for e in &contact.emails {
        keys.insert(email(&normalize::email_key(&e.value)));
    }
    for p in &contact.phones {
        keys.insert(phone(&phone_key(&p.value)));
    }
    if let Some(id) = contact.company_id {
        keys.insert(company(id));
    }
    keys.extend(contact.client_ids.iter().map(|id| client(id)));
    keys.extend(contact.external_ids.iter().map(|id| external(id)));
    keys
}

/// A stored phone value's key: E.164 values are their own key; text kept as given is keyed by
/// its digits.
pub fn phone_key(value: &str) -> String {
    if value.starts_with('+') && value[1..].bytes().all(|b| b.is_ascii_digit()) {
        value.to_string()
    } else {
        normalize::phone_key(value, None)
    }
}

/// The registry's counters as they stand, changed record by record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub live: u64,
    /// Contacts per tag (tags in use only).
    pub tags: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts `contact` in (`by = 1`) or out (`by = -1`).
    fn add(&mut self, contact: &Contact, by: i64, touched: &mut BTreeSet<String>) {
        self.live = self.live.saturating_add_signed(by);
        touched.insert(LIVE_COUNTER.to_string());
        for tag in &contact.tags {
            let count = self.tags.entry(tag.clone()).or_default();
            *count = count.saturating_add_signed(by);
            if *count == 0 {
                self.tags.remove(tag);
            }
            touched.insert(format!("{TAG_COUNTER}{tag}"));
        }
    }

    /// The value of counter `name`.
    fn get(&self, name: &str) -> u64 {
        match name.strip_prefix(TAG_COUNTER) {
            Some(tag) => self.tags.get(tag).copied().unwrap_or(0),
            None => self.live,
        }
    }
}

/// The records that take the keys and counters from `old` to `new` for contact `id`; the
/// counters touched are collected in `touched` (their values are written once per commit by
/// [`counter_records`]).
pub fn change(
    id: u64,
    old: Option<&Stored>,
    new: &Stored,
    counts: &mut Counts,
    touched: &mut BTreeSet<String>,
    out: &mut Vec<Record>,
) {
    let (before, after) = (of(old), of(Some(new)));
    for key in before.difference(&after) {
        out.push(Record::ContactKey {
            key: key.clone(),
            id,
            present: false,
        });
    }
    for key in after.difference(&before) {
        out.push(Record::ContactKey {
            key: key.clone(),
            id,
            present: true,
        });
    }
    if let Some(Stored::Live(contact)) = old {
        counts.add(contact, -1, touched);
    }
    if let Stored::Live(contact) = new {
        counts.add(contact, 1, touched);
    }
}

/// The counter records for the counters `touched`, as `counts` has them.
pub fn counter_records(counts: &Counts, touched: &BTreeSet<String>) -> Vec<Record> {
    touched
        .iter()
        .map(|name| Record::ContactCount {
            name: name.clone(),
            count: counts.get(name),
        })
        .collect()
}
