//! The built-in contact registry (SPEC "Contacts", PROTOCOL "Contacts"; docs/contacts.md).
//!
//! The store (redb) is the source of truth: every change is one durable commit of contact
//! records, lookup keys and counters before its answer; the few counters kept in memory
//! ([`state::State`]) and the search index follow only after it. Contacts are read from the
//! store when asked, never loaded whole into memory, and live in their own tables, never in the
//! routing snapshot.
//!
//! - `model`: the contact and what is stored under an id (live, merged into, deleted).
//! - `normalize`: emails trimmed + lower-cased, phones to E.164 (`phonenumber`).
//! - `input`: create/change bodies, checked field by field.
//! - `keys`: the lookup keys (email, phone, company) and counters a contact is filed under.
//! - `view`: one consistent read of the stored registry; `state`: the counters in memory.
//! - `search`: query syntax, the tantivy index beside the store, filters, ranking, paging.
//! - `open`: opening (keys rebuilt for an older store, index rebuilt when missing or behind);
//! - `registry`: reads and the commit path;
//!   `edits`: create, change, delete, merge; `bulk`: import and export; `photo`: photos;
//!   `duplicates`: groups sharing an email, a phone or a very similar name;
//!   `interactions`: each contact's log (closed chats, calls, notes…), segments.
//!
//! Never touches sockets or redb directly (the store does), never reads the routing state.

pub mod bulk;
pub mod duplicates;
mod edits;
mod erase;
pub mod input;
pub mod interactions;
pub mod keys;
pub mod model;
pub mod normalize;
mod open;
pub mod photo;
mod registry;
pub mod search;
pub mod state;
pub mod tracker;
pub mod view;

#[cfg(test)]
mod keys_tests;
#[cfg(test)]
mod tests;

pub use input::{ContactInput, FieldError};
pub use model::{Contact, Kind, Stored};
pub use registry::{OperatorCheck, Registry};
pub use search::{Filters, Page, Viewer};

use crate::config::ContactsConfig;
use crate::store::StoreError;

/// The registry's settings, from `[contacts]` (the default is `[contacts]`'s default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The region of phone numbers written without a country code.
    pub region: Option<phonenumber::country::Id>,
    /// The contact types allowed.
    pub types: Vec<String>,
    /// The interaction kinds people may add.
    pub interaction_kinds: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(&ContactsConfig::default())
    }
}

impl Settings {
    pub fn from_config(config: &ContactsConfig) -> Settings {
        Settings {
            region: normalize::region(config.default_region.as_deref()),
            types: config.types.clone(),
            interaction_kinds: config.interaction_kinds.clone(),
        }
    }
}

/// Why a registry call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// A field of the request is wrong.
    #[error("{0}")]
    Invalid(FieldError),
    /// The search query is malformed.
    #[error("q: {0}")]
    Query(#[from] search::query::QueryError),
    #[error("no contact {0}")]
    NotFound(u64),
    #[error("contact {id} was merged into contact {into}")]
    Merged { id: u64, into: u64 },
    #[error("contact {0} was deleted")]
    Deleted(u64),
    #[error("contact {0} is restricted to other operators")]
    Forbidden(u64),
    /// The change was made against an older version.
    #[error("contact {id} is at version {current}; the change was made against version {edited}")]
    Conflict { id: u64, current: u64, edited: u64 },
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unsupported(String),
    /// The store could not make the change durable (nothing changed).
    #[error("the change could not be stored: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Index(#[from] search::index::IndexError),
}

impl From<FieldError> for ContactError {
    fn from(e: FieldError) -> Self {
        ContactError::Invalid(e)
    }
}
