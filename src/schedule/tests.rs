//! Unit tests for `schedule`: intervals, weekends, holidays, overnight, DST, errors.
//! Expected instants are written with explicit UTC offsets so they do not depend on the code
//! under test. Property tests live in `proptests.rs`.

use super::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// An RFC 3339 instant with explicit offset, e.g. `"2026-06-08T09:00+02:00"`, in Unix ms.
fn ms(text: &str) -> i64 {
    text.parse::<Timestamp>()
        .expect("test instant")
        .as_millisecond()
}

fn hours(tz: &str, week: &[(&str, &str)], holidays: &[&str]) -> WorkingHours {
    WorkingHours::new(tz, week, holidays).expect("valid test hours")
}

/// Mon–Fri office in Berlin, split Tuesday, short Friday, two holidays.
fn office() -> WorkingHours {
    hours(
        "Europe/Berlin",
        &[
            ("mon", "09:00-18:00"),
            ("tue", "09:00-13:00,14:00-18:00"),
            ("wed", "09:00-18:00"),
            ("thu", "09:00-18:00"),
            ("fri", "09:00-17:00"),
        ],
        &["2026-12-25", "2026-12-31"],
    )
}

#[test]
fn open_inside_closed_outside() {
    let h = office();
    assert!(!h.is_open(ms("2026-06-08T09:00+02:00") - 1));
    assert!(h.is_open(ms("2026-06-08T09:00+02:00")));
    assert!(h.is_open(ms("2026-06-08T18:00+02:00") - 1));
    assert!(!h.is_open(ms("2026-06-08T18:00+02:00")));
    assert!(!h.is_open(ms("2026-06-08T03:00+02:00")));
}

#[test]
fn split_interval_closes_for_lunch() {
    let h = office();
    assert!(h.is_open(ms("2026-06-09T12:59+02:00")));
    assert!(!h.is_open(ms("2026-06-09T13:00+02:00")));
    assert!(!h.is_open(ms("2026-06-09T13:59+02:00")));
    assert!(h.is_open(ms("2026-06-09T14:00+02:00")));
    assert_eq!(
        h.next_change(ms("2026-06-09T12:00+02:00")),
        Some(ms("2026-06-09T13:00+02:00"))
    );
}

#[test]
fn weekend_days_are_closed() {
    let h = office();
    assert!(h.is_open(ms("2026-06-05T16:59+02:00")));
    assert!(!h.is_open(ms("2026-06-05T17:00+02:00")));
    assert!(!h.is_open(ms("2026-06-06T12:00+02:00")));
    assert!(!h.is_open(ms("2026-06-07T12:00+02:00")));
}

#[test]
fn holiday_closes_an_open_weekday() {
    let h = office();
    assert!(h.is_open(ms("2026-12-24T10:00+01:00")));
    assert!(!h.is_open(ms("2026-12-25T10:00+01:00")));
    assert!(!h.is_open(ms("2026-12-31T10:00+01:00")));
}

#[test]
fn overnight_interval_runs_into_next_day() {
    let h = hours("Europe/Berlin", &[("fri", "22:00-06:00")], &[]);
    assert!(!h.is_open(ms("2026-06-04T23:00+02:00")), "thursday night");
    assert!(!h.is_open(ms("2026-06-05T21:59+02:00")));
    assert!(h.is_open(ms("2026-06-05T22:00+02:00")));
    assert!(h.is_open(ms("2026-06-06T00:00+02:00")));
    assert!(h.is_open(ms("2026-06-06T05:59+02:00")));
    assert!(!h.is_open(ms("2026-06-06T06:00+02:00")));
    assert_eq!(
        h.next_change(ms("2026-06-05T23:00+02:00")),
        Some(ms("2026-06-06T06:00+02:00"))
    );
    assert_eq!(
        h.open_ms_between(ms("2026-06-01T00:00+02:00"), ms("2026-06-08T00:00+02:00")),
        8 * HOUR
    );
}

#[test]
fn sunday_overnight_wraps_to_monday() {
    let h = hours("UTC", &[("sun", "20:00-02:00")], &[]);
    assert!(h.is_open(ms("2026-06-08T01:00+00:00")), "monday 01:00");
    assert!(!h.is_open(ms("2026-06-08T02:00+00:00")));
}

