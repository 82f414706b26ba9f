//! The registry handle: reads, search, and the one commit path every change takes: records,
//! keys and counters durable in the store in one commit first, then the counters in memory,
//! then the index. Opening is in `open.rs`.
//!
//! Changes are serialized by `writes` (held from the version check to the index update), so a
//! version check and its commit can never interleave with another change.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::keys;
use super::model::{Contact, Stored};
use super::search::index::{IndexChange, SearchIndex};
use super::search::query::{self, Clause};
use super::search::{self, Ask, Page, Viewer};
use super::state::State;
use super::view::View;
use super::{ContactError, Settings};
use crate::clock::Clock;
use crate::store::{Record, Store, StoreError};
use crate::sync::RwLock;

/// The index directory's name inside the data directory.
pub const INDEX_DIR: &str = "contacts-index";
/// Records in one store submission at most (bulk changes are split).
pub const SUBMIT_RECORDS_MAX: usize = 16_384;

/// Whether an operator id is known (checked live against the configuration).
pub type OperatorCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The contact registry; one per server, shared by the admin API and operator sessions.
pub struct Registry {
    pub(super) store: Store,
    pub(super) state: RwLock<State>,
    pub(super) writes: tokio::sync::Mutex<()>,
    pub(super) index: Arc<SearchIndex>,
    pub(super) settings: Settings,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) operators: OperatorCheck,
    /// Where contact changes go as webhook events (set once the hub runs).
    pub(super) webhooks: std::sync::OnceLock<Arc<crate::webhooks::outlet::Outlet>>,
}

