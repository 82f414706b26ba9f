//! `Dur`: a configuration duration written as a string such as `"90s"`, `"2m"`, `"12h"` or
//! `"30d"` (parsed by `humantime`), kept with millisecond precision.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A non-negative duration from the config file, in whole milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(u64);

impl Dur {
    /// A duration of `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        Self(ms)
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs * 1_000)
    }

    /// The length in milliseconds.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// Parses `"90s"`, `"2m"`, `"1h 30m"`, `"30d"`, `"250ms"`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
            format!(
                "\"{text}\" is not a duration ({e}); write e.g. \"90s\", \"2m\", \"12h\", \"30d\""
            )
        })?;
        let ms = u64::try_from(parsed.as_millis())
            .map_err(|_| format!("\"{text}\" is too long a duration"))?;
        Ok(Self(ms))
    }
}

impl From<Dur> for Duration {
    fn from(d: Dur) -> Self {
        Duration::from_millis(d.0)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        const UNITS: [(u64, &str); 4] = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ];
        for (unit_ms, suffix) in UNITS {
            if ms >= unit_ms && ms.is_multiple_of(unit_ms) {
                return write!(f, "{}{suffix}", ms / unit_ms);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurVisitor;
        impl Visitor<'_> for DurVisitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"90s\", \"2m\", \"12h\" or \"30d\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_forms() {
        assert_eq!(Dur::parse("90s").unwrap().as_ms(), 90_000);
        assert_eq!(Dur::parse("2m").unwrap().as_ms(), 120_000);
        assert_eq!(Dur::parse("12h").unwrap().as_ms(), 43_200_000);
        assert_eq!(Dur::parse("30d").unwrap().as_ms(), 2_592_000_000);
        assert_eq!(Dur::parse("250ms").unwrap().as_ms(), 250);
        assert_eq!(Dur::parse("0s").unwrap().as_ms(), 0);
    }

    #[test]
    fn rejects_malformed_durations_with_a_hint() {
        let err = Dur::parse("2 minutes please").unwrap_err();
        assert!(
            err.contains("\"2 minutes please\" is not a duration"),
            "{err}"
        );
        assert!(Dur::parse("").is_err());
        assert!(Dur::parse("-5s").is_err());
        assert!(Dur::parse("5").is_err());
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(Dur::from_ms(120_000).to_string(), "2m");
        assert_eq!(Dur::from_ms(90_000).to_string(), "90s");
        assert_eq!(Dur::from_ms(1_500).to_string(), "1500ms");
        assert_eq!(Dur::from_ms(0).to_string(), "0ms");
    }
}
