//! Free space under the data directory, polled: below `disk_free_min_bytes` the server is
//! *read-only* — new messages get `error unavailable` instead of an ack, `/healthz` answers 503
//! naming why, `/metrics` shows the free bytes — and once space is freed it accepts again on its
//! own. Refusing before the routing core sees a message keeps memory and disk in agreement; a
//! commit that fails anyway still stops the server (fail-stop, `Hub::fail`).
//! Must never: block a shard, or decide anything from a stale reading older than one poll.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The last reading of the data directory's free space.
pub struct DiskWatch {
    min_free: u64,
    free: AtomicU64,
    full: AtomicBool,
}

impl DiskWatch {
    /// A watch that calls the disk full below `min_free` bytes (0: never).
    pub fn new(min_free: u64) -> Self {
        Self {
            min_free,
            free: AtomicU64::new(u64::MAX),
            full: AtomicBool::new(false),
        }
    }

    /// Reads the free space of the file system holding `dir` now; a failed read keeps the last
    /// reading.
    pub fn check(&self, dir: &Path) {
        if let Ok(free) = fs4::available_space(dir) {
            self.observe(free);
        }
    }

    /// Takes `free` bytes as the current reading.
    pub fn observe(&self, free: u64) {
        self.free.store(free, Ordering::Relaxed);
        let full = free < self.min_free;
        if self.full.swap(full, Ordering::AcqRel) != full {
            if full {
                eprintln!(
                    "switchboard: the data directory's disk has {free} bytes free, below \
                     disk_free_min_bytes {}: new messages are refused until space is freed",
                    self.min_free
                );
            } else {
                eprintln!("switchboard: disk space is back ({free} bytes free): accepting again");
            }
        }
    }

    /// Free bytes at the last reading (`u64::MAX` before the first).
    pub fn free_bytes(&self) -> u64 {
        self.free.load(Ordering::Relaxed)
    }

    /// Why writes are refused now, or `None` when they are not.
    pub fn refusal(&self) -> Option<String> {
        self.full.load(Ordering::Acquire).then(|| {
            format!(
                "the server's disk is full ({} bytes free, {} needed): try again later",
                self.free_bytes(),
                self.min_free
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_minimum_it_refuses_and_above_it_accepts_again() {
        let watch = DiskWatch::new(1_000);
        assert_eq!(watch.refusal(), None);
        watch.observe(999);
        let why = watch.refusal().expect("refused");
        assert!(why.contains("999 bytes free"), "{why}");
        watch.observe(1_000);
        assert_eq!(watch.refusal(), None);
        let never = DiskWatch::new(0);
        never.observe(0);
        assert_eq!(never.refusal(), None);
    }

    #[test]
    fn a_real_directory_has_a_reading() {
        let watch = DiskWatch::new(0);
        watch.check(&std::env::temp_dir());
        assert!(watch.free_bytes() < u64::MAX);
    }
}
