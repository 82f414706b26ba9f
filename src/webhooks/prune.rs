//! Deleting old outbox events: an event is deleted once every running endpoint's cursor is past
//! it (it is settled everywhere) and it is older than the longest `max_age` configured (so a
//! failed delivery can still be retried by hand for that long). Delivery rows are kept. Runs
//! every [`PRUNE_EVERY`], a bounded number of events per run.

use std::time::Duration;

use super::event::OutboxEvent;
use crate::store::{Record, Store};

/// How often old events are looked for.
pub const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Events looked at per run at most.
const EVENTS_PER_RUN_MAX: usize = 4_096;

/// The newest event seq that may be deleted: at most `settled_upto`, created before `cutoff_ms`;
/// `None` when there is none. Reads at most [`EVENTS_PER_RUN_MAX`] events.
pub fn prunable(store: &Store, settled_upto: u64, cutoff_ms: u64) -> Option<u64> {
    let events = store.webhook_events_after(0, EVENTS_PER_RUN_MAX).ok()?;
    let mut last = None;
    for (seq, bytes) in events {
        if seq > settled_upto {
            break;
        }
        // An event that does not decode is not worth keeping.
        let old = OutboxEvent::decode(&bytes).is_none_or(|e| e.created_ms < cutoff_ms);
        if !old {
            break;
        }
        last = Some(seq);
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
                Default::default(),
            );
            Record::WebhookEvent(e.encode())
        };
        submit_wait(&store, vec![event(100), event(200), event(300), event(400)]);
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
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
