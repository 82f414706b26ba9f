//! Per-operator shared state: presence, workday, capacity and load in ONE atomic word, changed
//! only by compare-and-swap.
//!
//! Every shard may offer the same operator at the same instant. Packing availability and load
//! into one `AtomicU64` makes "is this operator available and below capacity? then take a slot"
//! a single atomic step: two shards racing for the last slot cannot both win, and a reservation
//! cannot slip in after the operator went offline. Invariant: `load <= capacity` at every
//! instant, whatever the interleaving (modelled with loom in `loom-tests/`).
//!
//! This file imports only `crate::sync`, never `std::sync`, so `loom-tests` can compile it
//! against loom's atomics. It must never block, allocate, or call out.

use crate::sync::{AtomicU64, Ordering};

/// Whether the operator is connected and willing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    Offline = 0,
    Online = 1,
    Away = 2,
}

/// Where the operator is in the workday (lines with `workday_tracking`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workday {
    NotStarted = 0,
    Started = 1,
    Paused = 2,
    Ended = 3,
}

/// What availability a reservation demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Presence must be `Online`.
    Online,
    /// The workday must be `Started`.
    Working,
    /// Any availability (`check_availability = false`, transfers, accepts).
    Any,
}

/// A decoded snapshot of the word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorState {
    pub load: u32,
    pub capacity: u32,
    pub presence: Presence,
    pub workday: Workday,
}

impl OperatorState {
    /// Does this state meet `need`?
    pub fn meets(&self, need: Need) -> bool {
        match need {
            Need::Online => self.presence == Presence::Online,
            Need::Working => self.workday == Workday::Started,
            Need::Any => true,
        }
    }
}

/// Why a reservation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The operator does not meet the availability asked for.
    Unavailable(OperatorState),
    /// `load == capacity`.
    AtCapacity { load: u32, capacity: u32 },
}

/// Largest capacity the word can hold.
pub const CAPACITY_MAX: u32 = u16::MAX as u32;

const LOAD_MASK: u64 = 0xFFFF_FFFF;
const PRESENCE_SHIFT: u32 = 32;
const WORKDAY_SHIFT: u32 = 40;
const CAPACITY_SHIFT: u32 = 48;

fn decode(word: u64) -> OperatorState {
    let presence = match (word >> PRESENCE_SHIFT) & 0xFF {
        1 => Presence::Online,
        2 => Presence::Away,
        _ => Presence::Offline,
    };
    let workday = match (word >> WORKDAY_SHIFT) & 0xFF {
        1 => Workday::Started,
        2 => Workday::Paused,
        3 => Workday::Ended,
        _ => Workday::NotStarted,
    };
    OperatorState {
        load: (word & LOAD_MASK) as u32,
        capacity: (word >> CAPACITY_SHIFT) as u32,
        presence,
        workday,
    }
}

fn encode(s: OperatorState) -> u64 {
    u64::from(s.load)
        | (s.presence as u64) << PRESENCE_SHIFT
        | (s.workday as u64) << WORKDAY_SHIFT
        | u64::from(s.capacity.min(CAPACITY_MAX)) << CAPACITY_SHIFT
}

/// One operator's shared, lock-free state.
#[derive(Debug)]
pub struct OperatorCell {
    word: AtomicU64,
    /// Offers in a row this operator let time out (`pause_after_missed`).
    missed_in_row: AtomicU64,
}

impl OperatorCell {
    /// An offline operator with no load.
    pub fn new(capacity: u32) -> Self {
        let state = OperatorState {
            load: 0,
            capacity: capacity.min(CAPACITY_MAX),
            presence: Presence::Offline,
            workday: Workday::NotStarted,
        };
        Self {
            word: AtomicU64::new(encode(state)),
            missed_in_row: AtomicU64::new(0),
        }
    }

    /// The current state.
    pub fn state(&self) -> OperatorState {
        decode(self.word.load(Ordering::Acquire))
    }

