//! `[server.limits]`: every bound the service enforces, in one place, each with its unit in the
//! name and a default. Validation (`validate`) rejects zero or absurd values by key.

use super::duration::Dur;
use serde::{Deserialize, Serialize};

/// Every bound the service enforces.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest WebSocket frame accepted; larger closes the connection with 1009.
    pub frame_bytes_max: usize,
    /// Longest message text; longer gets error `too_large`.
    pub text_chars_max: usize,
    /// Per-connection sustained message rate (token bucket refill).
    pub messages_per_sec: u32,
    /// Per-connection burst (token bucket size).
    pub messages_burst: u32,
    /// Open connections; beyond it new ones are refused with 1013.
    pub connections_max: usize,
    /// WebSocket handshakes in progress at once; beyond it, 1013.
    pub handshakes_in_flight_max: usize,
    /// Frames queued toward one connection; overflow closes it with 4000.
    pub outbound_frames_max: usize,
    /// Time a new connection has to send its `hello`.
    pub auth_timeout: Dur,
    /// Time a new TCP connection has to send its whole HTTP request head; beyond it, closed.
    pub request_head_timeout: Dur,
    /// Connections from one source address still without a complete request head; a new one
    /// beyond it is closed at once.
    pub half_open_per_source_max: usize,
    /// Free bytes the data directory's disk must keep; below, new messages get `unavailable`
    /// until space is freed (0: never refuse).
    pub disk_free_min_bytes: u64,
    /// Routing decisions kept per dialog for the admin API.
    pub decisions_per_dialog_max: usize,
    /// Skipped operators named in one routing decision (the rest are counted).
    pub decision_skips_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            frame_bytes_max: 65_536,
            text_chars_max: 4_000,
            messages_per_sec: 20,
            messages_burst: 40,
            connections_max: 100_000,
            handshakes_in_flight_max: 1_024,
            outbound_frames_max: 1_024,
            auth_timeout: Dur::from_secs(10),
            request_head_timeout: Dur::from_secs(10),
            half_open_per_source_max: 256,
            disk_free_min_bytes: 64 * 1_048_576,
            decisions_per_dialog_max: 32,
            decision_skips_max: 16,
        }
    }
}
