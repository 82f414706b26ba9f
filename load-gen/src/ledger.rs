//! The ledger of one direction's messages (widget → operator, or operator → widget): one slot
//! per message id with its *due* time and what became of it — sent, acknowledged, rejected with
//! an `error`, delivered once or more. The receiving side looks the due time up by the id found
//! in the text, so latency counts from the timetable.
//!
//! Bounded: the slots are allocated once, sized from the plan; ids past the end are refused
//! (`alloc` returns `None`) and counted. Lock-free (atomics), shared by every connection task.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const SENT: u32 = 1;
const ACKED: u32 = 2;
const REJECTED: u32 = 4;
/// Deliveries are counted from this bit up.
const DELIVERY: u32 = 1 << 8;

struct Slot {
    /// Due time in ns since the clock's origin, plus one (0 = never allocated).
    due: AtomicU64,
    state: AtomicU32,
}

/// What a delivery was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The first delivery of a sent message, due at this time (ns).
    First { due_ns: u64 },
    /// A message delivered before.
    Duplicate,
    /// Not one of this run's sent messages.
    Unknown,
}

/// Totals at the end of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub sent: u64,
    pub acked: u64,
    pub delivered: u64,
    /// Sent, not rejected, and never delivered.
    pub lost: u64,
    /// Deliveries beyond the first.
    pub duplicated: u64,
    /// Answered with an `error` instead of an `ack`.
    pub rejected: u64,
    /// Messages that could not be sent because the ledger was full.
    pub overflow: u64,
}

pub struct Ledger {
    slots: Box<[Slot]>,
    next: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    rejected: AtomicU64,
    overflow: AtomicU64,
}

impl Ledger {
    /// A ledger for at most `capacity` messages.
    pub fn new(capacity: usize) -> Ledger {
        Ledger {
            slots: (0..capacity)
                .map(|_| Slot {
                    due: AtomicU64::new(0),
                    state: AtomicU32::new(0),
                })
                .collect(),
            next: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
        }
    }

