//! Durable throughput and latency of the store's writer (group commit over redb, real fsync).
//!
//! - `store/durable_messages/*`: 4 producer threads submit `Message` records of 200 bytes; one
//!   iteration ends when every `done` of 32,768 messages has run, i.e. all are durable. Reported
//!   as messages per second. Two key patterns, because redb copies one 4 KiB page per dialog a
//!   commit touches:
//!   - `clustered`: each submission is 64 consecutive messages of one new dialog (few dialogs
//!     per commit: the writer's own cost);
//!   - `scattered_4000_dialogs`: each submission is 16 messages to 16 different dialogs, round
//!     robin over 4,000 active dialogs (every commit touches ~4,000 dialogs: the page cost).
//! - `store/submit_to_done_idle`: one single-record submission, submit → `done`, nothing else
//!   queued (the latency of one durable commit).
//! - `store/submit_to_done_idle_mixed`: the same with what a new dialog typically writes: a log
//!   record, its first message and its summary (three tables). With `TMPDIR=/dev/shm` (no flush
//!   cost) both show the writer's CPU per commit.
//! - `store/raw_fsync_4k`: write 4 KiB and `sync_data` on a plain file in the same directory:
//!   the disk's flush cost, the floor under every durable commit.
//!
//! The database lives under the system temp dir (a real disk here, not tmpfs) and is removed
//! afterwards.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use switchboard::store::{Record, Store, StoreError, StoreOptions};

const PRODUCERS: u64 = 4;
const MESSAGES_PER_ITERATION: u64 = 32_768;
const PAYLOAD_BYTES: usize = 200;

struct BenchDir(PathBuf);

impl BenchDir {
    fn new(name: &str) -> BenchDir {
        let path =
            std::env::temp_dir().join(format!("switchboard-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("bench dir");
        BenchDir(path)
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Submits, rebuilding the submission and retrying while the queue is full.
fn submit(store: &Store, records: impl Fn() -> Vec<Record>, done: impl Fn() -> Done) {
    loop {
        match store.submit(records(), done()) {
            Ok(()) => return,
            Err(StoreError::Overloaded { .. }) => std::thread::sleep(Duration::from_micros(50)),
            Err(e) => panic!("submit: {e}"),
        }
    }
}

type Done = Box<dyn FnOnce(Result<u64, StoreError>) + Send>;

/// How a producer's `i`-th message (global number `n`) is keyed, and how many go per submission.
#[derive(Clone, Copy)]
enum Keys {
    Clustered,
    Scattered { dialogs: u64 },
}

impl Keys {
    fn group(self) -> u64 {
        match self {
            Keys::Clustered => 64,
            Keys::Scattered { .. } => 16,
        }
    }

    fn key(self, n: u64) -> (u64, u64) {
        match self {
            Keys::Clustered => (n / 64, n % 64),
            Keys::Scattered { dialogs } => (n % dialogs, n / dialogs),
        }
    }
}

/// One iteration: every producer submits its share of messages; returns when all are durable.
fn durable_round(store: &Store, keys: Keys, next: &AtomicU64) {
    let per_producer = MESSAGES_PER_ITERATION / PRODUCERS;
    let group = keys.group();
    let durable = Arc::new(AtomicU64::new(0));
    let (all_done_tx, all_done_rx) = crossbeam_channel::bounded::<()>(1);
    std::thread::scope(|scope| {
        for _ in 0..PRODUCERS {
            let durable = Arc::clone(&durable);
            let all_done_tx = all_done_tx.clone();
            scope.spawn(move || {
                let mut sent = 0;
                while sent < per_producer {
                    let n = group.min(per_producer - sent);
                    let first = next.fetch_add(n, Ordering::Relaxed);
                    let records = || {
                        (first..first + n)
                            .map(|number| {
                                let (dialog, seq) = keys.key(number);
                                let bytes = vec![(number % 251) as u8; PAYLOAD_BYTES];
                                Record::Message { dialog, seq, bytes }
                            })
                            .collect()
                    };
                    let done = || -> Done {
                        let durable = Arc::clone(&durable);
                        let all_done_tx = all_done_tx.clone();
                        Box::new(move |result| {
                            result.expect("durable commit");
                            let before = durable.fetch_add(n, Ordering::SeqCst);
                            if before + n == MESSAGES_PER_ITERATION {
                                let _ = all_done_tx.send(());
                            }
                        })
                    };
                    submit(store, records, done);
                    sent += n;
                }
            });
        }
    });
    all_done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("all durable");
}

fn durable_messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/durable_messages");
    group.throughput(Throughput::Elements(MESSAGES_PER_ITERATION));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let patterns = [
        ("clustered", Keys::Clustered),
        ("scattered_4000_dialogs", Keys::Scattered { dialogs: 4000 }),
    ];
    for (name, keys) in patterns {
        let dir = BenchDir::new(name);
        let store = Store::open(&dir.0, StoreOptions::default()).expect("open");
        let next = AtomicU64::new(0);
        group.bench_function(name, |b| b.iter(|| durable_round(&store, keys, &next)));
        eprintln!(
            "store/durable_messages/{name}: {} durable commits for {} messages",
            store.commits(),
            next.load(Ordering::Relaxed)
        );
        store.close().expect("close");
    }
    group.finish();
}

fn submit_to_done_idle(c: &mut Criterion) {
    let dir = BenchDir::new("latency");
    let store = Store::open(&dir.0, StoreOptions::default()).expect("open");
    let mut seq = 0u64;
    let mut group = c.benchmark_group("store");
    group.sample_size(50);
    group.bench_function("submit_to_done_idle", |b| {
        b.iter(|| {
            seq += 1;
            let (tx, rx) = crossbeam_channel::bounded(1);
            let record = Record::Message {
                dialog: 1,
                seq,
                bytes: vec![7; PAYLOAD_BYTES],
            };
            store
                .submit(vec![record], Box::new(move |r| drop(tx.send(r))))
                .expect("submit");
            rx.recv().expect("done").expect("durable");
        });
    });
    let mut dialog = 0u64;
    group.bench_function("submit_to_done_idle_mixed", |b| {
        b.iter(|| {
            dialog += 1;
            let (tx, rx) = crossbeam_channel::bounded(1);
            let records = vec![
                Record::Log(vec![3; 120]),
                Record::Message {
                    dialog,
                    seq: 1,
                    bytes: vec![7; PAYLOAD_BYTES],
                },
                Record::Dialog {
                    dialog,
                    bytes: vec![5; 150],
                },
            ];
            store
                .submit(records, Box::new(move |r| drop(tx.send(r))))
                .expect("submit");
            rx.recv().expect("done").expect("durable");
        });
    });
    group.bench_function("raw_fsync_4k", |b| {
        let mut file = std::fs::File::create(dir.0.join("fsync-probe")).expect("probe");
        let page = [0x5au8; 4096];
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                file.write_all(&page).expect("write");
                file.sync_data().expect("fsync");
            }
            start.elapsed()
        });
    });
    group.finish();
    store.close().expect("close");
}

criterion_group!(benches, durable_messages, submit_to_done_idle);
criterion_main!(benches);
