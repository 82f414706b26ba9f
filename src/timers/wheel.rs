//! The hierarchical timing wheel: owns every armed timer (deadline + payload) and fires it on `poll`.
//!
//! Sans-IO: time is only ever an argument (`now_ms`); this module never reads a clock, never sleeps,
//! never allocates on `arm`/`cancel` once the slab has grown, and never panics except in `arm` at
//! its `timers_max` limit (use `try_arm` to handle that).
//!
//! Layout: `LEVELS` levels of 64 slots; a slot of level `l` spans 64^l ms, so 11 levels span all
//! 2^64 ms and every `u64` deadline has a slot (no overflow list). Timers live in a slab (`entries`
//! plus a free list) and are linked into per-slot intrusive doubly-linked lists by `u32` index.
//!
//! Invariants (checked by `tests::model_*`):
//! - every armed timer is in exactly one list: `PENDING` if its deadline was `<= elapsed_ms` when
//!   armed, else the wheel slot chosen by `list_for` against `elapsed_ms` at the time it was linked;
//! - a timer in level `l` shares every deadline bit above level `l` with `elapsed_ms`, and its
//!   slot starts after `elapsed_ms`; hence every timer in level `l` fires before any in level `l+1`;
//! - bit `s` of `occupied[l]` is set iff slot `s` of level `l` is non-empty, and bit `l` of
//!   `levels_occupied` iff `occupied[l] != 0`;
//! - `elapsed_ms` never decreases;
//! - an entry's generation changes whenever its timer leaves (cancel or fire); an entry whose
//!   generation is exhausted is retired, never reused, so a stale key can never match a new timer.

use std::fmt;

/// Bits of deadline resolved per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Levels: 11 × 6 bits ≥ 64 bits, so any `u64` deadline fits without an overflow list.
const LEVELS: usize = 11;
/// Lists: one per wheel slot plus the pending list.
const LISTS: usize = LEVELS * SLOTS + 1;
/// The list of timers armed with a deadline already reached; drained first by `poll`.
const PENDING: u32 = (LEVELS * SLOTS) as u32;
/// "No entry" link and "not in any list" marker.
const NIL: u32 = u32::MAX;
/// Most timers one wheel can hold at once: slab indices are `u32` and `NIL` is reserved.
pub const TIMERS_MAX: usize = u32::MAX as usize;

/// Handle to an armed timer; Copy, 8 bytes (slot index + generation), stale handles are harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// Why `try_arm` refused a timer; the payload is handed back.
#[derive(Debug, PartialEq, Eq)]
pub enum ArmError<T> {
    /// The wheel already holds `timers_max` timers.
    Full(T),
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

impl List {
    const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
}

/// One slab slot. Armed iff `list != NIL` (then `payload` is `Some`); when vacant, `next` links
/// the free list.
struct Entry<T> {
    deadline_ms: u64,
    payload: Option<T>,
    prev: u32,
    next: u32,
    generation: u32,
    list: u32,
}

/// The earliest non-empty wheel slot and the instant it must be processed.
struct Expiration {
    list: u32,
    deadline_ms: u64,
}

/// Hierarchical timing wheel with 1 ms resolution. See the module docs for invariants.
pub struct TimerWheel<T> {
    elapsed_ms: u64,
    entries: Vec<Entry<T>>,
    free_head: u32,
    lists: Box<[List; LISTS]>,
    occupied: [u64; LEVELS],
    levels_occupied: u16,
    /// Lower bound of the deadlines in `PENDING` (exact until a pending timer is cancelled).
    pending_min_ms: u64,
    len: usize,
    timers_max: usize,
}

impl<T> TimerWheel<T> {
    /// An empty wheel whose current time is `now_ms`.
    pub fn new(now_ms: u64) -> Self {
        Self::with_limit(now_ms, TIMERS_MAX)
    }

    /// An empty wheel with room for `timers` timers before the slab reallocates
    /// (best effort: a reservation the allocator refuses is skipped).
    pub fn with_capacity(now_ms: u64, timers: usize) -> Self {
        let mut wheel = Self::new(now_ms);
        let _ = wheel.entries.try_reserve_exact(timers.min(TIMERS_MAX));
        wheel
    }

    /// An empty wheel that refuses (`try_arm`) more than `timers_max` armed timers
    /// (clamped to `TIMERS_MAX`).
    pub fn with_limit(now_ms: u64, timers_max: usize) -> Self {
        TimerWheel {
            elapsed_ms: now_ms,
            entries: Vec::new(),
            free_head: NIL,
            lists: Box::new([List::EMPTY; LISTS]),
            occupied: [0; LEVELS],
            levels_occupied: 0,
            pending_min_ms: u64::MAX,
            len: 0,
            timers_max: timers_max.min(TIMERS_MAX),
        }
    }