#[test]
fn holiday_closes_whole_local_date_of_overnight_interval() {
    let week = [("fri", "22:00-06:00")];
    let sat_holiday = hours("Europe/Berlin", &week, &["2026-06-06"]);
    assert!(sat_holiday.is_open(ms("2026-06-05T23:00+02:00")));
    assert!(!sat_holiday.is_open(ms("2026-06-06T01:00+02:00")));
    assert_eq!(
        sat_holiday.next_change(ms("2026-06-05T23:00+02:00")),
        Some(ms("2026-06-06T00:00+02:00"))
    );
    let fri_holiday = hours("Europe/Berlin", &week, &["2026-06-05"]);
    assert!(!fri_holiday.is_open(ms("2026-06-05T23:00+02:00")));
    assert!(fri_holiday.is_open(ms("2026-06-06T00:00+02:00")));
    assert!(fri_holiday.is_open(ms("2026-06-06T05:59+02:00")));
}

#[test]
fn touching_intervals_merge_across_midnight() {
    let h = hours(
        "Europe/Berlin",
        &[("fri", "22:00-24:00"), ("sat", "00:00-02:00,01:00-03:00")],
        &[],
    );
    assert_eq!(
        h.next_change(ms("2026-06-05T22:30+02:00")),
        Some(ms("2026-06-06T03:00+02:00"))
    );
    let h = hours("Europe/Berlin", &[("mon", "09:00-12:00,12:00-18:00")], &[]);
    assert_eq!(
        h.next_change(ms("2026-06-08T10:00+02:00")),
        Some(ms("2026-06-08T18:00+02:00"))
    );
}

#[test]
fn berlin_spring_forward() {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    let h = hours("Europe/Berlin", &[("sun", "02:30-04:00")], &[]);
    assert!(!h.is_open(ms("2026-03-29T01:00+00:00") - 1));
    assert!(
        h.is_open(ms("2026-03-29T01:00+00:00")),
        "02:30 is skipped: opens at the jump"
    );
    assert_eq!(
        h.next_change(ms("2026-03-29T00:00+00:00")),
        Some(ms("2026-03-29T03:00+02:00"))
    );
    assert_eq!(
        h.next_change(ms("2026-03-29T03:00+02:00")),
        Some(ms("2026-03-29T04:00+02:00"))
    );
    let day = (ms("2026-03-29T00:00+01:00"), ms("2026-03-30T00:00+02:00"));
    assert_eq!(h.open_ms_between(day.0, day.1), HOUR);
    let office = hours("Europe/Berlin", &[("sun", "09:00-18:00")], &[]);
    assert!(office.is_open(ms("2026-03-29T09:00+02:00")));
    assert!(!office.is_open(ms("2026-03-29T09:00+02:00") - 1));
    assert_eq!(office.open_ms_between(day.0, day.1), 9 * HOUR);
    let all_day = hours("Europe/Berlin", &[("sun", "00:00-24:00")], &[]);
    assert_eq!(
        all_day.open_ms_between(day.0 - 24 * HOUR, day.1 + 24 * HOUR),
        23 * HOUR
    );
}

#[test]
fn interval_inside_a_gap_never_opens() {
    // 2026-03-29 02:10-02:40 does not exist in Berlin; a week later it does.
    let h = hours("Europe/Berlin", &[("sun", "02:10-02:40")], &[]);
    assert!(!h.is_open(ms("2026-03-29T03:00+02:00")));
    assert_eq!(
        h.next_change(ms("2026-03-29T00:00+00:00")),
        Some(ms("2026-04-05T02:10+02:00"))
    );
    let day = (ms("2026-03-29T00:00+01:00"), ms("2026-03-30T00:00+02:00"));
    assert_eq!(h.open_ms_between(day.0, day.1), 0);
}

#[test]
fn berlin_fall_back() {
    // 2026-10-25: 03:00 CEST turns back to 02:00 CET at 01:00 UTC.
    let day = (ms("2026-10-25T00:00+02:00"), ms("2026-10-26T00:00+01:00"));
    let early = hours("Europe/Berlin", &[("sun", "00:00-02:30")], &[]);
    assert!(early.is_open(ms("2026-10-25T02:29+02:00")));
    assert!(
        !early.is_open(ms("2026-10-25T02:30+02:00")),
        "closes at the first 02:30"
    );
    assert!(
        !early.is_open(ms("2026-10-25T02:15+01:00")),
        "no reopening in the repeated hour"
    );
    assert_eq!(
        early.next_change(ms("2026-10-25T01:00+02:00")),
        Some(ms("2026-10-25T02:30+02:00"))
    );
    assert_eq!(
        early.next_change(ms("2026-10-25T02:30+02:00")),
        Some(ms("2026-11-01T00:00+01:00"))
    );
    assert_eq!(early.open_ms_between(day.0, day.1), 2 * HOUR + 30 * MINUTE);
    let late = hours("Europe/Berlin", &[("sun", "02:30-04:00")], &[]);
    assert!(
        late.is_open(ms("2026-10-25T02:30+02:00")),
        "opens at the first 02:30"
    );
    assert!(
        late.is_open(ms("2026-10-25T02:10+01:00")),
        "stays open in the repeated hour"
    );
    assert_eq!(
        late.next_change(ms("2026-10-25T02:30+02:00")),
        Some(ms("2026-10-25T04:00+01:00"))
    );
    assert_eq!(late.open_ms_between(day.0, day.1), 2 * HOUR + 30 * MINUTE);
    let all_day = hours("Europe/Berlin", &[("sun", "00:00-24:00")], &[]);
    assert_eq!(
        all_day.open_ms_between(day.0 - 24 * HOUR, day.1 + 24 * HOUR),
        25 * HOUR
    );
}

