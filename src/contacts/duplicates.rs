//! Likely duplicates: groups of live contacts that share a normalized email or phone, or whose
//! name and company are the same once case, accents, punctuation and word order are ignored
//! ("Müller, Hans" at "ACME" and "hans muller" at "Acme"). Reads one view of the store: the
//! shared keys from the key table, the names from a walk over every contact.

use std::collections::HashMap;

use serde::Serialize;

use super::keys;
use super::search::query;
use super::view::View;
use super::ContactError;

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
pub fn groups(view: &View<'_>) -> Result<Vec<Group>, ContactError> {
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
    for (reason, prefix) in [("email", keys::email("")), ("phone", keys::phone(""))] {
        for (key, ids) in view.read().shared_keys(&prefix)? {
            add(reason, &key[prefix.len()..].to_string(), &ids);
        }
    }
    let mut analyzer = query::analyzer();
    let mut by_name: HashMap<String, Vec<u64>> = HashMap::new();
    view.walk(0, |contact| {
        let mut words = query::tokens(&mut analyzer, &contact.display_name());
        if words.is_empty() {
            return true;
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
        true
    })?;
    let mut names: Vec<_> = by_name.iter().filter(|(_, ids)| ids.len() > 1).collect();
    names.sort();
    for (key, ids) in names {
        add("name", key, ids);
    }
    out.truncate(GROUPS_MAX);
    Ok(out)
}
