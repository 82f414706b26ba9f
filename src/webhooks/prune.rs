//! Deleting old outbox events: an event is deleted once every running endpoint's cursor is past
//! it (it is settled everywhere) and it is older than the longest `max_age` configured (so a
//! failed delivery can still be retried by hand for that long); its delivery rows go with it.
//! Runs every [`PRUNE_EVERY`], at most [`EVENTS_PER_RUN_MAX`] events per run, which keeps up
//! with 8,000 events/s.

use std::time::Duration;

use super::event::OutboxEvent;
use crate::store::{Record, Store};

/// How often old events are looked for.
pub const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// Events looked at (and deleted) per run at most.
const EVENTS_PER_RUN_MAX: u64 = 262_144;
/// Events read per page while looking.
const PAGE: usize = 4_096;

/// The newest event seq that may be deleted: at most `settled_upto`, created before `cutoff_ms`;
/// `None` when there is none. Reads at most [`EVENTS_PER_RUN_MAX`] events, a page at a time.
pub fn prunable(store: &Store, settled_upto: u64, cutoff_ms: u64) -> Option<u64> {
    let mut last = None;
    let mut after = 0;
    let mut looked = 0u64;
    while looked < EVENTS_PER_RUN_MAX {
        let events = store.webhook_events_after(after, PAGE).ok()?;
        let count = events.len();
        for (seq, bytes) in events {
            if seq > settled_upto {
                return last;
            }
            // An event that does not decode is not worth keeping.
            let old = OutboxEvent::decode(&bytes).is_none_or(|e| e.created_ms < cutoff_ms);
            if !old {
                return last;
            }
            last = Some(seq);
            after = seq;
        }
        looked += count as u64;
        if count < PAGE {
            break;
        }
    }
    last
}

/// Deletes the events up to `seq` (without waiting).
pub fn prune(store: &Store, seq: u64) {
    let _ = store.submit(vec![Record::WebhookPrune { seq }], Box::new(|_| {}));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use crate::webhooks::event::EventKind;

    fn submit_wait(store: &Store, records: Vec<Record>) {
        let (tx, rx) = std::sync::mpsc::channel();
        store
            .submit(records, Box::new(move |r| tx.send(r.is_ok()).unwrap()))
            .unwrap();
        assert!(rx.recv().unwrap());
    }

    /// Only events settled everywhere and older than the cutoff go, oldest first.
    #[test]
    fn only_settled_and_old_events_are_prunable() {
        let dir = std::env::temp_dir().join(format!("sb-prune-{}", crate::hub::random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir, StoreOptions::default()).unwrap();
        let event = |at_ms| {
            let e = OutboxEvent::new(
                EventKind::DialogCreated,
                None,
                None,
                at_ms,
                serde_json::Value::Null,
            );
            Record::WebhookEvent(e.encode())
        };
        submit_wait(&store, vec![event(100), event(200), event(300), event(400)]);
        let delivery = |endpoint: &str, seq| Record::WebhookDelivery {
            endpoint: endpoint.into(),
            seq,
            bytes: vec![1],
        };
        let rows: Vec<Record> = ["a", "b"]
            .iter()
            .flat_map(|e| (1..=4).map(move |seq| delivery(e, seq)))
            .collect();
        submit_wait(&store, rows);
        assert_eq!(prunable(&store, 4, 250), Some(2));
        assert_eq!(prunable(&store, 1, 250), Some(1));
        assert_eq!(prunable(&store, 4, 50), None);
        prune(&store, 2);
        submit_wait(&store, Vec::new());
        let left: Vec<u64> = store
            .webhook_events_after(0, 10)
            .unwrap()
            .into_iter()
            .map(|(seq, _)| seq)
            .collect();
        assert_eq!(left, [3, 4]);
        // Both endpoints' rows of the deleted events are gone, the others stay.
        for endpoint in ["a", "b"] {
            let kept: Vec<u64> = store
                .webhook_deliveries(endpoint, u64::MAX, 10)
                .unwrap()
                .into_iter()
                .map(|(seq, _)| seq)
                .collect();
            assert_eq!(kept, [4, 3], "{endpoint}");
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
