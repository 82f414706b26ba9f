//! The log and its snapshots: a snapshot trims the log it covers, recovery is the snapshot plus
//! the later log, and a snapshot ahead of the log or older than the stored one is refused.

use super::helpers::{log, open, owned, submit_wait, TempDir};
use crate::store::{Record, StoreError};

#[test]
fn snapshot_trims_log_and_recovery_is_snapshot_plus_later_log() {
    let dir = TempDir::new("snapshot");
    let store = open(&dir);
    let records = (1..=5).map(|i| log(&format!("e{i}"))).collect();
    assert_eq!(submit_wait(&store, records).unwrap(), 5);
    let snapshot = Record::Snapshot {
        covers: 3,
        bytes: b"state@3".to_vec(),
    };
    assert_eq!(submit_wait(&store, vec![snapshot, log("e6")]).unwrap(), 6);
    assert_eq!(submit_wait(&store, vec![log("e7")]).unwrap(), 7);
    let expect_log = owned(&[(4, "e4"), (5, "e5"), (6, "e6"), (7, "e7")]);
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.snapshot, Some((3, b"state@3".to_vec())));
    assert_eq!(recovered.log, expect_log);
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.log_records, inspect.snapshot), (4, Some((3, 7))));
    store.close().unwrap();

    // After a restart: the same, and positions go on after 7 although the log was trimmed
    let store = open(&dir);
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.snapshot, Some((3, b"state@3".to_vec())));
    assert_eq!((recovered.log, recovered.last_position), (expect_log, 7));
    // A newer snapshot replaces the old one and trims everything it covers
    let snapshot = Record::Snapshot {
        covers: 7,
        bytes: b"state@7".to_vec(),
    };
    assert_eq!(submit_wait(&store, vec![snapshot]).unwrap(), 7);
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.snapshot, Some((7, b"state@7".to_vec())));
    assert!(recovered.log.is_empty());
    assert_eq!(submit_wait(&store, vec![log("e8")]).unwrap(), 8);
    store.close().unwrap();
}

#[test]
fn snapshot_ahead_of_log_or_older_than_stored_is_refused_alone() {
    let dir = TempDir::new("snapshot-refused");
    let store = open(&dir);
    submit_wait(&store, vec![log("1"), log("2")]).unwrap();
    submit_wait(
        &store,
        vec![Record::Snapshot {
            covers: 2,
            bytes: vec![2],
        }],
    )
    .unwrap();
    let ahead = submit_wait(
        &store,
        vec![
            log("3"),
            Record::Snapshot {
                covers: 9,
                bytes: vec![],
            },
        ],
    );
    assert!(
        matches!(ahead, Err(StoreError::SnapshotRefused { covers: 9, .. })),
        "{ahead:?}"
    );
    let older = submit_wait(
        &store,
        vec![Record::Snapshot {
            covers: 1,
            bytes: vec![],
        }],
    );
    assert!(
        matches!(older, Err(StoreError::SnapshotRefused { covers: 1, .. })),
        "{older:?}"
    );
    // The refused submissions wrote nothing, not even their Log record
    let recovered = store.recover().unwrap();
    assert_eq!(
        (recovered.snapshot, recovered.last_position),
        (Some((2, vec![2])), 2)
    );
    assert!(recovered.log.is_empty());
    assert_eq!(submit_wait(&store, vec![log("3")]).unwrap(), 3);
    store.close().unwrap();
}
