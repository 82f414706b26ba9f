//! Refilling lines. After every command and every fired timer, each line whose situation changed
//! (a dialog arrived, a slot freed, an operator came back, hours opened, a step escalated) is
//! walked in arrival order and each waiting dialog is offered by the line's strategy, so a freed
//! slot is refilled at once and a newer dialog never goes ahead of an older one that could take
//! the same operator.

use super::Shard;
use crate::config::QueueMode;
use crate::routing::api::{AutoText, Effect};
use crate::routing::decision::{Outcome, SkipLog, Wait};
use crate::routing::dialog::{Holder, TimerKind};
use crate::routing::ids::{DialogId, LineIdx};
use crate::routing::strategy;
use crate::routing::time::earliest;
use std::ops::Bound::{Excluded, Unbounded};

/// Tries per dialog when another shard keeps winning the race for the chosen operator.
const RACE_RETRIES_MAX: usize = 4;

/// What happened to one waiting dialog.
enum Attempt {
    Offered,
    /// Nothing offered; `pool_exhausted` when no operator of the whole pool is free at all, so
    /// later dialogs cannot be offered either.
    Waits {
        pool_exhausted: bool,
        vacation_ends_ms: Option<u64>,
    },
}

impl Shard {
    /// Refills every line marked dirty.
    pub(super) fn dispatch_dirty(&mut self, out: &mut Vec<Effect>) {
        while let Some(line) = self.dirty.pop() {
            self.dispatch_line(line, out);
        }
    }

    /// Offers waiting dialogs of `line_idx`, oldest first.
    pub(super) fn dispatch_line(&mut self, line_idx: LineIdx, out: &mut Vec<Effect>) {
        let Some(line) = self.lines[line_idx.0 as usize].as_ref() else {
            return;
        };
        if line.queue.is_empty() {
            return;
        }
        if let Err(opens_ms) = line.rules.routes_at(self.now_ms) {
            let mut after = None;
            while let Some((arrival, id)) = self.next_waiting(line_idx, after) {
                after = Some(arrival);
                self.note_waiting(id, Wait::OffHours { opens_ms }, SkipLog::new(0), out);
            }
            if let Some(at) = opens_ms {
                self.arm_line_wake(line_idx, at);
            }
            return;
        }
        let mut wake: Option<u64> = None;
        // Walk the queue in place: a pass usually ends at its first dialog, so copying a long
        // queue first would cost more than the pass.
        let mut after = None;
        while let Some((arrival, id)) = self.next_waiting(line_idx, after) {
            after = Some(arrival);
            match self.attempt(id, out) {
                Attempt::Offered => {}
                Attempt::Waits {
                    pool_exhausted,
                    vacation_ends_ms,
                } => {
                    wake = earliest(wake, vacation_ends_ms);
                    if pool_exhausted {
                        break;
                    }
                }
            }
        }
        if let Some(at) = wake {
            self.arm_line_wake(line_idx, at);
        }
    }

    /// The first waiting dialog of `line` that arrived after `after` (from the start: `None`).
    fn next_waiting(&self, line: LineIdx, after: Option<u64>) -> Option<(u64, DialogId)> {
        let queue = &self.line_ref(line).queue;
        let next = match after {
            None => queue.iter().next(),
            Some(arrival) => queue.range((Excluded(arrival), Unbounded)).next(),
        };
        next.map(|(arrival, id)| (*arrival, *id))
    }

    fn attempt(&mut self, id: DialogId, out: &mut Vec<Effect>) -> Attempt {
        if self.offer_to_responsible(id, out) {
            return Attempt::Offered;
        }
        for _ in 0..RACE_RETRIES_MAX {
            let d = &self.dialogs[&id];
            let line = self.line_ref(d.line);
            let mut log = SkipLog::new(self.skips_max);
            let pick = strategy::pick(line, &self.ops, d, self.now_ms, &mut log);
            let (mode, need) = (line.rules.mode, line.rules.need());
            if pick.chosen.is_empty() {
                let full_pool = usize::from(d.escalation) + 1 >= line.rules.pool_ends.len();
                let no_one_available = line.rules.check_availability && pick.available == 0;
                let vacation_ends_ms = pick.vacation_ends_ms;
                let pool_exhausted = full_pool && pick.free == 0;
                if no_one_available {
                    self.send_no_operators(id, out);
                }
                if !matches!(self.dialogs[&id].holder, Holder::OfferedAll(_)) {
                    self.note_waiting(id, Wait::NobodyFree, log, out);
                }
                return Attempt::Waits {
                    pool_exhausted,
                    vacation_ends_ms,
                };
            }
            if pick.new_round {
                self.dialogs.get_mut(&id).expect("live").tried.clear();
            }
            if mode == QueueMode::All {
                self.offer_all(id, &pick.chosen, log, out);
                return Attempt::Offered;
            }
            let (pos, op) = pick.chosen[0];
            match self.transition(id, Holder::Offered(op), need, out) {
                Ok(()) => {
                    log.skipped.retain(|(o, _)| *o != op);
                    self.offered_one(id, pos, op, log, out);
                    return Attempt::Offered;
                }
                Err(_) => continue,
            }
        }
        Attempt::Waits {
            pool_exhausted: false,
            vacation_ends_ms: None,
        }
    }

