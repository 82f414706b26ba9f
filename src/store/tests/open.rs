//! Opening, recovering and reopening a store: positions and recovered records carry over a
//! reopen, and `inspect` reports what the file holds.

use super::helpers::{log, message, open, owned, submit_wait, TempDir};

#[test]
fn submit_then_recover_round_trips() {
    let dir = TempDir::new("round-trip");
    let store = open(&dir);
    let empty = store.recover().unwrap();
    assert_eq!(
        (empty.snapshot, empty.log, empty.last_position),
        (None, vec![], 0)
    );
    let position = submit_wait(&store, vec![log("a"), message(1, 1, "m"), log("b")]).unwrap();
    assert_eq!(position, 2);
    // A commit without Log records reports the current position
    assert_eq!(submit_wait(&store, vec![message(1, 2, "n")]).unwrap(), 2);
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.log, owned(&[(1, "a"), (2, "b")]));
    assert_eq!(recovered.last_position, 2);
    assert_eq!(recovered.snapshot, None);
    store.close().unwrap();
}

#[test]
fn positions_continue_after_reopen() {
    let dir = TempDir::new("reopen");
    let store = open(&dir);
    assert_eq!(
        submit_wait(&store, vec![log("1"), log("2"), log("3")]).unwrap(),
        3
    );
    store.close().unwrap();
    let store = open(&dir);
    assert_eq!(store.recover().unwrap().last_position, 3);
    assert_eq!(submit_wait(&store, vec![log("4")]).unwrap(), 4);
    let recovered = store.recover().unwrap();
    assert_eq!(
        recovered.log,
        owned(&[(1, "1"), (2, "2"), (3, "3"), (4, "4")])
    );
    store.close().unwrap();
}

#[test]
fn inspect_reports_counts_and_version() {
    let dir = TempDir::new("inspect");
    let store = open(&dir);
    submit_wait(&store, vec![log("1"), log("2"), message(3, 1, "x")]).unwrap();
    let inspect = store.inspect().unwrap();
    assert_eq!(inspect.path, dir.file());
    assert_eq!(inspect.format_version, 1);
    assert_eq!((inspect.log_records, inspect.messages), (2, 1));
    assert_eq!((inspect.dialogs_with_messages, inspect.snapshot), (1, None));
    assert_eq!(inspect.last_position, 2);
    store.close().unwrap();
}
