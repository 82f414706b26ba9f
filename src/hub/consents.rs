//! Clients' answers to a line's consent notice (SPEC "Agreements"): stored durably per (line,
//! client) with the notice's version, the time and whether it was accepted, read back when the
//! client says hello again (an accepted current version is not asked again), and listed for the
//! admin API.
//!
//! Without a store (an hub built for tests) nothing is kept: every connection is asked.

use crate::hub::Hub;
use crate::store::records::{PersistError, ReadError};
use crate::store::Record;
use crate::store::StoreError;
use serde::{Deserialize, Serialize};

/// One stored answer (the store's bytes, MessagePack).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAnswer {
    /// The notice's version the client answered.
    pub version: u32,
    pub accepted: bool,
    /// When, in ms since the epoch (the hub's clock).
    pub answered_ms: u64,
}

/// An answer as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsentView {
    pub line: String,
    pub client_id: String,
    pub version: u32,
    pub accepted: bool,
    pub answered_ts: i64,
}

impl ConsentView {
    /// A stored answer (the store's key and bytes); an unreadable one is an error naming it.
    pub fn decode(line: &str, client: &str, bytes: &[u8]) -> Result<ConsentView, PersistError> {
        let answer: ConsentAnswer =
            rmp_serde::from_slice(bytes).map_err(|e| PersistError::Consent {
                line: line.to_string(),
                client: client.to_string(),
                source: e,
            })?;
        Ok(ConsentView {
            line: line.to_string(),
            client_id: client.to_string(),
            version: answer.version,
            accepted: answer.accepted,
            answered_ts: answer.answered_ms as i64,
        })
    }
}

impl Hub {
    /// The stored answer of `client` on line `line` (by id), if any. A store that cannot be read
    /// reads as no answer: the client is asked again, which is safe.
    pub fn stored_consent(&self, line: &str, client: &str) -> Option<ConsentAnswer> {
        let bytes = self.store.as_ref()?.consent(line, client).ok()??;
        rmp_serde::from_slice(&bytes).ok()
    }

    /// Stores `client`'s answer to version `version` of line `line`'s notice, now; returns once
    /// it is durable (at once without a store).
    pub async fn record_consent(
        &self,
        line: &str,
        client: &str,
        version: u32,
        accepted: bool,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let answer = ConsentAnswer {
            version,
            accepted,
            answered_ms: self.clock.now_ms(),
        };
        let record = Record::Consent {
            line: line.to_string(),
            client: client.to_string(),
            bytes: crate::store::records::encode(&answer),
        };
        let event = self.webhooks.outlet.event(
            crate::webhooks::event::EventKind::ConsentAnswered,
            Some(line),
            Some(format!("client:{line}:{client}")),
            || serde_json::json!({"line": line, "client_id": client, "version": version, "accepted": accepted}),
        );
        let records = std::iter::once(record).chain(event).collect();
        crate::hub::write_durably(store, records).await?;
        Ok(())
    }

    /// At most `limit` answers on line `line` (by id) from clients after `after`, by client id.
    pub fn consents(
        &self,
        line: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConsentView>, ReadError> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let entries = store.consents_of_line(line, after, limit)?;
        entries
            .iter()
            .map(|entry| ConsentView::decode(&entry.line, &entry.client, &entry.bytes))
            .map(|view| view.map_err(ReadError::from))
            .collect()
    }
}
