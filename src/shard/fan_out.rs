//! Fan-out of one stored message: to the dialog's operators (numbered feed events) and to the
//! widget (with the name the line's `operator_display` allows), plus the messages shown with an
//! offer; and a message command through the core (its ack, or that it repeats a key).
//! Everything goes through the batch's outbox, so it leaves only after the commit.

use super::requests::{Refusal, Stored};
use super::ShardTask;
use crate::config::bounds::OFFER_MESSAGES_MAX;
use crate::protocol::{operator, Author, ErrorCode, MessageView, OperatorOut, WidgetOut};
use crate::routing::{transcript, ClientId, Command, DialogId, LineIdx, OpIdx, Reply, Shard, Side};
use crate::store::records;
use std::sync::Arc;

impl ShardTask {
    /// A client or operator message command through the core: its ack, whether it repeats an
    /// earlier key (then nothing else happened), and the operators who see it now. A refusal
    /// comes back after the effects of the step are applied.
    pub(super) fn message_through_core(
        &mut self,
        now: u64,
        command: Command,
    ) -> Result<(Stored, bool, Vec<OpIdx>), Refusal> {
        let reply = match self.repeat_from_store(&command)? {
            Some(repeat) => Ok(repeat),
            None => self.core.handle(now, command, &mut self.out),
        };
        let (dialog, msg_id, seq, duplicate, audience) = match reply {
            Ok(Reply::ClientMessage {
                dialog,
                msg_id,
                seq,
                duplicate,
                audience,
                ..
            }) => (dialog, msg_id, seq, duplicate, audience),
            Ok(Reply::OperatorMessage {
                dialog,
                msg_id,
                seq,
                duplicate,
                ..
            }) => (dialog, msg_id, seq, duplicate, Vec::new()),
            Ok(other) => unreachable!("a message answers with its ack, not {other:?}"),
            Err(e) => {
                self.apply_effects();
                return Err(e.into());
            }
        };
        let stored = Stored {
            dialog,
            msg_id,
            seq,
        };
        Ok((stored, duplicate, audience))
    }

    /// A message command repeating the key of a message that left memory: its first ack, read
    /// from the store (`None`: the key is new, the command runs).
    fn repeat_from_store(&self, command: &Command) -> Result<Option<Reply>, Refusal> {
        let (Some((dialog, side, key, through)), Some(store)) =
            (self.core.may_repeat_forgotten(command), &self.hub.store)
        else {
            return Ok(None);
        };
        let operator = match side {
            Side::Client => None,
            Side::Operator(op) => Some(self.hub.directory().operators[op.0 as usize].id.clone()),
        };
        let found = records::stored_key(store, dialog.0, through, (operator.as_deref(), key))
            .map_err(|_| Refusal::new(ErrorCode::Internal, "the dialog could not be read"))?;
        Ok(found.map(|(msg_id, seq)| Shard::repeat_reply(command, dialog, msg_id, seq)))
    }

    /// Message `seq` of the open `dialog` as the wire shows it.
    pub(super) fn message_view(&self, dialog: DialogId, seq: u64) -> Option<MessageView> {
        let d = self.core.dialog(dialog)?;
        Some(d.conversation.transcript.get(seq)?.view(dialog))
    }

    /// Sends a stored message of an open dialog to the widget and to the dialog's operators
    /// except `from`.
    pub(super) fn deliver(&mut self, dialog: DialogId, view: MessageView, from: Option<OpIdx>) {
        let Some(d) = self.core.dialog(dialog) else {
            return;
        };
        let (client, line) = (d.client.clone(), d.line);
        self.deliver_to(dialog, &client, Some(line), view, from);
    }

    /// Sends a stored message to `client` and to the operators who see `dialog` now (none once
    /// it closed) except `from`; `line` names operators as its `operator_display` allows.
    pub(super) fn deliver_to(
        &mut self,
        dialog: DialogId,
        client: &ClientId,
        line: Option<LineIdx>,
        view: MessageView,
        from: Option<OpIdx>,
    ) {
        let audience = self
            .core
            .dialog(dialog)
            .map(|d| d.audience())
            .unwrap_or_default();
        for op in audience.into_iter().filter(|op| Some(*op) != from) {
            self.outbox
                .publish(op, OperatorOut::Message(to_operator_message(view.clone())));
        }
        if view.author != Author::Client {
            let mut view = view;
            if matches!(view.author, Author::Operator | Author::Bot) {
                // The widget sees the name the line's operator_display allows.
                view.name = from
                    .zip(line)
                    .and_then(|(op, line)| self.hub.directory().operator_view(line, op))
                    .map(|v| v.name);
            }
            self.outbox
                .send_client(client, Arc::new(WidgetOut::Message(view)));
        }
    }

    /// The last messages to show with an offer.
    pub(super) fn offer_messages(&self, dialog: DialogId) -> Vec<MessageView> {
        self.core
            .dialog(dialog)
            .map(|d| {
                let page = d.conversation.transcript.page(None, OFFER_MESSAGES_MAX);
                transcript::views(dialog, page)
            })
            .unwrap_or_default()
    }
}

/// A stored message as an operator `message` frame.
pub(super) fn to_operator_message(view: MessageView) -> operator::OperatorMessage {
    operator::OperatorMessage {
        dialog_id: view.dialog_id,
        dialog_seq: view.seq,
        msg_id: view.msg_id,
        author: view.author,
        name: view.name,
        text: view.text,
        ts: view.ts,
    }
}
