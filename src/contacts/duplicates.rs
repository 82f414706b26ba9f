//! Likely duplicates: groups of live contacts that share a normalized email or phone, or whose
//! name and company are the same once case, accents, punctuation and word order are ignored
//! ("Müller, Hans" at "ACME" and "hans muller" at "Acme"). Reads the in-memory state only.

use std::collections::HashMap;

use serde::Serialize;

use super::search::query;
use super::state::State;

/// Groups in one answer at most.
pub const GROUPS_MAX: usize = 1_000;

/// One group of likely duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// `email`, `phone` or `name`.
    pub reason: &'static str,
    /// What they share (the normalized email, phone, or name words).
    pub key: String,
    pub ids: Vec<u64>,
}

/// Every group (at most [`GROUPS_MAX`]), emails first, then phones, then names; ids ascending.
pub fn groups(state: &State) -> Vec<Group> {
    let mut out = Vec::new();
    let mut add = |reason, key: &String, ids: &Vec<u64>| {
        let mut ids = ids.clone();
        ids.sort_unstable();
        out.push(Group {
            reason,
            key: key.clone(),
            ids,
        });
    };
    let mut emails: Vec<_> = state.shared_emails().collect();
    emails.sort();
    for (key, ids) in emails {
        add("email", key, ids);
    }
    let mut phones: Vec<_> = state.shared_phones().collect();
    phones.sort();
    for (key, ids) in phones {
        add("phone", key, ids);
    }
    let mut analyzer = query::analyzer();
    let mut by_name: HashMap<String, Vec<u64>> = HashMap::new();
    for contact in state.contacts.values() {
        let mut words = query::tokens(&mut analyzer, &contact.display_name());
        if words.is_empty() {
            continue;
        }
        words.sort();
        let mut key = words.join(" ");
        if let Some(company) = contact
            .company_name
            .as_deref()
            .filter(|_| contact.kind == super::Kind::Person)
        {
            key.push_str(" @ ");
            key.push_str(&query::tokens(&mut analyzer, company).join(" "));
        }
        by_name.entry(key).or_default().push(contact.id);
    }
    let mut names: Vec<_> = by_name.iter().filter(|(_, ids)| ids.len() > 1).collect();
    names.sort();
    for (key, ids) in names {
        add("name", key, ids);
    }
    out.truncate(GROUPS_MAX);
    out
}
