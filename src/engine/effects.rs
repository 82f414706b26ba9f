//! Turning the routing core's effects into frames and follow-ups: offers, revokes and
//! assignments to operator feeds; automatic texts stored and delivered like any message;
//! rating requests, ratings, closings and KPI alerts; cross-shard notices and dialog moves.

use super::dialog_log::DialogLog;
use super::messages::ShardMsg;
use super::persist;
use super::shard_task::ShardTask;
use crate::protocol::{
    common, operator, widget, Author, ClientInfo, OfferMode, OperatorOut, PresenceState, Score,
    WidgetOut,
};
use crate::routing::{CloseReason, Effect, FinishedDialog, KpiKind, RevokeReason};
use crate::store::Record;
use std::sync::Arc;

fn revoke_reason(reason: RevokeReason) -> common::RevokeReason {
    match reason {
        RevokeReason::Taken => common::RevokeReason::Taken,
        RevokeReason::Timeout => common::RevokeReason::Timeout,
        RevokeReason::Declined => common::RevokeReason::Declined,
        RevokeReason::Closed => common::RevokeReason::Closed,
        RevokeReason::Transferred => common::RevokeReason::Transferred,
        RevokeReason::Offline => common::RevokeReason::Offline,
    }
}

fn close_reason(reason: CloseReason) -> common::CloseReason {
    match reason {
        CloseReason::Operator => common::CloseReason::Operator,
        CloseReason::Client => common::CloseReason::Client,
        CloseReason::Rated => common::CloseReason::Rated,
        CloseReason::RatingTimeout => common::CloseReason::RatingTimeout,
        CloseReason::ClientIdle => common::CloseReason::ClientIdle,
        CloseReason::OperatorSilence => common::CloseReason::OperatorSilence,
        CloseReason::ClientReturned => common::CloseReason::ClientReturned,
        CloseReason::LineDeleted => common::CloseReason::LineDeleted,
    }
}

fn offer_mode(mode: crate::config::QueueMode) -> OfferMode {
    match mode {
        crate::config::QueueMode::Even => OfferMode::Even,
        crate::config::QueueMode::Balanced => OfferMode::Balanced,
        crate::config::QueueMode::Strict => OfferMode::Strict,
        crate::config::QueueMode::All => OfferMode::All,
    }
}

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
        | Effect::KpiAlert { dialog, .. }
        | Effect::Answered { dialog, .. }
        | Effect::Decided { dialog, .. } => Some(*dialog),
        Effect::MoveOut(_)
        | Effect::Finished(_)
        | Effect::Closed { .. }
        | Effect::OperatorPaused { .. }
        | Effect::OperatorFreed { .. } => None,
    }
}

impl ShardTask {
    /// Applies every effect produced since the last call.
    pub(super) fn apply_effects(&mut self, now: u64) {
        let effects = std::mem::take(&mut self.out);
        for effect in effects {
            self.apply(now, effect);
        }
    }

