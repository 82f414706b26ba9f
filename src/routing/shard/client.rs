//! Client-side commands: a message (which may open a dialog: greeting, timers, bot or queue),
//! closing from the widget, and rating.

use super::Shard;
use crate::kpi;
use crate::protocol::ClientInfo;
use crate::routing::api::{AutoText, CloseReason, Effect, Reply, RoutingError};
use crate::routing::decision::{Outcome, SkipLog};
use crate::routing::dialog::{Dialog, Holder, TimerKind};
use crate::routing::ids::{ClientId, DialogId, LineIdx};
use crate::routing::reserve::Need;
use crate::routing::transcript::Conversation;
use std::sync::Arc;

/// What describes a dialog the client's message may open.
pub(super) struct NewDialog {
    pub info: ClientInfo,
    pub responsible: Option<crate::routing::ids::OpIdx>,
}

impl Shard {
    /// The client's message `(key, text)`: stored first (before any greeting or automatic
    /// text it causes), then routed.
    pub(super) fn client_message(
        &mut self,
        line: LineIdx,
        client: ClientId,
        hint: Option<DialogId>,
        new: NewDialog,
        (key, text): (String, Arc<str>),
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        if self.lines.get(line.0 as usize).is_none_or(Option::is_none) {
            return Err(RoutingError::NotFound);
        }
        let mut current = None;
        if let Some(id) = hint {
            match self.dialogs.get(&id) {
                Some(d) if d.client == client => current = Some(id),
                Some(_) => return Err(RoutingError::Forbidden),
                None => {}
            }
        }
        if current.is_none() {
            current = self
                .clients
                .get(&(line, client.clone()))
                .and_then(|e| e.open);
        }
        if let Some(id) = current {
            if matches!(self.dialogs[&id].holder, Holder::Closing(_)) {
                self.finish(id, CloseReason::ClientReturned, out);
                current = None;
            }
        }
        let created = current.is_none();
        let (id, first_contact) = match current {
            Some(id) => (id, false),
            None => self.create_dialog(line, client, new, out),
        };
        let (msg_id, seq) = self
            .store_client_message(id, key, text)
            .expect("the dialog is open");
        if created {
            self.start_dialog(id, first_contact, out);
        }
        self.client_wrote(id, created, out);
        let audience = self
            .dialogs
            .get(&id)
            .map(Dialog::audience)
            .unwrap_or_default();
        Ok(Reply::ClientMessage {
            dialog: id,
            msg_id,
            seq,
            duplicate: false,
            created,
            audience,
        })
    }

    /// A new dialog of `client` on `line_idx`; returns it and whether it is the client's first.
    fn create_dialog(
        &mut self,
        line_idx: LineIdx,
        client: ClientId,
        new: NewDialog,
        out: &mut Vec<Effect>,
    ) -> (DialogId, bool) {
        let now = self.now_ms;
        let id = self.new_dialog_id();
        let arrival = self.line_mut(line_idx).next_arrival();
        let entry = self.clients.entry((line_idx, client.clone())).or_default();
        entry.open = Some(id);
        entry.dialogs_started += 1;
        let first_contact = entry.dialogs_started == 1;
        let mut dialog = Dialog::new(id, line_idx, client.clone(), arrival, now);
        dialog.conversation = Conversation::new(new.info);
        dialog.responsible = new.responsible;
        self.dialogs.insert(id, dialog);
        out.push(Effect::DialogOpened {
            dialog: id,
            line: line_idx,
            client,
        });
        (id, first_contact)
    }