impl Registry {
    /// Sends contact changes as webhook events through `outlet` (each in its change's commit).
    pub fn send_webhooks_to(&self, outlet: Arc<crate::webhooks::outlet::Outlet>) {
        let _ = self.webhooks.set(outlet);
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Live contacts.
    pub fn len(&self) -> usize {
        usize::try_from(self.state.read().counts.live).unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A consistent view of the stored registry.
    pub(super) fn view(&self) -> Result<View<'_>, ContactError> {
        View::new(&self.store)
    }

    /// The contact `id` as `viewer` may see it; a merged id answers with its survivor.
    pub fn get(&self, id: u64, viewer: &Viewer) -> Result<Contact, ContactError> {
        let contact = self.view()?.live(id)?;
        if !viewer.may_see(&contact) {
            return Err(ContactError::Forbidden(id));
        }
        Ok(contact)
    }

    /// Ids of the live contacts with this email (trimmed, case-insensitive).
    pub fn by_email(&self, email: &str) -> Result<Vec<u64>, ContactError> {
        self.view()?.by_email(email)
    }

    /// Ids of the live contacts with this phone (normalized to E.164 with the default region).
    pub fn by_phone(&self, phone: &str) -> Result<Vec<u64>, ContactError> {
        let key = super::normalize::phone_key(phone, self.settings.region);
        self.view()?.by_phone_key(&key)
    }

    /// Tags in use with their counts, by tag.
    pub fn tags(&self) -> Vec<(String, u64)> {
        let state = self.state.read();
        state
            .counts
            .tags
            .iter()
            .map(|(t, n)| (t.clone(), *n))
            .collect()
    }

    /// Groups of likely duplicates (see `duplicates`).
    pub fn duplicates(&self) -> Result<Vec<super::duplicates::Group>, ContactError> {
        super::duplicates::groups(&self.view()?)
    }

    /// One page of contacts matching `q` (all of them without it) and `ask`.
    pub async fn search(&self, q: Option<&str>, ask: &Ask) -> Result<Page, ContactError> {
        let Some(q) = q.filter(|q| !q.trim().is_empty()) else {
            return search::list(&self.view()?, ask);
        };
        let clauses = query::parse(q)?;
        let index = Arc::clone(&self.index);
        let (candidates, exact) = tokio::task::spawn_blocking(move || {
            let candidates = index.search(&clauses)?;
            let exact = match exact_form(&clauses) {
                Some(exact) => Some(index.search(&exact)?.into_iter().collect::<HashSet<_>>()),
                None => None,
            };
            Ok::<_, ContactError>((candidates, exact))
        })
        .await
        .map_err(|e| ContactError::Unsupported(format!("search stopped: {e}")))??;
        search::rank(&self.view()?, candidates, exact.as_ref(), ask)
    }

    /// The stored photo of contact `id` (PNG), if it has one.
    pub fn photo(&self, id: u64, viewer: &Viewer) -> Result<Option<Vec<u8>>, ContactError> {
        let contact = self.get(id, viewer)?;
        if !contact.photo {
            return Ok(None);
        }
        Ok(self.store.contact_photo(contact.id)?)
    }

    /// Makes `writes` and `photos` durable with their keys and counters (one commit unless
    /// there are more than [`SUBMIT_RECORDS_MAX`] records: then in commits of whole contacts,
    /// each carrying the counters as they stand after it), then applies the counters to memory
    /// and the contacts to the index. Call with `writes` locked.
    pub(super) async fn commit(
        &self,
        writes: Vec<(u64, Stored)>,
        photos: Vec<(u64, Option<Vec<u8>>)>,
    ) -> Result<(), ContactError> {
        self.commit_with(writes, photos, Vec::new()).await
    }

    /// [`commit`](Self::commit) with `extra` records in the last commit.
    pub(super) async fn commit_with(
        &self,
        writes: Vec<(u64, Stored)>,
        photos: Vec<(u64, Option<Vec<u8>>)>,
        extra: Vec<Record>,
    ) -> Result<(), ContactError> {
        let mut counts = self.state.read().counts.clone();
        let mut chunks = vec![Vec::new()];
        {
            let view = self.view()?;
            let mut earlier: HashMap<u64, &Stored> = HashMap::new();
            let mut touched = BTreeSet::new();
            for (id, stored) in &writes {
                let old = match earlier.get(id) {
                    Some(old) => Some((*old).clone()),
                    None => view.stored(*id)?,
                };
                let chunk = chunks.last_mut().expect("one chunk at least");
                chunk.push(Record::Contact {
                    id: *id,
                    bytes: stored.encode(),
                });
                // Its webhook event (if wanted) in the same commit as the record.
                if let Some(outlet) = self.webhooks.get() {
                    let was_live = matches!(old, Some(Stored::Live(_)));
                    let event =
                        crate::webhooks::contact_events::of_write(outlet, *id, stored, was_live);
                    chunk.extend(event);
                }
                keys::change(*id, old.as_ref(), stored, &mut counts, &mut touched, chunk);
                earlier.insert(*id, stored);
                if chunk.len() >= SUBMIT_RECORDS_MAX {
                    chunk.extend(keys::counter_records(
                        &counts,
                        &std::mem::take(&mut touched),
                    ));
                    chunks.push(Vec::new());
                }
            }
            let chunk = chunks.last_mut().expect("one chunk at least");
            chunk.extend(keys::counter_records(&counts, &touched));
            chunk.extend(
                photos
                    .into_iter()
                    .map(|(id, bytes)| Record::ContactPhoto { id, bytes }),
            );
            chunk.extend(extra);
        }
        for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
            write_durably(&self.store, chunk).await?;
        }
        let generation = self.store.contacts_generation()?;
        {
            let mut state = self.state.write();
            state.counts = counts;
            state.generation = generation;
            if let Some(last) = writes.iter().map(|(id, _)| *id).max() {
                state.next_id = state.next_id.max(last.saturating_add(1));
            }
        }
        let index = Arc::clone(&self.index);
        let result = tokio::task::spawn_blocking(move || {
            let changes: Vec<IndexChange<'_>> = writes
                .iter()
                .map(|(id, stored)| match stored {
                    Stored::Live(contact) => (*id, Some(contact.search_texts())),
                    _ => (*id, None),
                })
                .collect();
            index.apply(&changes, generation)
        })
        .await;
        let failure = match result {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        // Durable already: the answer stays a success. The index's commit payload did not move
        // to this generation, so the next start rebuilds it from the store.
        eprintln!("switchboard: contact index update failed (rebuilt at next start): {failure}");
        Ok(())
    }

    /// Now, in Unix ms.
    pub(super) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}

/// The query with every `word~` spelled as typed, when it has one.
fn exact_form(clauses: &[Clause]) -> Option<Vec<Clause>> {
    if !clauses.iter().any(|c| matches!(c, Clause::Fuzzy(..))) {
        return None;
    }
    Some(
        clauses
            .iter()
            .map(|c| match c {
                Clause::Fuzzy(token, _) => Clause::Word(token.clone()),
                other => other.clone(),
            })
            .collect(),
    )
}

/// Submits `records` and waits until they are durable.
pub(super) async fn write_durably(store: &Store, records: Vec<Record>) -> Result<(), StoreError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    store.submit(
        records,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    )?;
    rx.await.map_err(|_| StoreError::Stopped)?.map(|_| ())
}

/// Submits `records` and blocks until they are durable (for use before serving).
pub(super) fn write_durably_blocking(
    store: &Store,
    records: Vec<Record>,
) -> Result<(), StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    store.submit(
        records,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    )?;
    rx.recv().map_err(|_| StoreError::Stopped)?.map(|_| ())
}