    /// Arm a timer at absolute deadline (ms). A deadline <= the wheel's current time fires on the
    /// next poll.
    ///
    /// # Panics
    /// If the wheel already holds `timers_max` timers (by default `TIMERS_MAX`, which needs over
    /// 160 GiB of slab); use `try_arm` with a wheel built by `with_limit`.
    pub fn arm(&mut self, deadline_ms: u64, payload: T) -> TimerKey {
        match self.try_arm(deadline_ms, payload) {
            Ok(key) => key,
            Err(ArmError::Full(_)) => panic!("timer wheel full: {} timers armed", self.len),
        }
    }

    /// Like `arm`, but hands the payload back instead of exceeding `timers_max`. O(1); allocates
    /// only when the slab grows.
    pub fn try_arm(&mut self, deadline_ms: u64, payload: T) -> Result<TimerKey, ArmError<T>> {
        if self.len >= self.timers_max {
            return Err(ArmError::Full(payload));
        }
        let index = if self.free_head != NIL {
            let index = self.free_head;
            self.free_head = self.entries[index as usize].next;
            let entry = &mut self.entries[index as usize];
            entry.deadline_ms = deadline_ms;
            entry.payload = Some(payload);
            index
        } else {
            let Ok(index) = u32::try_from(self.entries.len()) else {
                return Err(ArmError::Full(payload));
            };
            if index == NIL {
                return Err(ArmError::Full(payload));
            }
            self.entries.push(Entry {
                deadline_ms,
                payload: Some(payload),
                prev: NIL,
                next: NIL,
                generation: 0,
                list: NIL,
            });
            index
        };
        self.link(index);
        self.len += 1;
        let generation = self.entries[index as usize].generation;
        Ok(TimerKey { index, generation })
    }

    /// Cancel: returns the payload if the timer was still armed; a stale/fired key returns None. O(1).
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        self.armed(key)?;
        self.unlink(key.index);
        self.release(key.index).map(|(_, payload)| payload)
    }

