//! A shard: the single owner of a set of lines and of every open dialog on them.
//!
//! Sans-IO: [`Shard::handle`] takes the time and one [`Command`], answers a repeated message
//! key at once (nothing else happens), fires the timers that fell due, applies the command
//! (storing messages in their dialog's transcript, numbered here), refills every line whose
//! situation changed, and appends [`Effect`]s. It never blocks, sleeps, reads a clock or
//! touches a socket or disk. The only state shared with other shards is each operator's
//! lock-free cell (`reserve`); everything else here is owned exclusively, so no lock is taken
//! on the dispatch path.
//!
//! Invariants (checked by the property tests): a line counter equals the number of dialogs in
//! that slot; no reservation exceeds an operator's capacity or a line limit; a waiting dialog is
//! never left queued while an operator is free and eligible for it; every armed timer belongs to
//! a live dialog or line and is cancelled when its reason goes away; each dialog's seqs run
//! 1, 2, 3… and no message id is handed out twice.
//!
//! Files: `client` and `operator_cmds` (the commands), `messages` (message ids, repeats, stored
//! messages and automatic texts), `dispatch` (offers), `transition` (holder changes, closing),
//! `timers`, `reconfigure`, `restore` (records and conversations back into a shard).

mod client;
mod dispatch;
mod messages;
mod operator_cmds;
mod reconfigure;
mod restore;
mod timers;
mod transition;

use super::api::{Command, Effect, Reply, RoutingError};
use super::dialog::{Dialog, TimerKind};
use super::ids::{ClientId, DialogId, LineIdx, OpIdx};
use super::line::Line;
use super::operator::Operator;
use crate::timers::TimerWheel;
use client::NewDialog;
use std::collections::{HashMap, HashSet};

pub use restore::RestoredDialog;
pub use timers::TimerEvent;

/// Per-client bookkeeping on one line.
#[derive(Clone, Debug, Default)]
struct ClientEntry {
    open: Option<DialogId>,
    dialogs_started: u32,
}

/// One routing shard.
pub struct Shard {
    index: u8,
    ops: Vec<Operator>,
    /// Indexed by global line index; `None` for lines of other shards.
    lines: Vec<Option<Line>>,
    /// Lines of this shard where the operator is in the candidate pool.
    op_lines: HashMap<OpIdx, Vec<LineIdx>>,
    dialogs: HashMap<DialogId, Dialog>,
    clients: HashMap<(LineIdx, ClientId), ClientEntry>,
    /// Dialogs each operator holds, is offered, or (bots) is attached to.
    by_op: HashMap<OpIdx, HashSet<DialogId>>,
    wheel: TimerWheel<TimerEvent>,
    fired: Vec<(u64, TimerEvent)>,
    next_seq: u64,
    /// The next message id sequence (`msg_id = next_msg << 8 | index`).
    next_msg: u64,
    now_ms: u64,
    dirty: Vec<LineIdx>,
    skips_max: usize,
}

impl Shard {
    /// A shard owning `lines` (placed by global index), seeing operators `ops`.
    pub fn new(
        index: u8,
        ops: Vec<Operator>,
        lines: Vec<Line>,
        line_count: usize,
        now_ms: u64,
        skips_max: usize,
    ) -> Self {
        let mut slots: Vec<Option<Line>> = (0..line_count).map(|_| None).collect();
        let mut op_lines: HashMap<OpIdx, Vec<LineIdx>> = HashMap::new();
        for line in lines {
            for op in &line.rules.pool {
                op_lines.entry(*op).or_default().push(line.idx);
            }
            let at = line.idx.0 as usize;
            slots[at] = Some(line);
        }
        Self {
            index,
            ops,
            lines: slots,
            op_lines,
            dialogs: HashMap::new(),
            clients: HashMap::new(),
            by_op: HashMap::new(),
            wheel: TimerWheel::new(now_ms),
            fired: Vec::new(),
            next_seq: 1,
            next_msg: 1,
            now_ms,
            dirty: Vec::new(),
            skips_max,
        }
    }