    /// A fresh id for a message due at `due_ns`; `None` when the ledger is full.
    pub fn alloc(&self, due_ns: u64) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        match self.slots.get(id as usize) {
            Some(slot) => {
                slot.due.store(due_ns.saturating_add(1), Ordering::Release);
                Some(id)
            }
            None => {
                self.overflow.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn slot(&self, id: u64) -> Option<(&Slot, u64)> {
        let slot = self.slots.get(usize::try_from(id).ok()?)?;
        match slot.due.load(Ordering::Acquire) {
            0 => None,
            due => Some((slot, due - 1)),
        }
    }

    /// Message `id` left for the server.
    pub fn sent(&self, id: u64) {
        if let Some((slot, _)) = self.slot(id) {
            if slot.state.fetch_or(SENT, Ordering::AcqRel) & SENT == 0 {
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Its `ack` arrived; the due time the first time, `None` for a repeated or unknown ack.
    pub fn acked(&self, id: u64) -> Option<u64> {
        let (slot, due) = self.slot(id)?;
        let first = slot.state.fetch_or(ACKED, Ordering::AcqRel) & ACKED == 0;
        if first {
            self.acked.fetch_add(1, Ordering::Relaxed);
        }
        first.then_some(due)
    }

    /// The server answered it with an `error`: it is not expected to arrive.
    pub fn rejected(&self, id: u64) {
        if let Some((slot, _)) = self.slot(id) {
            if slot.state.fetch_or(REJECTED, Ordering::AcqRel) & REJECTED == 0 {
                self.rejected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Message `id` arrived as a message frame; a second arrival is a duplicate.
    pub fn delivered(&self, id: u64) -> Delivery {
        let Some((slot, due)) = self.slot(id) else {
            return Delivery::Unknown;
        };
        let before = slot.state.fetch_add(DELIVERY, Ordering::AcqRel);
        if before >> 8 == 0 {
            self.delivered.fetch_add(1, Ordering::Relaxed);
            Delivery::First { due_ns: due }
        } else {
            Delivery::Duplicate
        }
    }

    /// Message `id` was seen inside an offer's `last_messages` (a copy of the history, which a
    /// second offer repeats): counts as delivered if it was not yet, never as a duplicate.
    pub fn seen_in_history(&self, id: u64) -> Delivery {
        let Some((slot, due)) = self.slot(id) else {
            return Delivery::Unknown;
        };
        match slot
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s >> 8 == 0).then_some(s + DELIVERY)
            }) {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                Delivery::First { due_ns: due }
            }
            Err(_) => Delivery::Duplicate,
        }
    }

    /// Sent messages neither delivered nor rejected yet (for the end-of-run grace period).
    pub fn outstanding(&self) -> u64 {
        let done = self.delivered.load(Ordering::Relaxed) + self.rejected.load(Ordering::Relaxed);
        self.sent.load(Ordering::Relaxed).saturating_sub(done)
    }

    /// Sent messages neither acknowledged nor rejected yet.
    pub fn unacked(&self) -> u64 {
        let done = self.acked.load(Ordering::Relaxed) + self.rejected.load(Ordering::Relaxed);
        self.sent.load(Ordering::Relaxed).saturating_sub(done)
    }

    pub fn sent_count(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn delivered_count(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Walks every slot: the end-of-run totals.
    pub fn tally(&self) -> Tally {
        let used = (self.next.load(Ordering::Relaxed) as usize).min(self.slots.len());
        let mut t = Tally {
            overflow: self.overflow.load(Ordering::Relaxed),
            ..Tally::default()
        };
        for slot in &self.slots[..used] {
            let s = slot.state.load(Ordering::Acquire);
            let deliveries = u64::from(s >> 8);
            if s & SENT == 0 {
                continue;
            }
            t.sent += 1;
            t.acked += u64::from(s & ACKED != 0);
            t.delivered += u64::from(deliveries > 0);
            t.duplicated += deliveries.saturating_sub(1);
            if s & REJECTED != 0 {
                t.rejected += 1;
            } else if deliveries == 0 {
                t.lost += 1;
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_delivered_lost_and_duplicated_are_told_apart() {
        let ledger = Ledger::new(8);
        let ids: Vec<u64> = (0..5)
            .map(|i| ledger.alloc(1_000 * i).expect("room"))
            .collect();
        for &id in &ids[..4] {
            ledger.sent(id);
        }
        // ids[4] was allocated but never sent (the connection died first): not lost.
        assert_eq!(ledger.delivered(ids[0]), Delivery::First { due_ns: 0 });
        assert_eq!(ledger.delivered(ids[0]), Delivery::Duplicate);
        assert_eq!(ledger.delivered(ids[0]), Delivery::Duplicate);
        assert_eq!(ledger.delivered(ids[1]), Delivery::First { due_ns: 1_000 });
        assert_eq!(ledger.acked(ids[1]), Some(1_000));
        assert_eq!(ledger.acked(ids[1]), None, "a second ack is not measured");
        ledger.rejected(ids[2]);
        assert_eq!(ledger.outstanding(), 1, "only ids[3] is still on its way");
        assert_eq!(ledger.unacked(), 2, "ids[0] and ids[3] have no ack yet");
        assert_eq!(ledger.delivered(7), Delivery::Unknown, "never allocated");
        assert_eq!(ledger.delivered(1 << 40), Delivery::Unknown);
        assert_eq!(
            ledger.tally(),
            Tally {
                sent: 4,
                acked: 1,
                delivered: 2,
                lost: 1,
                duplicated: 2,
                rejected: 1,
                overflow: 0,
            }
        );
    }

    #[test]
    fn history_copies_count_once_and_never_as_duplicates() {
        let ledger = Ledger::new(4);
        let a = ledger.alloc(5).expect("room");
        ledger.sent(a);
        assert_eq!(ledger.seen_in_history(a), Delivery::First { due_ns: 5 });
        assert_eq!(ledger.seen_in_history(a), Delivery::Duplicate);
        let t = ledger.tally();
        assert_eq!((t.delivered, t.duplicated, t.lost), (1, 0, 0));
        // A live frame after the history copy is a real duplicate.
        assert_eq!(ledger.delivered(a), Delivery::Duplicate);
        assert_eq!(ledger.tally().duplicated, 1);
    }

    #[test]
    fn a_full_ledger_refuses_and_counts() {
        let ledger = Ledger::new(1);
        assert_eq!(ledger.alloc(0), Some(0));
        assert_eq!(ledger.alloc(0), None);
        assert_eq!(ledger.alloc(0), None);
        assert_eq!(ledger.tally().overflow, 2);
    }
}
