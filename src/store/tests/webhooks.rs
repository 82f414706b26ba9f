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

/// The listener is told of each durable batch's events with the numbers the outbox gives them,
/// also after a reopen (numbering goes on from the file), and never of a refused submission. It
/// is told after the batch's callbacks, so the test waits for it (the writer tells batches in
/// order: once "c" is heard, anything refused before it would have been heard too).
#[test]
fn the_listener_gets_events_numbered_as_stored() {
    use crate::sync::{Arc, Mutex};
    let dir = TempDir::new("webhook-listener");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    submit_wait(&store, vec![event("before the listener")]).unwrap();
    type Heard = Vec<(u64, Vec<u8>)>;
    let heard: Arc<Mutex<Heard>> = Arc::default();
    let sink = heard.clone();
    let listener = Arc::new(move |events: &crate::store::Events| {
        let owned = events.iter().map(|(seq, bytes)| (*seq, bytes.to_vec()));
        sink.lock().extend(owned);
    });
    assert!(store.listen_events(listener.clone()));
    submit_wait(&store, vec![event("a"), log("beside"), event("b")]).unwrap();
    // A snapshot ahead of the log is refused whole: its event is neither stored nor told.
    let refused = vec![
        event("refused"),
        Record::Snapshot {
            covers: 99,
            bytes: vec![],
        },
    ];
    assert!(submit_wait(&store, refused).is_err());
    submit_wait(&store, vec![event("c")]).unwrap();
    let heard_at_least = |count: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while heard.lock().len() < count && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    };
    heard_at_least(3);
    let told = texts(heard.lock().clone());
    assert_eq!(told, texts(store.webhook_events_after(1, 10).unwrap()));
    assert_eq!(told, [(2, "a".into()), (3, "b".into()), (4, "c".into())]);
    store.close().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert!(store.listen_events(listener));
    submit_wait(&store, vec![event("d")]).unwrap();
    heard_at_least(4);
    assert_eq!(heard.lock().last().unwrap().0, 5);
    store.close().unwrap();
}

/// The outbox id exists from the first open on and never changes: it is not drawn while records
/// are applied, where a journal replay after a crash would draw another and change every
/// `webhook-id` already sent.
#[test]
fn the_outbox_id_is_set_at_open_and_kept() {
    let dir = TempDir::new("webhook-instance");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let instance = store.webhook_instance().unwrap();
    assert_ne!(instance, 0, "set before any event");
    submit_wait(&store, vec![event("a")]).unwrap();
    assert_eq!(store.webhook_instance().unwrap(), instance);
    store.close().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.webhook_instance().unwrap(), instance);
    store.close().unwrap();
}
