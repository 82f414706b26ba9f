//! Turning the routing core's effects into frames and follow-ups: offers, revokes and
//! assignments to operator feeds; automatic texts (numbered by the core) delivered like any
//! message; rating requests, ratings, closings (with the conversation that leaves in
//! `Effect::Closed`) and KPI alerts; cross-shard notices and dialog moves.

use crate::config::QueueMode;
use crate::contacts::interactions::{ChatSummary, Interaction};
use crate::protocol::{
    common, operator, widget, Author, MessageView, OperatorOut, PresenceState, Score, WidgetOut,
};
use crate::routing::FollowUp;
use crate::routing::{
    CloseReason, DialogId, Effect, FinishedDialog, KpiKind, LineIdx, MovedDialog, OpIdx,
    RevokeReason,
};
use crate::shard::requests::ShardRequest;
use crate::shard::ShardTask;
use crate::store::records;
use crate::store::Record;
use std::sync::Arc;

/// The dialog whose durable record an effect changes.
fn touched_by(effect: &Effect) -> Option<crate::routing::DialogId> {
    match effect {
        Effect::DialogOpened { dialog, .. }
        | Effect::Offered { dialog, .. }
        | Effect::Revoked { dialog, .. }
        | Effect::Assigned { dialog, .. }
        | Effect::BotLeft { dialog, .. }
        | Effect::Text { dialog, .. }
        | Effect::MarkedUnanswered { dialog }
        | Effect::RatingRequested { dialog }
        | Effect::Rated { dialog, .. }
        | Effect::LineChanged { dialog, .. }
        | Effect::KpiMissed { dialog, .. }
        | Effect::KpiAlert { dialog, .. }
        | Effect::Answered { dialog, .. }
        | Effect::Decided { dialog, .. } => Some(*dialog),
        Effect::Transferred { .. }
        | Effect::MoveOut(_)
        | Effect::Closed { .. }
        | Effect::OperatorPaused { .. }
        | Effect::OperatorFreed { .. } => None,
    }
}

impl ShardTask {
    /// Applies every effect produced since the last call.
    pub(super) fn apply_effects(&mut self) {
        let effects = std::mem::take(&mut self.out);
        for effect in effects {
            self.apply(effect);
        }
    }

    fn apply(&mut self, effect: Effect) {
        if let Some(dialog) = touched_by(&effect) {
            self.touch(dialog);
        }
        // What other shards must hear (the same rules the Router follows in tests).
        let follow_up = FollowUp::of(&effect, |line| self.hub.shard_of_line(line));
        if let Some(follow_up) = &follow_up {
            self.hub.follow(follow_up);
        }
        let webhook = self.webhook_event(&effect);
        let counters = &self.hub.metrics.counters;
        match effect {
            Effect::DialogOpened { .. } => counters.dialog_created(),
            Effect::MarkedUnanswered { .. } => {}
            Effect::Answered {
                dialog,
                op,
                first,
                response_ms,
            } => self.on_answered(dialog, op, first, response_ms),
            Effect::Offered {
                dialog,
                line,
                op,
                deadline_ms,
                mode,
            } => self.on_offered(dialog, line, op, deadline_ms, mode),
            Effect::Revoked { dialog, op, reason } => self.on_revoked(dialog, op, reason),
            Effect::Assigned { dialog, line, op } => self.on_assigned(dialog, line, op),
            Effect::BotLeft { dialog, op } => self.on_revoked(dialog, op, RevokeReason::Taken),
            Effect::Text {
                dialog,
                text,
                client,
                msg_id,
                seq,
                ts,
                ..
            } => {
                let view = MessageView {
                    dialog_id: dialog.0,
                    seq,
                    msg_id,
                    author: Author::System,
                    name: None,
                    text: text.to_string(),
                    ts,
                };
                // The dialog may have closed in the same step (idle close): the widget still
                // gets the text.
                self.deliver_to(dialog, &client, None, view, None);
            }
            Effect::RatingRequested { dialog } => self.on_rating_requested(dialog),
            Effect::Rated {
                dialog,
                like,
                comment,
                line,
                operator,
            } => self.on_rated(dialog, like, comment, line, operator),
            Effect::Transferred { .. } | Effect::LineChanged { .. } | Effect::KpiMissed { .. } => {}
            Effect::MoveOut(moved) => {
                let Some(FollowUp::Adopt { shard, .. }) = follow_up else {
                    unreachable!("a move is adopted elsewhere")
                };
                self.on_move_out(moved, shard);
            }
            Effect::Closed {
                dialog,
                reason,
                finished,
            } => self.on_closed(dialog, reason, &finished),
            Effect::OperatorPaused { op, missed } => self.on_operator_paused(op, missed),
            Effect::OperatorFreed { .. } => {}
            Effect::KpiAlert {
                dialog,
                notify,
                kind,
                text,
            } => self.on_kpi_alert(dialog, notify, kind, text),
            Effect::Decided { dialog, decision } => self.on_decided(dialog, decision),
        }
        if let Some(FollowUp::OperatorChanged { op }) = follow_up {
            self.outbox.changed_elsewhere(op, self.index);
        }
        // After the effect's own records (a closing dialog's last messages come first).
        self.pending.extend(webhook);
    }

