//! The shard's per-step timeouts: every deadline is an absolute instant in the timing wheel,
//! armed with the dialog (or line) it belongs to, stored in that dialog's `timers` slot and
//! cancelled the moment its reason goes away, so a timer never fires into a changed state.
//! A timer that fell due while the process was down fires at the first `advance` after start.

use super::Shard;
use crate::routing::api::{AutoText, CloseReason, Effect, KpiKind, RevokeReason};
use crate::routing::dialog::{Holder, TimerKind};
use crate::routing::ids::{DialogId, LineIdx};

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerEvent {
    Dialog(DialogId, TimerKind),
    LineWake(LineIdx),
}

impl Shard {
    /// Arms (or re-arms) `kind` for `dialog` at `deadline_ms`.
    pub(super) fn arm(&mut self, dialog: DialogId, kind: TimerKind, deadline_ms: u64) {
        let Some(d) = self.dialogs.get_mut(&dialog) else {
            return;
        };
        if let Some(old) = d.timers[kind as usize].take() {
            self.wheel.cancel(old);
        }
        d.timers[kind as usize] = Some(
            self.wheel
                .arm(deadline_ms, TimerEvent::Dialog(dialog, kind)),
        );
    }

    /// Arms `kind` unless it is already armed.
    pub(super) fn arm_once(&mut self, dialog: DialogId, kind: TimerKind, deadline_ms: u64) {
        if self
            .dialogs
            .get(&dialog)
            .is_some_and(|d| d.timers[kind as usize].is_none())
        {
            self.arm(dialog, kind, deadline_ms);
        }
    }

    /// Cancels `kind` for `dialog` if armed.
    pub(super) fn cancel(&mut self, dialog: DialogId, kind: TimerKind) {
        if let Some(key) = self
            .dialogs
            .get_mut(&dialog)
            .and_then(|d| d.timers[kind as usize].take())
        {
            self.wheel.cancel(key);
        }
    }

    /// Cancels every timer of `dialog`.
    pub(super) fn cancel_all(&mut self, dialog: DialogId) {
        for kind in crate::routing::dialog::TimerKind::ALL {
            self.cancel(dialog, kind);
        }
    }

    /// Arms the line's wake-up at `at_ms` unless an earlier one is armed.
    pub(super) fn arm_line_wake(&mut self, line: LineIdx, at_ms: u64) {
        let current = self.line_ref(line).wake;
        if current.is_some_and(|(at, _)| at <= at_ms) {
            return;
        }
        if let Some((_, key)) = current {
            self.wheel.cancel(key);
        }
        let key = self.wheel.arm(at_ms, TimerEvent::LineWake(line));
        self.line_mut(line).wake = Some((at_ms, key));
    }

    /// Fires every timer due at `now_ms`, refilling lines after each.
    pub(super) fn advance(&mut self, now_ms: u64, out: &mut Vec<super::Effect>) {
        self.now_ms = self.now_ms.max(now_ms);
        loop {
            let mut fired = std::mem::take(&mut self.fired);
            fired.clear();
            self.wheel.poll(self.now_ms, &mut fired);
            if fired.is_empty() {
                self.fired = fired;
                break;
            }
            for (_, event) in fired.drain(..) {
                self.on_timer(event, out);
            }
            self.fired = fired;
            self.dispatch_dirty(out);
        }
    }

    fn on_timer(&mut self, event: TimerEvent, out: &mut Vec<Effect>) {
        let (id, kind) = match event {
            TimerEvent::LineWake(line) => {
                if let Some(l) = self.lines[line.0 as usize].as_mut() {
                    l.wake = None;
                }
                self.mark_dirty(line);
                return;
            }
            TimerEvent::Dialog(id, kind) => (id, kind),
        };
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        // The key fired: forget it so nobody cancels it again.
        d.timers[kind as usize] = None;
        match kind {
            TimerKind::Transfer => self.on_offer_timeout(id, out),
            TimerKind::Unanswered => self.on_unanswered(id, out),
            TimerKind::RatingWait => self.finish(id, CloseReason::RatingTimeout, out),
            TimerKind::ClientIdle => self.on_client_idle(id, out),
            TimerKind::OperatorSilence => self.finish(id, CloseReason::OperatorSilence, out),
            TimerKind::KpiFirst => self.on_kpi_missed(id, KpiKind::FirstResponse, out),
            TimerKind::KpiResponse => self.on_kpi_missed(id, KpiKind::Response, out),
            TimerKind::BotHandoff => self.on_bot_handoff(id, out),
            TimerKind::Escalation => self.on_escalation(id),
            TimerKind::OfflineGrace => self.on_offline_grace(id, out),
        }
    }

