//! Tests for the timing wheel: unit cases plus a proptest against a `BTreeMap` reference model.
//! Reproduce a proptest run with `PROPTEST_RNG_SEED=<seed>`; failures print the minimal case.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{ArmError, TimerKey, TimerWheel};

const MS_PER_DAY: u64 = 24 * 60 * 60 * 1000;

fn poll(wheel: &mut TimerWheel<u64>, now_ms: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    wheel.poll(now_ms, &mut out);
    out
}

#[test]
fn fires_in_deadline_order_and_not_before() {
    let mut wheel = TimerWheel::new(1_000);
    for (payload, deadline) in [(1, 1_500), (2, 1_010), (3, 70_000), (4, 1_064), (5, 5_000)] {
        wheel.arm(deadline, payload);
    }
    assert_eq!(poll(&mut wheel, 1_009), vec![]);
    assert_eq!(poll(&mut wheel, 1_499), vec![(1_010, 2), (1_064, 4)]);
    assert_eq!(poll(&mut wheel, 69_999), vec![(1_500, 1), (5_000, 5)]);
    assert_eq!(wheel.len(), 1);
    assert_eq!(poll(&mut wheel, 70_000), vec![(70_000, 3)]);
    assert!(wheel.is_empty());
    assert_eq!(wheel.now(), 70_000);
}

#[test]
fn cancel_returns_payload_once() {
    let mut wheel = TimerWheel::new(0);
    let key = wheel.arm(100, 7);
    assert_eq!(wheel.deadline(key), Some(100));
    assert_eq!(wheel.cancel(key), Some(7));
    assert_eq!(wheel.cancel(key), None);
    assert_eq!(wheel.deadline(key), None);
    assert_eq!(poll(&mut wheel, 1_000), vec![]);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_wake(), None);
}

#[test]
fn fired_and_reused_keys_are_stale() {
    let mut wheel = TimerWheel::new(0);
    let fired = wheel.arm(10, 1);
    assert_eq!(poll(&mut wheel, 10), vec![(10, 1)]);
    let reused = wheel.arm(20, 2);
    assert_ne!(fired, reused);
    assert_eq!(wheel.cancel(fired), None);
    assert_eq!(wheel.deadline(fired), None);
    assert_eq!(wheel.deadline(reused), Some(20));
    let cancelled = reused;
    assert_eq!(wheel.cancel(cancelled), Some(2));
    let again = wheel.arm(30, 3);
    assert_eq!(wheel.cancel(cancelled), None);
    assert_eq!(wheel.deadline(again), Some(30));
    assert_eq!(poll(&mut wheel, 30), vec![(30, 3)]);
}

#[test]
fn key_is_eight_bytes() {
    assert_eq!(std::mem::size_of::<TimerKey>(), 8);
}

#[test]
fn same_deadline_armed_from_different_levels_fires_together() {
    let deadline_ms = 10 * MS_PER_DAY + 17;
    let mut wheel = TimerWheel::new(0);
    let mut now_ms = 0;
    for payload in 0..100 {
        wheel.arm(deadline_ms, payload);
        now_ms += deadline_ms / 101;
        assert_eq!(poll(&mut wheel, now_ms), vec![]);
    }
    assert_eq!(poll(&mut wheel, deadline_ms - 1), vec![]);
    let fired = poll(&mut wheel, deadline_ms);
    let mut payloads: Vec<u64> = fired.iter().map(|&(_, p)| p).collect();
    payloads.sort_unstable();
    assert_eq!(payloads, (0..100).collect::<Vec<_>>());
    assert!(fired.iter().all(|&(d, _)| d == deadline_ms));
}

#[test]
fn past_deadlines_fire_on_next_poll_sorted() {
    let mut wheel = TimerWheel::new(5_000);
    wheel.arm(4_000, 1);
    wheel.arm(5_000, 2);
    wheel.arm(0, 3);
    wheel.arm(5_001, 4);
    assert_eq!(wheel.next_wake(), Some(0));
    // A poll earlier than now() does not move time back but still fires what is due.
    assert_eq!(poll(&mut wheel, 10), vec![(0, 3), (4_000, 1), (5_000, 2)]);
    assert_eq!(wheel.now(), 5_000);
    assert_eq!(wheel.next_wake(), Some(5_001));
    assert_eq!(poll(&mut wheel, 5_001), vec![(5_001, 4)]);
}

#[test]
fn time_never_goes_back() {
    let mut wheel = TimerWheel::new(1_000);
    wheel.arm(1_500, 1);
    assert_eq!(poll(&mut wheel, 500), vec![]);
    assert_eq!(wheel.now(), 1_000);
    wheel.arm(1_200, 2);
    assert_eq!(poll(&mut wheel, 1_200), vec![(1_200, 2)]);
}

