//! Service-wide event counters: connections, messages, offers, dialogs, KPI alerts and error
//! frames by code.
//!
//! Every update is one `Relaxed` atomic add: counters are statistics, never used to order or
//! decide anything, and a [`CountersSnapshot`] is not atomic across fields. Counters only grow
//! (wrapping after 2^64 events); the open-connection gauges are derived as opened − closed at
//! snapshot time, so they need no separate atomic and cannot drift.

use crate::protocol::ErrorCode;
use crate::sync::{AtomicU64, Ordering};

/// Which side of the service a connection or a message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// A client, connected through the web widget.
    Widget,
    /// An operator.
    Operator,
}

impl Side {
    /// Both sides, in index order.
    pub const ALL: [Side; 2] = [Side::Widget, Side::Operator];

    /// The `kind` label of connection metrics: `"widget"` or `"operator"`.
    pub const fn kind_label(self) -> &'static str {
        match self {
            Side::Widget => "widget",
            Side::Operator => "operator",
        }
    }

    /// The `from` label of message metrics: `"client"` or `"operator"`.
    pub const fn from_label(self) -> &'static str {
        match self {
            Side::Widget => "client",
            Side::Operator => "operator",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

const ERROR_CODES: usize = ErrorCode::ALL.len();

/// Counts of service events; shared by reference (e.g. in an `Arc<Metrics>`) and bumped from
/// any thread.
#[derive(Debug, Default)]
pub struct Counters {
    connections_opened: [AtomicU64; 2],
    connections_closed: [AtomicU64; 2],
    messages_in: [AtomicU64; 2],
    messages_out: AtomicU64,
    offers: AtomicU64,
    accepts: AtomicU64,
    declines: AtomicU64,
    offer_timeouts: AtomicU64,
    dialogs_created: AtomicU64,
    dialogs_closed: AtomicU64,
    kpi_alerts: AtomicU64,
    /// Indexed by `ErrorCode as usize` (declaration order, the order of [`ErrorCode::ALL`]).
    errors: [AtomicU64; ERROR_CODES],
    /// Indexed by [`Cut`].
    connections_cut: [AtomicU64; Cut::ALL.len()],
    login_failures: AtomicU64,
    logins_refused: AtomicU64,
}

/// Why a connection was cut before it became a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Its HTTP request head did not arrive within `request_head_timeout`.
    HeadTimeout = 0,
    /// Its source address already had `half_open_per_source_max` connections without a
    /// complete request head.
    HalfOpenPerSource = 1,
}

impl Cut {
    pub const ALL: [Cut; 2] = [Cut::HeadTimeout, Cut::HalfOpenPerSource];