    /// The webhook outbox record `effect` makes, if some endpoint wants it.
    fn webhook_event(&self, effect: &Effect) -> Option<Record> {
        self.hub.store.as_ref()?;
        if !self.hub.webhooks.outlet.wants_any(None) {
            return None;
        }
        let dir = self.hub.directory();
        let event = crate::webhooks::dialog_events::of_effect(effect, &dir)?;
        let order = crate::webhooks::dialog_events::DialogEvent::order(event.dialog);
        self.hub
            .webhooks
            .outlet
            .event(event.kind, Some(&event.line), Some(order), || event.data)
    }

    fn on_answered(&mut self, dialog: DialogId, op: OpIdx, first: bool, response_ms: u64) {
        if let Some(d) = self.core.dialog(dialog) {
            self.stats.answered(d.line, op, first, response_ms);
        }
    }

    fn on_rating_requested(&mut self, dialog: DialogId) {
        if let Some(d) = self.core.dialog(dialog) {
            let frame = WidgetOut::RatingRequest(widget::RatingRequest {
                dialog_id: dialog.0,
            });
            self.outbox.send_client(&d.client, Arc::new(frame));
        }
    }

    fn on_operator_paused(&mut self, op: OpIdx, missed: u64) {
        let frame = OperatorOut::Status(operator::StatusChanged {
            state: PresenceState::Away,
            reason: Some(format!("{missed} offers in a row were not taken")),
        });
        self.outbox.publish(op, frame);
    }

    /// Keeps a routing decision of an open dialog for the admin API.
    fn on_decided(&mut self, dialog: DialogId, decision: crate::routing::Decision) {
        if self.core.dialog(dialog).is_some() {
            let max = self.hub.limits.decisions_per_dialog_max;
            let dir = self.hub.directory();
            let words = records::StoredDecision {
                ts: decision.at_ms as i64,
                text: decision.explain(|op| &dir.operators[op.0 as usize].id),
            };
            self.io.entry(dialog).or_default().record(words, max);
            self.decided.insert(dialog);
        }
    }

    fn on_offered(
        &mut self,
        dialog: DialogId,
        line: LineIdx,
        op: OpIdx,
        deadline_ms: u64,
        mode: QueueMode,
    ) {
        self.hub.metrics.counters.offer();
        let dir = self.hub.directory();
        let who = &dir.operators[op.0 as usize];
        let client = self
            .core
            .dialog(dialog)
            .map(|d| d.conversation.client.seen_by(&who.id, who.supervisor))
            .unwrap_or_default();
        let frame = OperatorOut::DialogOffered(operator::DialogOffered {
            dialog_id: dialog.0,
            line: dir.lines[line.0 as usize].id.to_string(),
            client,
            last_messages: self.offer_messages(dialog),
            deadline_ts: deadline_ms as i64,
            mode,
        });
        self.outbox.publish(op, frame);
    }

    fn on_revoked(&mut self, dialog: DialogId, op: OpIdx, reason: RevokeReason) {
        match reason {
            RevokeReason::Timeout => self.hub.metrics.counters.offer_timeout(),
            RevokeReason::Declined => self.hub.metrics.counters.decline(),
            _ => {}
        }
        let frame = OperatorOut::DialogRevoked(operator::DialogRevoked {
            dialog_id: dialog.0,
            reason,
        });
        self.outbox.publish(op, frame);
    }

    fn on_assigned(&mut self, dialog: DialogId, line: LineIdx, op: OpIdx) {
        self.hub.metrics.counters.accept();
        let dir = self.hub.directory();
        let frame = OperatorOut::DialogAssigned(operator::DialogAssigned {
            dialog_id: dialog.0,
            line: dir.lines[line.0 as usize].id.to_string(),
        });
        self.outbox.publish(op, frame);
        if let Some(d) = self.core.dialog(dialog) {
            let joined = WidgetOut::OperatorJoined(widget::OperatorJoined {
                dialog_id: dialog.0,
                operator: dir.operator_view(line, op),
            });
            self.outbox.send_client(&d.client, Arc::new(joined));
        }
    }

