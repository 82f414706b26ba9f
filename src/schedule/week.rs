//! The wall-clock side of working hours: which local minutes of which local dates are open.
//!
//! Owns parsing of the `week` and `holidays` config values and the pure calendar questions
//! built on them ("is 2026-12-24 17:59 open?", "where does the state next flip after this
//! local minute?"). Knows nothing about time zones or instants; `super` maps between the two.
//!
//! Invariants: every day's spans are sorted, non-empty, pairwise disjoint and never touch (touching
//! or overlapping pieces are merged), and lie within `0..=MINUTES_PER_DAY`; so inside one date the
//! open state flips exactly at each span's `start` and `end`. An overnight interval (end before
//! start) is stored as `start..24:00` on its day plus `00:00..end` on the next weekday. Holidays
//! are sorted and unique, and a holiday has no spans at all (the whole local date is closed).
//! Nothing here allocates after `parse`.

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::HoursError;

/// Minutes in a local day; `24:00` is this value.
pub(super) const MINUTES_PER_DAY: u16 = 24 * 60;
/// Most comma-separated intervals one day of `week` may list.
pub const INTERVALS_PER_DAY_MAX: usize = 12;
/// Most dates `holidays` may list.
pub const HOLIDAYS_MAX: usize = 1000;

/// Day keys in `week`, Monday first (jiff's `to_monday_zero_offset` order).
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An open stretch of one local date, in minutes since local midnight: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub start: u16,
    pub end: u16,
}

/// The weekly pattern plus holidays, in local wall-clock terms.
#[derive(Clone, Debug)]
pub(super) struct Week {
    days: [Vec<Span>; 7],
    holidays: Vec<Date>,
}

impl Week {
    /// Parses `week` pairs like `("mon", "09:00-13:00,14:00-18:00")` and `holidays` like
    /// `"2026-12-25"`. Errors name the first offending key in input order.
    pub fn parse(week: &[(&str, &str)], holidays: &[&str]) -> Result<Self, HoursError> {
        let mut days: [Vec<Span>; 7] = Default::default();
        let mut seen = [false; 7];
        for &(name, text) in week {
            let Some(index) = DAY_NAMES.iter().position(|d| *d == name) else {
                return Err(HoursError::UnknownDay {
                    day: name.to_string(),
                });
            };
            let day = DAY_NAMES[index];
            if seen[index] {
                return Err(HoursError::DuplicateDay { day });
            }
            seen[index] = true;
            for (start, end) in parse_day(day, text)? {
                if end > start {
                    days[index].push(Span { start, end });
                } else {
                    // Overnight: runs to midnight, then into the next weekday.
                    days[index].push(Span {
                        start,
                        end: MINUTES_PER_DAY,
                    });
                    if end > 0 {
                        days[(index + 1) % 7].push(Span { start: 0, end });
                    }
                }
            }
        }
        for spans in &mut days {
            merge(spans);
        }
        Ok(Self {
            days,
            holidays: parse_holidays(holidays)?,
        })
    }