    /// Deadline of an armed timer, None if stale.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.armed(key).map(|entry| entry.deadline_ms)
    }

    /// Advance the wheel to `now_ms` and move every timer with deadline <= now_ms into `out` as
    /// (deadline_ms, payload), in non-decreasing deadline order (equal deadlines: unspecified
    /// order). A `now_ms` earlier than `now()` does not move time back: it polls at `now()`.
    /// Cost: O(fired + cascaded) plus O(1) per non-empty slot passed, never per millisecond.
    pub fn poll(&mut self, now_ms: u64, out: &mut Vec<(u64, T)>) {
        let now_ms = now_ms.max(self.elapsed_ms);
        self.drain_pending(out);
        while let Some(expiration) = self.next_expiration() {
            if expiration.deadline_ms > now_ms {
                break;
            }
            self.elapsed_ms = expiration.deadline_ms;
            self.process(expiration.list, out);
        }
        self.elapsed_ms = now_ms;
    }

    /// The earliest instant at which poll could return something: a lower bound never later than
    /// the earliest deadline (exact when that timer is within 64 ms of `now()`); None when empty.
    /// May be `<= now()`, meaning "poll now". O(1).
    pub fn next_wake(&self) -> Option<u64> {
        if self.lists[PENDING as usize].head != NIL {
            return Some(self.pending_min_ms);
        }
        self.next_expiration()
            .map(|expiration| expiration.deadline_ms)
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The wheel's current time (ms): the latest `now_ms` seen by `new` or `poll`.
    pub fn now(&self) -> u64 {
        self.elapsed_ms
    }

    /// Heap bytes held by the wheel: slab capacity plus the slot lists.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry<T>>()
            + std::mem::size_of::<[List; LISTS]>()
    }

    /// Size of one slab entry for this payload type (bytes).
    pub fn entry_bytes() -> usize {
        std::mem::size_of::<Entry<T>>()
    }

    /// The entry behind `key` if it is still armed.
    fn armed(&self, key: TimerKey) -> Option<&Entry<T>> {
        let entry = self.entries.get(key.index as usize)?;
        (entry.generation == key.generation && entry.list != NIL).then_some(entry)
    }

    /// The list a timer with this deadline belongs in, given the current `elapsed_ms`.
    fn list_for(&self, deadline_ms: u64) -> u32 {
        if deadline_ms <= self.elapsed_ms {
            return PENDING;
        }
        // `| (SLOTS - 1)` keeps level 0 for deadlines in the current 64 ms block.
        let masked = (self.elapsed_ms ^ deadline_ms) | (SLOTS as u64 - 1);
        let level = (63 - masked.leading_zeros()) / SLOT_BITS;
        let slot = (deadline_ms >> (level * SLOT_BITS)) & (SLOTS as u64 - 1);
        level * SLOTS as u32 + slot as u32
    }

    /// Append the detached entry `index` to the list its deadline belongs in.
    fn link(&mut self, index: u32) {
        let deadline_ms = self.entries[index as usize].deadline_ms;
        let list = self.list_for(deadline_ms);
        if list == PENDING {
            self.pending_min_ms = self.pending_min_ms.min(deadline_ms);
        }
        let tail = self.lists[list as usize].tail;
        let entry = &mut self.entries[index as usize];
        entry.list = list;
        entry.prev = tail;
        entry.next = NIL;
        if tail == NIL {
            self.lists[list as usize].head = index;
            self.mark_occupied(list);
        } else {
            self.entries[tail as usize].next = index;
        }
        self.lists[list as usize].tail = index;
    }

    /// Remove the armed entry `index` from its list.
    fn unlink(&mut self, index: u32) {
        let Entry {
            prev, next, list, ..
        } = self.entries[index as usize];
        if prev == NIL {
            self.lists[list as usize].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[list as usize].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.lists[list as usize].head == NIL {
            self.mark_empty(list);
        }
    }

    /// Detach the whole of `list`, returning its first entry (links inside stay valid).
    fn take(&mut self, list: u32) -> u32 {
        let head = self.lists[list as usize].head;
        self.lists[list as usize] = List::EMPTY;
        self.mark_empty(list);
        head
    }

    /// Free the detached entry `index`: bump its generation and return its deadline and payload.
    fn release(&mut self, index: u32) -> Option<(u64, T)> {
        let entry = &mut self.entries[index as usize];
        let payload = entry.payload.take()?;
        entry.list = NIL;
        entry.prev = NIL;
        if let Some(generation) = entry.generation.checked_add(1) {
            entry.generation = generation;
            entry.next = self.free_head;
            self.free_head = index;
        }
        self.len -= 1;
        Some((entry.deadline_ms, payload))
    }

    fn mark_occupied(&mut self, list: u32) {
        if list != PENDING {
            let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
            self.occupied[level] |= 1 << slot;
            self.levels_occupied |= 1 << level;
        }
    }

    fn mark_empty(&mut self, list: u32) {
        if list != PENDING {
            let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
            self.occupied[level] &= !(1 << slot);
            if self.occupied[level] == 0 {
                self.levels_occupied &= !(1 << level);
            }
        }
    }

    /// Fire every pending timer into `out`, sorted by deadline (stable: arm order on ties).
    fn drain_pending(&mut self, out: &mut Vec<(u64, T)>) {
        let start = out.len();
        let mut index = self.take(PENDING);
        while index != NIL {
            let next = self.entries[index as usize].next;
            out.extend(self.release(index));
            index = next;
        }
        self.pending_min_ms = u64::MAX;
        if let Some(fired) = out.get_mut(start..) {
            fired.sort_by_key(|&(deadline_ms, _)| deadline_ms);
        }
    }

    /// Empty one wheel slot at `elapsed_ms`: fire what is due, cascade the rest to lower levels.
    fn process(&mut self, list: u32, out: &mut Vec<(u64, T)>) {
        let mut index = self.take(list);
        while index != NIL {
            let entry = &self.entries[index as usize];
            let next = entry.next;
            if entry.deadline_ms <= self.elapsed_ms {
                out.extend(self.release(index));
            } else {
                self.link(index);
            }
            index = next;
        }
    }

    /// The earliest non-empty slot: levels are ordered (see invariants), so the lowest non-empty
    /// level holds it, and its bitmap finds the slot. O(1).
    fn next_expiration(&self) -> Option<Expiration> {
        if self.levels_occupied == 0 {
            return None;
        }
        let level = self.levels_occupied.trailing_zeros();
        let occupied = self.occupied[level as usize];
        let shift = level * SLOT_BITS;
        let now_slot = (self.elapsed_ms >> shift) & (SLOTS as u64 - 1);
        let ahead = occupied & (u64::MAX << now_slot);
        // `ahead == 0` would break an invariant; the fallback processes that slot at once,
        // which re-files its timers correctly.
        let slot = u64::from(if ahead != 0 { ahead } else { occupied }.trailing_zeros());
        let block_mask = 1u64
            .checked_shl(shift + SLOT_BITS)
            .map_or(u64::MAX, |span| span - 1);
        let start = (self.elapsed_ms & !block_mask) | (slot << shift);
        Some(Expiration {
            list: level * SLOTS as u32 + slot as u32,
            deadline_ms: start.max(self.elapsed_ms),
        })
    }
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("now_ms", &self.elapsed_ms)
            .field("len", &self.len)
            .field("next_wake", &self.next_wake())
            .finish()
    }
}