#[test]
fn far_deadlines_fire_exactly() {
    let start_ms = 1_700_000_000_000; // a realistic Unix-epoch millisecond clock
    for far_ms in [
        40 * MS_PER_DAY,
        3 * 365 * MS_PER_DAY,
        1 << 50,
        u64::MAX - start_ms,
    ] {
        let mut wheel = TimerWheel::new(start_ms);
        let deadline_ms = start_ms + far_ms;
        let key = wheel.arm(deadline_ms, 9);
        // Step through in uneven strides, then land exactly one ms short.
        let mut now_ms = start_ms;
        while now_ms < deadline_ms - far_ms / 3 {
            now_ms += far_ms / 7 + 13;
            assert_eq!(poll(&mut wheel, now_ms), vec![], "far_ms {far_ms}");
        }
        assert_eq!(poll(&mut wheel, deadline_ms - 1), vec![]);
        assert_eq!(wheel.deadline(key), Some(deadline_ms));
        assert_eq!(poll(&mut wheel, deadline_ms), vec![(deadline_ms, 9)]);
    }
}

#[test]
fn big_jump_fires_everything_in_order() {
    let mut wheel = TimerWheel::new(0);
    let deadlines = [
        30 * MS_PER_DAY,
        1,
        MS_PER_DAY,
        63,
        64,
        4_095,
        4_096,
        29 * MS_PER_DAY + 1,
    ];
    for (payload, &deadline) in deadlines.iter().enumerate() {
        wheel.arm(deadline, payload as u64);
    }
    let far_key = wheel.arm(3 * 365 * MS_PER_DAY, 99);
    let fired = poll(&mut wheel, 30 * MS_PER_DAY);
    let mut expected: Vec<(u64, u64)> = deadlines
        .iter()
        .enumerate()
        .map(|(p, &d)| (d, p as u64))
        .collect();
    expected.sort_unstable();
    assert_eq!(fired, expected);
    assert_eq!(wheel.deadline(far_key), Some(3 * 365 * MS_PER_DAY));
    assert_eq!(poll(&mut wheel, u64::MAX), vec![(3 * 365 * MS_PER_DAY, 99)]);
}

#[test]
fn jump_to_end_of_time_is_cheap_and_exact() {
    // Would take ~2^64 iterations if poll walked milliseconds.
    let mut wheel = TimerWheel::new(0);
    wheel.arm(u64::MAX, 1);
    wheel.arm(u64::MAX - 1, 2);
    wheel.arm(1 << 63, 3);
    assert_eq!(poll(&mut wheel, u64::MAX - 2), vec![(1 << 63, 3)]);
    assert_eq!(
        poll(&mut wheel, u64::MAX),
        vec![(u64::MAX - 1, 2), (u64::MAX, 1)]
    );
    wheel.arm(u64::MAX, 4);
    assert_eq!(poll(&mut wheel, u64::MAX), vec![(u64::MAX, 4)]);
}

#[test]
fn next_wake_is_a_lower_bound_that_converges() {
    let mut wheel = TimerWheel::new(0);
    assert_eq!(wheel.next_wake(), None);
    let near = wheel.arm(40, 1);
    assert_eq!(wheel.next_wake(), Some(40)); // level 0: exact
    wheel.cancel(near);
    let deadline_ms = 3 * 365 * MS_PER_DAY + 12_345;
    wheel.arm(deadline_ms, 2);
    let mut polls = 0;
    loop {
        let wake = wheel.next_wake().expect("armed");
        assert!(wake <= deadline_ms);
        polls += 1;
        if !poll(&mut wheel, wake).is_empty() {
            break;
        }
        assert!(polls <= 11, "next_wake does not converge");
    }
    assert_eq!(wheel.now(), deadline_ms);
}

#[test]
fn limit_refuses_and_returns_payload() {
    let mut wheel = TimerWheel::with_limit(0, 2);
    let first = wheel.try_arm(5, 1).expect("room");
    wheel.try_arm(6, 2).expect("room");
    assert_eq!(wheel.try_arm(7, 3), Err(ArmError::Full(3)));
    assert_eq!(wheel.cancel(first), Some(1));
    assert!(wheel.try_arm(7, 3).is_ok());
    assert_eq!(poll(&mut wheel, 10), vec![(6, 2), (7, 3)]);
}

#[test]
fn memory_per_timer_is_under_100_bytes() {
    let timers = 100_000u64;
    let mut wheel = TimerWheel::with_capacity(0, timers as usize);
    for i in 0..timers {
        wheel.arm(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (30 * MS_PER_DAY), i);
    }
    assert!(TimerWheel::<u64>::entry_bytes() <= 40);
    let per_timer = wheel.heap_bytes() as u64 / timers;
    assert!(per_timer < 100, "{per_timer} bytes per timer");
}

#[test]
fn slots_are_reused_without_growth() {
    let mut wheel = TimerWheel::new(0);
    let keys: Vec<TimerKey> = (0..1_000).map(|i| wheel.arm(1_000 + i, i)).collect();
    let bytes = wheel.heap_bytes();
    for (i, key) in keys.into_iter().enumerate() {
        assert_eq!(wheel.cancel(key), Some(i as u64));
        wheel.arm(5_000, i as u64);
    }
    assert_eq!(wheel.heap_bytes(), bytes);
    assert_eq!(wheel.len(), 1_000);
}

// ---- reference model ----