#[test]
fn new_york_spring_forward() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
    let h = hours(
        "America/New_York",
        &[("sun", "01:30-02:15,09:00-17:00")],
        &[],
    );
    assert!(h.is_open(ms("2026-03-08T01:30-05:00")));
    assert!(h.is_open(ms("2026-03-08T01:59-05:00")));
    assert!(
        !h.is_open(ms("2026-03-08T03:00-04:00")),
        "02:15 is skipped: closes at the jump"
    );
    assert_eq!(
        h.next_change(ms("2026-03-08T01:45-05:00")),
        Some(ms("2026-03-08T03:00-04:00"))
    );
    assert_eq!(
        h.next_change(ms("2026-03-08T03:00-04:00")),
        Some(ms("2026-03-08T09:00-04:00"))
    );
    let day = (ms("2026-03-08T00:00-05:00"), ms("2026-03-09T00:00-04:00"));
    assert_eq!(h.open_ms_between(day.0, day.1), 30 * MINUTE + 8 * HOUR);
}

#[test]
fn new_york_fall_back() {
    // 2026-11-01: 02:00 EDT turns back to 01:00 EST at 06:00 UTC.
    let day = (ms("2026-11-01T00:00-04:00"), ms("2026-11-02T00:00-05:00"));
    let short = hours("America/New_York", &[("sun", "01:00-01:30")], &[]);
    assert!(short.is_open(ms("2026-11-01T01:10-04:00")));
    assert!(
        !short.is_open(ms("2026-11-01T01:10-05:00")),
        "repeated hour stays closed"
    );
    assert_eq!(short.open_ms_between(day.0, day.1), 30 * MINUTE);
    let long = hours("America/New_York", &[("sun", "01:30-03:00")], &[]);
    assert!(!long.is_open(ms("2026-11-01T01:29-04:00")));
    assert!(
        long.is_open(ms("2026-11-01T01:10-05:00")),
        "repeated hour stays open"
    );
    assert_eq!(
        long.next_change(ms("2026-11-01T01:10-05:00")),
        Some(ms("2026-11-01T03:00-05:00"))
    );
    assert_eq!(long.open_ms_between(day.0, day.1), 2 * HOUR + 30 * MINUTE);
}

#[test]
fn next_change_skips_weekend_and_holiday() {
    let h = office();
    let monday = Some(ms("2026-06-08T09:00+02:00"));
    assert_eq!(h.next_change(ms("2026-06-05T17:00+02:00")), monday);
    assert_eq!(h.next_change(ms("2026-06-06T12:00+02:00")), monday);
    assert_eq!(h.next_change(ms("2026-06-08T09:00+02:00") - 1), monday);
    // Thu 24 Dec closes, Fri 25 Dec is a holiday, then the weekend.
    assert_eq!(
        h.next_change(ms("2026-12-24T18:00+01:00")),
        Some(ms("2026-12-28T09:00+01:00"))
    );
}

#[test]
fn open_ms_between_spans_a_weekend() {
    let h = office();
    let (fri, mon) = (ms("2026-06-05T12:00+02:00"), ms("2026-06-08T12:00+02:00"));
    assert_eq!(h.open_ms_between(fri, mon), 5 * HOUR + 3 * HOUR);
    assert_eq!(h.open_ms_between(mon, fri), 0);
    assert_eq!(h.open_ms_between(fri, fri), 0);
    assert_eq!(h.open_ms_between(fri, fri + 1), 1);
}

