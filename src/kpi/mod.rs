//! Response-time KPI of one dialog, and how working hours pause the clock.
//!
//! A *response* is the time from a client's first unanswered message to the next operator
//! reply; the first one of a dialog is its *first response*. Only open working time counts:
//! time the dialog waits while its line is outside working hours is not held against anyone (a
//! line without hours is always open). KPI target deadlines are placed the same way, so an alert
//! never fires for time spent closed.

// Sans-IO: time comes in as an argument, never from a clock (see clippy.toml).
#![deny(clippy::disallowed_methods)]

pub mod stats;

use crate::schedule::WorkingHours;
use serde::{Deserialize, Serialize};

/// Most open/closed spans walked when placing a deadline (a week of split shifts is ~30).
const DEADLINE_WALK_MAX: usize = 256;

/// A dialog's response-time figures, in ms of open working time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpi {
    /// Time to the first operator reply, once there was one.
    pub first_response_ms: Option<u64>,
    /// Operator replies that ended a client's wait (the first response included).
    pub responses: u32,
    pub total_response_ms: u64,
    pub max_response_ms: u64,
    /// The `first_response` target passed without a reply.
    pub first_response_missed: bool,
    /// Waits that passed the `response` target.
    pub responses_missed: u32,
}

impl Kpi {
    /// Records a reply that ended a wait of `ms`.
    pub fn record_response(&mut self, first: bool, ms: u64) {
        if first && self.first_response_ms.is_none() {
            self.first_response_ms = Some(ms);
        }
        self.responses = self.responses.saturating_add(1);
        self.total_response_ms = self.total_response_ms.saturating_add(ms);
        self.max_response_ms = self.max_response_ms.max(ms);
    }

    /// Mean response time, once there was a response.
    pub fn average_response_ms(&self) -> Option<u64> {
        (self.responses > 0).then(|| self.total_response_ms / u64::from(self.responses))
    }
}

/// Open working time in `[from_ms, to_ms)`; all of it without hours.
pub fn open_ms(hours: Option<&WorkingHours>, from_ms: u64, to_ms: u64) -> u64 {
    match hours {
        None => to_ms.saturating_sub(from_ms),
        Some(h) => h.open_ms_between(from_ms as i64, to_ms as i64).max(0) as u64,
    }
}

/// The instant at which `target_ms` of open working time will have passed since `from_ms`.
/// Without hours that is `from_ms + target_ms`; a line that never opens again gives `None`.
pub fn open_deadline(hours: Option<&WorkingHours>, from_ms: u64, target_ms: u64) -> Option<u64> {
    let Some(h) = hours else {
        return Some(from_ms.saturating_add(target_ms));
    };
    let mut at = from_ms as i64;
    let mut left = target_ms as i64;
    for _ in 0..DEADLINE_WALK_MAX {
        let change = h.next_change(at);
        if h.is_open(at) {
            match change {
                Some(closes) if closes - at < left => {
                    left -= closes - at;
                    at = closes;
                }
                _ => return Some((at + left).max(0) as u64),
            }
        } else {
            at = change?;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mon–Fri 09:00–17:00 UTC.
    fn office() -> WorkingHours {
        let week: Vec<(&str, &str)> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (*d, "09:00-17:00"))
            .collect();
        WorkingHours::new("UTC", &week, &[]).expect("valid hours")
    }

    /// 2026-11-23 is a Monday.
    fn at(day: u64, hour: u64, minute: u64) -> u64 {
        const MONDAY_2026_11_23: u64 = 1_795_392_000_000;
        MONDAY_2026_11_23 + ((day * 24 + hour) * 60 + minute) * 60_000
    }

    #[test]
    fn the_monday_anchor_is_midnight_utc() {
        let ts = jiff::Timestamp::from_millisecond(at(0, 0, 0) as i64).unwrap();
        assert_eq!(ts.to_string(), "2026-11-23T00:00:00Z");
        assert_eq!(
            ts.to_zoned(jiff::tz::TimeZone::UTC).weekday(),
            jiff::civil::Weekday::Monday
        );
    }

    #[test]
    fn closed_time_does_not_count() {
        let h = office();
        // Friday 16:50 to Monday 09:05: 10 + 5 open minutes.
        assert_eq!(open_ms(Some(&h), at(4, 16, 50), at(7, 9, 5)), 15 * 60_000);
        assert_eq!(open_ms(None, 1_000, 4_000), 3_000);
        assert_eq!(open_ms(None, 4_000, 1_000), 0);
    }

    #[test]
    fn a_deadline_skips_the_closed_hours() {
        let h = office();
        // 15 minutes from Friday 16:50: 10 minutes on Friday, 5 on Monday morning.
        assert_eq!(
            open_deadline(Some(&h), at(4, 16, 50), 15 * 60_000),
            Some(at(7, 9, 5))
        );
        // Starting while closed: the clock starts at the opening.
        assert_eq!(
            open_deadline(Some(&h), at(0, 7, 0), 60_000),
            Some(at(0, 9, 1))
        );
        // Inside one open span.
        assert_eq!(
            open_deadline(Some(&h), at(1, 10, 0), 60_000),
            Some(at(1, 10, 1))
        );
        assert_eq!(open_deadline(None, 10, 5), Some(15));
    }

    #[test]
    fn figures_add_up() {
        let mut k = Kpi::default();
        assert_eq!(k.average_response_ms(), None);
        k.record_response(true, 300);
        k.record_response(false, 100);
        k.record_response(false, 200);
        assert_eq!(k.first_response_ms, Some(300));
        assert_eq!(
            (k.responses, k.total_response_ms, k.max_response_ms),
            (3, 600, 300)
        );
        assert_eq!(k.average_response_ms(), Some(200));
    }
}
