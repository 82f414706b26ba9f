//! A real crash: a child process (this test binary, re-run in "writer" mode) submits numbered
//! Log and Message records and prints each one only after its `done` reported it durable; the
//! parent SIGKILLs it after a random delay, reopens the file, and checks that every printed
//! record is there with its exact bytes and that the log is a gap-free prefix `1..=last`. The
//! rounds crash with the newest records in the journal only, and around checkpoints.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::helpers::{submit_wait, test_seed, Rng, TempDir};
use crate::store::{Record, Store, StoreError, StoreOptions};

const CHILD_DIR_ENV: &str = "SWITCHBOARD_STORE_CRASH_DIR";
const CHILD_ROUND_ENV: &str = "SWITCHBOARD_STORE_CRASH_ROUND";
const ROUNDS: u64 = 3;
/// The child stops by itself after this, if nobody kills it.
const CHILD_RUN_MAX: Duration = Duration::from_secs(20);

/// The bytes of record `k` of `round`: deterministic, of varying length.
fn payload(seed: u64, round: u64, k: u64) -> Vec<u8> {
    let mut rng = Rng(seed ^ round.wrapping_mul(0x1000_0001) ^ k.wrapping_mul(0x9E37));
    let mut bytes = format!("round {round} record {k} ").into_bytes();
    let filler = rng.below(600) as usize;
    bytes.extend((0..filler).map(|_| rng.next() as u8));
    bytes
}

/// Each round crashes in another mix of journal and checkpoints: only the journal (the default
/// checkpoints every second), frequent checkpoints by time, and checkpoints by journal size.
fn options_of_round(round: u64) -> StoreOptions {
    let mut options = StoreOptions::default();
    match round % 3 {
        1 => options.checkpoint_every = Duration::from_millis(5),
        2 => options.journal_bytes_max = 4096,
        _ => {}
    }
    options
}

/// Writer mode: runs only inside the child (the env var is set), does nothing otherwise.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let round: u64 = std::env::var(CHILD_ROUND_ENV).unwrap().parse().unwrap();
    let seed: u64 = std::env::var("SWITCHBOARD_TEST_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let store = Store::open(dir.as_ref(), options_of_round(round)).unwrap();
    let start = store.recover().unwrap().last_position;
    // On a line of its own: libtest's "test ... " has no newline yet
    println!("\nSTART {start}");
    let began = Instant::now();
    let mut k = 0;
    while began.elapsed() < CHILD_RUN_MAX {
        k += 1;
        let bytes = payload(seed, round, k);
        let records = vec![
            Record::Log(bytes.clone()),
            Record::Message {
                dialog: round,
                seq: k,
                bytes,
            },
        ];
        loop {
            let done = Box::new(move |result: Result<u64, StoreError>| {
                if let Ok(position) = result {
                    let _ = writeln!(std::io::stdout().lock(), "DURABLE {k} {position}");
                }
            });
            match store.submit(records.clone(), done) {
                Ok(()) => break,
                Err(StoreError::Overloaded { .. }) => {
                    std::thread::sleep(Duration::from_micros(200))
                }
                Err(e) => panic!("submit: {e}"),
            }
        }
    }
    store.close().unwrap();
}

/// What the child printed before it died.
struct ChildReport {
    start: u64,
    /// (k, position its done reported)
    durable: Vec<(u64, u64)>,
}

fn run_child_and_kill(dir: &TempDir, round: u64, seed: u64, rng: &mut Rng) -> ChildReport {
    let module = module_path!();
    let test_path = module.split_once("::").map_or(module, |(_, rest)| rest);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            &format!("{test_path}::crash_child_writer"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, dir.path())
        .env(CHILD_ROUND_ENV, round.to_string())
        .env("SWITCHBOARD_TEST_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill has no newline
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            if line.ends_with('\n') && lines_tx.send(line.trim_end().to_string()).is_err() {
                break;
            }
            line.clear();
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lines.iter().any(|l: &String| l.starts_with("START ")) && Instant::now() < deadline {
        if let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    reader.join().unwrap();
    lines.extend(lines_rx.try_iter());
    assert!(!status.success(), "the child finished before it was killed");
    let start = lines
        .iter()
        .find_map(|l| l.strip_prefix("START "))
        .expect("the child never started")
        .parse()
        .unwrap();
    let durable = lines
        .iter()
        .filter_map(|l| l.strip_prefix("DURABLE "))
        .map(|l| {
            let (k, position) = l.split_once(' ').unwrap();
            (k.parse().unwrap(), position.parse().unwrap())
        })
        .collect();
    ChildReport { start, durable }
}

#[test]
fn kill_9_loses_no_durable_record() {
    if std::env::var(CHILD_DIR_ENV).is_ok() {
        return;
    }
    let seed = test_seed("kill_9_loses_no_durable_record");
    let mut rng = Rng(seed);
    let dir = TempDir::new("crash");
    // (round, first position of the round) for every round so far
    let mut starts: Vec<(u64, u64)> = Vec::new();
    let mut durable_total = 0;
    for round in 1..=ROUNDS {
        let report = run_child_and_kill(&dir, round, seed, &mut rng);
        starts.push((round, report.start));
        durable_total += report.durable.len();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let recovered = store.recover().unwrap();
        assert_eq!(recovered.snapshot, None);
        let last = recovered.last_position;
        let positions: Vec<u64> = recovered.log.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            positions,
            (1..=last).collect::<Vec<_>>(),
            "the log has a gap"
        );
        // Every record in the log is exactly one the children wrote (durable or not)
        for (position, bytes) in &recovered.log {
            let (r, start) = *starts.iter().rev().find(|(_, s)| s < position).unwrap();
            assert_eq!(
                *bytes,
                payload(seed, r, position - start),
                "position {position}"
            );
        }
        for &(k, reported) in &report.durable {
            let position = report.start + k;
            assert!(
                position <= last,
                "durable record {k} of round {round} is lost"
            );
            assert!(reported >= position);
            let kept = store.messages(round, k, k + 1, 1).unwrap();
            assert_eq!(
                kept,
                vec![(k, payload(seed, round, k))],
                "message {k} of round {round}"
            );
        }
        eprintln!(
            "round {round}: {} durable before kill -9, log now ends at {last}",
            report.durable.len()
        );
        // The reopened store goes on from where the log ends
        assert_eq!(submit_wait(&store, vec![]).unwrap(), last);
        store.close().unwrap();
    }
    assert!(durable_total > 0, "no child reported a durable record");
}
