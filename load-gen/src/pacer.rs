//! Precise wake-ups for the open model. tokio's timer fires on whole-millisecond ticks, which
//! would make every message up to 1 ms late and add that to every latency measured from its due
//! time. One OS thread per run keeps the requested due times in a heap and sleeps with the OS's
//! timer (tens of µs of slack), then wakes the task whose time has come through its
//! [`Alarm`]'s `Notify`.
//!
//! Invariants: the thread never touches a socket and never blocks on anything but its request
//! channel; it ends when the last [`Pacer`] handle is dropped. An alarm rings at most
//! `SLACK_NS` before its armed time: a superseded request that fires first is swallowed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use crate::schedule::Clock;

/// Entries due this close to now are fired together.
pub const SLACK_NS: u64 = 20_000;

struct Request {
    due_ns: u64,
    target: Arc<Target>,
}

/// What the pacer wakes: a task's `Notify`, and the latest due time fired for it.
#[derive(Default)]
struct Target {
    notify: Notify,
    fired_ns: AtomicU64,
}

/// Handle to a run's pacer thread.
#[derive(Clone)]
pub struct Pacer {
    tx: mpsc::Sender<Request>,
}

impl Pacer {
    /// Starts the thread on `clock`.
    pub fn start(clock: Clock) -> Result<Pacer, String> {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("pacer".into())
            .spawn(move || run(clock, rx))
            .map_err(|e| format!("cannot start the pacer thread: {e}"))?;
        Ok(Pacer { tx })
    }

    /// A per-task alarm on this pacer.
    pub fn alarm(&self) -> Alarm {
        Alarm {
            pacer: self.clone(),
            target: Arc::default(),
            armed: None,
        }
    }
}

/// A heap entry: ordered by due time, then by arrival.
struct Due(u64, u64, Arc<Target>);

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

fn run(clock: Clock, rx: mpsc::Receiver<Request>) {
    let mut heap: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
    let mut arrivals = 0u64;
    loop {
        let now = clock.now_ns();
        while heap.peek().is_some_and(|Reverse(d)| d.0 <= now + SLACK_NS) {
            if let Some(Reverse(Due(due, _, target))) = heap.pop() {
                target.fired_ns.fetch_max(due, Ordering::AcqRel);
                target.notify.notify_one();
            }
        }
        let next = match heap.peek() {
            Some(Reverse(d)) => rx.recv_timeout(Duration::from_nanos(d.0.saturating_sub(now))),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        let first = match next {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        for r in std::iter::once(first).chain(rx.try_iter()) {
            arrivals += 1;
            heap.push(Reverse(Due(r.due_ns, arrivals, r.target)));
        }
    }
}

/// One task's wake-up: `arm(due)`, then `ring().await`.
pub struct Alarm {
    pacer: Pacer,
    target: Arc<Target>,
    armed: Option<u64>,
}

impl Alarm {
    /// Makes sure the task is woken by `due_ns` (an earlier request already covers it).
    pub fn arm(&mut self, due_ns: u64) {
        if self.armed.is_some_and(|armed| armed <= due_ns) {
            return;
        }
        self.armed = Some(due_ns);
        let request = Request {
            due_ns,
            target: self.target.clone(),
        };
        // The thread only ends when every handle is gone, so this cannot fail while `self`
        // lives; if it did, `ring` would never resolve and the task ends with the run.
        let _ = self.pacer.tx.send(request);
    }

    /// Resolves at the armed time (within the slack). Cancel-safe: dropped before it resolves,
    /// the alarm stays armed.
    pub async fn ring(&mut self) {
        loop {
            self.target.notify.notified().await;
            let fired = self.target.fired_ns.load(Ordering::Acquire);
            // A request superseded by an earlier one fires before the armed time: not this one.
            if self.armed.is_none_or(|armed| fired >= armed) {
                self.armed = None;
                return;
            }
        }
    }

    /// Waits until `due_ns` on `clock` (within the slack).
    pub async fn until(&mut self, clock: &Clock, due_ns: u64) {
        while !is_due(clock, due_ns) {
            self.arm(due_ns);
            self.ring().await;
        }
    }
}

/// Whether `due_ns` has come (within the pacer's slack).
pub fn is_due(clock: &Clock, due_ns: u64) -> bool {
    clock.now_ns() + SLACK_NS >= due_ns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_close_to_the_due_time() {
        let clock = Clock::new();
        let pacer = Pacer::start(clock).expect("thread");
        let mut alarm = pacer.alarm();
        let mut worst = 0u64;
        for i in 1..=20u64 {
            let due = clock.now_ns() + 300_000 + i * 1_000;
            alarm.until(&clock, due).await;
            assert!(is_due(&clock, due));
            worst = worst.max(clock.now_ns().saturating_sub(due));
        }
        // Typically tens of µs; the bound only guards against a lost wake-up on a busy CI box.
        assert!(worst < 50_000_000, "woke {worst} ns late");
    }

    #[tokio::test]
    async fn a_superseded_request_does_not_ring_early() {
        let clock = Clock::new();
        let pacer = Pacer::start(clock).expect("thread");
        let mut alarm = pacer.alarm();
        let now = clock.now_ns();
        alarm.arm(now + 200_000_000); // superseded by the next one
        alarm.arm(now + 1_000_000);
        alarm.ring().await;
        assert!(is_due(&clock, now + 1_000_000));
        // Armed later than the stale request: that one fires first and is swallowed.
        let later = now + 400_000_000;
        alarm.arm(later);
        alarm.ring().await;
        assert!(is_due(&clock, later), "rang early");
    }
}
