//! Property tests for `schedule`: random schedules in zones with odd DST rules, random
//! instants (most of them just before a time zone transition). Checks that `is_open` is constant
//! up to `next_change` and flips there, and that `open_ms_between` equals the open time
//! found by walking `next_change`. Seed: printed; replay with `PROPTEST_RNG_SEED=<seed>`.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use super::*;

const DAY_MS: i64 = 24 * 3_600_000;
const ZONES: [&str; 8] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe", // 30-minute DST
    "America/Santiago",    // transitions at midnight
    "America/Havana",      // transitions at midnight/01:00
    "Pacific/Apia",        // skipped a whole day in 2011
    "Asia/Kolkata",
    "UTC",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// 2010-01-01 .. 2028-01-01 UTC.
const SPAN_MS: (i64, i64) = (1_262_304_000_000, 1_830_297_600_000);

// The wall clock seeds the random cases here; it never reaches the rules under test.
#[allow(clippy::disallowed_methods)]
fn config() -> Config {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            nanos.map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("schedule proptest seed {seed} (replay: PROPTEST_RNG_SEED={seed})");
    Config {
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A minute of the day, mostly near midnight and the small hours where DST transitions sit.
fn minute() -> impl Strategy<Value = u16> {
    let small_hours =
        (0u16..4, prop_oneof![Just(0u16), Just(30), 0u16..60]).prop_map(|(h, m)| h * 60 + m);
    prop_oneof![2 => 0u16..1440, 3 => small_hours, 1 => 22 * 60..24 * 60u16]
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Up to three intervals per day (possibly overnight or ending 24:00), some days absent.
fn week() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let interval = (minute(), minute(), any::<bool>()).prop_map(|(a, b, to_midnight)| {
        let end = if to_midnight {
            1440
        } else if b == a {
            (a + 1) % 1440
        } else {
            b
        };
        format!("{}-{}", hhmm(a), hhmm(end))
    });
    let day = proptest::option::weighted(0.8, proptest::collection::vec(interval, 0..3));
    proptest::collection::vec(day, 7).prop_map(|days| {
        DAYS.iter()
            .zip(days)
            .filter_map(|(name, day)| day.map(|d| (*name, d.join(","))))
            .collect()
    })
}

/// One generated schedule (as config text, so failures print readably) and an instant.
#[derive(Debug)]
struct Case {
    zone: &'static str,
    week: Vec<(&'static str, String)>,
    holidays: Vec<String>,
    t: i64,
}

impl Case {
    fn hours(&self) -> WorkingHours {
        let week: Vec<(&str, &str)> = self.week.iter().map(|(d, s)| (*d, s.as_str())).collect();
        let holidays: Vec<&str> = self.holidays.iter().map(String::as_str).collect();
        WorkingHours::new(self.zone, &week, &holidays).expect("generated hours are valid")
    }
}

fn case() -> impl Strategy<Value = Case> {
    let holidays = proptest::collection::btree_set(0i64..(SPAN_MS.1 - SPAN_MS.0) / DAY_MS, 0..40);
    (
        0..ZONES.len(),
        week(),
        holidays,
        SPAN_MS.0..SPAN_MS.1,
        proptest::bool::weighted(0.75),
        -DAY_MS..DAY_MS / 4,
    )
        .prop_map(|(zone, week, holiday_days, t, near_dst, shift)| {
            let holidays = holiday_days
                .iter()
                .filter_map(|d| Timestamp::from_millisecond(SPAN_MS.0 + d * DAY_MS).ok())
                .map(|ts| ts.strftime("%Y-%m-%d").to_string())
                .collect();
            let mut case = Case {
                zone: ZONES[zone],
                week,
                holidays,
                t,
            };
            if near_dst {
                case.t = near_transition(&case.hours(), t) + shift;
            }
            case
        })
}

/// The first time zone transition after `t`, or `t` itself for zones without one.
fn near_transition(hours: &WorkingHours, t: i64) -> i64 {
    let ts = Timestamp::from_millisecond(t).expect("in range");
    hours
        .time_zone()
        .following(ts)
        .next()
        .map_or(t, |tr| tr.timestamp().as_millisecond())
}

/// Instants in `[from, to)` where DST bugs hide: around each time zone transition and
/// every 10 minutes through the two hours after it.
fn dst_probes(hours: &WorkingHours, from: i64, to: i64) -> Vec<i64> {
    let Ok(start) = Timestamp::from_millisecond(from) else {
        return Vec::new();
    };
    let transitions = hours
        .time_zone()
        .following(start)
        .take(8)
        .map(|tr| tr.timestamp().as_millisecond());
    transitions
        .take_while(|&at| at < to)
        .flat_map(|at| std::iter::once(at - 1).chain((0..13).map(move |k| at + k * 600_000)))
        .filter(|&s| from <= s && s < to)
        .collect()
}

/// Walks `[from, to)` by `next_change`, checking that every step flips the state and that
/// the DST probes inside each step agree with its start. Returns the open time found.
fn open_ms_by_walking(hours: &WorkingHours, from: i64, to: i64) -> Result<i64, TestCaseError> {
    let (mut t, mut total, mut previous) = (from, 0, None);
    while t < to {
        let open = hours.is_open(t);
        prop_assert_ne!(Some(open), previous, "no flip at {}", t);
        let end = hours.next_change(t).unwrap_or(to).min(to);
        for s in dst_probes(hours, t, end) {
            prop_assert_eq!(
                hours.is_open(s),
                open,
                "flip at {} inside [{}, {})",
                s,
                t,
                end
            );
        }
        if open {
            total += end - t;
        }
        (t, previous) = (end, Some(open));
    }
    Ok(total)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn state_is_constant_until_next_change_and_flips_there(
        case in case(),
        probes in proptest::collection::vec(0.0f64..1.0, 16),
    ) {
        let (hours, t) = (case.hours(), case.t);
        let open = hours.is_open(t);
        let next = hours.next_change(t);
        let end = next.unwrap_or(t + NEXT_CHANGE_HORIZON_DAYS * DAY_MS);
        if let Some(next) = next {
            prop_assert!(next > t);
            prop_assert!(next - t <= NEXT_CHANGE_HORIZON_DAYS * DAY_MS);
            prop_assert_ne!(hours.is_open(next), open, "no flip at {}", next);
        }
        prop_assert_eq!(hours.is_open(end - 1), open);
        let spread = probes.iter().map(|p| t + ((end - t) as f64 * p) as i64);
        for s in spread.chain(dst_probes(&hours, t, end)) {
            prop_assert_eq!(hours.is_open(s), open, "flip at {} before {:?}", s, next);
        }
    }

    #[test]
    fn open_ms_between_matches_walk(case in case(), len in 0i64..10 * DAY_MS, split in 0.0f64..1.0) {
        let (hours, t) = (case.hours(), case.t);
        let (to, mid) = (t + len, t + (len as f64 * split) as i64);
        let total = hours.open_ms_between(t, to);
        prop_assert_eq!(total, open_ms_by_walking(&hours, t, to)?);
        prop_assert_eq!(total, hours.open_ms_between(t, mid) + hours.open_ms_between(mid, to));
        prop_assert!((0..=len).contains(&total));
    }
}
