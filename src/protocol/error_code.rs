//! The `code` of an `error` frame.
//!
//! Owns the closed list of machine-readable error codes shared by both WebSocket sides and the
//! admin API. Invariant: the serde name, [`ErrorCode::as_str`] and [`ErrorCode::ALL`] agree; a
//! code, once published, is never renamed (clients match on these strings).

use serde::{Deserialize, Serialize};

/// Why a request failed; travels as a snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not a well-formed object of a known shape (bad JSON/MessagePack, missing or
    /// mistyped fields).
    BadFrame,
    /// A well-formed frame whose `type` this endpoint does not know.
    UnknownType,
    /// A frame or a text over its limit.
    TooLarge,
    /// Missing or wrong credentials.
    Unauthorized,
    /// Authenticated, but not allowed to do this (e.g. another operator's dialog).
    Forbidden,
    /// The dialog, line, operator or quick answer does not exist.
    NotFound,
    /// The request does not fit the current state (e.g. accepting a dialog already taken).
    InvalidState,
    /// The line is inactive: operators cannot answer on it.
    LineInactive,
    /// The operator is at a dialog limit.
    Capacity,
    /// Too many frames; slow down.
    RateLimited,
    /// The line requires the client's consent before routing.
    ConsentRequired,
    /// The server could not complete the request (e.g. storage failed); retrying may help.
    Internal,
    /// The server is shedding load; retry later.
    Overloaded,
    /// The server cannot store anything now (its disk is full); retry later. An extension.
    Unavailable,
    /// A change made against an older version of what it changes (e.g. `update_contact`).
    Conflict,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::BadFrame,
        ErrorCode::UnknownType,
        ErrorCode::TooLarge,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::InvalidState,
        ErrorCode::LineInactive,
        ErrorCode::Capacity,
        ErrorCode::RateLimited,
        ErrorCode::ConsentRequired,
        ErrorCode::Internal,
        ErrorCode::Overloaded,
        ErrorCode::Unavailable,
        ErrorCode::Conflict,
    ];

    /// The wire name, e.g. `"bad_frame"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::LineInactive => "line_inactive",
            ErrorCode::Capacity => "capacity",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::Internal => "internal",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Conflict => "conflict",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn serde_name_matches_as_str() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }
}
