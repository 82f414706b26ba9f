//! What each participant of a crash run saw, as the checker needs it: the acknowledgements it got
//! (client_msg_id → dialog, seq, msg_id), every chat message delivered to it (with how often),
//! and for operators the event numbers and the dialogs they hold. Plain data, filled by the
//! actors and read by the checker.

use std::collections::{BTreeMap, BTreeSet};

/// A message as the server showed it to someone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    pub dialog: u64,
    pub seq: u64,
    pub msg_id: u64,
    pub author: String,
    pub text: String,
}

/// An acknowledged message: durable, so it must be in the store exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    pub client_msg_id: String,
    pub text: String,
    pub dialog: u64,
    pub seq: u64,
    pub msg_id: u64,
}

/// One widget's record.
#[derive(Clone, Debug, Default)]
pub struct WidgetJournal {
    pub client_id: String,
    /// Every client id the server's `welcome`s named (a hello without the token of an id that
    /// has one gets a new id).
    pub welcomed_as: std::collections::BTreeSet<String>,
    pub acked: Vec<Acked>,
    /// Every delivery, in arrival order (a message delivered twice appears twice).
    pub received: Vec<Seen>,
    /// The dialog open at the end of the run, as the widget knows it.
    pub open_dialog: Option<u64>,
    /// Messages sent and never acknowledged (still unacked at the end: reported, not lost).
    pub unacked_at_end: usize,
    /// `hello`s answered with `welcome` (1 + reconnections).
    pub welcomes: u32,
    /// Error frames by code.
    pub errors: BTreeMap<String, u32>,
    pub ratings_sent: u32,
}

/// One operator's record.
#[derive(Clone, Debug, Default)]
pub struct OperatorJournal {
    pub id: String,
    pub capacity: usize,
    pub acked: Vec<Acked>,
    pub received: Vec<Seen>,
    /// Top-level event numbers in arrival order (must only grow).
    pub event_seqs: Vec<u64>,
    /// The largest number of dialogs held at once, as the operator's own events tell it.
    pub most_held: usize,
    /// Dialogs held at the end.
    pub held_at_end: BTreeSet<u64>,
    pub welcomes: u32,
    pub errors: BTreeMap<String, u32>,
    pub accepted: u32,
    pub closed: u32,
    pub transferred: u32,
}