    fn on_offer_timeout(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        let d = &self.dialogs[&id];
        let line = d.line;
        match d.holder.clone() {
            Holder::Offered(op) => {
                let missed = self.ops[op.0 as usize].cell.note_missed();
                out.push(Effect::Revoked {
                    dialog: id,
                    op,
                    reason: RevokeReason::Timeout,
                });
                self.requeue(id, Some(op), out);
                let threshold = self.line_ref(line).rules.pause_after_missed;
                if threshold.is_some_and(|n| missed >= u64::from(n)) {
                    self.pause_operator(op, missed, out);
                }
            }
            Holder::OfferedAll(ops) => {
                // A new round: whoever is eligible now gets it again, with a new deadline.
                for op in &ops {
                    out.push(Effect::Revoked {
                        dialog: id,
                        op: *op,
                        reason: RevokeReason::Timeout,
                    });
                }
                let d = self.dialogs.get_mut(&id).expect("live");
                d.tried.clear();
                self.requeue(id, None, out);
            }
            _ => {}
        }
    }

    fn on_unanswered(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        let d = self.dialogs.get_mut(&id).expect("live");
        if d.ever_answered || d.sent.unanswered {
            return;
        }
        d.sent.unanswered = true;
        let line = d.line;
        out.push(Effect::MarkedUnanswered { dialog: id });
        if let Some(text) = self.line_ref(line).rules.unanswered_text.clone() {
            self.say(id, AutoText::Unanswered, text, out);
        }
    }

    fn on_client_idle(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        let line = self.dialogs[&id].line;
        if let Some((_, Some(text))) = self.line_ref(line).rules.idle_close.clone() {
            self.say(id, AutoText::IdleClose, text, out);
        }
        self.finish(id, CloseReason::ClientIdle, out);
    }

    fn on_kpi_missed(&mut self, id: DialogId, kind: KpiKind, out: &mut Vec<Effect>) {
        let d = self.dialogs.get_mut(&id).expect("live");
        match kind {
            KpiKind::FirstResponse => d.kpi.first_response_missed = true,
            KpiKind::Response => d.kpi.responses_missed = d.kpi.responses_missed.saturating_add(1),
        }
        let d = &self.dialogs[&id];
        out.push(Effect::KpiMissed {
            dialog: id,
            line: d.line,
            kind,
        });
        let rules = &self.line_ref(d.line).rules;
        let rule = match kind {
            KpiKind::FirstResponse => rules.kpi_first.as_ref(),
            KpiKind::Response => rules.kpi_response.as_ref(),
        };
        let Some(rule) = rule else { return };
        let who = match &d.holder {
            Holder::Offered(op) | Holder::Active(op) => self.op_name(*op).to_string(),
            _ => "nobody".to_string(),
        };
        let text = rule
            .text
            .replace("#OPERATOR#", &who)
            .replace("#DIALOG#", &id.to_string());
        for notify in &rule.notify {
            out.push(Effect::KpiAlert {
                dialog: id,
                notify: *notify,
                kind,
                text: text.clone(),
            });
        }
    }

    fn on_bot_handoff(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        if matches!(self.dialogs[&id].holder, Holder::Bot(_)) {
            self.bot_hands_off(id, out);
        }
    }

    fn on_escalation(&mut self, id: DialogId) {
        let d = self.dialogs.get_mut(&id).expect("live");
        if !d.is_waiting() {
            return;
        }
        d.escalation += 1;
        let (line, level, created) = (d.line, usize::from(d.escalation), d.created_ms);
        let next = self
            .line_ref(line)
            .rules
            .escalation_after_ms
            .get(level)
            .copied();
        if let Some(after) = next {
            self.arm(id, TimerKind::Escalation, created + after);
        }
        self.mark_dirty(line);
    }

    fn on_offline_grace(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        let d = &self.dialogs[&id];
        let Holder::Active(op) = d.holder else { return };
        let line = d.line;
        let rules = &self.line_ref(line).rules;
        let state = self.ops[op.0 as usize].cell.state();
        if state.meets(rules.need()) {
            return;
        }
        let text = rules.reassign_text.clone();
        out.push(Effect::Revoked {
            dialog: id,
            op,
            reason: RevokeReason::Offline,
        });
        self.say(id, AutoText::Reassigned, text, out);
        self.requeue(id, Some(op), out);
    }
}