    /// A new dialog's greeting, timers, and its bot or place in the queue.
    fn start_dialog(&mut self, id: DialogId, first_contact: bool, out: &mut Vec<Effect>) {
        let now = self.now_ms;
        let line_idx = self.dialogs[&id].line;
        let arrival = self.dialogs[&id].arrival;
        if let Some(text) = self.line_ref(line_idx).rules.greeting.clone() {
            self.say(id, AutoText::Greeting, text, out);
        }
        let rules = &self.line_ref(line_idx).rules;
        let unanswered = rules.unanswered_after_ms;
        let silence = rules.silence_close_ms;
        let kpi_first = rules
            .kpi_first
            .as_ref()
            .and_then(|k| kpi::open_deadline(rules.hours.as_ref(), now, k.target_ms));
        let escalation = rules.escalation_after_ms.first().copied();
        let bot = rules
            .bot
            .clone()
            .filter(|b| !b.first_contact_only || first_contact);
        if let Some(after) = unanswered {
            self.arm(id, TimerKind::Unanswered, now + after);
        }
        self.arm(id, TimerKind::OperatorSilence, now + silence);
        if let Some(deadline) = kpi_first {
            self.arm(id, TimerKind::KpiFirst, deadline);
        }
        if let Some(bot) = bot {
            if self
                .transition(id, Holder::Bot(bot.op), Need::Online, out)
                .is_ok()
            {
                let d = self.dialogs.get_mut(&id).expect("live");
                d.bot = Some(bot.op);
                d.conversation.operator = Some(bot.op);
                self.arm(id, TimerKind::BotHandoff, now + bot.handoff_ms);
                let decision = SkipLog::new(0).decide(now, Outcome::ToBot(bot.op));
                out.push(Effect::Decided {
                    dialog: id,
                    decision,
                });
                out.push(Effect::Assigned {
                    dialog: id,
                    line: line_idx,
                    op: bot.op,
                });
                return;
            }
        }
        if let Some(after) = escalation {
            self.arm(id, TimerKind::Escalation, now + after);
        }
        self.line_mut(line_idx).queue.insert(arrival, id);
        // The responsible operator does not wait behind dialogs the queue cannot place now.
        if self.line_ref(line_idx).rules.routes_at(now).is_ok() {
            self.offer_to_responsible(id, out);
        }
        self.mark_dirty(line_idx);
    }

    fn client_wrote(&mut self, id: DialogId, created: bool, out: &mut Vec<Effect>) {
        let now = self.now_ms;
        let d = &self.dialogs[&id];
        let rules = &self.line_ref(d.line).rules;
        if !d.sent.off_hours && !rules.is_open(now) {
            if let Some(text) = rules.off_hours_text.clone() {
                self.dialogs.get_mut(&id).expect("live").sent.off_hours = true;
                self.say(id, AutoText::OffHours, text, out);
            }
        }
        if created {
            return;
        }
        let d = &self.dialogs[&id];
        let rules = &self.line_ref(d.line).rules;
        let kpi_response = rules
            .kpi_response
            .as_ref()
            .and_then(|k| kpi::open_deadline(rules.hours.as_ref(), now, k.target_ms));
        let ever_answered = d.ever_answered;
        self.retag(
            id,
            |d| {
                d.client_wrote_last = true;
                d.waiting_since_ms.get_or_insert(now);
            },
            out,
        );
        self.cancel(id, TimerKind::ClientIdle);
        if let (true, Some(deadline)) = (ever_answered, kpi_response) {
            self.arm_once(id, TimerKind::KpiResponse, deadline);
        }
    }

    pub(super) fn client_close(
        &mut self,
        client: &ClientId,
        id: DialogId,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        let d = self.dialogs.get(&id).ok_or(RoutingError::NotFound)?;
        if d.client != *client {
            return Err(RoutingError::Forbidden);
        }
        self.finish(id, CloseReason::Client, out);
        Ok(Reply::Done)
    }

    pub(super) fn client_rate(
        &mut self,
        client: &ClientId,
        id: DialogId,
        like: bool,
        comment: Option<String>,
        out: &mut Vec<Effect>,
    ) -> Result<Reply, RoutingError> {
        let d = self.dialogs.get(&id).ok_or(RoutingError::NotFound)?;
        if d.client != *client {
            return Err(RoutingError::Forbidden);
        }
        if !matches!(d.holder, Holder::Closing(_)) {
            return Err(RoutingError::InvalidState(
                "the dialog is not awaiting a rating",
            ));
        }
        let line = d.line;
        let d = self.dialogs.get_mut(&id).expect("live");
        d.conversation.rating = Some(like);
        d.conversation.comment = comment.clone();
        out.push(Effect::Rated {
            dialog: id,
            like,
            comment,
            line,
            operator: d.conversation.operator,
        });
        if self.line_ref(line).rules.close_on_rating {
            self.finish(id, CloseReason::Rated, out);
        }
        Ok(Reply::Done)
    }

    /// The bot's time is up (or it transferred to the queue): the dialog joins the queue at its
    /// original place; the bot stays attached until a human takes it.
    pub(super) fn bot_hands_off(&mut self, id: DialogId, out: &mut Vec<Effect>) {
        self.cancel(id, TimerKind::BotHandoff);
        self.requeue(id, None, out);
        let line = self.dialogs[&id].line;
        if let Some(after) = self
            .line_ref(line)
            .rules
            .escalation_after_ms
            .first()
            .copied()
        {
            self.arm(id, TimerKind::Escalation, self.now_ms + after);
        }
    }
}
