//! Operator-side commands: accept, decline, answer (which takes an offered dialog), close,
//! transfer to an operator or a line, and reacting to an operator's presence or capacity change.

use super::Shard;
use crate::kpi;
use crate::routing::api::{
    CloseReason, Effect, MovedDialog, Reply, RevokeReason, RoutingError, TransferTarget,
};
use crate::routing::decision::Skip;
use crate::routing::dialog::{Dialog, Holder, TimerKind};
use crate::routing::ids::{DialogId, LineIdx, OpIdx};
use crate::routing::reserve::Need;

fn refused(skip: Skip) -> RoutingError {
    RoutingError::Capacity(match skip {
        Skip::AtLimit { count, max } => {
            format!("the operator is at this line's limit ({count}/{max})")
        }
        Skip::AtCapacity { load, capacity } => {
            format!("the operator is at capacity ({load}/{capacity})")
        }
        other => format!("the operator cannot take it now ({other:?})"),
    })
}

impl Shard {
    fn live(&self, id: DialogId) -> Result<&Dialog, RoutingError> {
        self.dialogs.get(&id).ok_or(RoutingError::NotFound)
    }

    pub(super) fn accept(
        &mut self,
        op: OpIdx,
        id: DialogId,
        out: &mut Vec<Effect>,
    ) -> Result<bool, RoutingError> {
        match &self.live(id)?.holder {
            Holder::Active(o) if *o == op => Ok(false),
            Holder::Active(_) => Err(RoutingError::InvalidState(
                "another operator took the dialog",
            )),
            Holder::Closing(_) => Err(RoutingError::InvalidState("the dialog is closed")),
            h if matches!(h, Holder::Offered(o) if *o == op)
                || matches!(h, Holder::OfferedAll(ops) if ops.contains(&op)) =>
            {
                self.take(id, op, out)?;
                Ok(true)
            }
            _ => Err(RoutingError::InvalidState(
                "the dialog is not offered to you",
            )),
        }
    }

    /// `op` takes `id` (from an offer, or by transfer when `from` is the previous holder).
    fn take(&mut self, id: DialogId, op: OpIdx, out: &mut Vec<Effect>) -> Result<(), RoutingError> {
        let d = &self.dialogs[&id];
        let (line, arrival, bot) = (d.line, d.arrival, d.bot);
        let others: Vec<OpIdx> = match &d.holder {
            Holder::OfferedAll(ops) => ops.iter().copied().filter(|o| *o != op).collect(),
            _ => Vec::new(),
        };
        self.transition(id, Holder::Active(op), Need::Any, out)
            .map_err(refused)?;
        for other in others {
            out.push(Effect::Revoked {
                dialog: id,
                op: other,
                reason: RevokeReason::Taken,
            });
        }
        self.cancel(id, TimerKind::Transfer);
        self.cancel(id, TimerKind::Escalation);
        self.line_mut(line).queue.remove(&arrival);
        let d = self.dialogs.get_mut(&id).expect("live");
        d.tried.clear();
        d.sent.queued_decision = false;
        self.ops[op.0 as usize].cell.clear_missed();
        self.dialogs
            .get_mut(&id)
            .expect("live")
            .conversation
            .operator = Some(op);
        out.push(Effect::Assigned {
            dialog: id,
            line,
            op,
        });
        if let Some(bot) = bot.filter(|b| *b != op) {
            self.dialogs.get_mut(&id).expect("live").bot = None;
            if let Some(set) = self.by_op.get_mut(&bot) {
                set.remove(&id);
            }
            out.push(Effect::BotLeft {
                dialog: id,
                op: bot,
            });
        }
        Ok(())
    }

    pub(super) fn decline(
        &mut self,
        op: OpIdx,
        id: DialogId,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        match self.live(id)?.holder.clone() {
            Holder::Offered(o) if o == op => {
                out.push(Effect::Revoked {
                    dialog: id,
                    op,
                    reason: RevokeReason::Declined,
                });
                self.requeue(id, Some(op), out);
                Ok(Reply::Done)
            }
            Holder::OfferedAll(mut ops) if ops.contains(&op) => {
                ops.retain(|o| *o != op);
                self.transition(id, Holder::OfferedAll(ops), Need::Any, out)
                    .expect("reserves nothing");
                self.dialogs.get_mut(&id).expect("live").tried.push(op);
                out.push(Effect::Revoked {
                    dialog: id,
                    op,
                    reason: RevokeReason::Declined,
                });
                Ok(Reply::Done)
            }
            _ => Err(RoutingError::InvalidState(
                "the dialog is not offered to you",
            )),
        }
    }