#[test]
fn constant_hours_never_change() {
    let closed = hours("Europe/Berlin", &[("mon", "")], &["2026-01-01"]);
    assert!(!closed.is_open(ms("2026-06-08T12:00+02:00")));
    assert_eq!(closed.next_change(0), None);
    assert_eq!(closed.open_ms_between(0, 10 * HOUR), 0);
    let week: Vec<(&str, &str)> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| (*d, "00:00-24:00"))
        .collect();
    let open = hours("America/New_York", &week, &[]);
    assert!(open.is_open(ms("2026-11-01T01:30-05:00")));
    assert_eq!(open.next_change(ms("2026-03-08T01:00-05:00")), None);
    assert_eq!(open.open_ms_between(0, 1_000 * HOUR), 1_000 * HOUR);
    // A holiday beyond the horizon is not seen.
    let far = hours("UTC", &week, &["2030-01-01"]);
    assert_eq!(far.next_change(ms("2026-01-01T00:00+00:00")), None);
    assert_eq!(
        far.next_change(ms("2029-06-01T00:00+00:00")),
        Some(ms("2030-01-01T00:00+00:00"))
    );
}

#[test]
fn extreme_instants_do_not_panic() {
    let h = office();
    for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
        let _ = h.is_open(t);
        if let Some(next) = h.next_change(t) {
            assert!(next > t);
        }
    }
    let ten_days = 240 * HOUR;
    assert_eq!(h.open_ms_between(i64::MAX, i64::MIN), 0);
    // Instants before jiff's range clamp to its start: nothing lies between them.
    assert_eq!(h.open_ms_between(i64::MIN, i64::MIN + ten_days), 0);
    let first = Timestamp::MIN.as_millisecond();
    assert!(h.open_ms_between(first, first + ten_days) > 0);
    assert_eq!(h.open_ms_between(i64::MAX - ten_days, i64::MAX), 0);
    let last = Timestamp::MAX.as_millisecond();
    assert!(h.open_ms_between(last - ten_days, i64::MAX) > 0);
}

#[test]
fn every_error_names_its_key() {
    let thirteen = ["01:00-02:00"; 13].join(",");
    let err = |tz: &str, week: &[(&str, &str)], holidays: &[&str]| {
        let e = WorkingHours::new(tz, week, holidays).expect_err("must be rejected");
        (e.key(), e.to_string())
    };
    let ok = "Europe/Berlin";
    let cases = [
        (
            err("Europe/Berln", &[], &[]),
            "timezone",
            "unknown time zone \"Europe/Berln\"",
        ),
        (
            err(ok, &[("mnday", "")], &[]),
            "week.mnday",
            "unknown day \"mnday\"",
        ),
        (
            err(ok, &[("mon", ""), ("mon", "")], &[]),
            "week.mon",
            "more than once",
        ),
        (
            err(ok, &[("mon", "9:00-18:00x")], &[]),
            "week.mon",
            "\"9:00-18:00x\" is not HH:MM-HH:MM",
        ),
        (
            err(ok, &[("tue", "24:00-06:00")], &[]),
            "week.tue",
            "is not HH:MM-HH:MM",
        ),
        (
            err(ok, &[("wed", "09:00-18:60")], &[]),
            "week.wed",
            "is not HH:MM-HH:MM",
        ),
        (
            err(ok, &[("thu", "09:00-12:00,,14:00-18:00")], &[]),
            "week.thu",
            "\"\" is not",
        ),
        (
            err(ok, &[("fri", "09:00-09:00")], &[]),
            "week.fri",
            "starts and ends at the same time",
        ),
        (
            err(ok, &[("sat", &thirteen)], &[]),
            "week.sat",
            "13 intervals",
        ),
        (
            err(ok, &[], &["2026-12-25", "2026-13-01"]),
            "holidays[1]",
            "\"2026-13-01\" is not a date",
        ),
        (
            err(ok, &[], &["2026-02-29"]),
            "holidays[0]",
            "is not a date YYYY-MM-DD",
        ),
        (
            err(ok, &[], &["2026-1-01"]),
            "holidays[0]",
            "is not a date YYYY-MM-DD",
        ),
        (
            err(ok, &[], &["2026-12-25", "2026-12-25"]),
            "holidays[1]",
            "duplicate holiday",
        ),
        (
            err(ok, &[], &vec!["x"; HOLIDAYS_MAX + 1]),
            "holidays",
            "1001 holidays",
        ),
    ];
    for ((key, reason), want_key, want_reason) in cases {
        assert_eq!(key, want_key, "{reason}");
        assert!(
            reason.contains(want_reason),
            "{reason:?} lacks {want_reason:?}"
        );
    }
}

#[test]
fn lenient_spacing_and_empty_day() {
    let h = hours(
        "Europe/Berlin",
        &[("mon", " 09:00 - 12:00 , 13:00-14:00 "), ("tue", "  ")],
        &[],
    );
    assert!(h.is_open(ms("2026-06-08T09:00+02:00")));
    assert!(h.is_open(ms("2026-06-08T13:30+02:00")));
    assert!(!h.is_open(ms("2026-06-09T13:30+02:00")));
}
