//! A sans-IO router over several shards, run on one thread: it sends each command to the shard
//! that owns its line or dialog and carries cross-shard consequences (a dialog moving to another
//! shard's line, an operator freed or paused) to the other shards before returning.
//!
//! The server runs each shard on its own task and delivers the same follow-ups through
//! mailboxes; both take the decisions from one piece of code, [`placement`](super::placement)
//! (which shard owns a line or a dialog, what an effect asks of other shards), so tests,
//! property tests and benches drive the server's forwarding rules with the same shard code.

use super::api::{Command, Effect, Reply, RoutingError};
use super::dialog::Dialog;
use super::ids::{DialogId, LineIdx, OpIdx, SHARDS_MAX};
use super::operator::Operator;
use super::placement::{shard_of_line, FollowUp, Placement};
use super::reserve::{Presence, Workday};
use super::setup::Directory;
use super::shard::Shard;
use crate::config::Config;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Several shards behind one `handle`.
pub struct Router {
    shards: Vec<Shard>,
    line_count: usize,
    placement: Placement,
    operators: Vec<Operator>,
    operator_index: HashMap<Arc<str>, OpIdx>,
    line_index: HashMap<Arc<str>, LineIdx>,
}

impl Router {
    /// Builds the routing state for a validated config with `shards` shards (1..=256).
    pub fn new(config: &Config, shards: usize, now_ms: u64) -> Router {
        let shards = shards.clamp(1, SHARDS_MAX);
        let directory = Directory::build(config);
        let skips_max = config.server.limits.decision_skips_max;
        let line_count = directory.lines.len();
        let shard_list = (0..shards)
            .map(|s| {
                let lines = directory.lines_for_shard(s, shards);
                Shard::new(
                    s as u8,
                    directory.operators.clone(),
                    lines,
                    line_count,
                    now_ms,
                    skips_max,
                )
            })
            .collect();
        Router {
            shards: shard_list,
            line_count,
            placement: Placement::new(shards),
            operators: directory.operators,
            operator_index: directory.operator_index,
            line_index: directory.line_index,
        }
    }

    /// The operator index for an id.
    pub fn operator(&self, id: &str) -> Option<OpIdx> {
        self.operator_index.get(id).copied()
    }

    /// The line index for an id.
    pub fn line(&self, id: &str) -> Option<LineIdx> {
        self.line_index.get(id).copied()
    }

    /// Operators, by index.
    pub fn operators(&self) -> &[Operator] {
        &self.operators
    }

    /// The shards.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// The shard holding `dialog` now.
    pub fn shard_of(&self, dialog: DialogId) -> usize {
        self.placement.shard_of_dialog(dialog)
    }

    /// The shard owning `line` (`None` for an unknown line).
    fn line_shard(&self, line: LineIdx) -> Option<usize> {
        let line = line.0 as usize;
        (line < self.line_count).then(|| shard_of_line(line, self.shards.len()))
    }

    /// An open dialog.
    pub fn dialog(&self, id: DialogId) -> Option<&Dialog> {
        self.shards.get(self.shard_of(id))?.dialog(id)
    }

    /// Applies `command` at `now_ms` and everything it causes on other shards.
    pub fn handle(
        &mut self,
        now_ms: u64,
        command: Command,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        let target = match &command {
            // The widget's open dialog may have moved to another shard's line; otherwise the
            // widget's line decides.
            Command::ClientMessage { line, dialog, .. } => {
                match dialog.filter(|d| self.dialog(*d).is_some()) {
                    Some(d) => self.shard_of(d),
                    None => self.line_shard(*line).ok_or(RoutingError::NotFound)?,
                }
            }
            Command::ClientClose { dialog, .. }
            | Command::ClientRate { dialog, .. }
            | Command::Accept { dialog, .. }
            | Command::Decline { dialog, .. }
            | Command::OperatorMessage { dialog, .. }
            | Command::SupervisorRate { dialog, .. }
            | Command::LinkContact { dialog, .. }
            | Command::Close { dialog, .. }
            | Command::Transfer { dialog, .. } => self.shard_of(*dialog),
            Command::Adopt(moved) => self
                .line_shard(moved.to_line)
                .ok_or(RoutingError::NotFound)?,
            Command::OperatorChanged { .. } | Command::Tick => {
                for shard in 0..self.shards.len() {
                    self.run(shard, now_ms, command.clone(), out)?;
                }
                return Ok(Reply::Done);
            }
        };
        if let Command::Transfer {
            to: super::api::TransferTarget::Line(line),
            ..
        } = &command
        {
            if self.line_shard(*line).is_none() {
                return Err(RoutingError::NotFound);
            }
        }
        if target >= self.shards.len() {
            return Err(RoutingError::NotFound);
        }
        self.run(target, now_ms, command, out)
    }

