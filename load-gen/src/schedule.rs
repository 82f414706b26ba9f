//! Time for the open model: the run's [`Clock`] (nanoseconds since one origin), the
//! [`Timetable`] that says when each message of a connection is due, and the [`Agenda`] of
//! delayed actions an operator works through (accept, reply after a think time, close).
//!
//! Pure apart from `Clock::now_ns`: timetables and agendas take time as numbers, so tests drive
//! them without sleeping. Latency is always measured from a *due* time computed here, never
//! from when a sender got round to it, so a late sender shows up in the figures (no coordinated
//! omission).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Nanoseconds since the run's origin.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// The tokio instant of `ns` after the origin (for `sleep_until`).
    pub fn instant(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.origin + Duration::from_nanos(ns))
    }
}

/// When each message of one sender is due: `start + phase + i * interval`, for every `i` whose
/// due time is before `end`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timetable {
    first_ns: f64,
    interval_ns: f64,
    end_ns: u64,
}

impl Timetable {
    /// Sender `index` of `senders` sharing `total_per_sec` evenly: each sends every
    /// `senders / total` seconds, and the senders' phases are spread over one such interval so
    /// the total is smooth (message k overall is due at `start + k / total`).
    pub fn share(
        start_ns: u64,
        end_ns: u64,
        total_per_sec: f64,
        senders: usize,
        index: usize,
    ) -> Timetable {
        let total = total_per_sec.max(1e-9);
        Timetable {
            first_ns: start_ns as f64 + index as f64 * 1e9 / total,
            interval_ns: senders.max(1) as f64 * 1e9 / total,
            end_ns,
        }
    }

    /// The due time of message `i`, or `None` when it falls at or after the end.
    pub fn due(&self, i: u64) -> Option<u64> {
        let at = self.first_ns + i as f64 * self.interval_ns;
        (at < self.end_ns as f64).then_some(at as u64)
    }

    /// How many messages the timetable holds.
    #[cfg(test)]
    pub fn len(&self) -> u64 {
        if self.first_ns >= self.end_ns as f64 {
            return 0;
        }
        ((self.end_ns as f64 - self.first_ns) / self.interval_ns).ceil() as u64
    }
}

/// An action an operator will take at a due time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Accept { dialog_id: u64 },
    Reply { dialog_id: u64 },
    Close { dialog_id: u64 },
}

/// Delayed actions in due order; equal due times keep their insertion order (a reply queued
/// before the close of the same dialog goes first).
#[derive(Debug, Default)]
pub struct Agenda {
    heap: BinaryHeap<Reverse<(u64, u64, Entry)>>,
    inserted: u64,
}

/// `Action` wrapped so the heap orders by (due, insertion) only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry(Action);

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Agenda {
    pub fn push(&mut self, due_ns: u64, action: Action) {
        self.heap
            .push(Reverse((due_ns, self.inserted, Entry(action))));
        self.inserted += 1;
    }

    /// The earliest due time, if any.
    pub fn next_due(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((due, _, _))| *due)
    }

    /// The earliest action if it is due at `now_ns`, with its due time.
    pub fn pop_due(&mut self, now_ns: u64) -> Option<(u64, Action)> {
        if self.next_due()? > now_ns {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse((due, _, Entry(action)))| (due, action))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_timetables_interleave_into_the_total_rate() {
        // 4 senders sharing 1000/s for 1 s starting at 1 s: one message every ms overall.
        let start = 1_000_000_000;
        let end = 2_000_000_000;
        let tables: Vec<_> = (0..4)
            .map(|i| Timetable::share(start, end, 1_000.0, 4, i))
            .collect();
        let mut all: Vec<u64> = tables
            .iter()
            .flat_map(|t| (0..).map_while(|i| t.due(i)))
            .collect();
        all.sort_unstable();
        assert_eq!(all.len(), 1_000);
        for (k, due) in all.iter().enumerate() {
            let want = start + k as u64 * 1_000_000;
            assert!(
                due.abs_diff(want) <= 1,
                "message {k} due {due}, want {want}"
            );
        }
        assert_eq!(tables.iter().map(Timetable::len).sum::<u64>(), 1_000);
        assert_eq!(tables[1].due(0), Some(start + 1_000_000));
        assert_eq!(tables[1].due(1), Some(start + 5_000_000));
    }

    #[test]
    fn timetable_ends_before_the_end() {
        let t = Timetable::share(0, 10, 1e9, 1, 0); // every ns
        assert_eq!(t.len(), 10);
        assert_eq!(t.due(9), Some(9));
        assert_eq!(t.due(10), None);
        // A sender whose phase is past the end has nothing to send.
        let late = Timetable::share(0, 10, 1e8, 1_000, 500);
        assert_eq!(late.len(), 0);
        assert_eq!(late.due(0), None);
    }

    #[test]
    fn slow_rates_keep_sub_nanosecond_drift_out() {
        // 3 per second over 1000 senders: intervals of 333.33 s; no drift across messages.
        let t = Timetable::share(0, u64::MAX / 2, 3.0, 1_000, 0);
        let due = t.due(3_000).expect("due");
        assert!(due.abs_diff(1_000_000_000_000_000) <= 1, "{due}");
    }

    #[test]
    fn agenda_pops_in_due_then_insertion_order() {
        let mut agenda = Agenda::default();
        agenda.push(30, Action::Close { dialog_id: 1 });
        agenda.push(10, Action::Accept { dialog_id: 2 });
        agenda.push(30, Action::Reply { dialog_id: 3 });
        agenda.push(20, Action::Reply { dialog_id: 1 });
        assert_eq!(agenda.next_due(), Some(10));
        assert_eq!(agenda.pop_due(5), None);
        assert_eq!(
            agenda.pop_due(10),
            Some((10, Action::Accept { dialog_id: 2 }))
        );
        assert_eq!(
            agenda.pop_due(25),
            Some((20, Action::Reply { dialog_id: 1 }))
        );
        assert_eq!(agenda.pop_due(25), None);
        assert_eq!(
            agenda.pop_due(99),
            Some((30, Action::Close { dialog_id: 1 }))
        );
        assert_eq!(
            agenda.pop_due(99),
            Some((30, Action::Reply { dialog_id: 3 }))
        );
        assert!(agenda.is_empty());
    }
}