    /// This shard's index.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// Applies one command at `now_ms`, appending effects to `out`.
    pub fn handle(
        &mut self,
        now_ms: u64,
        command: Command,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        // A repeated message key is answered before anything else: no timer, no effect.
        if let Some(answer) = self.repeat(&command) {
            return answer;
        }
        self.advance(now_ms, out);
        let result = match command {
            Command::ClientMessage {
                line,
                client,
                dialog,
                info,
                key,
                text,
                responsible,
            } => {
                let new = NewDialog { info, responsible };
                self.client_message(line, client, dialog, new, (key, text), out)
            }
            Command::ClientClose { client, dialog } => self.client_close(&client, dialog, out),
            Command::ClientRate {
                client,
                dialog,
                like,
                comment,
            } => self.client_rate(&client, dialog, like, comment, out),
            Command::Accept { op, dialog } => self.accept(op, dialog, out).map(|_| Reply::Done),
            Command::Decline { op, dialog } => self.decline(op, dialog, out),
            Command::OperatorMessage {
                op,
                dialog,
                key,
                text,
            } => self.operator_message(op, dialog, out).map(|took| {
                let stored = self.store_operator_message(op, dialog, key, text);
                let (msg_id, seq) = stored.expect("an accepted message has its dialog");
                Reply::OperatorMessage {
                    dialog,
                    msg_id,
                    seq,
                    duplicate: false,
                    took,
                }
            }),
            Command::SupervisorRate { dialog, score } => match self.dialogs.get_mut(&dialog) {
                Some(d) => {
                    d.conversation.supervisor_score = Some(score);
                    Ok(Reply::Done)
                }
                None => Err(RoutingError::NotFound),
            },
            Command::LinkContact { dialog, contact } => match self.dialogs.get_mut(&dialog) {
                Some(d) => {
                    let client = &mut d.conversation.client;
                    client.unverified_match = None;
                    (client.contact_id, client.contact) = match contact {
                        Some((id, card)) => (Some(id), Some(Box::new(card))),
                        None => (None, None),
                    };
                    Ok(Reply::Done)
                }
                None => Err(RoutingError::NotFound),
            },
            Command::Close { op, dialog } => self.operator_close(op, dialog, out),
            Command::Transfer { op, dialog, to } => self.transfer(op, dialog, to, out),
            Command::OperatorChanged { op } => {
                self.operator_changed(op, out);
                Ok(Reply::Done)
            }
            Command::Adopt(moved) => {
                self.adopt(*moved, out);
                Ok(Reply::Done)
            }
            Command::Tick => Ok(Reply::Done),
        };
        self.dispatch_dirty(out);
        result
    }

    /// The earliest instant a timer may fire; the caller should call `handle(.., Tick)` then.
    pub fn next_wake(&self) -> Option<u64> {
        self.wheel.next_wake()
    }

    /// An open dialog of this shard.
    pub fn dialog(&self, id: DialogId) -> Option<&Dialog> {
        self.dialogs.get(&id)
    }

    /// Every open dialog of this shard.
    pub fn dialogs(&self) -> impl Iterator<Item = &Dialog> {
        self.dialogs.values()
    }

    /// The client's open dialog on `line`.
    pub fn client_open(&self, line: LineIdx, client: &ClientId) -> Option<DialogId> {
        self.clients
            .get(&(line, client.clone()))
            .and_then(|e| e.open)
    }

    /// Dialogs `op` holds, is offered, or (a bot) is attached to.
    pub fn dialogs_of(&self, op: OpIdx) -> Vec<DialogId> {
        self.by_op
            .get(&op)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default()
    }

    /// A line of this shard.
    pub fn line(&self, idx: LineIdx) -> Option<&Line> {
        self.lines.get(idx.0 as usize).and_then(Option::as_ref)
    }

    /// Every line of this shard.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().flatten()
    }

    /// The operators this shard knows.
    pub fn operators(&self) -> &[Operator] {
        &self.ops
    }

    /// The deadline of `dialog`'s armed timer of `kind`.
    pub fn timer_deadline(&self, dialog: DialogId, kind: TimerKind) -> Option<u64> {
        let key = self.dialogs.get(&dialog)?.timers[kind as usize]?;
        self.wheel.deadline(key)
    }

    /// Armed timers (dialog and line timers).
    pub fn timers_armed(&self) -> usize {
        self.wheel.len()
    }

    fn line_ref(&self, idx: LineIdx) -> &Line {
        self.lines[idx.0 as usize]
            .as_ref()
            .expect("dialog on a line of this shard")
    }

    fn line_mut(&mut self, idx: LineIdx) -> &mut Line {
        self.lines[idx.0 as usize]
            .as_mut()
            .expect("dialog on a line of this shard")
    }

    fn mark_dirty(&mut self, line: LineIdx) {
        if !self.dirty.contains(&line) {
            self.dirty.push(line);
        }
    }

    /// New dialog ids continue after sequence `seq` (restored and closed dialogs keep theirs;
    /// a dialog may have moved here from another shard, so every shard is told the same high
    /// mark).
    pub fn continue_ids_after(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq + 1);
    }

    /// The highest dialog id sequence this shard has handed out or been told about.
    /// How many dialogs each client started on each line of this shard (the bot's
    /// `first_contact` reads it), for the snapshot.
    pub fn client_dialog_counts(&self) -> impl Iterator<Item = (LineIdx, &ClientId, u32)> {
        self.clients
            .iter()
            .filter(|(_, e)| e.dialogs_started > 0)
            .map(|((line, client), e)| (*line, client, e.dialogs_started))
    }

    /// Puts back a client's count of started dialogs on `line` after a restart (the larger of
    /// this and what its open dialog's record says wins).
    pub fn restore_client_dialog_count(&mut self, line: LineIdx, client: ClientId, started: u32) {
        let entry = self.clients.entry((line, client)).or_default();
        entry.dialogs_started = entry.dialogs_started.max(started);
    }

    pub fn dialog_seq_high(&self) -> u64 {
        self.next_seq - 1
    }

    fn new_dialog_id(&mut self) -> DialogId {
        let id = DialogId::new(self.index, self.next_seq);
        self.next_seq += 1;
        id
    }

    fn op_name(&self, op: OpIdx) -> &str {
        &self.ops[op.0 as usize].name
    }
}