/// Where a deadline or a poll lands relative to the wheel's current time.
#[derive(Clone, Debug)]
enum When {
    Ahead(u64),
    Behind(u64),
    At(u64),
}

impl When {
    fn resolve(&self, now_ms: u64) -> u64 {
        match *self {
            When::Ahead(ms) => now_ms.saturating_add(ms),
            When::Behind(ms) => now_ms.saturating_sub(ms),
            When::At(ms) => ms,
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Arm(When),
    Cancel(usize),
    Deadline(usize),
    Poll(When),
    PollAtNextWake,
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        6 => (0..70u64).prop_map(When::Ahead),
        6 => (0..10_000u64).prop_map(When::Ahead),
        3 => (0..(60 * MS_PER_DAY)).prop_map(When::Ahead),
        1 => (0..(1u64 << 40)).prop_map(When::Ahead),
        1 => any::<u64>().prop_map(When::Ahead),
        2 => (0..5_000u64).prop_map(When::Behind),
        1 => any::<u64>().prop_map(When::At),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => when().prop_map(Op::Arm),
        3 => any::<usize>().prop_map(Op::Cancel),
        1 => any::<usize>().prop_map(Op::Deadline),
        4 => when().prop_map(Op::Poll),
        2 => Just(Op::PollAtNextWake),
    ]
}

fn start_ms() -> impl Strategy<Value = u64> {
    prop_oneof![0..1_000u64, any::<u64>(), (u64::MAX - 100_000)..=u64::MAX,]
}

/// The reference: armed timers by id, plus the current time.
struct Model {
    now_ms: u64,
    armed: BTreeMap<u64, u64>,
    keys: Vec<(TimerKey, u64)>,
}

impl Model {
    fn poll(&mut self, wheel: &mut TimerWheel<u64>, now_ms: u64) -> Result<usize, TestCaseError> {
        self.now_ms = self.now_ms.max(now_ms);
        let mut due: Vec<(u64, u64)> = self
            .armed
            .iter()
            .filter(|&(_, &deadline)| deadline <= self.now_ms)
            .map(|(&id, &deadline)| (deadline, id))
            .collect();
        due.sort_unstable();
        for (_, id) in &due {
            self.armed.remove(id);
        }
        let mut fired = Vec::new();
        wheel.poll(now_ms, &mut fired);
        prop_assert!(
            fired.windows(2).all(|w| w[0].0 <= w[1].0),
            "out of order: {fired:?}"
        );
        fired.sort_unstable();
        prop_assert_eq!(&fired, &due);
        prop_assert_eq!(wheel.now(), self.now_ms);
        Ok(fired.len())
    }

    fn key(&self, pick: usize) -> Option<(TimerKey, u64)> {
        (!self.keys.is_empty()).then(|| self.keys[pick % self.keys.len()])
    }
}

fn run(start_ms: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut wheel = TimerWheel::new(start_ms);
    let mut model = Model {
        now_ms: start_ms,
        armed: BTreeMap::new(),
        keys: Vec::new(),
    };
    for (id, op) in (0u64..).zip(ops) {
        match op {
            Op::Arm(when) => {
                let deadline_ms = when.resolve(model.now_ms);
                let key = wheel.arm(deadline_ms, id);
                model.armed.insert(id, deadline_ms);
                model.keys.push((key, id));
            }
            Op::Cancel(pick) => {
                if let Some((key, id)) = model.key(pick) {
                    let expected = model.armed.remove(&id).map(|_| id);
                    prop_assert_eq!(wheel.cancel(key), expected);
                }
            }
            Op::Deadline(pick) => {
                if let Some((key, id)) = model.key(pick) {
                    prop_assert_eq!(wheel.deadline(key), model.armed.get(&id).copied());
                }
            }
            Op::Poll(when) => {
                model.poll(&mut wheel, when.resolve(model.now_ms))?;
            }
            Op::PollAtNextWake => {
                // Polling at next_wake repeatedly must reach the earliest timer within
                // one step per level (plus one).
                let mut fired = 0;
                for _ in 0..12 {
                    let Some(wake) = wheel.next_wake() else { break };
                    fired = model.poll(&mut wheel, wake)?;
                    if fired > 0 {
                        break;
                    }
                }
                prop_assert!(fired > 0 || wheel.is_empty(), "next_wake made no progress");
            }
        }
        prop_assert_eq!(wheel.len(), model.armed.len());
        let earliest = model.armed.values().min().copied();
        match (wheel.next_wake(), earliest) {
            (None, None) => {}
            (Some(wake), Some(earliest)) => prop_assert!(wake <= earliest, "{wake} > {earliest}"),
            (wake, earliest) => prop_assert!(false, "next_wake {wake:?}, earliest {earliest:?}"),
        }
    }
    // Nothing is lost: the end of time fires whatever is left.
    model.poll(&mut wheel, u64::MAX)?;
    prop_assert!(wheel.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn model_random_ops(start_ms in start_ms(), ops in proptest::collection::vec(op(), 0..300)) {
        run(start_ms, ops)?;
    }
}