    /// `op` wrote in `id`: whether that took the dialog (the message is stored by the caller).
    pub(super) fn operator_message(
        &mut self,
        op: OpIdx,
        id: DialogId,
        out: &mut Vec<Effect>,
    ) -> Result<bool, RoutingError> {
        let d = self.live(id)?;
        if !self.line_ref(d.line).rules.active {
            return Err(RoutingError::LineInactive);
        }
        let is_bot = self.ops[op.0 as usize].bot;
        match &d.holder {
            Holder::Active(o) if *o == op => {}
            Holder::Bot(o) if *o == op => return Ok(false),
            _ if is_bot && d.bot == Some(op) => return Ok(false),
            Holder::Closing(o) if *o == op => {
                return Err(RoutingError::InvalidState("the dialog is closed"))
            }
            _ if d.is_offered_to(op) => {
                self.take(id, op, out)?;
                self.answer(id, op, out);
                return Ok(true);
            }
            _ => return Err(RoutingError::Forbidden),
        }
        self.answer(id, op, out);
        Ok(false)
    }

    /// The holder wrote: KPI figures, timers, count slot.
    fn answer(&mut self, id: DialogId, op: OpIdx, out: &mut Vec<Effect>) {
        let now = self.now_ms;
        let d = &self.dialogs[&id];
        let first = !d.ever_answered;
        let rules = &self.line_ref(d.line).rules;
        let waited = d
            .waiting_since_ms
            .map(|since| kpi::open_ms(rules.hours.as_ref(), since, now));
        let idle = rules.idle_close.as_ref().map(|(after, _)| *after);
        self.retag(
            id,
            |d| {
                if let Some(ms) = waited {
                    d.kpi.record_response(first, ms);
                }
                d.holder_answered = true;
                d.ever_answered = true;
                d.client_wrote_last = false;
                d.waiting_since_ms = None;
            },
            out,
        );
        if let Some(response_ms) = waited {
            out.push(Effect::Answered {
                dialog: id,
                op,
                first,
                response_ms,
            });
        }
        for kind in [
            TimerKind::KpiFirst,
            TimerKind::KpiResponse,
            TimerKind::Unanswered,
            TimerKind::OperatorSilence,
        ] {
            self.cancel(id, kind);
        }
        if let Some(after) = idle {
            self.arm(id, TimerKind::ClientIdle, now + after);
        }
        self.ops[op.0 as usize].cell.clear_missed();
    }

    pub(super) fn operator_close(
        &mut self,
        op: OpIdx,
        id: DialogId,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        let d = self.live(id)?;
        let holder = match d.holder {
            Holder::Active(o) | Holder::Bot(o) if o == op => o,
            Holder::Active(o) | Holder::Bot(o) if self.ops[op.0 as usize].supervisor => o,
            Holder::Closing(_) => {
                return Err(RoutingError::InvalidState("the dialog is already closed"))
            }
            _ if d.is_offered_to(op) => {
                return Err(RoutingError::InvalidState(
                    "accept the dialog before closing it",
                ))
            }
            _ => return Err(RoutingError::Forbidden),
        };
        let reason = if matches!(d.holder, Holder::Bot(_)) {
            CloseReason::Bot
        } else {
            CloseReason::Operator
        };
        let rules = &self.line_ref(d.line).rules;
        let (rating, wait) = (rules.rating_enabled, rules.rating_wait_ms);
        if !rating || wait == 0 {
            self.finish(id, reason, out);
            return Ok(Reply::Done);
        }
        self.cancel_all(id);
        self.transition(id, Holder::Closing(holder), Need::Any, out)
            .expect("closing reserves nothing");
        self.arm(id, TimerKind::RatingWait, self.now_ms + wait);
        out.push(Effect::RatingRequested { dialog: id });
        Ok(Reply::Done)
    }

    pub(super) fn transfer(
        &mut self,
        op: OpIdx,
        id: DialogId,
        to: TransferTarget,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        let d = self.live(id)?;
        let holder = match d.holder {
            Holder::Active(o) | Holder::Bot(o) if o == op || self.ops[op.0 as usize].supervisor => {
                o
            }
            _ if self.ops[op.0 as usize].supervisor => {
                return Err(RoutingError::InvalidState(
                    "only an active dialog can be transferred",
                ))
            }
            _ => return Err(RoutingError::Forbidden),
        };
        match to {
            TransferTarget::Operator(target) => {
                let Some(operator) = self.ops.get(target.0 as usize) else {
                    return Err(RoutingError::NotFound);
                };
                if target == holder {
                    return Err(RoutingError::InvalidState("the dialog is already theirs"));
                }
                if operator.dismissed {
                    return Err(RoutingError::InvalidState("the operator is dismissed"));
                }
                self.take(id, target, out)?;
                self.cancel(id, TimerKind::ClientIdle);
                self.cancel(id, TimerKind::OfflineGrace);
                out.push(Effect::Revoked {
                    dialog: id,
                    op: holder,
                    reason: RevokeReason::Transferred,
                });
                out.push(Effect::Transferred {
                    dialog: id,
                    line: self.dialogs[&id].line,
                    from_line: None,
                    from_op: holder,
                });
            }
            TransferTarget::Line(target)
                if target == d.line && matches!(d.holder, Holder::Bot(_)) =>
            {
                self.bot_hands_off(id, out);
            }
            TransferTarget::Line(target) if target == d.line => {
                return Err(RoutingError::InvalidState(
                    "the dialog is already on that line",
                ));
            }
            TransferTarget::Line(target) => {
                let from = d.line;
                out.push(Effect::Revoked {
                    dialog: id,
                    op: holder,
                    reason: RevokeReason::Transferred,
                });
                out.push(Effect::Transferred {
                    dialog: id,
                    line: target,
                    from_line: Some(from),
                    from_op: holder,
                });
                self.move_to_line(id, target, out);
            }
        }
        Ok(Reply::Done)
    }

