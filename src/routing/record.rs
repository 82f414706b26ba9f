//! A dialog as plain, serializable data: everything routing needs to rebuild it after a restart
//! (holder, queue place, routing round, flags, pending deadlines). Operators and lines are named
//! by id, not index, so a record survives a config edit between runs. Counters, reservations and
//! queue positions are not stored: they are derived again from the records on restore.

use serde::{Deserialize, Serialize};

/// Who holds the dialog, by operator id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HolderRecord {
    Queued,
    Offered { operator: String },
    OfferedAll { operators: Vec<String> },
    Bot { operator: String },
    Active { operator: String },
    Closing { operator: String },
}

/// One open dialog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogRecord {
    pub id: u64,
    pub line: String,
    pub origin_line: String,
    pub client: String,
    pub holder: HolderRecord,
    pub arrival: u64,
    pub created_ms: u64,
    pub holder_answered: bool,
    pub ever_answered: bool,
    pub client_wrote_last: bool,
    pub waiting_since_ms: Option<u64>,
    pub tried: Vec<String>,
    pub cursor: Option<usize>,
    pub escalation: u8,
    pub bot: Option<String>,
    /// `[no_operators, off_hours, unanswered, queued_decision]` one-shot flags.
    pub sent: [bool; 4],
    /// Pending deadlines: `(timer kind index, Unix ms)`.
    pub timers: Vec<(u8, u64)>,
    /// Dialogs this client started on its line (for the bot's `first_contact`).
    pub client_dialogs_started: u32,
    /// Response-time figures so far.
    #[serde(default)]
    pub kpi: crate::routing::Kpi,
}
