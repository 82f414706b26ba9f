//! The registry handle: opening (load every contact from the store, rebuild the index when it
//! is missing or at another generation), reads, search, and the one commit path every change
//! takes: records durable in the store first, then memory, then the index.
//!
//! Changes are serialized by `writes` (held from the version check to the index update), so a
//! version check and its commit can never interleave with another change.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::model::{Contact, Stored};
use super::search::index::{IndexChange, SearchIndex};
use super::search::query::{self, Clause};
use super::search::{self, Ask, Page, Viewer};
use super::state::{Gone, State};
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
    index: Arc<SearchIndex>,
    pub(super) settings: Settings,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) operators: OperatorCheck,
    /// Where contact changes go as webhook events (set once the hub runs).
    webhooks: std::sync::OnceLock<Arc<crate::webhooks::outlet::Outlet>>,
}

impl Registry {
    /// Loads the registry from `store` and opens (rebuilding if needed) the index in
    /// `data_dir/contacts-index`. Blocks: call it before serving.
    pub fn open(
        store: Store,
        data_dir: &Path,
        settings: Settings,
        clock: Arc<dyn Clock>,
        operators: OperatorCheck,
    ) -> Result<Registry, ContactError> {
        let mut state = State::default();
        let mut damaged = None;
        let generation = store.for_each_contact(|id, bytes| match Stored::decode(bytes) {
            Ok(stored) => state.set(id, stored),
            Err(e) => damaged = Some((id, e.to_string())),
        })?;
        if let Some((id, reason)) = damaged {
            return Err(ContactError::Store(StoreError::Damaged {
                path: store.path().to_path_buf(),
                message: format!("contact record {id} cannot be read: {reason}"),
            }));
        }
        state.generation = generation;
        state.next_id = state.next_id.max(1);
        let index = SearchIndex::open(&data_dir.join(INDEX_DIR))?;
        if index.generation() != Some(generation) {
            let contacts = state.contacts.values().map(|c| (c.id, c.search_texts()));
            index.rebuild(contacts, generation)?;
        }
        Ok(Registry {
            store,
            state: RwLock::new(state),
            writes: tokio::sync::Mutex::new(()),
            index: Arc::new(index),
            settings,
            clock,
            operators,
            webhooks: std::sync::OnceLock::new(),
        })
    }

    /// Sends contact changes as webhook events through `outlet` (each in its change's commit).
    pub fn send_webhooks_to(&self, outlet: Arc<crate::webhooks::outlet::Outlet>) {
        let _ = self.webhooks.set(outlet);
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Live contacts.
    pub fn len(&self) -> usize {
        self.state.read().contacts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The contact `id` as `viewer` may see it; a merged id answers with its survivor.
    pub fn get(&self, id: u64, viewer: &Viewer) -> Result<Contact, ContactError> {
        let state = self.state.read();
        let contact = live(&state, id)?;
        if !viewer.may_see(contact) {
            return Err(ContactError::Forbidden(id));
        }
        Ok(contact.clone())
    }

    /// Ids of the live contacts with this email (trimmed, case-insensitive).
    pub fn by_email(&self, email: &str) -> Vec<u64> {
        self.state.read().by_email(email).to_vec()
    }

    /// Ids of the live contacts with this phone (normalized to E.164 with the default region).
    pub fn by_phone(&self, phone: &str) -> Vec<u64> {
        let key = super::normalize::phone_key(phone, self.settings.region);
        self.state.read().by_phone(&key).to_vec()
    }

    /// Tags in use with their counts, by tag.
    pub fn tags(&self) -> Vec<(String, u64)> {
        let state = self.state.read();
        state.tags().iter().map(|(t, n)| (t.clone(), *n)).collect()
    }

    /// Groups of likely duplicates (see `duplicates`).
    pub fn duplicates(&self) -> Vec<super::duplicates::Group> {
        super::duplicates::groups(&self.state.read())
    }

    /// One page of contacts matching `q` (all of them without it) and `ask`.
    pub async fn search(&self, q: Option<&str>, ask: &Ask) -> Result<Page, ContactError> {
        let Some(q) = q.filter(|q| !q.trim().is_empty()) else {
            return Ok(search::list(&self.state.read(), ask));
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
        Ok(search::rank(
            &self.state.read(),
            candidates,
            exact.as_ref(),
            ask,
        ))
    }

    /// The stored photo of contact `id` (PNG), if it has one.
    pub fn photo(&self, id: u64, viewer: &Viewer) -> Result<Option<Vec<u8>>, ContactError> {
        let contact = self.get(id, viewer)?;
        if !contact.photo {
            return Ok(None);
        }
        Ok(self.store.contact_photo(contact.id)?)
    }

    /// Makes `writes` and `photos` durable in one commit, then applies them to memory and to
    /// the index. Call with `writes` locked.
    pub(super) async fn commit(
        &self,
        writes: Vec<(u64, Stored)>,
        photos: Vec<(u64, Option<Vec<u8>>)>,
    ) -> Result<(), ContactError> {
        let mut records: Vec<Record> = writes
            .iter()
            .map(|(id, stored)| Record::Contact {
                id: *id,
                bytes: stored.encode(),
            })
            .collect();
        // Webhook events right after the records they report (a bulk write over
        // SUBMIT_RECORDS_MAX may put an event in the next chunk's commit).
        let events = match self.webhooks.get() {
            Some(outlet) => {
                let state = self.state.read();
                let was_live = |id| state.contacts.contains_key(&id);
                crate::webhooks::contact_events::of_writes(outlet, &writes, was_live)
            }
            None => Vec::new(),
        };
        let with_events = !events.is_empty();
        records.extend(events);
        records.extend(
            photos
                .into_iter()
                .map(|(id, bytes)| Record::ContactPhoto { id, bytes }),
        );
        for chunk in chunks(records) {
            write_durably(&self.store, chunk).await?;
        }
        if let Some(outlet) = self.webhooks.get().filter(|_| with_events) {
            outlet.committed();
        }
        let generation = self.store.contacts_generation()?;
        {
            let mut state = self.state.write();
            for (id, stored) in &writes {
                state.set(*id, stored.clone());
            }
            state.generation = generation;
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

/// The live contact `id` in `state`, or why there is none.
pub(super) fn live(state: &State, id: u64) -> Result<&Contact, ContactError> {
    if let Some(contact) = state.contacts.get(&id) {
        return Ok(contact);
    }
    match state.gone.get(&id) {
        Some(Gone::Deleted) => Err(ContactError::Deleted(id)),
        Some(Gone::Merged { .. }) => Err(ContactError::Merged {
            id,
            into: state.resolve(id).0,
        }),
        None => Err(ContactError::NotFound(id)),
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

fn chunks(mut records: Vec<Record>) -> Vec<Vec<Record>> {
    let mut out = Vec::new();
    while records.len() > SUBMIT_RECORDS_MAX {
        let rest = records.split_off(SUBMIT_RECORDS_MAX);
        out.push(records);
        records = rest;
    }
    out.push(records);
    out
}

/// Submits `records` and waits until they are durable.
async fn write_durably(store: &Store, records: Vec<Record>) -> Result<(), StoreError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    store.submit(
        records,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    )?;
    rx.await.map_err(|_| StoreError::Stopped)?.map(|_| ())
}
