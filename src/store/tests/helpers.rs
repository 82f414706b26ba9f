//! What the store's tests share: a temp dir removed on drop, the seed and generator of the
//! random tests, submitting and waiting for `done`, and short builders of records.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::store::{Record, Store, StoreError, StoreOptions, FILE_NAME};

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

    pub(super) fn file(&self) -> PathBuf {
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

pub(super) fn open(dir: &TempDir) -> Store {
    Store::open(dir.path(), StoreOptions::default()).expect("open")
}

pub(super) fn log(bytes: &str) -> Record {
    Record::Log(bytes.as_bytes().to_vec())
}

pub(super) fn message(dialog: u64, seq: u64, bytes: &str) -> Record {
    Record::Message {
        dialog,
        seq,
        bytes: bytes.as_bytes().to_vec(),
    }
}

pub(super) fn summary(dialog: u64, bytes: &str) -> Record {
    Record::Dialog {
        dialog,
        bytes: bytes.as_bytes().to_vec(),
    }
}

/// Every summary, through `for_each_dialog`.
pub(super) fn all_dialogs(store: &Store) -> Vec<(u64, Vec<u8>)> {
    let mut all = Vec::new();
    store
        .for_each_dialog(|dialog, bytes| all.push((dialog, bytes.to_vec())))
        .unwrap();
    all
}

pub(super) fn owned(log: &[(u64, &str)]) -> Vec<(u64, Vec<u8>)> {
    log.iter()
        .map(|(position, bytes)| (*position, bytes.as_bytes().to_vec()))
        .collect()
}

/// A store in `dir` with one Log record, closed, and then changed by `alter` in one write
/// transaction of redb used directly, as another program would.
pub(super) fn write_store_then_alter(dir: &TempDir, alter: impl FnOnce(&redb::WriteTransaction)) {
    let store = open(dir);
    submit_wait(&store, vec![log("kept")]).unwrap();
    store.close().unwrap();
    let db = redb::Database::open(dir.file()).unwrap();
    let txn = db.begin_write().unwrap();
    alter(&txn);
    txn.commit().unwrap();
}

/// Opens `dir`, which must be refused; checks that the file is byte for byte what it was, and
/// returns the error.
pub(super) fn open_refused_untouched(dir: &TempDir) -> StoreError {
    let before = std::fs::read(dir.file()).unwrap();
    let error = Store::open(dir.path(), StoreOptions::default())
        .err()
        .expect("refused");
    assert_eq!(
        std::fs::read(dir.file()).unwrap(),
        before,
        "the file was changed"
    );
    error
}
