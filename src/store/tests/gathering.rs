//! The applier's gathering: acknowledged batches wait to be applied together, a read that needs
//! them cuts the wait short (and sees them), a read that does not wait sees only what is
//! applied, and a close does not wait for the gathering either.

use std::sync::mpsc;
use std::time::Duration;

use super::helpers::{message, owned, submit_wait, TempDir};
use crate::store::{Record, Store, StoreOptions};

/// Longer than any test may take: only a hurried applier applies anything.
fn gathering_for_an_hour() -> StoreOptions {
    StoreOptions {
        apply_gather: Duration::from_secs(3600),
        ..StoreOptions::default()
    }
}

/// Runs `work` on a thread and returns its result, failing the test if it takes a minute (the
/// applier would be gathering still).
fn within_a_minute<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    result
        .recv_timeout(Duration::from_secs(60))
        .expect("waited for the applier's gathering")
}

fn event(text: &str) -> Record {
    Record::WebhookEvent(text.as_bytes().to_vec())
}

fn seqs(events: Vec<(u64, Vec<u8>)>) -> Vec<u64> {
    events.into_iter().map(|(seq, _)| seq).collect()
}

#[test]
fn gathered_batches_wait_until_a_reader_needs_them() {
    let dir = TempDir::new("apply-gather");
    let store = Store::open(dir.path(), gathering_for_an_hour()).unwrap();
    submit_wait(&store, vec![event("a")]).unwrap();
    submit_wait(&store, vec![event("b"), message(7, 1, "hello")]).unwrap();
    // Acknowledged (in the journal) but still gathered: a read that does not wait sees none
    assert!(store
        .webhook_events_applied_after(0, 10)
        .unwrap()
        .is_empty());
    // A read that waits hurries the applier and sees both batches
    let reader = store.clone();
    let read = within_a_minute(move || reader.messages(7, 0, 10, 10).unwrap());
    assert_eq!(read, owned(&[(1, "hello")]));
    assert_eq!(
        seqs(store.webhook_events_applied_after(0, 10).unwrap()),
        [1, 2]
    );
    // The next batch is gathered again
    submit_wait(&store, vec![event("c")]).unwrap();
    assert_eq!(
        seqs(store.webhook_events_applied_after(0, 10).unwrap()),
        [1, 2]
    );
    let reader = store.clone();
    let read = within_a_minute(move || reader.webhook_events_after(0, 10).unwrap());
    assert_eq!(seqs(read), [1, 2, 3]);
    within_a_minute(move || store.close()).unwrap();
}

#[test]
fn a_close_applies_what_is_gathered_and_keeps_it() {
    let dir = TempDir::new("apply-gather-close");
    let store = Store::open(dir.path(), gathering_for_an_hour()).unwrap();
    submit_wait(&store, vec![message(3, 1, "kept"), event("a")]).unwrap();
    within_a_minute(move || store.close()).unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.messages(3, 0, 10, 10).unwrap(), owned(&[(1, "kept")]));
    assert_eq!(
        seqs(store.webhook_events_applied_after(0, 10).unwrap()),
        [1]
    );
    store.close().unwrap();
}
