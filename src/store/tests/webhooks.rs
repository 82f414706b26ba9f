//! The webhook outbox tables: events numbered in submission order across commits (never a
//! number twice, even after older events are deleted), deliveries and cursors upserted and
//! deleted, all surviving a reopen; a file without the tables reads as empty.

use super::helpers::{log, submit_wait, TempDir};
use crate::store::{Record, Store, StoreOptions};

fn event(text: &str) -> Record {
    Record::WebhookEvent(text.as_bytes().to_vec())
}

fn texts(events: Vec<(u64, Vec<u8>)>) -> Vec<(u64, String)> {
    events
        .into_iter()
        .map(|(seq, bytes)| (seq, String::from_utf8(bytes).unwrap()))
        .collect()
}

#[test]
fn events_are_numbered_in_order_and_numbers_are_never_reused() {
    let dir = TempDir::new("webhook-events");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.webhook_last_seq().unwrap(), 0);
    assert_eq!(store.webhook_events_after(0, 10).unwrap(), vec![]);
    assert_eq!(store.webhook_cursor("crm").unwrap(), None);
    submit_wait(&store, vec![event("a"), log("beside it"), event("b")]).unwrap();
    submit_wait(&store, vec![event("c")]).unwrap();
    assert_eq!(
        texts(store.webhook_events_after(0, 10).unwrap()),
        [(1, "a".into()), (2, "b".into()), (3, "c".into())]
    );
    assert_eq!(
        texts(store.webhook_events_after(1, 1).unwrap()),
        [(2, "b".into())]
    );
    submit_wait(&store, vec![Record::WebhookPrune { seq: 3 }]).unwrap();
    assert_eq!(store.webhook_event(2).unwrap(), None);
    submit_wait(&store, vec![event("d")]).unwrap();
    drop(store);
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        texts(store.webhook_events_after(0, 10).unwrap()),
        [(4, "d".into())]
    );
    assert_eq!(store.webhook_last_seq().unwrap(), 4);
}

#[test]
fn deliveries_and_cursors_upsert_delete_and_survive_a_reopen() {
    let dir = TempDir::new("webhook-deliveries");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let delivery = |endpoint: &str, seq, text: &str| Record::WebhookDelivery {
        endpoint: endpoint.into(),
        seq,
        bytes: text.as_bytes().to_vec(),
    };
    let cursor = |seq| Record::WebhookCursor {
        endpoint: "crm".into(),
        seq,
    };
    submit_wait(
        &store,
        vec![
            delivery("crm", 1, "pending"),
            delivery("crm", 2, "failed"),
            delivery("crm-b", 1, "other endpoint"),
            delivery("crm", 1, "delivered"),
            cursor(Some(2)),
        ],
    )
    .unwrap();
    drop(store);
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        store.webhook_delivery("crm", 1).unwrap(),
        Some(b"delivered".to_vec())
    );
    assert_eq!(
        texts(store.webhook_deliveries("crm", u64::MAX, 10).unwrap()),
        [(2, "failed".into()), (1, "delivered".into())]
    );
    assert_eq!(
        texts(store.webhook_deliveries("crm", 2, 10).unwrap()),
        [(1, "delivered".into())]
    );
    assert_eq!(store.webhook_cursor("crm").unwrap(), Some(2));
    submit_wait(&store, vec![cursor(None)]).unwrap();
    assert_eq!(store.webhook_cursor("crm").unwrap(), None);
}