    /// Moves `id` to the back of `target`'s queue, here or (via the caller) on another shard.
    fn move_to_line(&mut self, id: DialogId, target: LineIdx, out: &mut Vec<Effect>) {
        self.requeue(id, None, out);
        let d = &self.dialogs[&id];
        let (from, arrival) = (d.line, d.arrival);
        self.line_mut(from).queue.remove(&arrival);
        self.cancel_all(id);
        let d = self.dialogs.get_mut(&id).expect("live");
        d.bot = None;
        if self
            .lines
            .get(target.0 as usize)
            .is_some_and(Option::is_some)
        {
            let arrival = self.line_mut(target).next_arrival();
            let d = self.dialogs.get_mut(&id).expect("live");
            d.line = target;
            d.arrival = arrival;
            d.tried.clear();
            d.cursor = None;
            d.escalation = 0;
            d.sent.queued_decision = false;
            self.arm_line_timers(id);
            self.line_mut(target).queue.insert(arrival, id);
            self.mark_dirty(target);
            out.push(Effect::LineChanged {
                dialog: id,
                from,
                to: target,
            });
            return;
        }
        let d = self.dialogs.remove(&id).expect("live");
        for set in self.by_op.values_mut() {
            set.remove(&id);
        }
        if let Some(entry) = self.clients.get_mut(&(d.origin_line, d.client.clone())) {
            entry.open = None;
        }
        out.push(Effect::MoveOut(Box::new(MovedDialog {
            id,
            to_line: target,
            client: d.client,
            created_ms: d.created_ms,
            waiting_since_ms: d.waiting_since_ms,
            ever_answered: d.ever_answered,
            kpi: d.kpi,
            conversation: d.conversation,
        })));
    }

    /// Arms the timers a waiting dialog has on its (new) line.
    fn arm_line_timers(&mut self, id: DialogId) {
        let now = self.now_ms;
        let rules = &self.line_ref(self.dialogs[&id].line).rules;
        let silence = rules.silence_close_ms;
        let escalation = rules.escalation_after_ms.first().copied();
        self.arm(id, TimerKind::OperatorSilence, now + silence);
        if let Some(after) = escalation {
            self.arm(id, TimerKind::Escalation, now + after);
        }
    }

    /// A dialog arrives from another shard's line.
    pub(super) fn adopt(&mut self, moved: MovedDialog, out: &mut Vec<Effect>) {
        let line = moved.to_line;
        if self.lines.get(line.0 as usize).is_none_or(Option::is_none) {
            return;
        }
        let arrival = self.line_mut(line).next_arrival();
        let mut d = Dialog::new(moved.id, line, moved.client, arrival, moved.created_ms);
        d.waiting_since_ms = moved.waiting_since_ms;
        d.ever_answered = moved.ever_answered;
        d.kpi = moved.kpi;
        d.conversation = moved.conversation;
        self.dialogs.insert(moved.id, d);
        self.arm_line_timers(moved.id);
        self.line_mut(line).queue.insert(arrival, moved.id);
        self.mark_dirty(line);
        let _ = out;
    }

    /// `op`'s presence, workday or capacity changed: withdraw what they can no longer be offered,
    /// start or stop reassignment grace, and refill their lines.
    pub(super) fn operator_changed(&mut self, op: OpIdx, out: &mut Vec<Effect>) {
        let Some(operator) = self.ops.get(op.0 as usize).cloned() else {
            return;
        };
        let state = operator.cell.state();
        let now = self.now_ms;
        let dialogs: Vec<DialogId> = self
            .by_op
            .get(&op)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for id in dialogs {
            let d = &self.dialogs[&id];
            let rules = &self.line_ref(d.line).rules;
            let need = rules.need();
            let away =
                rules.check_availability && operator.unavailable(&state, need, now).is_some();
            let grace = rules.reassign_after_ms;
            match d.holder.clone() {
                Holder::Offered(o) if o == op && away => {
                    out.push(Effect::Revoked {
                        dialog: id,
                        op,
                        reason: RevokeReason::Offline,
                    });
                    self.requeue(id, None, out);
                }
                Holder::OfferedAll(mut ops) if away && ops.contains(&op) => {
                    ops.retain(|o| *o != op);
                    self.transition(id, Holder::OfferedAll(ops), Need::Any, out)
                        .expect("reserves nothing");
                    out.push(Effect::Revoked {
                        dialog: id,
                        op,
                        reason: RevokeReason::Offline,
                    });
                }
                Holder::Active(o) if o == op => match (away, grace) {
                    (true, Some(after)) => self.arm_once(id, TimerKind::OfflineGrace, now + after),
                    (false, _) => self.cancel(id, TimerKind::OfflineGrace),
                    _ => {}
                },
                _ => {}
            }
        }
        self.mark_op_lines_dirty(op);
    }
}
