//! The floor under every durable acknowledgement on this machine: how long a 1 KiB write +
//! `fdatasync` takes, back to back for 3 s, on a quiet machine, then with one core kept busy,
//! then with every core kept busy (plain spinning threads, no I/O of their own).
//!
//! Not a criterion benchmark: it prints p50 / p99 / p99.9 / max and the share of time spent in
//! flushes slower than 2 ms. On the 2-core development VM the flush is ~0.1–0.2 ms when the
//! machine is quiet, but once a core is busy, flushes stall for 10–30 ms at a time (up to 175 ms
//! seen); the stall is outside the process (a separate process doing only flushes sees it too),
//! most likely in the hypervisor's I/O path. That is what holds the server's durable p99 above a
//! relay's under load. Run: `cargo bench --bench fsync_probe`.
//!
//! The file lives under the system temp dir (set TMPDIR to probe another disk) and is removed.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RECORD_BYTES: usize = 1024;
const RUN: Duration = Duration::from_secs(3);

fn main() {
    let path = std::env::temp_dir().join(format!("switchboard-fsync-probe-{}", std::process::id()));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "fsync_probe: {RECORD_BYTES}-byte write + fdatasync, back to back, {RUN:?} each, in {}",
        path.display()
    );
    for busy in [0, 1, cores] {
        let report = probe(&path, busy);
        println!("fsync_probe: {busy} of {cores} cores busy: {report}");
    }
    let _ = std::fs::remove_file(&path);
}

/// Flushes for `RUN` while `busy` threads spin; returns the figures as text.
fn probe(path: &std::path::Path, busy: usize) -> String {
    let mut file = std::fs::File::create(path).expect("probe file");
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..busy)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            })
        })
        .collect();
    let record = [0x5au8; RECORD_BYTES];
    let mut us = Vec::new();
    let began = Instant::now();
    while began.elapsed() < RUN {
        let started = Instant::now();
        file.write_all(&record).expect("write");
        file.sync_data().expect("fdatasync");
        us.push(started.elapsed().as_micros() as u64);
    }
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        let _ = spinner.join();
    }
    let total: u64 = us.iter().sum();
    let slow: u64 = us.iter().filter(|&&u| u > 2_000).sum();
    us.sort_unstable();
    let at = |q: f64| us[((us.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    format!(
        "{} flushes: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms; {:.1}% of the time in flushes over 2 ms",
        us.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0),
        100.0 * slow as f64 / total.max(1) as f64
    )
}
