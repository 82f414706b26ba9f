//! Commits and the writer thread: concurrent submits are batched into few commits within the
//! bound, close commits everything queued, overload and size limits refuse without blocking,
//! `on_commit` sees each commit before its callbacks, and a panicking callback or observer does
//! not stop the writer.

use crate::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::helpers::{log, message, open, submit_wait, summary, TempDir};
use crate::store::{CommitStats, Record, Store, StoreError, StoreOptions};

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
                        reported.lock().push((thread, i, result.unwrap()));
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
    let reported = reported.lock().clone();
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
fn on_commit_is_told_each_commit_before_its_callbacks() {
    let dir = TempDir::new("on-commit");
    let observed: Arc<Mutex<Vec<CommitStats>>> = Arc::default();
    let options = StoreOptions {
        on_commit: Some(Arc::new({
            let observed = Arc::clone(&observed);
            move |stats| observed.lock().push(stats)
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
            let _ = tx.send((result, seen.lock().len()));
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
        let observed = observed.lock();
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
    observed.lock().clear();
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
    let observed = observed.lock().clone();
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
