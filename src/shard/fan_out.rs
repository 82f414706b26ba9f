//! Fan-out of one stored message: to the dialog's operators (numbered feed events) and to the
//! widget (with the name the line's `operator_display` allows), plus the messages shown with an
//! offer. Everything goes through the batch's outbox, so it leaves only after the commit.

use super::ShardTask;
use crate::config::bounds::OFFER_MESSAGES_MAX;
use crate::protocol::{operator, Author, OperatorOut, WidgetOut};
use crate::routing::{DialogId, OpIdx};
use std::sync::Arc;

impl ShardTask {
    /// Sends a stored message to the widget and to the dialog's operators except `from`.
    pub(super) fn deliver(
        &mut self,
        dialog: DialogId,
        view: crate::protocol::MessageView,
        from: Option<OpIdx>,
    ) {
        let Some(log) = self.logs.get(&dialog) else {
            return;
        };
        let (client, line) = (log.client.clone(), log.line);
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
                    .and_then(|op| self.hub.directory().operator_view(line, op))
                    .map(|v| v.name);
            }
            self.outbox
                .send_client(&client, Arc::new(WidgetOut::Message(view)));
        }
    }

    /// The last messages to show with an offer.
    pub(super) fn offer_messages(&self, dialog: DialogId) -> Vec<crate::protocol::MessageView> {
        self.logs
            .get(&dialog)
            .map(|log| log.page(None, OFFER_MESSAGES_MAX))
            .unwrap_or_default()
    }
}

/// A stored message as an operator `message` frame.
pub(super) fn to_operator_message(view: crate::protocol::MessageView) -> operator::OperatorMessage {
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
