//! Errors from building [`WorkingHours`](super::WorkingHours) out of config values.
//!
//! Owns: `HoursError`. Every variant names the config sub-key it concerns
//! (`key()`, relative to the line's `hours` table) and its `Display` is the human reason
//! only, so the config layer can print `lines[0].hours.<key>: <reason>`.
//! Errors happen only at construction; the hot path (`is_open`) has no error type.

/// Why a working-hours config was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// `timezone` is not a name in the IANA time zone database.
    #[error("unknown time zone {name:?}")]
    UnknownTimeZone { name: String },
    /// A key of `week` is not one of `mon`..`sun`.
    #[error("unknown day {day:?} (expected mon, tue, wed, thu, fri, sat or sun)")]
    UnknownDay { day: String },
    /// The same day appears twice in `week`.
    #[error("day {day:?} is given more than once")]
    DuplicateDay { day: &'static str },
    /// One comma-separated piece of a day is not `HH:MM-HH:MM`.
    #[error("{text:?} is not HH:MM-HH:MM (00:00..23:59; 24:00 only as an end)")]
    BadInterval { day: &'static str, text: String },
    /// An interval starts and ends at the same minute.
    #[error("{text:?} starts and ends at the same time (use \"00:00-24:00\" for a whole day)")]
    EmptyInterval { day: &'static str, text: String },
    /// A day lists more intervals than the limit allows.
    #[error("{count} intervals on one day; at most {max} are allowed")]
    TooManyIntervals {
        day: &'static str,
        count: usize,
        max: usize,
    },
    /// A holiday is not a valid calendar date written `YYYY-MM-DD`.
    #[error("{text:?} is not a date YYYY-MM-DD")]
    BadHoliday { index: usize, text: String },
    /// A holiday date appears earlier in the list too.
    #[error("duplicate holiday {text:?}")]
    DuplicateHoliday { index: usize, text: String },
    /// The holiday list is longer than the limit allows.
    #[error("{count} holidays; at most {max} are allowed")]
    TooManyHolidays { count: usize, max: usize },
}

impl HoursError {
    /// The sub-key of the `hours` table this error concerns, e.g. `"timezone"`,
    /// `"week.mon"`, `"holidays[1]"`.
    pub fn key(&self) -> String {
        match self {
            Self::UnknownTimeZone { .. } => "timezone".to_string(),
            Self::UnknownDay { day } => format!("week.{day}"),
            Self::DuplicateDay { day }
            | Self::BadInterval { day, .. }
            | Self::EmptyInterval { day, .. }
            | Self::TooManyIntervals { day, .. } => format!("week.{day}"),
            Self::BadHoliday { index, .. } | Self::DuplicateHoliday { index, .. } => {
                format!("holidays[{index}]")
            }
            Self::TooManyHolidays { .. } => "holidays".to_string(),
        }
    }
}
