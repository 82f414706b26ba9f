//! A shard answering operator sessions: messages (numbered, and recognised as a repeat by
//! `client_msg_id`, in the routing core), actions on a dialog (accept, decline, close, transfer,
//! supervisor rating), history pages (open dialogs from memory, closed ones from the store) and
//! the operator's dialog list.

use super::requests::{OperatorAction, Refusal, Stored};
use super::ShardTask;
use crate::protocol::{DialogSummary, ErrorCode};
use crate::routing::{Command, DialogId, OpIdx};
use crate::store::records;

impl ShardTask {
    pub(super) fn operator_message(
        &mut self,
        now: u64,
        op: OpIdx,
        dialog: DialogId,
        key: String,
        text: String,
    ) -> Result<Stored, Refusal> {
        if self.core.dialog(dialog).is_none() {
            return Err(Refusal::new(ErrorCode::NotFound, "no such dialog"));
        }
        let command = Command::OperatorMessage {
            op,
            dialog,
            key,
            text: text.into(),
        };
        let (stored, duplicate, _) = self.message_through_core(now, command)?;
        if duplicate {
            return Ok(stored);
        }
        self.touch(dialog);
        // Effects first, so the widget learns who joined before it sees their message.
        self.apply_effects();
        if let Some(view) = self.message_view(dialog, stored.seq) {
            self.deliver(dialog, view, Some(op));
        }
        Ok(stored)
    }

    pub(super) fn operator_action(
        &mut self,
        now: u64,
        op: OpIdx,
        dialog: DialogId,
        action: OperatorAction,
    ) -> Result<(), Refusal> {
        let command = match action {
            OperatorAction::Accept => Command::Accept { op, dialog },
            OperatorAction::Decline => Command::Decline { op, dialog },
            OperatorAction::Close => Command::Close { op, dialog },
            OperatorAction::Transfer(to) => Command::Transfer { op, dialog, to },
            OperatorAction::SupervisorRate(score) => {
                if !self.hub.directory().operators[op.0 as usize].supervisor {
                    return Err(Refusal::new(
                        ErrorCode::Forbidden,
                        "only supervisors rate dialogs",
                    ));
                }
                if self.core.dialog(dialog).is_none() {
                    return self.rate_closed(dialog, score);
                }
                // The score is part of the dialog's durable record from this batch on.
                self.touch(dialog);
                Command::SupervisorRate { dialog, score }
            }
        };
        let result = self.core.handle(now, command, &mut self.out);
        self.apply_effects();
        result.map(|_| ()).map_err(Refusal::from)
    }

