//! The only code that changes who holds a dialog. `transition` moves the line counters, takes
//! the new holder's capacity slot by compare-and-swap (refusing, with no change at all, when a
//! line limit or the capacity would be exceeded) and gives the old holder's back; `retag` does
//! the same for changes that only move a dialog between count slots. Everything that queues,
//! closes or pauses goes through here.

use super::Shard;
use crate::routing::api::{CloseReason, Effect, FinishedDialog, RevokeReason};
use crate::routing::decision::Skip;
use crate::routing::dialog::{Dialog, Holder, Slot, TimerKind};
use crate::routing::ids::{DialogId, OpIdx};
use crate::routing::reserve::{Need, Presence, Refused};
use crate::routing::transcript::Conversation;

impl Shard {
    /// Moves `id` to `holder`, reserving a slot of the new holder with `need`.
    pub(super) fn transition(
        &mut self,
        id: DialogId,
        holder: Holder,
        need: Need,
        out: &mut Vec<Effect>,
    ) -> Result<(), Skip> {
        let d = &self.dialogs[&id];
        let line_idx = d.line;
        let old = d.slot();
        let new = d.slot_for(&holder);
        let old_audience = d.audience();
        if let Some((op, slot)) = new {
            if old.map(|(o, _)| o) != Some(op) {
                let line = self.line_ref(line_idx);
                if let Err((count, max)) = line.limit_check(op) {
                    return Err(Skip::AtLimit { count, max });
                }
                if slot.holds_capacity() {
                    self.ops[op.0 as usize].cell.reserve(need).map_err(
                        |refused| match refused {
                            Refused::AtCapacity { load, capacity } => {
                                Skip::AtCapacity { load, capacity }
                            }
                            Refused::Unavailable(state) => {
                                let operator = &self.ops[op.0 as usize];
                                operator
                                    .unavailable(&state, need, self.now_ms)
                                    .unwrap_or(Skip::Offline)
                            }
                        },
                    )?;
                }
            }
        }
        let d = self.dialogs.get_mut(&id).expect("live");
        if d.slot_for(&holder).map(|(op, _)| op) != old.map(|(op, _)| op) {
            d.holder_answered = false;
        }
        d.holder = holder;
        let new_audience = d.audience();
        self.move_counters(id, old, new, out);
        self.reindex(id, &old_audience, &new_audience);
        Ok(())
    }

    /// Applies a flag change to `id` (who wrote last, answered) and moves its count slot.
    pub(super) fn retag(
        &mut self,
        id: DialogId,
        change: impl FnOnce(&mut Dialog),
        out: &mut Vec<Effect>,
    ) {
        let d = self.dialogs.get_mut(&id).expect("live");
        let old = d.slot();
        change(d);
        let new = d.slot();
        self.move_counters(id, old, new, out);
    }

    fn move_counters(
        &mut self,
        id: DialogId,
        old: Option<(OpIdx, Slot)>,
        new: Option<(OpIdx, Slot)>,
        out: &mut Vec<Effect>,
    ) {
        if old == new {
            return;
        }
        let line_idx = self.dialogs[&id].line;
        let line = self.line_mut(line_idx);
        if let Some((op, slot)) = old {
            let member = line.member_mut(op);
            member.slots[slot as usize] -= 1;
        }
        if let Some((op, slot)) = new {
            line.member_mut(op).slots[slot as usize] += 1;
        }
        if let Some((op, slot)) = old {
            // A counted dialog may have stopped counting: the line may take another.
            self.mark_dirty(line_idx);
            let still_holds = new.is_some_and(|(o, s)| o == op && s.holds_capacity());
            if slot.holds_capacity() && !still_holds {
                self.release(op, out);
            }
        }
    }

    /// Gives one capacity unit of `op` back and wakes every line that may now use it.
    pub(super) fn release(&mut self, op: OpIdx, out: &mut Vec<Effect>) {
        let before = self.ops[op.0 as usize].cell.release();
        if before.load >= before.capacity {
            out.push(Effect::OperatorFreed { op });
        }
        self.mark_op_lines_dirty(op);
    }

