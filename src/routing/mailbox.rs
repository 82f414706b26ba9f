//! The hand-off from connection tasks to a shard: a lock-free multi-producer queue plus a
//! "scheduled" flag, so a burst of commands wakes the shard once instead of once per command.
//!
//! Protocol (modelled with loom in `loom-tests/`): a producer pushes, then sets `scheduled`; only
//! the producer that flips it from false to true must wake the consumer. The consumer drains,
//! then clears `scheduled`, then looks once more: anything pushed after its last drain is either
//! seen by that look or was pushed by a producer that saw `scheduled == false` and woke it.
//! Invariant: no command is ever left in the queue with the consumer asleep (no lost wake-up).
//!
//! This file imports only `crate::sync`. It never blocks and never awaits: waking is the
//! caller's job (a `tokio::sync::Notify` in the server, a thread unpark in tests).

use crate::sync::{AtomicBool, Ordering, SegQueue};

/// A multi-producer, single-consumer mailbox.
#[derive(Debug)]
pub struct Mailbox<T> {
    queue: SegQueue<T>,
    scheduled: AtomicBool,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// What the consumer should do after [`Mailbox::try_park`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Park {
    /// Nothing is waiting: sleep until woken.
    Sleep,
    /// Items arrived meanwhile: drain again.
    Again,
}

impl<T> Mailbox<T> {
    /// An empty mailbox whose consumer is not scheduled.
    pub fn new() -> Self {
        Self {
            queue: SegQueue::new(),
            scheduled: AtomicBool::new(false),
        }
    }

    /// Pushes `item`; returns true when the caller must wake the consumer.
    #[must_use = "when push returns true the consumer must be woken"]
    pub fn push(&self, item: T) -> bool {
        self.queue.push(item);
        // SeqCst, like the consumer's clear-then-check in `try_park`: each side writes one
        // location and then reads the other, which only SeqCst on both sides keeps from
        // missing each other (a lost wake-up the memory model would otherwise allow).
        !self.scheduled.swap(true, Ordering::SeqCst)
    }

    /// Consumer: takes up to `max` items into `out`; returns how many.
    pub fn drain_into(&self, out: &mut Vec<T>, max: usize) -> usize {
        let mut taken = 0;
        while taken < max {
            match self.queue.pop() {
                Some(item) => {
                    out.push(item);
                    taken += 1;
                }
                None => break,
            }
        }
        taken
    }

    /// Consumer, after draining everything: clears the scheduled flag and re-checks the queue.
    pub fn try_park(&self) -> Park {
        self.scheduled.store(false, Ordering::SeqCst);
        if self.queue.is_empty() {
            return Park::Sleep;
        }
        // Items slipped in between the last drain and the store above. If a producer already
        // re-set the flag it has woken (or will wake) us; either way draining again is safe.
        self.scheduled.store(true, Ordering::SeqCst);
        Park::Again
    }

    /// Items waiting (approximate under concurrency).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is waiting (approximate under concurrency).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_push_asks_for_a_wake() {
        let mb = Mailbox::new();
        assert!(mb.push(1));
        assert!(!mb.push(2));
        let mut out = Vec::new();
        assert_eq!(mb.drain_into(&mut out, 10), 2);
        assert_eq!(out, vec![1, 2]);
        assert_eq!(mb.try_park(), Park::Sleep);
        assert!(mb.push(3));
    }

    #[test]
    fn park_sees_items_pushed_after_the_drain() {
        let mb = Mailbox::new();
        assert!(mb.push(1));
        let mut out = Vec::new();
        mb.drain_into(&mut out, 10);
        assert!(!mb.push(2), "still scheduled: no wake needed");
        assert_eq!(mb.try_park(), Park::Again);
        mb.drain_into(&mut out, 10);
        assert_eq!(out, vec![1, 2]);
        assert_eq!(mb.try_park(), Park::Sleep);
    }

    #[test]
    fn drain_respects_max() {
        let mb = Mailbox::new();
        for i in 0..5 {
            let _ = mb.push(i);
        }
        let mut out = Vec::new();
        assert_eq!(mb.drain_into(&mut out, 3), 3);
        assert_eq!(mb.len(), 2);
    }

    #[test]
    fn threads_lose_nothing() {
        use std::sync::Arc;
        let mb = Arc::new(Mailbox::new());
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let mb = mb.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        let _ = mb.push(p * 100_000 + i);
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut out = Vec::new();
        mb.drain_into(&mut out, usize::MAX);
        out.sort_unstable();
        out.dedup();
        assert_eq!(out.len(), 40_000);
    }
}
