//! Working hours of a line: an IANA time zone, a weekly pattern of wall-clock intervals,
//! weekends and holidays; answers "open now?", "when does that change?" and "how much open
//! time lies between two instants?". The only module that does time zone work (through jiff:
//! no hand-written offset math); sans-IO: every question takes the instant as Unix milliseconds.
//!
//! Semantics:
//! - `week` intervals are local wall-clock times. Absent days and `""` are closed all day
//!   (weekends). An interval whose end is earlier than its start runs overnight into the next
//!   day (`fri = "22:00-06:00"` is open Friday 22:00 to Saturday 06:00); `24:00` may end one.
//!   Overlapping or touching intervals merge, so there is never a change at a shared edge.
//! - A holiday closes its whole local calendar date, 00:00 to 24:00: the after-midnight tail of
//!   an overnight interval begun the evening before is closed too, and so is the evening part
//!   of an overnight interval starting on the holiday. The tail of that interval on the next
//!   (ordinary) date opens as usual at 00:00.
//! - Daylight saving time: a boundary takes effect when the line's wall clock first reaches it.
//!   A boundary inside a spring-forward gap (Berlin `02:30` on the last Sunday of March) takes
//!   effect at the jump itself (03:00 CEST); jiff's `compatible` disambiguation would move it to
//!   03:30 instead, opening later than the clock says. A boundary inside a fall-back fold takes
//!   the first occurrence (as `compatible` does), and while the clock repeats the hour the
//!   state does not flicker back: the week is evaluated at the latest wall-clock time the clock
//!   has shown so far (`wall_clock`). So open time is real elapsed time: `00:00-24:00` is 23 h
//!   or 25 h on DST days, `09:00-18:00` stays 9 h.
//!
//! Invariants: after `new` nothing allocates, does I/O or fails, and no input panics (`new`
//! itself may read the system tz database through jiff: call it at config load).
//! `is_open(t)` is constant on `[t, next_change(t))` and differs at `next_change(t)`;
//! `open_ms_between` sums exactly the instants where `is_open` is true (both checked by the
//! property tests). Instants outside jiff's range (years -9999..=9999) are clamped to it.
//! Cost: `is_open` is two tz lookups plus a weekday table (~0.15 µs in a DST zone, release);
//! `next_change` walks local days up to `NEXT_CHANGE_HORIZON_DAYS`; `open_ms_between` is linear
//! in the local days it spans (~0.2 µs per day).

// Sans-IO: time comes in as an argument, never from a clock (see clippy.toml).
#![deny(clippy::disallowed_methods)]

mod error;
mod week;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use error::HoursError;
pub use week::{HOLIDAYS_MAX, INTERVALS_PER_DAY_MAX};

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use week::{Week, MINUTES_PER_DAY};

/// How far ahead `next_change` looks before answering `None`.
pub const NEXT_CHANGE_HORIZON_DAYS: i64 = 400;
/// Longest backward jump a clock can make: jiff offsets lie within ±26 h.
const FOLD_LOOKBACK: SignedDuration = SignedDuration::from_hours(52);
/// Most transitions inspected inside `FOLD_LOOKBACK` (real zones have one or two).
const FOLD_TRANSITIONS_MAX: usize = 8;
const NANO: SignedDuration = SignedDuration::from_nanos(1);

/// A line's working hours; cheap to query from routing decisions.
#[derive(Clone, Debug)]
pub struct WorkingHours {
    tz: TimeZone,
    week: Week,
}

impl WorkingHours {
    /// `timezone`: IANA name; `week`: pairs like `("mon", "09:00-18:00")`;
    /// `holidays`: `"YYYY-MM-DD"` local dates.
    pub fn new(
        timezone: &str,
        week: &[(&str, &str)],
        holidays: &[&str],
    ) -> Result<Self, HoursError> {
        let tz = TimeZone::get(timezone).map_err(|_| HoursError::UnknownTimeZone {
            name: timezone.to_string(),
        })?;
        Ok(Self {
            tz,
            week: Week::parse(week, holidays)?,
        })
    }

    /// The line's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Is the line open at this Unix-millisecond instant?
    pub fn is_open(&self, ts_ms: i64) -> bool {
        let (date, minute) = self.local_minute(clamp(ts_ms));
        self.week.open_at(date, minute)
    }

    /// The next instant strictly after `ts_ms` at which `is_open` changes value, searching at
    /// most `NEXT_CHANGE_HORIZON_DAYS` ahead; `None` if it does not change in that time.
    pub fn next_change(&self, ts_ms: i64) -> Option<i64> {
        let start = clamp(ts_ms);
        let horizon = SignedDuration::from_hours(24 * NEXT_CHANGE_HORIZON_DAYS);
        let limit = start.checked_add(horizon).unwrap_or(Timestamp::MAX);
        let change = self.change_after(start, limit)?.as_millisecond();
        (change > ts_ms).then_some(change)
    }