    pub(super) fn mark_op_lines_dirty(&mut self, op: OpIdx) {
        if let Some(lines) = self.op_lines.get(&op) {
            for line in lines.clone() {
                self.mark_dirty(line);
            }
        }
    }

    fn reindex(&mut self, id: DialogId, old: &[OpIdx], new: &[OpIdx]) {
        for op in old.iter().filter(|op| !new.contains(op)) {
            if let Some(set) = self.by_op.get_mut(op) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_op.remove(op);
                }
            }
        }
        for op in new.iter().filter(|op| !old.contains(op)) {
            self.by_op.entry(*op).or_default().insert(id);
        }
    }

    /// Puts `id` back in its line's queue at its original place. `tried` joins the round's
    /// tried set.
    pub(super) fn requeue(&mut self, id: DialogId, tried: Option<OpIdx>, out: &mut Vec<Effect>) {
        self.cancel(id, TimerKind::Transfer);
        self.cancel(id, TimerKind::ClientIdle);
        self.cancel(id, TimerKind::OfflineGrace);
        self.transition(id, Holder::Queued, Need::Any, out)
            .expect("queueing reserves nothing");
        let d = self.dialogs.get_mut(&id).expect("live");
        d.holder_answered = false;
        if let Some(op) = tried {
            if !d.tried.contains(&op) {
                d.tried.push(op);
            }
        }
        let (line, arrival) = (d.line, d.arrival);
        self.line_mut(line).queue.insert(arrival, id);
        self.mark_dirty(line);
    }

    /// Ends `id` for good: revokes open offers, frees every slot and timer, forgets it.
    pub(super) fn finish(&mut self, id: DialogId, reason: CloseReason, out: &mut Vec<Effect>) {
        let Some(d) = self.dialogs.get(&id) else {
            return;
        };
        let (line, origin, arrival, client) = (d.line, d.origin_line, d.arrival, d.client.clone());
        let mut finished = FinishedDialog {
            id,
            line,
            client: client.clone(),
            created_ms: d.created_ms,
            closed_ms: self.now_ms,
            ever_answered: d.ever_answered,
            holder: match &d.holder {
                Holder::Active(op) | Holder::Bot(op) | Holder::Closing(op) => Some(*op),
                _ => None,
            },
            kpi: d.kpi,
            conversation: Conversation::default(),
        };
        let offered: Vec<OpIdx> = match &d.holder {
            Holder::Offered(op) => vec![*op],
            Holder::OfferedAll(ops) => ops.clone(),
            _ => Vec::new(),
        };
        for op in offered {
            out.push(Effect::Revoked {
                dialog: id,
                op,
                reason: RevokeReason::Closed,
            });
        }
        self.cancel_all(id);
        self.transition(id, Holder::Queued, Need::Any, out)
            .expect("releasing reserves nothing");
        let audience = self.dialogs[&id].audience();
        self.reindex(id, &audience, &[]);
        self.line_mut(line).queue.remove(&arrival);
        finished.conversation = self.dialogs.remove(&id).expect("live").conversation;
        if let Some(entry) = self.clients.get_mut(&(origin, client)) {
            if entry.open == Some(id) {
                entry.open = None;
            }
        }
        out.push(Effect::Closed {
            dialog: id,
            reason,
            finished: Box::new(finished),
        });
    }

    /// `op` missed too many offers in a row: set them away here, tell everyone.
    pub(super) fn pause_operator(&mut self, op: OpIdx, missed: u64, out: &mut Vec<Effect>) {
        let cell = &self.ops[op.0 as usize].cell;
        cell.set_presence(Presence::Away);
        cell.clear_missed();
        out.push(Effect::OperatorPaused { op, missed });
        self.operator_changed(op, out);
    }
}