    /// Links the client of `dialog` to a contact (or unlinks it), for its holder or a
    /// supervisor; the change is part of the dialog's durable record and its decisions from
    /// this batch on. Answers the client's id.
    pub(super) fn link_contact(
        &mut self,
        now: u64,
        op: OpIdx,
        dialog: DialogId,
        contact: Option<(u64, crate::protocol::ContactCard)>,
    ) -> Result<String, Refusal> {
        let dir = self.hub.directory();
        let me = &dir.operators[op.0 as usize];
        let Some(d) = self.core.dialog(dialog) else {
            return Err(Refusal::new(
                ErrorCode::NotFound,
                "no open dialog with this id",
            ));
        };
        if d.holder_op() != Some(op) && !me.supervisor {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "this dialog is not yours",
            ));
        }
        let before = d.conversation.client.contact_id;
        let client = d.conversation.client.client_id.clone();
        let text = match (&contact, before) {
            (Some((id, _)), _) => format!("linked to contact {id} by {}", me.id),
            (None, Some(id)) => format!("unlinked from contact {id} by {}", me.id),
            (None, None) => format!("left unlinked by {}", me.id),
        };
        let command = Command::LinkContact { dialog, contact };
        self.core
            .handle(now, command, &mut self.out)
            .map_err(Refusal::from)?;
        self.apply_effects();
        self.touch(dialog);
        let max = self.hub.limits.decisions_per_dialog_max;
        let words = records::StoredDecision {
            ts: now as i64,
            text,
        };
        self.io.entry(dialog).or_default().record(words, max);
        self.decided.insert(dialog);
        Ok(client)
    }

    /// A supervisor's score for a dialog that is closed: its stored summary is rewritten in
    /// this batch, so the ack comes once the score is durable.
    fn rate_closed(&mut self, dialog: DialogId, score: u8) -> Result<(), Refusal> {
        let not_found = || Refusal::new(ErrorCode::NotFound, "no such dialog");
        let store = self.hub.store.clone().ok_or_else(not_found)?;
        let bytes = store
            .dialog(dialog.0)
            .map_err(|_| Refusal::new(ErrorCode::Internal, "the dialog could not be read"))?
            .ok_or_else(not_found)?;
        let mut summary: records::ClosedDialog = rmp_serde::from_slice(&bytes)
            .map_err(|_| Refusal::new(ErrorCode::Internal, "the dialog could not be read"))?;
        summary.supervisor_score = Some(score);
        self.pending.push(crate::store::Record::Dialog {
            dialog: dialog.0,
            bytes: records::encode(&summary),
        });
        Ok(())
    }

    pub(super) fn history(
        &self,
        op: OpIdx,
        dialog: DialogId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::protocol::MessageView>, Refusal> {
        let Some(d) = self.core.dialog(dialog) else {
            return self.stored_history(op, dialog, before, limit);
        };
        let sees = d.audience().contains(&op) || d.holder_op() == Some(op);
        if !sees && !self.hub.directory().operators[op.0 as usize].supervisor {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "this dialog is not yours",
            ));
        }
        self.open_page(dialog, &d.conversation.transcript, before, limit)
    }

    /// History of a dialog that is no longer open, read from the store: for supervisors and for
    /// the operator who held it last (named in its stored summary).
    pub(super) fn stored_history(
        &self,
        op: OpIdx,
        dialog: DialogId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::protocol::MessageView>, Refusal> {
        let Some(store) = &self.hub.store else {
            return Err(Refusal::new(ErrorCode::NotFound, "no such open dialog"));
        };
        let dir = self.hub.directory();
        let me = &dir.operators[op.0 as usize];
        let held_it = || {
            store
                .dialog(dialog.0)
                .ok()
                .flatten()
                .and_then(|bytes| rmp_serde::from_slice::<records::ClosedDialog>(&bytes).ok())
                .is_some_and(|closed| closed.operator.as_deref() == Some(&*me.id))
        };
        if !me.supervisor && !held_it() {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "the history of a closed dialog is for supervisors and its last operator",
            ));
        }
        let page = records::stored_page(store, dialog.0, before, limit)
            .map_err(|_| Refusal::new(ErrorCode::Internal, "the history could not be read"))?;
        if page.is_empty() {
            return Err(Refusal::new(ErrorCode::NotFound, "no such dialog"));
        }
        Ok(page)
    }

    pub(super) fn operator_dialogs(&self, op: OpIdx) -> Vec<DialogSummary> {
        let dir = self.hub.directory();
        let who = &dir.operators[op.0 as usize];
        let mut list: Vec<DialogSummary> = self
            .core
            .dialogs_of(op)
            .into_iter()
            .filter_map(|id| {
                let d = self.core.dialog(id)?;
                let state = crate::admin::views::state_of(&d.holder);
                Some(DialogSummary {
                    dialog_id: id.0,
                    line: self.hub.directory().lines[d.line.0 as usize].id.to_string(),
                    state,
                    client: d.conversation.client.seen_by(&who.id, who.supervisor),
                    last_seq: d.conversation.transcript.last_seq(),
                    deadline_ts: self
                        .core
                        .timer_deadline(id, crate::routing::TimerKind::Transfer)
                        .map(|t| t as i64),
                })
            })
            .collect();
        list.sort_by_key(|s| s.dialog_id);
        list
    }
}