    /// Milliseconds of open time within `[from_ms, to_ms)`; 0 when the range is empty.
    pub fn open_ms_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms || self.week.never_open() {
            return 0;
        }
        let (from, to) = (clamp(from_ms), clamp(to_ms));
        let (from_ms, to_ms) = (from.as_millisecond(), to.as_millisecond());
        let (mut date, _) = self.local_minute(from);
        let (last, _) = self.local_minute(to);
        let mut total: i64 = 0;
        while date <= last {
            for span in self.week.spans_on(date) {
                let start = self.first_instant(date, span.start);
                let end = self.first_instant(date, span.end);
                let (Some(start), Some(end)) = (start, end) else {
                    continue;
                };
                let lo = start.as_millisecond().max(from_ms);
                let hi = end.as_millisecond().min(to_ms);
                total = total.saturating_add((hi - lo).max(0));
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        total
    }

    /// First instant in `(start, limit]` where the open state differs from the state at `start`.
    fn change_after(&self, start: Timestamp, limit: Timestamp) -> Option<Timestamp> {
        if self.week.never_open() {
            return None;
        }
        let (mut date, minute) = self.local_minute(start);
        let open = self.week.open_at(date, minute);
        let mut after = Some(minute);
        // Local dates run at most a couple of days off the instants that map to them.
        let (last, _) = self.local_minute(limit);
        let last = last
            .checked_add(SignedDuration::from_hours(48))
            .unwrap_or(Date::MAX);
        loop {
            let (flip_date, flip_minute) = self.week.next_flip(date, after, open, last)?;
            let at = self.first_instant(flip_date, flip_minute)?;
            if at > limit {
                return None;
            }
            let (now_date, now_minute) = self.local_minute(at);
            if at > start && self.week.open_at(now_date, now_minute) != open {
                return Some(at);
            }
            // A gap jumped over the flip and back again: keep looking after the jump.
            (date, after) = if (now_date, now_minute) > (flip_date, flip_minute) {
                (now_date, Some(now_minute))
            } else {
                (flip_date, Some(flip_minute))
            };
        }
    }

    /// The latest local wall-clock time the line's clock has shown up to `ts`: normally just
    /// the local time, but while a fold repeats an hour, the time just before the clock
    /// turned back. Monotonic in `ts`, which keeps DST folds free of flicker.
    fn wall_clock(&self, ts: Timestamp) -> DateTime {
        let mut latest = self.tz.to_offset(ts).to_datetime(ts);
        let window_start = ts.as_second().saturating_sub(FOLD_LOOKBACK.as_secs());
        // `preceding` is strict; one nanosecond later also yields a transition at `ts` itself.
        let probe = Timestamp::new(ts.as_second(), ts.subsec_nanosecond() + 1).unwrap_or(ts);
        for transition in self.tz.preceding(probe).take(FOLD_TRANSITIONS_MAX) {
            let at = transition.timestamp();
            if at.as_second() < window_start {
                break;
            }
            let Ok(just_before) = at.checked_sub(NANO) else {
                break;
            };
            let shown = self.tz.to_offset(just_before).to_datetime(just_before);
            latest = latest.max(shown);
        }
        latest
    }

    /// `wall_clock` as a local date and minute of that date.
    fn local_minute(&self, ts: Timestamp) -> (Date, u16) {
        let wall = self.wall_clock(ts);
        let minute = u16::try_from(wall.hour()).unwrap_or(0) * 60
            + u16::try_from(wall.minute()).unwrap_or(0);
        (wall.date(), minute)
    }

    /// The first instant at which the wall clock shows local `minute` (0..=1440) of `date`
    /// or later: the earlier one in a fold, the jump itself in a gap. `None` only at the
    /// edges of jiff's range.
    fn first_instant(&self, date: Date, minute: u16) -> Option<Timestamp> {
        let (date, minute) = if minute >= MINUTES_PER_DAY {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute)
        };
        let hour = i8::try_from(minute / 60).ok()?;
        let minute = i8::try_from(minute % 60).ok()?;
        let local = date.to_datetime(Time::new(hour, minute, 0, 0).ok()?);
        match self.tz.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
            AmbiguousOffset::Fold { before, after } => {
                let (a, b) = (
                    before.to_timestamp(local).ok()?,
                    after.to_timestamp(local).ok()?,
                );
                Some(a.min(b))
            }
            AmbiguousOffset::Gap { before, after } => {
                let (a, b) = (
                    before.to_timestamp(local).ok()?,
                    after.to_timestamp(local).ok()?,
                );
                let transition = self.tz.following(a.min(b)).next()?;
                Some(transition.timestamp())
            }
        }
    }
}

/// Unix milliseconds to a jiff instant, clamped to jiff's range.
fn clamp(ts_ms: i64) -> Timestamp {
    match Timestamp::from_millisecond(ts_ms) {
        Ok(ts) => ts,
        Err(_) if ts_ms < 0 => Timestamp::MIN,
        Err(_) => Timestamp::MAX,
    }
}