    fn on_rated(
        &mut self,
        dialog: DialogId,
        like: bool,
        comment: Option<String>,
        line: LineIdx,
        operator: Option<OpIdx>,
    ) {
        self.stats.rated(line, operator, like);
        if let Some(op) = operator {
            let frame = OperatorOut::Rating(operator::Rating {
                dialog_id: dialog.0,
                score: if like { Score::Like } else { Score::Dislike },
                comment,
            });
            self.outbox.publish(op, frame);
        }
    }

    fn on_move_out(&mut self, moved: Box<MovedDialog>, target: usize) {
        // Its messages so far are written with this batch; the new shard writes the rest.
        let at = (moved.id, moved.to_line);
        let io = self.take_leaving_io(at, &moved.conversation.transcript);
        self.written.remove(&moved.id);
        let io = Some(Box::new(io));
        self.outbox.post(target, ShardRequest::Adopt { moved, io });
    }

    fn on_closed(&mut self, dialog: DialogId, reason: CloseReason, finished: &FinishedDialog) {
        self.hub.metrics.counters.dialog_closed();
        self.stats.finished(finished);
        let io = self.take_leaving_io((dialog, finished.line), &finished.conversation.transcript);
        self.closed.push(dialog);
        self.keep_closed(finished, reason, io.decisions.into());
        self.tell_closed(finished, reason);
    }

    fn on_kpi_alert(&mut self, dialog: DialogId, notify: OpIdx, kind: KpiKind, text: String) {
        self.hub.metrics.counters.kpi_alert();
        let holder = self.core.dialog(dialog).and_then(|d| d.holder_op());
        let frame = OperatorOut::KpiAlert(operator::KpiAlert {
            dialog_id: dialog.0,
            operator_id: holder
                .map(|op| self.hub.directory().operators[op.0 as usize].id.to_string())
                .unwrap_or_default(),
            kind,
            text,
        });
        self.outbox.publish(notify, frame);
    }

    /// Writes the closed dialog's summary (with this batch) for the admin API.
    fn keep_closed(
        &mut self,
        finished: &FinishedDialog,
        reason: CloseReason,
        decisions: Vec<records::StoredDecision>,
    ) {
        let dir = self.hub.directory();
        let talk = &finished.conversation;
        let summary = records::ClosedDialog {
            id: finished.id.0,
            line: dir.lines[finished.line.0 as usize].id.to_string(),
            client: talk.client.clone(),
            operator: finished
                .holder
                .or(talk.operator)
                .map(|op| dir.operators[op.0 as usize].id.to_string()),
            created_ms: finished.created_ms,
            closed_ms: finished.closed_ms,
            reason: reason.as_str().to_string(),
            ever_answered: finished.ever_answered,
            kpi: finished.kpi,
            rating: talk.rating,
            comment: talk.comment.clone(),
            supervisor_score: talk.supervisor_score,
            decisions,
            messages_deleted: false,
        };
        if let Some(contact) = talk.client.contact_id {
            self.pending.push(chat_interaction(&summary, talk, contact));
        }
        self.pending.push(Record::Dialog {
            dialog: finished.id.0,
            bytes: records::encode(&summary),
        });
    }

    fn tell_closed(&mut self, finished: &FinishedDialog, reason: CloseReason) {
        let closed = common::DialogClosed {
            dialog_id: finished.id.0,
            reason,
        };
        self.outbox.send_client(
            &finished.client,
            Arc::new(WidgetOut::DialogClosed(closed.clone())),
        );
        if let Some(op) = finished.conversation.operator {
            self.outbox.publish(op, OperatorOut::DialogClosed(closed));
        }
    }
}

/// The entry a closed chat leaves in its contact's interaction log, committed with the close.
fn chat_interaction(
    summary: &records::ClosedDialog,
    talk: &crate::routing::Conversation,
    contact: u64,
) -> Record {
    let interaction = Interaction {
        kind: "chat".to_string(),
        text: None,
        author: summary.operator.clone(),
        chat: Some(ChatSummary {
            dialog_id: summary.id,
            line: summary.line.clone(),
            operators: summary.operator.iter().cloned().collect(),
            opened_ts: summary.created_ms,
            closed_ts: summary.closed_ms,
            messages: talk.transcript.last_seq(),
            close_reason: summary.reason.clone(),
            rating: summary
                .rating
                .map(|like| if like { "like" } else { "dislike" }.to_string()),
            first_response_ms: summary.kpi.first_response_ms,
            history: format!("/api/v1/dialogs/{}/messages", summary.id),
        }),
    };
    interaction.record(contact, summary.closed_ms, summary.id)
}
