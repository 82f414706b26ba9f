//! Widget sessions by client id, in 64 independently locked parts, so no lock is shared by all
//! connections.

use super::{Outbound, SessionTx};
use crate::protocol::WidgetOut;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

const PARTS: usize = 64;

/// Widget sessions by client id.
pub struct ClientRegistry {
    parts: Vec<Mutex<HashMap<Arc<str>, Vec<SessionTx>>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for ClientRegistry {
    fn default() -> Self {
        Self {
            parts: (0..PARTS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
        }
    }
}

impl ClientRegistry {
    fn part<K: Hash + ?Sized>(&self, key: &K) -> &Mutex<HashMap<Arc<str>, Vec<SessionTx>>> {
        &self.parts[(self.hasher.hash_one(key) as usize) % PARTS]
    }

    /// Adds a session of `client`.
    pub fn attach(&self, client: &Arc<str>, session: SessionTx) {
        self.part(&**client)
            .lock()
            .entry(client.clone())
            .or_default()
            .push(session);
    }

    /// Removes a session of `client`.
    pub fn detach(&self, client: &str, session_id: u64) {
        let mut part = self.part(client).lock();
        if let Some(list) = part.get_mut(client) {
            list.retain(|s| s.id != session_id);
            if list.is_empty() {
                part.remove(client);
            }
        }
    }

    /// Delivers `frame` to every session of `client`.
    pub fn send(&self, client: &str, frame: Arc<WidgetOut>) {
        if let Some(list) = self.part(client).lock().get_mut(client) {
            list.retain(|s| s.send(Outbound::Widget(frame.clone())));
        }
    }
}
