//! What the registry keeps in memory: the next id to give, the store generation it has seen,
//! and the counters (live contacts, contacts per tag). A few numbers and one entry per tag in
//! use, however many contacts there are; the contacts themselves and their lookups are read
//! from the store ([`super::view`]). Changed only after a commit, so it never holds anything the
//! disk does not.
//!
//! Pure: no I/O, no locks (the registry holds the lock).

use super::keys::Counts;

/// What became of an id that is no longer a live contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    Merged { into: u64 },
    Deleted,
}

/// The in-memory part of the registry.
#[derive(Default)]
pub struct State {
    /// The next id to give (ids are never reused).
    pub next_id: u64,
    /// The store generation this state reflects.
    pub generation: u64,
    pub counts: Counts,
}
