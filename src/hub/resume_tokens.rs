//! Widget resume tokens in memory: the client and line of each token (by the token's SHA-256),
//! and which client ids have a token at all, so a `hello` without a token can never take over
//! the id of a client that has one. Durable copies live in the store's log and snapshots.

use std::collections::HashMap;
use std::sync::Arc;

/// Tokens by hash, and the clients they belong to.
#[derive(Default)]
pub struct ResumeTokens {
    by_hash: HashMap<[u8; 32], (Arc<str>, Arc<str>)>,
    /// Tokens per client id.
    clients: HashMap<Arc<str>, usize>,
}

impl ResumeTokens {
    /// From `(hash, client, line)` entries (a snapshot or the log).
    pub fn from_entries(entries: impl IntoIterator<Item = ([u8; 32], Arc<str>, Arc<str>)>) -> Self {
        let mut tokens = Self::default();
        for (hash, client, line) in entries {
            tokens.insert(hash, client, line);
        }
        tokens
    }

    pub fn insert(&mut self, hash: [u8; 32], client: Arc<str>, line: Arc<str>) {
        if let Some((old, _)) = self.by_hash.insert(hash, (client.clone(), line)) {
            self.forget_one(&old);
        }
        *self.clients.entry(client).or_default() += 1;
    }

    pub fn remove(&mut self, hash: &[u8; 32]) {
        if let Some((client, _)) = self.by_hash.remove(hash) {
            self.forget_one(&client);
        }
    }

    fn forget_one(&mut self, client: &Arc<str>) {
        if let Some(n) = self.clients.get_mut(client) {
            *n -= 1;
            if *n == 0 {
                self.clients.remove(client);
            }
        }
    }

    /// The client and line of a token.
    pub fn get(&self, hash: &[u8; 32]) -> Option<(Arc<str>, Arc<str>)> {
        self.by_hash.get(hash).cloned()
    }

    /// Whether some token belongs to `client`.
    pub fn knows(&self, client: &str) -> bool {
        self.clients.contains_key(client)
    }

    /// Every `(hash, client, line)`.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8; 32], &(Arc<str>, Arc<str>))> {
        self.by_hash.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_known_while_one_of_its_tokens_is() {
        let mut tokens = ResumeTokens::default();
        tokens.insert([1; 32], "c1".into(), "support".into());
        tokens.insert([2; 32], "c1".into(), "sales".into());
        assert!(tokens.knows("c1"));
        assert!(!tokens.knows("c2"));
        tokens.remove(&[1; 32]);
        assert!(tokens.knows("c1"));
        tokens.remove(&[2; 32]);
        assert!(!tokens.knows("c1"));
        assert_eq!(tokens.get(&[2; 32]), None);
    }
}
