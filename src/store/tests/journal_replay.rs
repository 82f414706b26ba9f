//! The journal's part in durability: acknowledged commits are readable before any checkpoint,
//! a clean close leaves no journal, and recovery replays exactly the frames the database does
//! not have yet (a frame both in a durable commit and in the journal is not applied twice).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::helpers::{log, message, owned, submit_wait, TempDir};
use crate::store::{Store, StoreOptions, JOURNAL_FILE_NAME};

/// Checkpoints only when closing.
fn rarely_checkpointing() -> StoreOptions {
    StoreOptions {
        checkpoint_every: Duration::from_secs(3600),
        ..StoreOptions::default()
    }
}

/// The journal's segment files in `dir` and their bytes, oldest first.
fn segments(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(JOURNAL_FILE_NAME)
        })
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    found.sort();
    found
}

fn restore(segments: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in segments {
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn commits_are_read_before_a_checkpoint_and_a_clean_close_leaves_no_journal() {
    let dir = TempDir::new("journal-close");
    let store = Store::open(dir.path(), rarely_checkpointing()).unwrap();
    submit_wait(&store, vec![log("a"), message(7, 1, "hello")]).unwrap();
    assert_eq!(segments(dir.path()).len(), 1);
    assert_eq!(store.recover().unwrap().log, owned(&[(1, "a")]));
    assert_eq!(
        store.messages(7, 0, 10, 10).unwrap(),
        owned(&[(1, "hello")])
    );
    store.close().unwrap();
    assert!(segments(dir.path()).is_empty());
    let store = Store::open(dir.path(), rarely_checkpointing()).unwrap();
    assert_eq!(store.recover().unwrap().log, owned(&[(1, "a")]));
    store.close().unwrap();
}

/// A crash between a checkpoint and the journal's deletion leaves frames the database already
/// has: replaying them again would log "a" twice.
#[test]
fn frames_the_database_has_are_not_replayed() {
    let dir = TempDir::new("journal-skip");
    let store = Store::open(dir.path(), rarely_checkpointing()).unwrap();
    submit_wait(&store, vec![log("a")]).unwrap();
    submit_wait(&store, vec![log("b")]).unwrap();
    let stale = segments(dir.path());
    store.close().unwrap();
    restore(&stale);
    let store = Store::open(dir.path(), rarely_checkpointing()).unwrap();
    let recovered = store.recover().unwrap();
    assert_eq!(recovered.log, owned(&[(1, "a"), (2, "b")]));
    // Numbering goes on after the newest batch, not after the stale frames.
    assert_eq!(submit_wait(&store, vec![log("c")]).unwrap(), 3);
    let newer = segments(dir.path());
    store.close().unwrap();
    // Both the stale frames and "c": only "c" is replayed onto a database that has a and b.
    restore(&stale);
    restore(&newer);
    let store = Store::open(dir.path(), rarely_checkpointing()).unwrap();
    let log_now = store.recover().unwrap().log;
    assert_eq!(log_now, owned(&[(1, "a"), (2, "b"), (3, "c")]));
    store.close().unwrap();
}

/// A journal whose next frame does not follow the database's newest batch is refused, not
/// skipped over.
#[test]
fn a_gap_in_the_journal_is_refused() {
    // Another store's journal of four equal batches: its fourth frame is batch 4.
    let other = TempDir::new("journal-gap-source");
    let store = Store::open(other.path(), rarely_checkpointing()).unwrap();
    for _ in 0..4 {
        submit_wait(&store, vec![log("x")]).unwrap();
    }
    let four = segments(other.path()).remove(0).1;
    store.close().unwrap();
    let fourth = four[four.len() / 4 * 3..].to_vec();
    // A database with batches 1 and 2, then a journal holding only batch 4.
    let dir = TempDir::new("journal-gap");
    let store = Store::open(dir.path(), rarely_checkpointing()).unwrap();
    submit_wait(&store, vec![log("a")]).unwrap();
    submit_wait(&store, vec![log("b")]).unwrap();
    store.close().unwrap();
    let segment = dir.path().join(format!("{JOURNAL_FILE_NAME}.{:020}", 4));
    std::fs::write(segment, &fourth).unwrap();
    let refused = Store::open(dir.path(), rarely_checkpointing())
        .err()
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("journal batch 4 where 3 was expected"),
        "{refused}"
    );
}
