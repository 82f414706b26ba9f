//! The interaction log of a contact: one entry per closed chat (written by the shard in the
//! commit that closes it) and the calls, meetings, emails and notes operators and the admin API
//! add. Entries are stored under `(contact, ts, nonce)`, so a contact's log reads newest first
//! straight from the store; a survivor's log includes the logs of every id merged into it
//! (found under its `m:` key), so a merge moves nothing and loses nothing.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::keys;
use super::registry::{write_durably, Registry};
use super::search::{Ask, Viewer};
use super::{ContactError, FieldError};
use crate::store::Record;

/// Entries in one page at most.
pub const PAGE_LIMIT_MAX: usize = 200;
/// Characters of an interaction's text at most.
pub const TEXT_CHARS_MAX: usize = 10_000;
/// Merged ids followed when gathering a survivor's log at most.
const MERGED_IDS_MAX: usize = 1_000;

/// One entry of a contact's interaction log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// `chat`, `link`, or a configured kind (`call`, `meeting`, `email`, `note` by default).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Who added it (an operator id, `admin`), or the operator(s) of a chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatSummary>,
}

/// What a closed chat leaves in the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSummary {
    pub dialog_id: u64,
    pub line: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operators: Vec<String>,
    pub opened_ts: u64,
    pub closed_ts: u64,
    pub messages: u64,
    pub close_reason: String,
    /// `like` or `dislike`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_ms: Option<u64>,
    /// Where its history is read (`/api/v1/dialogs/{id}/messages`).
    pub history: String,
}

impl Interaction {
    pub fn encode(&self) -> Vec<u8> {
        // Strings and numbers always serialize.
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Interaction> {
        rmp_serde::from_slice(bytes).ok()
    }

    /// The record that files this entry under `contact` at `ts`.
    pub fn record(&self, contact: u64, ts: u64, nonce: u64) -> Record {
        Record::ContactInteraction {
            contact,
            ts,
            nonce,
            bytes: Some(self.encode()),
        }
    }
}

/// An entry as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// `"TS-NONCE"`: unique, and the paging cursor.
    pub id: String,
    pub contact_id: u64,
    pub ts: u64,
    #[serde(flatten)]
    pub interaction: Interaction,
}

/// A page of entries, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogPage {
    pub interactions: Vec<Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// Parses an entry id / cursor `"TS-NONCE"`.
pub fn parse_cursor(text: &str) -> Option<(u64, u64)> {
    let (ts, nonce) = text.split_once('-')?;
    Some((ts.parse().ok()?, nonce.parse().ok()?))
}

/// Nonces of entries added by hand: distinct within a run, and far above dialog ids (the
/// nonce of a chat's entry) across runs.
static NONCE: AtomicU64 = AtomicU64::new(0);

fn nonce(now_ms: u64) -> u64 {
    let base = now_ms.saturating_mul(1_000) | (1 << 62);
    let _ = NONCE.compare_exchange(0, base, Ordering::AcqRel, Ordering::Acquire);
    NONCE.fetch_add(1, Ordering::AcqRel)
}

impl Registry {
    /// Checks an entry a person adds: a configured kind, a text of bounded length.
    fn checked(&self, kind: &str, text: &str) -> Result<(), ContactError> {
        if !self.settings.interaction_kinds.iter().any(|k| k == kind) {
            return Err(FieldError::new(
                "kind",
                format!(
                    "\"{kind}\" is not an interaction kind (one of: {})",
                    self.settings.interaction_kinds.join(", ")
                ),
            )
            .into());
        }
        if text.trim().is_empty() {
            return Err(FieldError::new("text", "must not be empty").into());
        }
        if text.chars().count() > TEXT_CHARS_MAX {
            return Err(
                FieldError::new("text", format!("at most {TEXT_CHARS_MAX} characters")).into(),
            );
        }
        Ok(())
    }