    /// True when no weekday has any open minute (holidays cannot add any).
    pub fn never_open(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// The open spans of a local date; empty on holidays and weekends.
    pub fn spans_on(&self, date: Date) -> &[Span] {
        if self.holidays.binary_search(&date).is_ok() {
            return &[];
        }
        // `to_monday_zero_offset` is 0..=6 by construction.
        let weekday = date.weekday().to_monday_zero_offset().unsigned_abs() as usize;
        self.days.get(weekday).map_or(&[], Vec::as_slice)
    }

    /// Is local minute `minute` (0..1440) of `date` open?
    pub fn open_at(&self, date: Date, minute: u16) -> bool {
        self.spans_on(date)
            .iter()
            .any(|s| s.start <= minute && minute < s.end)
    }

    /// The first local minute after minute `after` of `date` (strictly later; `None` means
    /// "from 00:00 of `date` inclusive") at which the open state differs from `open`,
    /// looking no further than the date `last`.
    pub fn next_flip(
        &self,
        mut date: Date,
        mut after: Option<u16>,
        open: bool,
        last: Date,
    ) -> Option<(Date, u16)> {
        while date <= last {
            let spans = self.spans_on(date);
            let edges = spans.iter().flat_map(|s| [s.start, s.end]);
            for minute in std::iter::once(0).chain(edges) {
                let later = after.is_none_or(|a| minute > a);
                if later && minute < MINUTES_PER_DAY && self.open_at(date, minute) != open {
                    return Some((date, minute));
                }
            }
            date = date.tomorrow().ok()?;
            after = None;
        }
        None
    }
}

/// Splits one day's text into `(start, end)` minute pairs; `end` may be below `start`.
fn parse_day(day: &'static str, text: &str) -> Result<Vec<(u16, u16)>, HoursError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let count = text.split(',').count();
    if count > INTERVALS_PER_DAY_MAX {
        return Err(HoursError::TooManyIntervals {
            day,
            count,
            max: INTERVALS_PER_DAY_MAX,
        });
    }
    let mut out = Vec::with_capacity(count);
    for piece in text.split(',').map(str::trim) {
        let bad = || HoursError::BadInterval {
            day,
            text: piece.to_string(),
        };
        let (a, b) = piece.split_once('-').ok_or_else(bad)?;
        let start = parse_hhmm(a.trim())
            .filter(|m| *m < MINUTES_PER_DAY)
            .ok_or_else(bad)?;
        let end = parse_hhmm(b.trim()).ok_or_else(bad)?;
        if start == end {
            return Err(HoursError::EmptyInterval {
                day,
                text: piece.to_string(),
            });
        }
        out.push((start, end));
    }
    Ok(out)
}

/// `"HH:MM"` with exactly two digits each, `00:00..=23:59` or `24:00`, to minutes.
fn parse_hhmm(text: &str) -> Option<u16> {
    let &[h1, h2, b':', m1, m2] = text.as_bytes() else {
        return None;
    };
    let hours = two_digits(h1, h2)?;
    let minutes = two_digits(m1, m2)?;
    match (hours, minutes) {
        (0..=23, 0..=59) => Some(hours * 60 + minutes),
        (24, 0) => Some(MINUTES_PER_DAY),
        _ => None,
    }
}

fn two_digits(a: u8, b: u8) -> Option<u16> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| u16::from(a - b'0') * 10 + u16::from(b - b'0'))
}

/// Sorts and merges overlapping or touching spans.
fn merge(spans: &mut Vec<Span>) {
    spans.sort_unstable_by_key(|s| s.start);
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    *spans = merged;
}

/// Parses `YYYY-MM-DD` dates in order, rejecting the first bad or repeated one.
fn parse_holidays(holidays: &[&str]) -> Result<Vec<Date>, HoursError> {
    if holidays.len() > HOLIDAYS_MAX {
        return Err(HoursError::TooManyHolidays {
            count: holidays.len(),
            max: HOLIDAYS_MAX,
        });
    }
    let mut dates = BTreeSet::new();
    for (index, &text) in holidays.iter().enumerate() {
        let date = parse_date(text).ok_or_else(|| HoursError::BadHoliday {
            index,
            text: text.to_string(),
        })?;
        if !dates.insert(date) {
            return Err(HoursError::DuplicateHoliday {
                index,
                text: text.to_string(),
            });
        }
    }
    Ok(dates.into_iter().collect())
}

/// Strict `YYYY-MM-DD`; jiff checks month lengths and leap years.
fn parse_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i16::try_from(two_digits(b[0], b[1])? * 100 + two_digits(b[2], b[3])?).ok()?;
    let month = i8::try_from(two_digits(b[5], b[6])?).ok()?;
    let day = i8::try_from(two_digits(b[8], b[9])?).ok()?;
    Date::new(year, month, day).ok()
}
