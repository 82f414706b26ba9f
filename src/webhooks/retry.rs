//! When to try again: what an attempt's outcome means (delivered, failed for good, or worth
//! another try), the backoff between tries (exponential with jitter: the first retry within
//! seconds, later ones hours apart), `Retry-After`, and the maximum age after which an event
//! counts as failed. Pure: time and randomness are arguments.

/// What an attempt's outcome means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// A 4xx other than 408, 409, 425 and 429 (or a 1xx/3xx): not retried.
    Permanent,
    /// 5xx, 408/409/425/429, a timeout or a connection error.
    Retry,
}

/// The verdict on a response status (`None`: no response, e.g. a timeout).
pub fn classify(status: Option<u16>) -> Verdict {
    match status {
        None => Verdict::Retry,
        Some(200..=299) => Verdict::Delivered,
        Some(408 | 409 | 425 | 429) | Some(500..) => Verdict::Retry,
        Some(_) => Verdict::Permanent,
    }
}

/// The first retry's base delay.
const FIRST_DELAY_MS: u64 = 5_000;
/// The longest delay between two tries.
const DELAY_MAX_MS: u64 = 8 * 3600 * 1000;
/// The longest `Retry-After` taken as given.
const RETRY_AFTER_MAX_MS: u64 = 24 * 3600 * 1000;

/// The delay after failed try number `tries` (1 = the first try failed): 5 s × 3^(tries-1),
/// at most 8 h, scaled by a jitter factor of 0.8 to 1.2 from `random`.
pub fn backoff_ms(tries: u32, random: u64) -> u64 {
    let exponent = tries.saturating_sub(1).min(20);
    let base = FIRST_DELAY_MS
        .saturating_mul(3u64.saturating_pow(exponent))
        .min(DELAY_MAX_MS);
    // 0.8 + 0.4 × (random / 2^64), in thousandths
    let permille = 800 + (random % 401);
    base / 1000 * permille + base % 1000 * permille / 1000
}

/// When to try next after `tries` failed tries of an event created at `created_ms`, or `None`
/// when that would be past `max_age_ms` (the event has failed). `retry_after_ms`, the
/// receiver's own `Retry-After`, wins over the backoff.
pub fn next_try_ms(
    now_ms: u64,
    created_ms: u64,
    tries: u32,
    retry_after_ms: Option<u64>,
    max_age_ms: u64,
    random: u64,
) -> Option<u64> {
    let delay = match retry_after_ms {
        Some(after) => after.min(RETRY_AFTER_MAX_MS),
        None => backoff_ms(tries, random),
    };
    let at = now_ms.saturating_add(delay);
    (at <= created_ms.saturating_add(max_age_ms)).then_some(at)
}

/// A `Retry-After` value in ms: delay-seconds, or an HTTP date relative to `now_ms`.
pub fn parse_retry_after(value: &str, now_ms: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let at_ms = u64::try_from(at.as_millisecond()).ok()?;
    Some(at_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_the_issue_says() {
        assert_eq!(classify(Some(200)), Verdict::Delivered);
        assert_eq!(classify(Some(204)), Verdict::Delivered);
        for s in [400, 401, 403, 404, 410, 422, 301, 302] {
            assert_eq!(classify(Some(s)), Verdict::Permanent, "{s}");
        }
        for s in [408, 409, 425, 429, 500, 502, 503, 504] {
            assert_eq!(classify(Some(s)), Verdict::Retry, "{s}");
        }
        assert_eq!(classify(None), Verdict::Retry);
    }

    #[test]
    fn backoff_starts_within_seconds_grows_to_hours_and_jitters() {
        let low = backoff_ms(1, 0);
        let high = backoff_ms(1, 400);
        assert_eq!((low, high), (4_000, 6_000));
        assert!(backoff_ms(2, 200) > backoff_ms(1, 200));
        assert_eq!(backoff_ms(9, 200), DELAY_MAX_MS);
        assert_eq!(backoff_ms(u32::MAX, 200), DELAY_MAX_MS);
        // every delay in the jitter window
        for r in 0..1000 {
            let d = backoff_ms(3, r);
            assert!((36_000..=54_000).contains(&d), "{d}");
        }
    }

    #[test]
    fn retry_after_wins_and_max_age_ends_the_retries() {
        let day = 24 * 3600 * 1000;
        assert_eq!(next_try_ms(1_000, 0, 1, Some(2_000), day, 0), Some(3_000));
        assert_eq!(next_try_ms(1_000, 0, 1, None, day, 0), Some(5_000));
        assert_eq!(next_try_ms(day, 0, 1, None, day, 0), None);
        assert_eq!(parse_retry_after(" 7 ", 0), Some(7_000));
        let now = 1_445_412_480_000; // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(30_000)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
