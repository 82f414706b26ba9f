//! Recovery time: a data directory with 100,000 open dialogs and 1,000,000 messages (10 each),
//! written through the real store, is opened and the hub started from it — newest snapshot
//! (none here: the worst case, every dialog from the log) plus the log, every dialog restored
//! into its shard with its messages. `recovery/open_and_start_100k_dialogs_1M_messages`.
//! Set SWITCHBOARD_RECOVERY_DIALOGS to use another size.

use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use std::time::Duration;
use switchboard::clock::SystemClock;
use switchboard::config::Config;
use switchboard::hub::Hub;
use switchboard::protocol::{Author, ClientInfo};
use switchboard::routing::{DialogRecord, HolderRecord};
use switchboard::store::records::{encode, DurableDialog, LogEvent, MessageRecord};
use switchboard::store::{Record, Store, StoreOptions};

const MESSAGES_PER_DIALOG: u64 = 10;

fn dialogs() -> u64 {
    std::env::var("SWITCHBOARD_RECOVERY_DIALOGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn prepare(dir: &std::path::Path, count: u64) {
    let store = Store::open(dir, StoreOptions::default()).expect("open store");
    let mut batch = Vec::new();
    for n in 0..count {
        let id = (n + 1) << 8; // home shard 0: the "support" line's shard
        let record = DialogRecord {
            id,
            line: "support".into(),
            origin_line: "support".into(),
            client: format!("client-{n}"),
            // 1% are active with carl (capacity 1000), the rest wait in the queue.
            holder: if n % 100 == 1 {
                HolderRecord::Active {
                    operator: "carl".into(),
                }
            } else {
                HolderRecord::Queued
            },
            arrival: n + 1,
            created_ms: 1_795_000_000_000,
            holder_answered: n % 2 == 1,
            ever_answered: n % 2 == 1,
            client_wrote_last: true,
            waiting_since_ms: None,
            tried: Vec::new(),
            cursor: None,
            escalation: 0,
            bot: None,
            sent: [false; 4],
            timers: vec![(4, 1_797_000_000_000)],
            client_dialogs_started: 1,
            kpi: Default::default(),
        };
        let client = ClientInfo {
            client_id: format!("client-{n}"),
            name: None,
            email: None,
            phone: None,
            contact_id: None,
            ..ClientInfo::default()
        };
        let state = DurableDialog::new(record, client, Some("carl".into()));
        batch.push(Record::Log(encode(&LogEvent::Dialog(Box::new(state)))));
        for seq in 1..=MESSAGES_PER_DIALOG {
            let m = MessageRecord {
                msg_id: (n * MESSAGES_PER_DIALOG + seq) << 8,
                author: if seq % 2 == 1 {
                    Author::Client
                } else {
                    Author::Operator
                },
                name: None,
                text: format!(
                    "message {seq} of dialog {n}: some ordinary chat text of moderate length"
                ),
                ts: 1_795_000_000_000,
                key: Some((None, format!("k{seq}"))),
            };
            batch.push(Record::Message {
                dialog: id,
                seq,
                bytes: encode(&m),
            });
        }
        if batch.len() >= 2_000 {
            submit(&store, std::mem::take(&mut batch));
        }
    }
    submit(&store, batch);
    store.close().expect("close store");
}

fn submit(store: &Store, records: Vec<Record>) {
    let (tx, rx) = std::sync::mpsc::channel();
    store
        .submit(records, Box::new(move |r| tx.send(r.is_ok()).unwrap()))
        .expect("submit");
    assert!(rx.recv().unwrap(), "commit failed");
}

fn bench(c: &mut Criterion) {
    let count = dialogs();
    let dir = std::env::temp_dir().join(format!("switchboard-recovery-bench-{count}"));
    if !dir.join(switchboard::store::FILE_NAME).exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let started = std::time::Instant::now();
        prepare(&dir, count);
        eprintln!(
            "prepared {count} dialogs with {} messages in {:.1} s",
            count * MESSAGES_PER_DIALOG,
            started.elapsed().as_secs_f64()
        );
    }
    let config = Config::example();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // One timed run with a breakdown first.
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let store = Store::open(&dir, StoreOptions::default()).expect("open");
        let opened = started.elapsed();
        let recovered = store.recover().expect("recover");
        eprintln!(
            "open {:?}, read log ({} records) {:?}",
            opened,
            recovered.log.len(),
            started.elapsed() - opened
        );
        store.close().expect("close");
    });
    let mut group = c.benchmark_group("recovery");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function(
        format!(
            "open_and_start_{count}_dialogs_{}_messages",
            count * MESSAGES_PER_DIALOG
        ),
        |b| {
            b.iter_custom(|iterations| {
                let mut measured = Duration::ZERO;
                for _ in 0..iterations {
                    runtime.block_on(async {
                        let started = std::time::Instant::now();
                        let store = Store::open(&dir, StoreOptions::default()).expect("open");
                        let hub = Hub::start(&config, 2, Arc::new(SystemClock), Some(store))
                            .expect("start");
                        measured += started.elapsed();
                        hub.stop();
                        let store = hub.store.clone().expect("store");
                        let weak = Arc::downgrade(&hub);
                        drop(hub);
                        // Shard tasks end and drop their handles; the last handle closes the file.
                        for _ in 0..200 {
                            if weak.upgrade().is_none() {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        assert!(
                            weak.upgrade().is_none(),
                            "the hub is still referenced after stop"
                        );
                        store.close().expect("close");
                    });
                }
                measured
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
