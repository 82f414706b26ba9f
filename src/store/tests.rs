//! Tests of the store against real files in temporary directories (never tmpfs-only tricks:
//! every commit here is a real fsync). The crash test is in `tests/crash.rs`, the model-based
//! property test in `tests/model.rs`.

mod crash;
mod model;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use redb::{Database, ReadableDatabase};

use super::schema::{
    DIALOGS, FORMAT_VERSION, KEY_FORMAT_VERSION, KEY_LAST_POSITION, LOG, MESSAGES, META, SNAPSHOT,
};
use super::{CommitStats, ConsentEntry, Record, Store, StoreError, StoreOptions, FILE_NAME};

/// A directory under the system temp dir, removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "switchboard-store-{name}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    fn file(&self) -> PathBuf {
        self.0.join(FILE_NAME)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The seed of a random test: SWITCHBOARD_TEST_SEED if set, else the clock; printed.
pub(super) fn test_seed(test: &str) -> u64 {
    let seed = std::env::var("SWITCHBOARD_TEST_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: SWITCHBOARD_TEST_SEED={seed}");
    seed
}

/// splitmix64: small, seedable, good enough for test inputs.
pub(super) struct Rng(pub u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Submits and waits for `done`.
pub(super) fn submit_wait(store: &Store, records: Vec<Record>) -> Result<u64, StoreError> {
    let (tx, rx) = mpsc::channel();
    store.submit(
        records,
        Box::new(move |result| {
            let _ = tx.send(result);
        }),
    )?;
    rx.recv_timeout(Duration::from_secs(30))
        .expect("done was not called")
}

fn open(dir: &TempDir) -> Store {
    Store::open(dir.path(), StoreOptions::default()).expect("open")
}

fn log(bytes: &str) -> Record {
    Record::Log(bytes.as_bytes().to_vec())
}

fn message(dialog: u64, seq: u64, bytes: &str) -> Record {
    Record::Message {
        dialog,
        seq,
        bytes: bytes.as_bytes().to_vec(),
    }
}

fn summary(dialog: u64, bytes: &str) -> Record {
    Record::Dialog {
        dialog,
        bytes: bytes.as_bytes().to_vec(),
    }
}

/// Every summary, through `for_each_dialog`.
fn all_dialogs(store: &Store) -> Vec<(u64, Vec<u8>)> {
    let mut all = Vec::new();
    store
        .for_each_dialog(|dialog, bytes| all.push((dialog, bytes.to_vec())))
        .unwrap();
    all
}

/// Whether the file has a table named `dialogs` (read with redb directly; the store is closed).
fn has_dialogs_table(dir: &TempDir) -> bool {
    use redb::TableHandle;
    let db = redb::Builder::new().open_read_only(dir.file()).unwrap();
    let txn = db.begin_read().unwrap();
    let mut tables = txn.list_tables().unwrap();
    tables.any(|table| table.name() == "dialogs")
}

fn owned(log: &[(u64, &str)]) -> Vec<(u64, Vec<u8>)> {
    log.iter()
        .map(|(position, bytes)| (*position, bytes.as_bytes().to_vec()))
        .collect()
}

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

#[test]
fn messages_range_overwrite_and_forget() {
    let dir = TempDir::new("messages");
    let store = open(&dir);
    let mut records: Vec<Record> = (1..=10).map(|s| message(7, s, &format!("7/{s}"))).collect();
    records.extend((1..=3).map(|s| message(8, s, &format!("8/{s}"))));
    records.push(message(u64::MAX, u64::MAX, "max"));
    submit_wait(&store, records).unwrap();

    let got = store.messages(7, 3, 6, 100).unwrap();
    assert_eq!(got, owned(&[(3, "7/3"), (4, "7/4"), (5, "7/5")]));
    assert_eq!(store.messages(7, 3, 6, 2).unwrap().len(), 2);
    assert!(store.messages(7, 6, 3, 100).unwrap().is_empty());
    assert!(store.messages(9, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(store.messages(u64::MAX, 0, u64::MAX, 9).unwrap(), vec![]);
    // A history page: the newest before a seq, oldest first
    assert_eq!(
        store.newest_messages(7, 9, 3).unwrap(),
        owned(&[(6, "7/6"), (7, "7/7"), (8, "7/8")])
    );
    assert_eq!(
        store.newest_messages(7, 3, 10).unwrap(),
        owned(&[(1, "7/1"), (2, "7/2")])
    );
    assert!(store.newest_messages(7, 1, 10).unwrap().is_empty());
    assert!(store.newest_messages(7, 9, 0).unwrap().is_empty());
    assert!(store.newest_messages(9, u64::MAX, 10).unwrap().is_empty());

    // The same key again overwrites: still one message
    submit_wait(&store, vec![message(7, 4, "7/4 again")]).unwrap();
    submit_wait(&store, vec![message(7, 4, "7/4 again")]).unwrap();
    assert_eq!(
        store.messages(7, 4, 5, 10).unwrap(),
        owned(&[(4, "7/4 again")])
    );
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.messages, inspect.dialogs_with_messages), (14, 3));

    submit_wait(&store, vec![Record::ForgetDialog { dialog: 7 }]).unwrap();
    assert!(store.messages(7, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(store.messages(8, 0, u64::MAX, 100).unwrap().len(), 3);
    let mut all = Vec::new();
    store
        .for_each_message(|dialog, seq, bytes| all.push((dialog, seq, bytes.to_vec())))
        .unwrap();
    let keys: Vec<(u64, u64)> = all.iter().map(|(d, s, _)| (*d, *s)).collect();
    assert_eq!(keys, vec![(8, 1), (8, 2), (8, 3), (u64::MAX, u64::MAX)]);
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.messages, inspect.dialogs_with_messages), (4, 2));
    store.close().unwrap();
}

#[test]
fn group_commit_batches_concurrent_submits() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 250;
    const BATCH_RECORDS_MAX: usize = 100;
    let dir = TempDir::new("group-commit");
    let options = StoreOptions {
        batch_records_max: BATCH_RECORDS_MAX,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    // (thread, i, reported position) in the order the dones ran
    let reported = Arc::new(Mutex::new(Vec::new()));
    let producers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let store = store.clone();
            let reported = Arc::clone(&reported);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let reported = Arc::clone(&reported);
                    let record = Record::Log(format!("{thread}/{i}").into_bytes());
                    let done = Box::new(move |result: Result<u64, StoreError>| {
                        reported.lock().unwrap().push((thread, i, result.unwrap()));
                    });
                    store.submit(vec![record], done).unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    let counter = store.clone();
    store.close().unwrap();
    let commits_before_close = counter.commits();
    drop(counter);
    let reported = reported.lock().unwrap().clone();
    let total = THREADS * PER_THREAD;
    assert_eq!(reported.len() as u64, total, "every done ran once");
    let mut seen: Vec<(u64, u64)> = reported.iter().map(|(t, i, _)| (*t, *i)).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len() as u64, total, "no done ran twice");
    assert!(
        reported.windows(2).all(|w| w[0].2 <= w[1].2),
        "positions never go back"
    );
    assert_eq!(reported.last().map(|r| r.2), Some(total));
    // The dones of one commit all report its last position: no commit took more than the bound
    for position in reported.iter().map(|r| r.2) {
        let in_commit = reported.iter().filter(|r| r.2 == position).count();
        assert!(
            in_commit <= BATCH_RECORDS_MAX,
            "{in_commit} records in one commit"
        );
    }

    // Each record's position is at most what its done reported, and a thread's records are in
    // its submission order
    let store = open(&dir);
    let log = store.recover().unwrap().log;
    assert_eq!(log.len() as u64, total);
    let mut last_seen = vec![None::<u64>; THREADS as usize];
    for (position, bytes) in &log {
        let text = String::from_utf8(bytes.clone()).unwrap();
        let (thread, i) = text.split_once('/').unwrap();
        let (thread, i): (u64, u64) = (thread.parse().unwrap(), i.parse().unwrap());
        assert!(last_seen[thread as usize].is_none_or(|prev| prev < i));
        last_seen[thread as usize] = Some(i);
        let done_position = reported
            .iter()
            .find(|r| (r.0, r.1) == (thread, i))
            .unwrap()
            .2;
        assert!(*position <= done_position);
    }
    let commits = store.commits();
    store.close().unwrap();
    eprintln!("group commit: {total} submits in {commits_before_close} transactions");
    assert!(
        commits_before_close <= total / 5,
        "{commits_before_close} transactions for {total} submits: no batching"
    );
    assert!(commits_before_close >= total / BATCH_RECORDS_MAX as u64);
    assert_eq!(commits, 0);
}