    fn run(
        &mut self,
        shard: usize,
        now_ms: u64,
        command: Command,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        let from = out.len();
        let reply = self.shards[shard].handle(now_ms, command, out);
        let mut follow_ups: VecDeque<(usize, Command)> = VecDeque::new();
        self.collect_follow_ups(shard, &out[from..], &mut follow_ups);
        while let Some((target, command)) = follow_ups.pop_front() {
            let from = out.len();
            let _ = self.shards[target].handle(now_ms, command, out);
            self.collect_follow_ups(target, &out[from..], &mut follow_ups);
        }
        reply
    }

    fn collect_follow_ups(
        &mut self,
        source: usize,
        effects: &[Effect],
        queue: &mut VecDeque<(usize, Command)>,
    ) {
        let shards = self.shards.len();
        for effect in effects {
            let Some(follow_up) =
                FollowUp::of(effect, |line| shard_of_line(line.0 as usize, shards))
            else {
                continue;
            };
            self.placement.apply(&follow_up);
            match (follow_up, effect) {
                (FollowUp::Adopt { shard, .. }, Effect::MoveOut(moved)) => {
                    queue.push_back((shard, Command::Adopt(moved.clone())));
                }
                (FollowUp::OperatorChanged { op }, _) => {
                    for shard in (0..shards).filter(|s| *s != source) {
                        queue.push_back((shard, Command::OperatorChanged { op }));
                    }
                }
                _ => {}
            }
        }
    }

    /// Sets `op`'s presence and lets every shard react.
    pub fn set_presence(
        &mut self,
        now_ms: u64,
        op: OpIdx,
        presence: Presence,
        out: &mut Vec<Effect>,
    ) {
        if let Some(operator) = self.operators.get(op.0 as usize) {
            operator.cell.set_presence(presence);
            let _ = self.handle(now_ms, Command::OperatorChanged { op }, out);
        }
    }

    /// Sets `op`'s workday and lets every shard react.
    pub fn set_workday(&mut self, now_ms: u64, op: OpIdx, workday: Workday, out: &mut Vec<Effect>) {
        if let Some(operator) = self.operators.get(op.0 as usize) {
            operator.cell.set_workday(workday);
            let _ = self.handle(now_ms, Command::OperatorChanged { op }, out);
        }
    }

    /// Records of every open dialog on every shard, ordered by id.
    pub fn dialog_records(&self) -> Vec<super::DialogRecord> {
        let mut all: Vec<super::DialogRecord> =
            self.shards.iter().flat_map(Shard::dialog_records).collect();
        all.sort_by_key(|r| r.id);
        all
    }

    /// Rebuilds open dialogs from records (without messages), each on the shard owning its line.
    pub fn restore(&mut self, records: Vec<super::DialogRecord>, out: &mut Vec<Effect>) {
        self.restore_dialogs(records.into_iter().map(Into::into).collect(), out);
    }

    /// Rebuilds open dialogs with their conversations, each on the shard owning its line.
    pub fn restore_dialogs(&mut self, dialogs: Vec<super::RestoredDialog>, out: &mut Vec<Effect>) {
        let mut per_shard: Vec<Vec<super::RestoredDialog>> = vec![Vec::new(); self.shards.len()];
        let seq_high = dialogs.iter().map(|d| DialogId(d.record.id).seq()).max();
        for (index, shard) in self.shards.iter_mut().enumerate() {
            shard.continue_ids_after(seq_high.unwrap_or(0));
            // A dialog that moved holds messages numbered by the shard it left.
            let messages = dialogs
                .iter()
                .flat_map(|d| d.conversation.transcript.msg_ids());
            shard.continue_msg_ids_after(super::transcript::msg_seq_high(messages, index));
        }
        for dialog in dialogs {
            let Some(shard) = self
                .line(&dialog.record.line)
                .and_then(|l| self.line_shard(l))
            else {
                continue;
            };
            self.placement.place(DialogId(dialog.record.id), shard);
            per_shard[shard].push(dialog);
        }
        for (shard, dialogs) in per_shard.into_iter().enumerate() {
            self.shards[shard].restore(dialogs, out);
        }
    }

    /// Fires due timers on every shard.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let _ = self.handle(now_ms, Command::Tick, out);
    }

    /// The earliest timer deadline across shards.
    pub fn next_wake(&self) -> Option<u64> {
        self.shards.iter().filter_map(Shard::next_wake).min()
    }
}
