//! The fixed bounds: every limit the service enforces that is not a `[server.limits]` key, in one
//! place, each with its unit in the name, why it is what it is, and what happens beyond it. The
//! README's Limits table lists these beside the configurable ones. Nothing here is read from the
//! config file; changing one is a code change, reviewed like any other.

use std::time::Duration;

// --- Connections --------------------------------------------------------------------------------

/// Pending connections the kernel queues for `accept` (capped by `net.core.somaxconn`); beyond
/// it the kernel refuses or drops new connection attempts.
pub const ACCEPT_QUEUE_CONNECTIONS: u32 = 4_096;
/// tungstenite's read buffer per widget connection (its default of 128 KiB is zeroed on every
/// read). Widgets write small frames, and there are many of them: 512 bytes instead of 4 KiB took
/// an idle widget connection from 11.7 to 7.7 KiB resident; a larger frame takes several reads.
pub const WIDGET_READ_BUFFER_BYTES: usize = 512;
/// The same per operator connection: few of them, each carrying many dialogs' traffic.
pub const OPERATOR_READ_BUFFER_BYTES: usize = 4_096;
/// How long shutdown waits for sessions to close; after it the process exits anyway (everything
/// acknowledged is durable already).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Most queued frames a session writes with one flush; the rest go with the next one.
pub const FLUSH_FRAMES_MAX: usize = 64;

// --- Sessions -----------------------------------------------------------------------------------

/// Messages a widget may have on their way to durability at once; beyond it the connection
/// stops reading until an ack is out.
pub const MESSAGES_IN_FLIGHT_MAX: usize = 32;
/// Requests of one operator connection sent on and not answered yet; beyond, the next frame is
/// not read until an answer goes out (the client is slowed down, nothing is dropped).
pub const REQUESTS_IN_FLIGHT_MAX: usize = 256;
/// History pages are clamped to this many messages.
pub const HISTORY_PAGE_MAX: usize = 200;
/// Events kept per operator for resume; an operator resuming from further back gets the welcome
/// with its current dialogs, without the missed events.
pub const OPERATOR_EVENTS_KEPT_MAX: usize = 4_096;
/// The typing-preview window per dialog: at most one preview per window reaches the operators,
/// the newest draft winning.
pub const TYPING_PREVIEW_INTERVAL_MS: u64 = 100;

// --- Frames -------------------------------------------------------------------------------------

/// Deepest MessagePack nesting accepted, in levels; the frame's own map is level 1. Deeper gets
/// error `bad_frame`.
pub const NESTING_DEPTH_MAX: usize = 16;
/// The longest `type` name kept; every real one is far shorter, a longer one is `unknown_type`.
pub const TYPE_NAME_BYTES_MAX: usize = 32;

// --- Shards -------------------------------------------------------------------------------------

/// Requests a shard handles per wake-up before its timers get a turn; the rest wait in its inbox
/// for the next pass.
pub const SHARD_BATCH_REQUESTS_MAX: usize = 256;
/// Messages sent with an offer (`dialog_offered.last_messages`), newest last; older ones are in
/// the history.
pub const OFFER_MESSAGES_MAX: usize = 20;

// --- Store --------------------------------------------------------------------------------------

/// A snapshot is written once this many log records were committed since the last one.
pub const SNAPSHOT_EVERY_LOG_RECORDS: u64 = 20_000;
/// How often the snapshot condition is checked.
pub const SNAPSHOT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Most records one history-retention deletion submission carries; a larger deletion goes as
/// several submissions.
pub const RETENTION_SUBMISSION_RECORDS_MAX: usize = 1_024;

// --- Admin API ----------------------------------------------------------------------------------

/// Items per admin API page unless `limit` says otherwise.
pub const ADMIN_PAGE_DEFAULT: usize = 100;
/// The most an admin API page may hold; a larger `limit` is refused with 400 naming it.
pub const ADMIN_PAGE_MAX: usize = 1_000;

// --- Logins -------------------------------------------------------------------------------------

/// Failed logins (operator `hello`, admin or console token) one source address may have within
/// [`FAILED_LOGIN_WINDOW_MS`]; beyond them it is refused for [`LOGIN_BLOCK_MS`] without its
/// token being looked at.
pub const FAILED_LOGINS_MAX: u32 = 10;
/// The window failed logins are counted in.
pub const FAILED_LOGIN_WINDOW_MS: u64 = 60_000;
/// How long a source address that failed too often is refused.
pub const LOGIN_BLOCK_MS: u64 = 60_000;
/// Source addresses with recent failures kept at most; beyond it, the oldest are forgotten.
pub const LOGIN_SOURCES_TRACKED_MAX: usize = 100_000;

// --- Disk ---------------------------------------------------------------------------------------

/// How often the data directory's free space is read (`disk_free_min_bytes`).
pub const DISK_POLL: Duration = Duration::from_millis(250);

// --- Webhooks -----------------------------------------------------------------------------------

/// Outbox events one endpoint's task holds in memory (pending or in flight); the rest wait in
/// the store and are read as held ones settle, so a long outage costs no memory.
pub const WEBHOOK_HELD_EVENTS_MAX: usize = 4_096;
/// The most of a receiver's response body read; the status is all that counts.
pub const WEBHOOK_BODY_BYTES_MAX: usize = 4_096;
/// Attempts kept per delivery for the admin API (older ones dropped, the count kept): a
/// 3-day retry schedule makes about 15.
pub const WEBHOOK_ATTEMPTS_KEPT_MAX: usize = 20;
/// The longest error text kept per attempt.
pub const WEBHOOK_ERROR_CHARS_MAX: usize = 200;