    /// Offers a new dialog first to the operator responsible for its client's contact, once:
    /// when they cannot take it now, or let the offer pass, it waits in the queue at its
    /// arrival place like any other. Whether it was offered.
    pub(super) fn offer_to_responsible(&mut self, id: DialogId, out: &mut Vec<Effect>) -> bool {
        let d = self.dialogs.get_mut(&id).expect("live");
        let Some(op) = d.responsible.take() else {
            return false;
        };
        let contact = d.conversation.client.contact_id.unwrap_or_default();
        let line_idx = d.line;
        let line = self.line_ref(line_idx);
        let need = line.rules.need();
        if strategy::could_take(line, &self.ops, op, self.now_ms).is_err() {
            return false;
        }
        if self.transition(id, Holder::Offered(op), need, out).is_err() {
            return false;
        }
        let decision =
            SkipLog::new(0).decide(self.now_ms, Outcome::OfferedResponsible { op, contact });
        self.publish_offer(id, op, decision, out);
        true
    }

    fn offered_one(
        &mut self,
        id: DialogId,
        pos: usize,
        op: crate::routing::ids::OpIdx,
        log: SkipLog,
        out: &mut Vec<Effect>,
    ) {
        let d = self.dialogs.get_mut(&id).expect("live");
        d.cursor = Some(pos);
        let line = d.line;
        self.line_mut(line).mark_given(op);
        let decision = log.decide(self.now_ms, Outcome::Offered(op));
        self.publish_offer(id, op, decision, out);
    }

    /// A dialog just offered to `op` (its holder already moved): out of the queue, its
    /// transfer timer armed, the decision and the offer told.
    fn publish_offer(
        &mut self,
        id: DialogId,
        op: crate::routing::ids::OpIdx,
        decision: crate::routing::Decision,
        out: &mut Vec<Effect>,
    ) {
        let now = self.now_ms;
        let d = self.dialogs.get_mut(&id).expect("live");
        d.sent.queued_decision = false;
        let (line_idx, arrival) = (d.line, d.arrival);
        let line = self.line_mut(line_idx);
        line.queue.remove(&arrival);
        let (deadline_ms, mode) = (now + line.rules.transfer_after_ms, line.rules.mode);
        self.arm(id, TimerKind::Transfer, deadline_ms);
        out.push(Effect::Decided {
            dialog: id,
            decision,
        });
        out.push(Effect::Offered {
            dialog: id,
            line: line_idx,
            op,
            deadline_ms,
            mode,
        });
    }

    fn offer_all(
        &mut self,
        id: DialogId,
        chosen: &[(usize, crate::routing::ids::OpIdx)],
        log: SkipLog,
        out: &mut Vec<Effect>,
    ) {
        let now = self.now_ms;
        let d = &self.dialogs[&id];
        let line_idx = d.line;
        let mut ops = match &d.holder {
            Holder::OfferedAll(ops) => ops.clone(),
            _ => Vec::new(),
        };
        let new: Vec<_> = chosen.iter().map(|(_, op)| *op).collect();
        ops.extend(new.iter().copied());
        self.transition(
            id,
            Holder::OfferedAll(ops),
            crate::routing::reserve::Need::Any,
            out,
        )
        .expect("offers to all reserve nothing");
        self.dialogs
            .get_mut(&id)
            .expect("live")
            .sent
            .queued_decision = false;
        let transfer_after = self.line_ref(line_idx).rules.transfer_after_ms;
        self.arm_once(id, TimerKind::Transfer, now + transfer_after);
        let deadline_ms = self
            .timer_deadline(id, TimerKind::Transfer)
            .unwrap_or(now + transfer_after);
        let line = self.line_mut(line_idx);
        for op in &new {
            line.mark_given(*op);
        }
        out.push(Effect::Decided {
            dialog: id,
            decision: log.decide(now, Outcome::OfferedAll(new.clone())),
        });
        for op in new {
            out.push(Effect::Offered {
                dialog: id,
                line: line_idx,
                op,
                deadline_ms,
                mode: QueueMode::All,
            });
        }
    }

    /// Records once per wait why the dialog stays queued.
    fn note_waiting(&mut self, id: DialogId, wait: Wait, log: SkipLog, out: &mut Vec<Effect>) {
        let d = self.dialogs.get_mut(&id).expect("live");
        if d.sent.queued_decision {
            return;
        }
        d.sent.queued_decision = true;
        out.push(Effect::Decided {
            dialog: id,
            decision: log.decide(self.now_ms, Outcome::Queued(wait)),
        });
    }

    fn send_no_operators(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        let d = self.dialogs.get_mut(&id).expect("live");
        if d.sent.no_operators {
            return;
        }
        let line = d.line;
        let Some(text) = self.line_ref(line).rules.no_operators_text.clone() else {
            return;
        };
        self.dialogs.get_mut(&id).expect("live").sent.no_operators = true;
        self.say(id, AutoText::NoOperators, text, out);
    }
}