#[test]
fn close_commits_everything_queued() {
    let dir = TempDir::new("close");
    let store = open(&dir);
    let done_ok = Arc::new(AtomicUsize::new(0));
    for i in 0..500u64 {
        let done_ok = Arc::clone(&done_ok);
        let done = Box::new(move |result: Result<u64, StoreError>| {
            if result.is_ok() {
                done_ok.fetch_add(1, Ordering::SeqCst);
            }
        });
        store.submit(vec![log(&i.to_string())], done).unwrap();
    }
    store.close().unwrap();
    assert_eq!(done_ok.load(Ordering::SeqCst), 500);
    let store = open(&dir);
    assert_eq!(store.recover().unwrap().last_position, 500);
    store.close().unwrap();
}

#[test]
fn newer_format_version_is_refused_and_file_unchanged() {
    let dir = TempDir::new("newer");
    let store = open(&dir);
    submit_wait(&store, vec![log("kept")]).unwrap();
    store.close().unwrap();
    {
        let db = Database::open(dir.file()).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(KEY_FORMAT_VERSION, 99)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(dir.file()).unwrap();
    let error = Store::open(dir.path(), StoreOptions::default())
        .err()
        .expect("refused");
    let text = error.to_string();
    assert!(
        matches!(
            error,
            StoreError::NewerFormat {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains(&dir.file().display().to_string()), "{text}");
    assert!(
        text.contains("format version 99 is newer than this build (1)"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(dir.file()).unwrap(),
        before,
        "the file was changed"
    );
    // Still readable as it was
    let db = redb::Builder::new().open_read_only(dir.file()).unwrap();
    let txn = db.begin_read().unwrap();
    let version = txn
        .open_table(META)
        .unwrap()
        .get(KEY_FORMAT_VERSION)
        .unwrap();
    assert_eq!(version.map(|v| v.value()), Some(99));
}

#[test]
fn garbage_file_is_refused_and_never_emptied() {
    let mut rng = Rng(test_seed("garbage_file_is_refused_and_never_emptied"));
    for size in [1usize, 100, 4096, 70_000] {
        let dir = TempDir::new("garbage");
        let garbage: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        std::fs::write(dir.file(), &garbage).unwrap();
        let error = Store::open(dir.path(), StoreOptions::default())
            .err()
            .expect("refused");
        let text = error.to_string();
        assert!(matches!(error, StoreError::Damaged { .. }), "{text}");
        assert!(text.contains(&dir.file().display().to_string()), "{text}");
        assert_eq!(
            std::fs::read(dir.file()).unwrap(),
            garbage,
            "the file was changed"
        );
    }
}

#[test]
fn damaged_pages_are_refused_or_survived_without_panic() {
    let mut rng = Rng(test_seed(
        "damaged_pages_are_refused_or_survived_without_panic",
    ));
    let dir = TempDir::new("damaged-source");
    let store = open(&dir);
    for batch in 0..20u64 {
        let mut records: Vec<Record> = (0..50)
            .map(|i| message(batch, i, &"x".repeat(100 + (i as usize) * 7)))
            .collect();
        records.push(summary(batch, &"s".repeat(200)));
        submit_wait(&store, records).unwrap();
    }
    let mut expected = Vec::new();
    store
        .for_each_message(|dialog, seq, bytes| expected.push((dialog, seq, bytes.to_vec())))
        .unwrap();
    store.close().unwrap();
    let pristine = std::fs::read(dir.file()).unwrap();
    let (mut refused, mut opened) = (0, 0);
    for _ in 0..12 {
        let damaged_dir = TempDir::new("damaged");
        let mut bytes = pristine.clone();
        // Damage a run of bytes past the header, inside the pages
        let start = 4096 + rng.below(bytes.len() as u64 - 4096 - 64) as usize;
        for byte in &mut bytes[start..start + 1 + rng.below(63) as usize] {
            *byte ^= 1 + rng.below(255) as u8;
        }
        std::fs::write(damaged_dir.file(), &bytes).unwrap();
        match Store::open(damaged_dir.path(), StoreOptions::default()) {
            Err(error) => {
                let text = error.to_string();
                assert!(
                    text.contains(&damaged_dir.file().display().to_string()),
                    "{text}"
                );
                refused += 1;
            }
            Ok(store) => {
                // Damage in free pages is harmless; reads must not panic, nor return wrong data
                let _ = store.recover();
                let _ = store.inspect();
                let _ = store.dialog(3);
                let _ = store.dialogs_range(0, 100);
                let _ = store.for_each_dialog(|_, _| {});
                let mut found = Vec::new();
                let read = store.for_each_message(|d, s, b| found.push((d, s, b.to_vec())));
                if read.is_ok() {
                    assert!(found == expected, "a damaged file returned other messages");
                }
                let _ = store.close();
                opened += 1;
            }
        }
    }
    eprintln!("damaged files: {refused} refused, {opened} opened");
}

#[test]
fn foreign_redb_file_is_refused_untouched() {
    let dir = TempDir::new("foreign");
    {
        let db = Database::create(dir.file()).unwrap();
        let txn = db.begin_write().unwrap();
        let table: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("other");
        txn.open_table(table).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(dir.file()).unwrap();
    let error = Store::open(dir.path(), StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::NotAStore { .. }), "{error}");
    assert_eq!(std::fs::read(dir.file()).unwrap(), before);
}

#[test]
fn second_open_of_the_same_file_is_refused() {
    let dir = TempDir::new("locked");
    let store = open(&dir);
    let error = Store::open(dir.path(), StoreOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(error.to_string().contains(FILE_NAME));
    store.close().unwrap();
}

#[test]
fn overload_and_size_limits_refuse_without_blocking() {
    let dir = TempDir::new("overload");
    let options = StoreOptions {
        queue_records_max: 8,
        record_bytes_max: 1000,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    // Hold the writer inside a done, so the queue fills
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let blocker = Box::new(move |_: Result<u64, StoreError>| {
        let _ = entered_tx.send(());
        let _ = release_rx.recv_timeout(Duration::from_secs(30));
    });
    store.submit(vec![log("blocker")], blocker).unwrap();
    entered_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = |calls: &Arc<AtomicUsize>| {
        let calls = Arc::clone(calls);
        Box::new(move |_: Result<u64, StoreError>| {
            calls.fetch_add(1, Ordering::SeqCst);
        })
    };
    store.submit(vec![log("a"); 5], counting(&calls)).unwrap();
    store.submit(vec![log("b"); 3], counting(&calls)).unwrap();
    let full = store.submit(vec![log("c")], counting(&calls));
    assert!(
        matches!(
            full,
            Err(StoreError::Overloaded {
                queue_records_max: 8
            })
        ),
        "{full:?}"
    );
    let big = store.submit(vec![log("d"); 9], counting(&calls));
    assert!(
        matches!(big, Err(StoreError::SubmitTooLarge { records: 9, .. })),
        "{big:?}"
    );
    let huge = store.submit(vec![Record::Log(vec![0; 1001])], counting(&calls));
    assert!(
        matches!(huge, Err(StoreError::RecordTooLarge { bytes: 1001, .. })),
        "{huge:?}"
    );
    release_tx.send(()).unwrap();
    store.close().unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "refused submits never call done"
    );
}

#[test]
fn panicking_done_does_not_stop_the_writer() {
    let dir = TempDir::new("panicking-done");
    let store = open(&dir);
    store
        .submit(vec![log("a")], Box::new(|_| panic!("a caller's bug")))
        .unwrap();
    assert_eq!(submit_wait(&store, vec![log("b")]).unwrap(), 2);
    assert!(store.health().is_ok());
    store.close().unwrap();
}

#[test]
fn submit_after_close_is_stopped() {
    let dir = TempDir::new("after-close");
    let store = open(&dir);
    let other = store.clone();
    store.close().unwrap();
    let after = other.submit(vec![log("late")], Box::new(|_| {}));
    assert!(matches!(after, Err(StoreError::Stopped)), "{after:?}");
    // Reads still work while a handle lives
    assert_eq!(other.recover().unwrap().last_position, 0);
}

#[test]
fn options_are_validated() {
    let dir = TempDir::new("options");
    for options in [
        StoreOptions {
            batch_records_max: 0,
            ..StoreOptions::default()
        },
        StoreOptions {
            queue_records_max: 0,
            ..StoreOptions::default()
        },
        StoreOptions {
            record_bytes_max: 0,
            ..StoreOptions::default()
        },
    ] {
        let error = Store::open(dir.path(), options).err().expect("refused");
        assert!(
            matches!(error, StoreError::InvalidOptions { .. }),
            "{error}"
        );
    }
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

#[test]
fn dialog_summaries_upsert_overwrite_and_page() {
    let dir = TempDir::new("dialogs");
    let store = open(&dir);
    assert_eq!(store.dialog(1).unwrap(), None);
    // Within one submission, and one commit, the later summary of an id wins
    let records = vec![
        summary(5, "5a"),
        log("e"),
        summary(2, "2a"),
        message(5, 1, "m"),
        summary(5, "5b"),
        summary(u64::MAX, "max"),
    ];
    assert_eq!(submit_wait(&store, records).unwrap(), 1);
    assert_eq!(store.dialog(5).unwrap(), Some(b"5b".to_vec()));
    assert_eq!(store.dialog(2).unwrap(), Some(b"2a".to_vec()));
    assert_eq!(store.dialog(3).unwrap(), None);
    // A later commit overwrites
    submit_wait(&store, vec![summary(2, "2b")]).unwrap();
    assert_eq!(store.dialog(2).unwrap(), Some(b"2b".to_vec()));
    assert_eq!(
        all_dialogs(&store),
        owned(&[(2, "2b"), (5, "5b"), (u64::MAX, "max")])
    );

    // Paging: ids > after, ascending, at most limit
    submit_wait(
        &store,
        (10..20).map(|d| summary(d, &d.to_string())).collect(),
    )
    .unwrap();
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = store.dialogs_range(after, 4).unwrap();
        assert!(page.len() <= 4);
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        pages.push(page.iter().map(|(d, _)| *d).collect::<Vec<_>>());
    }
    let expect_ids: Vec<Vec<u64>> = vec![
        vec![2, 5, 10, 11],
        vec![12, 13, 14, 15],
        vec![16, 17, 18, 19],
        vec![u64::MAX],
    ];
    assert_eq!(pages, expect_ids);
    assert_eq!(
        store.dialogs_range(5, 2).unwrap(),
        owned(&[(10, "10"), (11, "11")])
    );
    assert_eq!(
        store.dialogs_range(19, 10).unwrap(),
        owned(&[(u64::MAX, "max")])
    );
    assert!(store.dialogs_range(u64::MAX, 10).unwrap().is_empty());
    assert!(store.dialogs_range(0, 0).unwrap().is_empty());
    assert_eq!(store.dialogs_range(0, usize::MAX).unwrap().len(), 13);
    store.close().unwrap();
}

#[test]
fn forget_dialog_deletes_messages_but_keeps_the_summary() {
    let dir = TempDir::new("forget-keeps-summary");
    let store = open(&dir);
    let records = vec![
        message(7, 1, "a"),
        message(7, 2, "b"),
        summary(7, "closed"),
        message(8, 1, "c"),
    ];
    submit_wait(&store, records).unwrap();
    submit_wait(&store, vec![Record::ForgetDialog { dialog: 7 }]).unwrap();
    assert!(store.messages(7, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(store.messages(8, 0, u64::MAX, 100).unwrap().len(), 1);
    assert_eq!(store.dialog(7).unwrap(), Some(b"closed".to_vec()));
    // Also when the summary and the forget share a submission, in either order
    let records = vec![
        summary(8, "s8"),
        Record::ForgetDialog { dialog: 8 },
        Record::ForgetDialog { dialog: 9 },
        summary(9, "s9"),
    ];
    submit_wait(&store, records).unwrap();
    assert!(store.messages(8, 0, u64::MAX, 100).unwrap().is_empty());
    assert_eq!(
        all_dialogs(&store),
        owned(&[(7, "closed"), (8, "s8"), (9, "s9")])
    );
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.messages, inspect.dialogs), (0, 3));
    store.close().unwrap();
}

#[test]
fn dialog_summaries_survive_reopen_and_are_counted() {
    let dir = TempDir::new("dialogs-reopen");
    let store = open(&dir);
    assert_eq!(store.inspect().unwrap().dialogs, 0);
    submit_wait(&store, vec![summary(1, "one"), summary(3, "three")]).unwrap();
    submit_wait(&store, vec![summary(1, "one again"), message(1, 1, "m")]).unwrap();
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.dialogs, inspect.dialogs_with_messages), (2, 1));
    store.close().unwrap();

    let store = open(&dir);
    assert_eq!(store.dialog(1).unwrap(), Some(b"one again".to_vec()));
    assert_eq!(
        all_dialogs(&store),
        owned(&[(1, "one again"), (3, "three")])
    );
    assert_eq!(store.inspect().unwrap().dialogs, 2);
    store.close().unwrap();
}

#[test]
fn fresh_store_without_summaries_reads_none() {
    let dir = TempDir::new("dialogs-fresh");
    let store = open(&dir);
    submit_wait(&store, vec![log("a"), message(1, 1, "m")]).unwrap();
    assert_eq!(store.dialog(1).unwrap(), None);
    assert!(all_dialogs(&store).is_empty());
    assert!(store.dialogs_range(0, 10).unwrap().is_empty());
    assert_eq!(store.inspect().unwrap().dialogs, 0);
    store.close().unwrap();
}

/// A version-1 file written before the dialogs table existed: exactly the tables it had then.
#[test]
fn file_from_before_the_dialogs_table_opens_and_reads_no_summaries() {
    let dir = TempDir::new("dialogs-old-file");
    {
        let db = Database::create(dir.file()).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert(KEY_FORMAT_VERSION, u64::from(FORMAT_VERSION))
                .unwrap();
            meta.insert(KEY_LAST_POSITION, 1).unwrap();
            txn.open_table(LOG)
                .unwrap()
                .insert(1, b"old".as_slice())
                .unwrap();
            txn.open_table(MESSAGES)
                .unwrap()
                .insert((4, 1), b"old message".as_slice())
                .unwrap();
            txn.open_table(SNAPSHOT).unwrap();
        }
        txn.commit().unwrap();
    }
    assert!(!has_dialogs_table(&dir));

    let store = open(&dir);
    assert_eq!(store.dialog(4).unwrap(), None);
    assert!(all_dialogs(&store).is_empty());
    assert!(store.dialogs_range(0, 10).unwrap().is_empty());
    let inspect = store.inspect().unwrap();
    assert_eq!((inspect.format_version, inspect.dialogs), (1, 0));
    assert_eq!((inspect.messages, inspect.last_position), (1, 1));
    assert_eq!(store.recover().unwrap().log, owned(&[(1, "old")]));
    // Commits without summaries leave the file without the table; open never adds it
    assert_eq!(submit_wait(&store, vec![log("new")]).unwrap(), 2);
    store.close().unwrap();
    assert!(!has_dialogs_table(&dir));

    // The first summary creates it
    let store = open(&dir);
    submit_wait(&store, vec![summary(4, "s")]).unwrap();
    assert_eq!(store.dialog(4).unwrap(), Some(b"s".to_vec()));
    store.close().unwrap();
    assert!(has_dialogs_table(&dir));
    let store = open(&dir);
    assert_eq!(all_dialogs(&store), owned(&[(4, "s")]));
    assert_eq!(
        store.messages(4, 0, 9, 9).unwrap(),
        owned(&[(1, "old message")])
    );
    store.close().unwrap();
}

#[test]
fn dialogs_table_of_other_types_is_refused_untouched() {
    let dir = TempDir::new("dialogs-wrong-type");
    let store = open(&dir);
    submit_wait(&store, vec![log("kept")]).unwrap();
    store.close().unwrap();
    {
        let db = Database::open(dir.file()).unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(DIALOGS).unwrap();
        let other: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("dialogs");
        txn.open_table(other).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(dir.file()).unwrap();
    let error = Store::open(dir.path(), StoreOptions::default())
        .err()
        .expect("refused");
    let text = error.to_string();
    assert!(matches!(error, StoreError::Damaged { .. }), "{text}");
    assert!(text.contains(&dir.file().display().to_string()), "{text}");
    assert_eq!(
        std::fs::read(dir.file()).unwrap(),
        before,
        "the file was changed"
    );
}

#[test]
fn on_commit_is_told_each_commit_before_its_callbacks() {
    let dir = TempDir::new("on-commit");
    let observed: Arc<Mutex<Vec<CommitStats>>> = Arc::default();
    let options = StoreOptions {
        on_commit: Some(Arc::new({
            let observed = Arc::clone(&observed);
            move |stats| observed.lock().unwrap().push(stats)
        })),
        ..StoreOptions::default()
    };
    assert!(format!("{options:?}").contains("on_commit: Some"));
    let store = Store::open(dir.path(), options).unwrap();

    // One at a time: one commit each, observed before its done runs
    let batches: [Vec<Record>; 4] = [
        vec![log("a"), message(1, 1, "m"), summary(1, "s")],
        vec![Record::ForgetDialog { dialog: 1 }],
        vec![],
        (0..7).map(|i| log(&i.to_string())).collect(),
    ];
    for (i, records) in batches.iter().enumerate() {
        let (tx, rx) = mpsc::channel();
        let seen = Arc::clone(&observed);
        let done = Box::new(move |result: Result<u64, StoreError>| {
            let _ = tx.send((result, seen.lock().unwrap().len()));
        });
        store.submit(records.clone(), done).unwrap();
        let (result, seen_at_done) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        result.unwrap();
        // An empty submission is acknowledged without a commit of its own
        let commits = batches[..=i].iter().filter(|b| !b.is_empty()).count();
        assert_eq!(seen_at_done, commits, "observed before the done ran");
    }
    // A batch refused whole commits nothing and is not observed
    let refused = Record::Snapshot {
        covers: 99,
        bytes: vec![],
    };
    assert!(submit_wait(&store, vec![refused]).is_err());
    {
        let observed = observed.lock().unwrap();
        let counts: Vec<(usize, usize)> = observed
            .iter()
            .map(|s| (s.records, s.submissions))
            .collect();
        // The empty submission needed no transaction: not a commit, not observed
        assert_eq!(counts, vec![(3, 1), (1, 1), (7, 1)]);
        assert!(observed.iter().all(|s| s.duration > Duration::ZERO));
    }
    assert_eq!(store.commits(), 3);

    // Many at once: grouped, but every record and submission observed once, one call a commit
    observed.lock().unwrap().clear();
    let commits_before = store.commits();
    let (tx, rx) = mpsc::channel();
    for i in 0..200u64 {
        let tx = tx.clone();
        let records = vec![log(&i.to_string()), summary(i, "s")];
        let done = Box::new(move |result: Result<u64, StoreError>| {
            let _ = tx.send(result);
        });
        store.submit(records, done).unwrap();
    }
    for _ in 0..200 {
        rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    }
    let observed = observed.lock().unwrap().clone();
    let commits = store.commits() - commits_before;
    eprintln!("on_commit: 200 submissions in {commits} commits");
    assert_eq!(observed.len() as u64, commits);
    assert_eq!(observed.iter().map(|s| s.records).sum::<usize>(), 400);
    assert_eq!(observed.iter().map(|s| s.submissions).sum::<usize>(), 200);
    assert!(observed.iter().all(|s| s.records == 2 * s.submissions));
    store.close().unwrap();
}

#[test]
fn panicking_on_commit_does_not_stop_the_writer() {
    let dir = TempDir::new("panicking-on-commit");
    let options = StoreOptions {
        on_commit: Some(Arc::new(|_| panic!("an observer's bug"))),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    assert_eq!(submit_wait(&store, vec![log("a")]).unwrap(), 1);
    assert_eq!(submit_wait(&store, vec![log("b")]).unwrap(), 2);
    assert!(store.health().is_ok());
    store.close().unwrap();
}

/// Every stored consent answer as (line, client, bytes), in the store's order.
fn all_consents(store: &Store) -> Vec<(String, String, Vec<u8>)> {
    let mut all = Vec::new();
    store
        .for_each_consent(|line, client, bytes| {
            all.push((line.to_string(), client.to_string(), bytes.to_vec()))
        })
        .unwrap();
    all
}

fn consent(line: &str, client: &str, bytes: &str) -> Record {
    Record::Consent {
        line: line.to_string(),
        client: client.to_string(),
        bytes: bytes.as_bytes().to_vec(),
    }
}

#[test]
fn consents_upsert_survive_reopen_and_page_by_line() {
    let dir = TempDir::new("consents");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    // A store that never had one reads as empty
    assert_eq!(store.consent("support", "c1").unwrap(), None);
    assert_eq!(store.consents_of_line("support", None, 10).unwrap(), vec![]);
    assert_eq!(all_consents(&store), vec![]);
    submit_wait(
        &store,
        vec![
            consent("support", "c2", "v1 declined"),
            consent("sales", "c1", "v1 accepted"),
            consent("support", "c1", "v1 accepted"),
            log("unrelated"),
        ],
    )
    .unwrap();
    // The same key again overwrites, the latest in a commit winning
    submit_wait(
        &store,
        vec![
            consent("support", "c2", "v2 declined"),
            consent("support", "c2", "v2 accepted"),
        ],
    )
    .unwrap();
    store.close().unwrap();

    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let text = |bytes: Option<Vec<u8>>| bytes.map(|b| String::from_utf8(b).unwrap());
    assert_eq!(
        text(store.consent("support", "c2").unwrap()).as_deref(),
        Some("v2 accepted")
    );
    assert_eq!(store.consent("support", "c3").unwrap(), None);
    let keys = |entries: Vec<ConsentEntry>| -> Vec<(String, String)> {
        entries.into_iter().map(|e| (e.line, e.client)).collect()
    };
    let pair = |l: &str, c: &str| (l.to_string(), c.to_string());
    // One line only, in client order, paged
    let first = store.consents_of_line("support", None, 1).unwrap();
    assert_eq!(keys(first.clone()), vec![pair("support", "c1")]);
    let rest = store
        .consents_of_line("support", Some(&first[0].client), 10)
        .unwrap();
    assert_eq!(keys(rest), vec![pair("support", "c2")]);
    assert_eq!(
        keys(store.consents_of_line("sales", None, 10).unwrap()),
        vec![pair("sales", "c1")]
    );
    assert_eq!(store.consents_of_line("nowhere", None, 10).unwrap(), vec![]);
    assert_eq!(store.inspect().unwrap().consents, 3);
    // Every line, by line then client
    let every: Vec<(String, String)> = all_consents(&store)
        .into_iter()
        .map(|(line, client, _)| (line, client))
        .collect();
    assert_eq!(
        every,
        vec![
            pair("sales", "c1"),
            pair("support", "c1"),
            pair("support", "c2")
        ]
    );
    store.close().unwrap();
}