    /// Adds an entry to contact `id`'s log (a merged id adds to its survivor); durable on
    /// return.
    pub async fn add_interaction(
        &self,
        id: u64,
        kind: &str,
        text: &str,
        author: &str,
        viewer: &Viewer,
    ) -> Result<Entry, ContactError> {
        self.checked(kind, text)?;
        let contact = self.get(self.resolve(id)?, viewer)?;
        let ts = self.now_ms();
        let nonce = nonce(ts);
        let interaction = Interaction {
            kind: kind.to_string(),
            text: Some(text.to_string()),
            author: Some(author.to_string()),
            chat: None,
        };
        write_durably(&self.store, vec![interaction.record(contact.id, ts, nonce)]).await?;
        Ok(Entry {
            id: format!("{ts}-{nonce}"),
            contact_id: contact.id,
            ts,
            interaction,
        })
    }

    /// Adds one entry to every contact `q` and `ask` find (a segment), in commits of at most
    /// the store's submission size; returns how many it recorded.
    pub async fn add_to_segment(
        &self,
        q: Option<&str>,
        ask: &Ask,
        kind: &str,
        text: &str,
        author: &str,
    ) -> Result<usize, ContactError> {
        self.checked(kind, text)?;
        let mut ask = ask.clone();
        ask.limit = super::search::PAGE_LIMIT_MAX;
        ask.after = None;
        let ts = self.now_ms();
        let interaction = Interaction {
            kind: kind.to_string(),
            text: Some(text.to_string()),
            author: Some(author.to_string()),
            chat: None,
        };
        let mut records = Vec::new();
        loop {
            let page = self.search(q, &ask).await?;
            for contact in &page.contacts {
                records.push(interaction.record(contact.id, ts, nonce(ts)));
            }
            match page
                .next_after
                .as_deref()
                .and_then(super::search::Cursor::parse)
            {
                Some(cursor) => ask.after = Some(cursor),
                None => break,
            }
        }
        let recorded = records.len();
        while !records.is_empty() {
            let rest = records.split_off(records.len().min(super::registry::SUBMIT_RECORDS_MAX));
            write_durably(&self.store, std::mem::replace(&mut records, rest)).await?;
        }
        Ok(recorded)
    }

    /// A page of contact `id`'s log (with the logs of the ids merged into it), newest first.
    pub fn interactions(
        &self,
        id: u64,
        viewer: &Viewer,
        before: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<LogPage, ContactError> {
        let contact = self.get(id, viewer)?;
        let view = self.view()?;
        let mut entries = Vec::new();
        for owner in family(&view, contact.id)? {
            for ((ts, nonce), bytes) in view.read().interactions(owner, before, limit + 1)? {
                if let Some(interaction) = Interaction::decode(&bytes) {
                    entries.push(Entry {
                        id: format!("{ts}-{nonce}"),
                        contact_id: contact.id,
                        ts,
                        interaction,
                    });
                }
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(parse_cursor(&e.id)));
        let next_before = (entries.len() > limit).then(|| entries[limit - 1].id.clone());
        entries.truncate(limit);
        Ok(LogPage {
            interactions: entries,
            next_before: next_before.filter(|_| limit > 0),
        })
    }

    /// Follows merge pointers from `id` to its survivor (an unknown or deleted id is itself).
    pub fn resolve(&self, id: u64) -> Result<u64, ContactError> {
        Ok(self.view()?.resolve(id)?.0)
    }
}

/// `id` and every id merged into it, directly or through other merges.
pub(super) fn family(view: &super::view::View<'_>, id: u64) -> Result<Vec<u64>, ContactError> {
    let mut seen = BTreeSet::from([id]);
    let mut todo = vec![id];
    while let Some(next) = todo.pop() {
        for merged in view.read().ids(&keys::merged_into(next))? {
            if seen.len() < MERGED_IDS_MAX && seen.insert(merged) {
                todo.push(merged);
            }
        }
    }
    Ok(seen.into_iter().collect())
}
