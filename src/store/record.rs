//! What a submission carries: the [`Record`] kinds the store writes, each a change to one of its
//! tables, and how they are encoded in the journal (MessagePack, byte fields as `bin`).

/// One record of a submission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Record {
    /// An event of the replay log; gets the next log position (1, 2, 3, ... never reused).
    Log(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A message kept for history under (dialog, seq); the same key again overwrites (callers
    /// make it idempotent).
    Message {
        dialog: u64,
        seq: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A snapshot of the whole state as of log position `covers`; the log up to `covers` is
    /// deleted in the same transaction, and so is the older snapshot. A submission whose
    /// snapshot is ahead of the log, or older than the stored snapshot, is refused whole with
    /// `SnapshotRefused`.
    Snapshot {
        covers: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Deletes messages of `dialog` (retention); its summary (`Dialog`) is kept.
    ForgetDialog { dialog: u64 },
    /// The summary of `dialog`; the same id again overwrites (the latest in a commit wins).
    Dialog {
        dialog: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A client's answer to a line's consent notice, kept under (line, client); the same key
    /// again overwrites (the latest in a commit wins).
    Consent {
        line: String,
        client: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A contact of the registry under its id; the same id again overwrites (the latest in a
    /// commit wins). Raises the registry's generation (see `contacts.rs`).
    Contact {
        id: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A contact's photo; `None` deletes it. Raises the registry's generation.
    ContactPhoto {
        id: u64,
        #[serde(with = "serde_bytes")]
        bytes: Option<Vec<u8>>,
    },
    /// A webhook event for the outbox; numbered by the writer (1, 2, 3, ... never reused) in
    /// submission order, in the same transaction as the records beside it.
    WebhookEvent(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The outcome so far of delivering event `seq` to webhook `endpoint` (the latest wins).
    WebhookDelivery {
        endpoint: String,
        seq: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Webhook `endpoint`'s cursor (every event up to it settled there); `None` deletes it.
    WebhookCursor { endpoint: String, seq: Option<u64> },
    /// Marks event `seq` as retried by hand for webhook `endpoint` (`pending`) until it settles
    /// (not `pending` removes the mark), so a restart resumes it though the cursor is past it.
    WebhookRetry {
        endpoint: String,
        seq: u64,
        pending: bool,
    },
    /// Deletes the webhook events up to `seq` (inclusive).
    WebhookPrune { seq: u64 },
    /// Files contact `id` under `key` (`present`) or takes it out: the registry's lookup keys
    /// (normalized email, phone, …), applied in submission order after the contact records.
    ContactKey { key: String, id: u64, present: bool },
    /// Sets the registry's counter `name` to `count` (0 removes it).
    ContactCount { name: String, count: u64 },
    /// An entry of contact `contact`'s interaction log under `(ts, nonce)`; `None` removes it.
    ContactInteraction {
        contact: u64,
        ts: u64,
        nonce: u64,
        #[serde(with = "serde_bytes")]
        bytes: Option<Vec<u8>>,
    },
}

impl Record {
    pub(super) fn bytes_len(&self) -> usize {
        match self {
            Record::Log(bytes)
            | Record::Message { bytes, .. }
            | Record::Snapshot { bytes, .. }
            | Record::Dialog { bytes, .. }
            | Record::Consent { bytes, .. }
            | Record::Contact { bytes, .. }
            | Record::WebhookEvent(bytes)
            | Record::WebhookDelivery { bytes, .. } => bytes.len(),
            Record::ContactPhoto { bytes, .. } => bytes.as_ref().map_or(0, Vec::len),
            Record::ContactKey { key, .. } => key.len() + 8,
            Record::ContactCount { name, .. } => name.len() + 8,
            Record::ContactInteraction { bytes, .. } => bytes.as_ref().map_or(0, Vec::len),
            Record::ForgetDialog { .. }
            | Record::WebhookCursor { .. }
            | Record::WebhookRetry { .. }
            | Record::WebhookPrune { .. } => 0,
        }
    }
}