    /// Takes one slot if the operator meets `need` and is below capacity.
    pub fn reserve(&self, need: Need) -> Result<OperatorState, Refused> {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            let state = decode(current);
            if !state.meets(need) {
                return Err(Refused::Unavailable(state));
            }
            if state.load >= state.capacity {
                return Err(Refused::AtCapacity {
                    load: state.load,
                    capacity: state.capacity,
                });
            }
            let next = OperatorState {
                load: state.load + 1,
                ..state
            };
            match self.word.compare_exchange_weak(
                current,
                encode(next),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(next),
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives one slot back; returns the state before. Releasing at zero load is a bug in the
    /// caller, reported in debug builds and ignored in release (load never wraps).
    pub fn release(&self) -> OperatorState {
        let before = self.update(|s| OperatorState {
            load: s.load.saturating_sub(1),
            ..s
        });
        debug_assert!(before.load > 0, "release without a reservation");
        before
    }

    /// Sets presence; returns the state before.
    pub fn set_presence(&self, presence: Presence) -> OperatorState {
        self.update(|s| OperatorState { presence, ..s })
    }

    /// Sets the workday; returns the state before.
    pub fn set_workday(&self, workday: Workday) -> OperatorState {
        self.update(|s| OperatorState { workday, ..s })
    }

    /// Sets capacity (clamped to `CAPACITY_MAX`). Lowering it below the load takes no dialog
    /// away; no new slot is granted until the load drops below it.
    pub fn set_capacity(&self, capacity: u32) -> OperatorState {
        self.update(|s| OperatorState {
            capacity: capacity.min(CAPACITY_MAX),
            ..s
        })
    }

    /// Counts one more missed offer; returns the new count.
    pub fn note_missed(&self) -> u64 {
        self.missed_in_row.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The operator took or answered a dialog: the missed streak ends.
    pub fn clear_missed(&self) {
        self.missed_in_row.store(0, Ordering::Release);
    }

    fn update(&self, change: impl Fn(OperatorState) -> OperatorState) -> OperatorState {
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            let state = decode(current);
            match self.word.compare_exchange_weak(
                current,
                encode(change(state)),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return state,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;

    #[test]
    fn reserve_respects_capacity_and_presence() {
        let cell = OperatorCell::new(2);
        assert!(matches!(
            cell.reserve(Need::Online),
            Err(Refused::Unavailable(_))
        ));
        assert_eq!(cell.reserve(Need::Any).unwrap().load, 1);
        cell.set_presence(Presence::Online);
        assert_eq!(cell.reserve(Need::Online).unwrap().load, 2);
        assert_eq!(
            cell.reserve(Need::Online),
            Err(Refused::AtCapacity {
                load: 2,
                capacity: 2
            })
        );
        assert_eq!(cell.release().load, 2);
        assert_eq!(cell.state().load, 1);
    }

    #[test]
    fn fields_do_not_bleed_into_each_other() {
        let cell = OperatorCell::new(CAPACITY_MAX + 5);
        cell.set_presence(Presence::Away);
        cell.set_workday(Workday::Paused);
        let s = cell.reserve(Need::Any).unwrap();
        assert_eq!(s.capacity, CAPACITY_MAX);
        assert_eq!(s.presence, Presence::Away);
        assert_eq!(s.workday, Workday::Paused);
        assert_eq!(s.load, 1);
        assert!(!s.meets(Need::Working));
        cell.set_workday(Workday::Started);
        assert!(cell.state().meets(Need::Working));
    }

    #[test]
    fn lowering_capacity_blocks_new_reservations_only() {
        let cell = OperatorCell::new(3);
        for _ in 0..3 {
            cell.reserve(Need::Any).unwrap();
        }
        cell.set_capacity(1);
        assert_eq!(cell.state().load, 3);
        assert!(cell.reserve(Need::Any).is_err());
        cell.release();
        cell.release();
        assert!(cell.reserve(Need::Any).is_err());
        cell.release();
        assert!(cell.reserve(Need::Any).is_ok());
    }

    #[test]
    fn threads_racing_never_exceed_capacity() {
        let cell = std::sync::Arc::new(OperatorCell::new(100));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let cell = cell.clone();
                std::thread::spawn(move || {
                    (0..1_000)
                        .filter(|_| cell.reserve(Need::Any).is_ok())
                        .count()
                })
            })
            .collect();
        let won: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(won, 100);
        assert_eq!(cell.state().load, 100);
    }

    #[test]
    fn missed_streak_counts_and_clears() {
        let cell = OperatorCell::new(1);
        assert_eq!(cell.note_missed(), 1);
        assert_eq!(cell.note_missed(), 2);
        cell.clear_missed();
        assert_eq!(cell.note_missed(), 1);
    }
}
