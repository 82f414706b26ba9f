//! Opening the registry: the keys and counters brought up to date if the store's were written
//! by an older layout (or never), the counters and the next id read, and the search index
//! opened and rebuilt from the store when it is missing or at another generation. Nothing is
//! loaded per contact, so start-up with the index present costs the same for ten contacts or
//! a million.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use super::keys::{self, Counts, KEYS_VERSION, KEYS_VERSION_COUNTER, LIVE_COUNTER, TAG_COUNTER};
use super::model::Stored;
use super::registry::{write_durably_blocking, OperatorCheck, Registry, INDEX_DIR};
use super::search::index::SearchIndex;
use super::state::State;
use super::view::View;
use super::{ContactError, Settings};
use crate::clock::Clock;
use crate::store::{Record, Store};
use crate::sync::RwLock;

/// Records in one commit of the key rebuild at most.
const REBUILD_RECORDS_MAX: usize = 16_384;

impl Registry {
    /// Opens the registry on `store` and the index in `data_dir/contacts-index`. Blocks: call
    /// it before serving (not on an async worker).
    pub fn open(
        store: Store,
        data_dir: &Path,
        settings: Settings,
        clock: Arc<dyn Clock>,
        operators: OperatorCheck,
    ) -> Result<Registry, ContactError> {
        let mut view = View::new(&store)?;
        if view.read().count(KEYS_VERSION_COUNTER)? != KEYS_VERSION {
            rebuild_keys(&store, &view)?;
            view = View::new(&store)?;
        }
        let read = view.read();
        let state = State {
            next_id: read.last_id()?.map_or(1, |id| id.saturating_add(1)).max(1),
            generation: read.generation()?,
            counts: Counts {
                live: read.count(LIVE_COUNTER)?,
                tags: read
                    .counts(TAG_COUNTER)?
                    .into_iter()
                    .map(|(name, n)| (name[TAG_COUNTER.len()..].to_string(), n))
                    .collect(),
            },
        };
        let index = SearchIndex::open(&data_dir.join(INDEX_DIR))?;
        if index.generation() != Some(state.generation) {
            index.rebuild(state.generation, |add| {
                view.walk(0, |contact| {
                    add(contact.id, &contact.search_texts());
                    true
                })
            })?;
        }
        drop(view);
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
}

/// Files every stored contact under its keys and sets every counter from the records, in
/// commits of a bounded size; the last one marks the keys complete. Filing is idempotent, so an
/// interrupted rebuild is simply done again at the next start.
fn rebuild_keys(store: &Store, view: &View<'_>) -> Result<(), ContactError> {
    let mut counts = Counts::default();
    let mut touched = BTreeSet::new();
    let mut records = Vec::new();
    let mut failed = None;
    view.read().walk(0, |id, bytes| {
        let Ok(stored) = Stored::decode(bytes) else {
            return true; // reported by the walk below
        };
        keys::change(id, None, &stored, &mut counts, &mut touched, &mut records);
        if records.len() >= REBUILD_RECORDS_MAX {
            if let Err(e) = write_durably_blocking(store, std::mem::take(&mut records)) {
                failed = Some(e);
                return false;
            }
        }
        true
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    view.walk(0, |_| true)?; // a damaged record stops the start, naming it
                             // Counters of tags no longer in use go to 0 (a rebuild over an older layout's counters).
    for (name, _) in view.read().counts(TAG_COUNTER)? {
        touched.insert(name);
    }
    records.extend(keys::counter_records(&counts, &touched));
    records.push(Record::ContactCount {
        name: KEYS_VERSION_COUNTER.to_string(),
        count: KEYS_VERSION,
    });
    write_durably_blocking(store, records)?;
    Ok(())
}