    fn apply(&mut self, now: u64, effect: Effect) {
        let engine = self.engine.clone();
        let dir = engine.directory();
        if let Some(dialog) = touched_by(&effect) {
            self.touch(dialog);
        }
        match effect {
            Effect::DialogOpened { .. } => engine.metrics.counters.dialog_created(),
            Effect::MarkedUnanswered { .. } => {}
            Effect::Answered {
                dialog,
                op,
                first,
                response_ms,
            } => {
                if let Some(d) = self.core.dialog(dialog) {
                    self.stats.answered(d.line, op, first, response_ms);
                }
            }
            Effect::Finished(finished) => {
                self.stats.finished(&finished);
                self.finishing = Some(finished);
            }
            Effect::Offered {
                dialog,
                line,
                op,
                deadline_ms,
                mode,
            } => {
                engine.metrics.counters.offer();
                let client = self
                    .logs
                    .get(&dialog)
                    .map(|l| l.info.clone())
                    .unwrap_or_else(|| ClientInfo {
                        client_id: String::new(),
                        name: None,
                        email: None,
                        phone: None,
                        contact_id: None,
                    });
                let frame = OperatorOut::DialogOffered(operator::DialogOffered {
                    dialog_id: dialog.0,
                    line: dir.lines[line.0 as usize].id.to_string(),
                    client,
                    last_messages: self.offer_messages(dialog),
                    deadline_ts: deadline_ms as i64,
                    mode: offer_mode(mode),
                });
                self.outbox.publish(op, frame);
            }
            Effect::Revoked { dialog, op, reason } => {
                match reason {
                    RevokeReason::Timeout => engine.metrics.counters.offer_timeout(),
                    RevokeReason::Declined => engine.metrics.counters.decline(),
                    _ => {}
                }
                let frame = OperatorOut::DialogRevoked(operator::DialogRevoked {
                    dialog_id: dialog.0,
                    reason: revoke_reason(reason),
                });
                self.outbox.publish(op, frame);
            }
            Effect::Assigned { dialog, line, op } => {
                engine.metrics.counters.accept();
                let frame = OperatorOut::DialogAssigned(operator::DialogAssigned {
                    dialog_id: dialog.0,
                    line: dir.lines[line.0 as usize].id.to_string(),
                });
                self.outbox.publish(op, frame);
                if let Some(log) = self.logs.get_mut(&dialog) {
                    log.operator = Some(op);
                    let joined = WidgetOut::OperatorJoined(widget::OperatorJoined {
                        dialog_id: dialog.0,
                        operator: dir.operator_view(line, op),
                    });
                    self.outbox.send_client(&log.client, Arc::new(joined));
                }
            }
            Effect::BotLeft { dialog, op } => {
                let frame = OperatorOut::DialogRevoked(operator::DialogRevoked {
                    dialog_id: dialog.0,
                    reason: common::RevokeReason::Taken,
                });
                self.outbox.publish(op, frame);
            }
            Effect::Text { dialog, text, .. } => {
                let msg_id = self.next_system_id();
                let Some(log) = self.logs.get_mut(&dialog) else {
                    return;
                };
                let view = log.append(msg_id, Author::System, None, text, now as i64, None);
                self.deliver(dialog, view, None);
            }
            Effect::RatingRequested { dialog } => {
                if let Some(log) = self.logs.get(&dialog) {
                    let frame = WidgetOut::RatingRequest(widget::RatingRequest {
                        dialog_id: dialog.0,
                    });
                    self.outbox.send_client(&log.client, Arc::new(frame));
                }
            }
            Effect::Rated { dialog, like } => {
                if let Some(log) = self.logs.get_mut(&dialog) {
                    log.rating = Some(like);
                    self.stats.rated(log.line, log.operator, like);
                }
                if let Some(op) = self.logs.get(&dialog).and_then(|l| l.operator) {
                    let frame = OperatorOut::Rating(operator::Rating {
                        dialog_id: dialog.0,
                        score: if like { Score::Like } else { Score::Dislike },
                        comment: self.pending_comment.clone(),
                    });
                    self.outbox.publish(op, frame);
                }
            }
            Effect::LineChanged { dialog, to, .. } => {
                if let Some(log) = self.logs.get_mut(&dialog) {
                    log.line = to;
                }
            }
            Effect::MoveOut(moved) => {
                let target = engine.shard_of_line(moved.to_line);
                engine.note_moved(moved.id, target);
                // Its messages so far are written with this batch; the new shard writes the rest.
                self.save_messages(moved.id);
                self.touched.remove(&moved.id);
                self.written.remove(&moved.id);
                let log = self.logs.remove(&moved.id).map(Box::new);
                self.outbox.post(target, ShardMsg::Adopt { moved, log });
            }
            Effect::Closed { dialog, reason } => {
                engine.metrics.counters.dialog_closed();
                engine.forget_moved(dialog);
                self.save_messages(dialog);
                self.touched.remove(&dialog);
                self.closed.push(dialog);
                let finished = self.finishing.take().filter(|f| f.id == dialog);
                if let Some(log) = self.logs.remove(&dialog) {
                    if let Some(finished) = finished {
                        self.keep_closed(&log, &finished, reason);
                    }
                    self.tell_closed(&log, close_reason(reason));
                }
            }
            Effect::OperatorPaused { op, missed } => {
                let frame = OperatorOut::Status(operator::StatusChanged {
                    state: PresenceState::Away,
                    reason: Some(format!("{missed} offers in a row were not taken")),
                });
                self.outbox.publish(op, frame);
                self.outbox.changed_elsewhere(op, self.index);
            }
            Effect::OperatorFreed { op } => self.outbox.changed_elsewhere(op, self.index),
            Effect::KpiAlert {
                dialog,
                notify,
                kind,
                text,
            } => {
                engine.metrics.counters.kpi_alert();
                let holder = self.core.dialog(dialog).and_then(|d| d.holder_op());
                let frame = OperatorOut::KpiAlert(operator::KpiAlert {
                    dialog_id: dialog.0,
                    operator_id: holder
                        .map(|op| dir.operators[op.0 as usize].id.to_string())
                        .unwrap_or_default(),
                    kind: match kind {
                        KpiKind::FirstResponse => common::KpiKind::FirstResponse,
                        KpiKind::Response => common::KpiKind::Response,
                    },
                    text,
                });
                self.outbox.publish(notify, frame);
            }
            Effect::Decided { dialog, decision } => {
                if let Some(log) = self.logs.get_mut(&dialog) {
                    log.record(decision, engine.limits.decisions_per_dialog_max);
                }
            }
        }
    }

    /// Writes the closed dialog's summary (with this batch) for the admin API.
    fn keep_closed(&mut self, log: &DialogLog, finished: &FinishedDialog, reason: CloseReason) {
        let dir = self.engine.directory();
        let summary = persist::ClosedDialog {
            id: log.id.0,
            line: dir.lines[finished.line.0 as usize].id.to_string(),
            client: log.info.clone(),
            operator: finished
                .holder
                .or(log.operator)
                .map(|op| dir.operators[op.0 as usize].id.to_string()),
            created_ms: finished.created_ms,
            closed_ms: finished.closed_ms,
            reason: reason.as_str().to_string(),
            ever_answered: finished.ever_answered,
            kpi: finished.kpi,
            rating: log.rating,
            supervisor_score: log.supervisor_score,
            messages_deleted: false,
        };
        self.pending.push(Record::Dialog {
            dialog: log.id.0,
            bytes: persist::encode(&summary),
        });
    }

    fn tell_closed(&mut self, log: &DialogLog, reason: common::CloseReason) {
        let closed = common::DialogClosed {
            dialog_id: log.id.0,
            reason,
        };
        self.outbox.send_client(
            &log.client,
            Arc::new(WidgetOut::DialogClosed(closed.clone())),
        );
        if let Some(op) = log.operator {
            self.outbox.publish(op, OperatorOut::DialogClosed(closed));
        }
    }
}
