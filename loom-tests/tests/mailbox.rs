//! loom model of `Mailbox` (`src/routing/mailbox.rs`): producers hand items to a sleeping
//! consumer.
//!
//! A wake is a counter: a producer whose `push` returns true bumps `wakes_requested`; the consumer
//! runs once per wake it takes and otherwise sleeps. The model stops the consumer the first time
//! it would sleep with no wake pending, and checks no lost wake-up: every item was drained by
//! then, or a wake was requested after that last park (so a real consumer would run again).

mod common;

use common::explore;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::mailbox::{Mailbox, Park};

const PRODUCERS: usize = 2;
/// Preemptions per execution. Three reach every outcome below in about 6k executions; the
/// check-then-clear `try_park` bug is caught with one. Unbounded (`explore(None, ..)`) also
/// passes: about 130k executions, 17 s in release. (A large `LOOM_MAX_PREEMPTIONS` is not the
/// same: bounded search adds conservative backtracking and runs far longer.)
const PREEMPTIONS_MAX: usize = 3;
/// Larger than anything the model pushes: one drain takes every item present.
const DRAIN_ITEMS_MAX: usize = 8;

/// The consumer side: wakes requested by producers, wakes taken, items drained.
struct Consumer {
    mailbox: Arc<Mailbox<usize>>,
    wakes_requested: Arc<AtomicUsize>,
    wakes_taken: usize,
    drained: Vec<usize>,
    saw_again: bool,
}

impl Consumer {
    /// Runs while a wake is pending; returns when it would sleep with none.
    fn run_until_asleep(&mut self) {
        loop {
            let requested = self.wakes_requested.load(Ordering::Acquire);
            if requested == self.wakes_taken {
                return;
            }
            self.wakes_taken = requested;
            loop {
                self.mailbox.drain_into(&mut self.drained, DRAIN_ITEMS_MAX);
                if self.mailbox.try_park() == Park::Sleep {
                    break;
                }
                self.saw_again = true;
            }
        }
    }

    fn wake_pending(&self) -> bool {
        self.wakes_requested.load(Ordering::Acquire) > self.wakes_taken
    }
}

/// How one execution went, to check the model reached the interesting cases.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Outcome {
    /// Items drained before the consumer first slept with no wake pending.
    drained_before_sleep: usize,
    /// A wake was pending when it slept (requested after its last park).
    woken_again: bool,
    /// `try_park` returned `Again` at least once.
    saw_again: bool,
}

/// Two producers push one item each while the consumer drains and parks: no item is ever
/// stranded with the consumer asleep and no wake pending.
#[test]
#[cfg_attr(
    not(switchboard_loom),
    ignore = "loom model: needs --cfg switchboard_loom"
)]
fn no_lost_wake_up() {
    let outcomes = explore(Some(PREEMPTIONS_MAX), || {
        let mailbox = Arc::new(Mailbox::new());
        let wakes_requested = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|item| {
                let mailbox = Arc::clone(&mailbox);
                let wakes_requested = Arc::clone(&wakes_requested);
                thread::spawn(move || {
                    if mailbox.push(item) {
                        wakes_requested.fetch_add(1, Ordering::Release);
                    }
                })
            })
            .collect();
        let consumer = {
            let mut consumer = Consumer {
                mailbox: Arc::clone(&mailbox),
                wakes_requested,
                wakes_taken: 0,
                drained: Vec::new(),
                saw_again: false,
            };
            thread::spawn(move || {
                consumer.run_until_asleep();
                consumer
            })
        };
        for p in producers {
            p.join().unwrap();
        }
        let mut consumer = consumer.join().unwrap();

        let drained_before_sleep = consumer.drained.len();
        let woken_again = consumer.wake_pending();
        assert!(
            drained_before_sleep == PRODUCERS || woken_again,
            "lost wake-up: {} item(s) queued, consumer asleep, no wake pending",
            mailbox.len()
        );

        // Deliver the pending wake, if any: then every item is drained exactly once.
        consumer.run_until_asleep();
        consumer.drained.sort_unstable();
        assert_eq!(consumer.drained, (0..PRODUCERS).collect::<Vec<_>>());
        assert!(mailbox.is_empty());
        Outcome {
            drained_before_sleep,
            woken_again,
            saw_again: consumer.saw_again,
        }
    });
    let outcome = |drained_before_sleep, woken_again, saw_again| Outcome {
        drained_before_sleep,
        woken_again,
        saw_again,
    };
    let expected = [
        // The consumer slept before any push: the first push woke it.
        outcome(0, true, false),
        // It drained one item and slept; the other push woke it again.
        outcome(1, true, false),
        // It drained both, once through `Park::Again`, with or without a spare wake.
        outcome(2, false, false),
        outcome(2, false, true),
        outcome(2, true, false),
        outcome(2, true, true),
    ];
    assert_eq!(outcomes.into_iter().collect::<Vec<_>>(), expected);
}