    /// The `reason` label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Cut::HeadTimeout => "head_timeout",
            Cut::HalfOpenPerSource => "half_open_per_source",
        }
    }
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Counters {
    /// All zeros.
    pub fn new() -> Self {
        Self::default()
    }

    /// A connection of `side` was accepted.
    pub fn connection_opened(&self, side: Side) {
        bump(&self.connections_opened[side.index()], 1);
    }

    /// A connection of `side` ended, for whatever reason.
    pub fn connection_closed(&self, side: Side) {
        bump(&self.connections_closed[side.index()], 1);
    }

    /// A chat message arrived from `side` (a client or an operator).
    pub fn message_in(&self, side: Side) {
        bump(&self.messages_in[side.index()], 1);
    }

    /// `n` message frames were queued for delivery (a fan-out counts each recipient).
    pub fn messages_out(&self, n: u64) {
        bump(&self.messages_out, n);
    }

    /// A dialog was offered to an operator.
    pub fn offer(&self) {
        bump(&self.offers, 1);
    }

    /// An operator accepted an offer.
    pub fn accept(&self) {
        bump(&self.accepts, 1);
    }

    /// An operator declined an offer.
    pub fn decline(&self) {
        bump(&self.declines, 1);
    }

    /// An offer expired unanswered.
    pub fn offer_timeout(&self) {
        bump(&self.offer_timeouts, 1);
    }

    /// A dialog was created.
    pub fn dialog_created(&self) {
        bump(&self.dialogs_created, 1);
    }

    /// A dialog was closed.
    pub fn dialog_closed(&self) {
        bump(&self.dialogs_closed, 1);
    }

    /// A KPI alert was raised.
    pub fn kpi_alert(&self) {
        bump(&self.kpi_alerts, 1);
    }

    /// An `error` frame with `code` was sent.
    pub fn error(&self, code: ErrorCode) {
        bump(&self.errors[code as usize], 1);
    }

    /// A wrong token was presented (operator, admin or console).
    pub fn login_failed(&self) {
        bump(&self.login_failures, 1);
    }

    /// A login was refused because its address failed too often.
    pub fn login_refused(&self) {
        bump(&self.logins_refused, 1);
    }

    /// A connection was cut before it became a session.
    pub fn connection_cut(&self, why: Cut) {
        bump(&self.connections_cut[why as usize], 1);
    }

    /// Every counter's current value (each read on its own, not one atomic cut).
    pub fn snapshot(&self) -> CountersSnapshot {
        let pair = |a: &[AtomicU64; 2]| [read(&a[0]), read(&a[1])];
        // Closed before opened: a connection opening and closing between the two reads then
        // counts in neither rather than making closed > opened.
        let connections_closed = pair(&self.connections_closed);
        let connections_opened = pair(&self.connections_opened);
        CountersSnapshot {
            connections_opened,
            connections_closed,
            messages_in: pair(&self.messages_in),
            messages_out: read(&self.messages_out),
            offers: read(&self.offers),
            accepts: read(&self.accepts),
            declines: read(&self.declines),
            offer_timeouts: read(&self.offer_timeouts),
            dialogs_created: read(&self.dialogs_created),
            dialogs_closed: read(&self.dialogs_closed),
            kpi_alerts: read(&self.kpi_alerts),
            errors: std::array::from_fn(|i| read(&self.errors[i])),
            connections_cut: std::array::from_fn(|i| read(&self.connections_cut[i])),
            login_failures: read(&self.login_failures),
            logins_refused: read(&self.logins_refused),
        }
    }
}

/// Plain copies of [`Counters`]; arrays are indexed by [`Side`] and by [`ErrorCode`] (use the
/// accessors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    pub connections_opened: [u64; 2],
    pub connections_closed: [u64; 2],
    pub messages_in: [u64; 2],
    pub messages_out: u64,
    pub offers: u64,
    pub accepts: u64,
    pub declines: u64,
    pub offer_timeouts: u64,
    pub dialogs_created: u64,
    pub dialogs_closed: u64,
    pub kpi_alerts: u64,
    pub errors: [u64; ERROR_CODES],
    pub connections_cut: [u64; Cut::ALL.len()],
    pub login_failures: u64,
    pub logins_refused: u64,
}

impl CountersSnapshot {
    /// Connections cut before they became sessions, for `why`.
    pub fn cut(&self, why: Cut) -> u64 {
        self.connections_cut[why as usize]
    }

    /// Connections of `side` accepted so far.
    pub fn opened(&self, side: Side) -> u64 {
        self.connections_opened[side.index()]
    }

    /// Connections of `side` ended so far.
    pub fn closed(&self, side: Side) -> u64 {
        self.connections_closed[side.index()]
    }

    /// Connections of `side` open now: opened − closed.
    pub fn open(&self, side: Side) -> u64 {
        self.opened(side).saturating_sub(self.closed(side))
    }

    /// Chat messages received from `side`.
    pub fn received(&self, side: Side) -> u64 {
        self.messages_in[side.index()]
    }

    /// `error` frames sent with `code`.
    pub fn errors(&self, code: ErrorCode) -> u64 {
        self.errors[code as usize]
    }
}
