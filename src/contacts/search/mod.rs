//! Contact search: the query syntax (`query`), the tantivy index (`index`), and here the part
//! that turns candidate ids into a page: filters (kind, type, tags, responsible, updated
//! after), access (restricted contacts only for their listed operators and supervisors),
//! ranking and stable paging.
//!
//! Order: contacts that match with every `word~` spelled exactly as typed come first (tier 0),
//! then the similar spellings (tier 1); by id within a tier. The cursor `next_after` is
//! `"TIER-ID"` (or `"ID"` without `q`), so a page never repeats or skips a contact that existed
//! for the whole walk, however others are added meanwhile.

pub mod index;
pub mod query;

use std::collections::HashSet;

use super::model::{Contact, Kind, Stored};
use super::view::View;
use super::ContactError;

/// Contacts in one page at most.
pub const PAGE_LIMIT_MAX: usize = 500;
/// Contacts in one page unless asked otherwise.
pub const PAGE_LIMIT_DEFAULT: usize = 50;

/// Who is looking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// The admin API: sees everything.
    Admin,
    /// An operator; a supervisor sees restricted contacts too.
    Operator { id: String, supervisor: bool },
}

impl Viewer {
    /// Whether this viewer may see `contact`.
    pub fn may_see(&self, contact: &Contact) -> bool {
        match self {
            Viewer::Admin => true,
            Viewer::Operator { id, supervisor } => *supervisor || contact.allows(id),
        }
    }
}

/// Filters that combine with the query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub kind: Option<Kind>,
    pub kind_type: Option<String>,
    /// Every tag listed must be on the contact.
    pub tags: Vec<String>,
    pub responsible: Option<String>,
    /// Only contacts updated strictly after this time (Unix ms).
    pub updated_after: Option<u64>,
}

impl Filters {
    pub fn admits(&self, contact: &Contact) -> bool {
        self.kind.is_none_or(|kind| contact.kind == kind)
            && self
                .kind_type
                .as_ref()
                .is_none_or(|t| contact.kind_type.as_ref() == Some(t))
            && self.tags.iter().all(|tag| contact.tags.contains(tag))
            && self
                .responsible
                .as_ref()
                .is_none_or(|r| contact.responsible.as_ref() == Some(r))
            && self.updated_after.is_none_or(|t| contact.updated_ts > t)
    }
}

/// Where a page starts: after this (tier, id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub tier: u8,
    pub id: u64,
}

impl Cursor {
    /// Parses `"ID"` or `"TIER-ID"`.
    pub fn parse(text: &str) -> Option<Cursor> {
        match text.split_once('-') {
            Some((tier, id)) => Some(Cursor {
                tier: tier.parse().ok().filter(|t| *t <= 1)?,
                id: id.parse().ok()?,
            }),
            None => Some(Cursor {
                tier: 0,
                id: text.parse().ok()?,
            }),
        }
    }

    fn render(self, ranked: bool) -> String {
        if ranked {
            format!("{}-{}", self.tier, self.id)
        } else {
            self.id.to_string()
        }
    }
}

/// One page of results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub contacts: Vec<Contact>,
    pub next_after: Option<String>,
}

/// What to look for and how much of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask {
    pub filters: Filters,
    pub viewer: Viewer,
    pub after: Option<Cursor>,
    pub limit: usize,
}

impl Ask {
    fn admits(&self, contact: &Contact) -> bool {
        self.viewer.may_see(contact) && self.filters.admits(contact)
    }
}

/// A page of every contact (no query), by id.
pub fn list(view: &View<'_>, ask: &Ask) -> Result<Page, ContactError> {
    let start = ask.after.map_or(0, |c| c.id.saturating_add(1));
    let mut contacts: Vec<Contact> = Vec::new();
    view.walk(start, |contact| {
        if ask.admits(&contact) {
            contacts.push(contact);
        }
        contacts.len() <= ask.limit
    })?;
    let next_after = cut(
        &mut contacts,
        ask.limit,
        |c| Cursor { tier: 0, id: c.id },
        false,
    );
    Ok(Page {
        contacts,
        next_after,
    })
}

/// A page of the contacts among `candidates` that the store holds live and `ask` admits,
/// ranked (those in `exact`, if given, first). Candidates are sorted by (tier, id) and walked
/// from the cursor on, reading each from the store only until the page is full.
pub fn rank(
    view: &View<'_>,
    candidates: Vec<u64>,
    exact: Option<&HashSet<u64>>,
    ask: &Ask,
) -> Result<Page, ContactError> {
    let (mut first, mut second): (Vec<u64>, Vec<u64>) = match exact {
        None => (candidates, Vec::new()),
        Some(set) => candidates.into_iter().partition(|id| set.contains(id)),
    };
    first.sort_unstable();
    second.sort_unstable();
    let after = ask.after.unwrap_or_default();
    let from = |ids: &[u64], tier: u8| -> usize {
        match (ask.after, tier.cmp(&after.tier)) {
            (None, _) | (Some(_), std::cmp::Ordering::Greater) => 0,
            (Some(_), std::cmp::Ordering::Equal) => ids.partition_point(|id| *id <= after.id),
            (Some(_), std::cmp::Ordering::Less) => ids.len(),
        }
    };
    let ordered = first[from(&first, 0)..]
        .iter()
        .map(|id| (0u8, *id))
        .chain(second[from(&second, 1)..].iter().map(|id| (1u8, *id)));
    let mut ranked: Vec<(Cursor, Contact)> = Vec::new();
    for (tier, id) in ordered {
        let Some(Stored::Live(contact)) = view.stored(id)? else {
            continue;
        };
        if ask.admits(&contact) {
            ranked.push((Cursor { tier, id }, *contact));
            if ranked.len() > ask.limit {
                break;
            }
        }
    }
    let next_after = cut(&mut ranked, ask.limit, |(cursor, _)| *cursor, true);
    Ok(Page {
        contacts: ranked.into_iter().map(|(_, c)| c).collect(),
        next_after,
    })
}

/// Keeps `limit` items; the cursor of the last kept one when more followed.
fn cut<T>(
    items: &mut Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> Cursor,
    ranked: bool,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(|last| key(last).render(ranked))
}
