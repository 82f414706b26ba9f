//! A shard answering widget sessions: the state a resuming client missed, a client's message
//! (idempotent by `client_msg_id`), and typing drafts coalesced into previews for operators.

use super::dialog_log::{DialogLog, Side};
use super::fan_out::to_operator_message;
use super::requests::{ClientState, Refusal, Stored};
use super::ShardTask;
use crate::config::bounds::TYPING_PREVIEW_INTERVAL_MS;
use crate::protocol::{operator, Author, OperatorOut};
use crate::routing::{Command, DialogId, Holder, Reply};

impl ShardTask {
    pub(super) fn client_state(
        &self,
        line: crate::routing::LineIdx,
        client: &crate::routing::ClientId,
        last_seq: Option<u64>,
    ) -> ClientState {
        let Some(dialog) = self.core.client_open(line, client) else {
            return ClientState::default();
        };
        let log = self.logs.get(&dialog);
        let operator = self.core.dialog(dialog).and_then(|d| match d.holder {
            Holder::Active(op) | Holder::Bot(op) | Holder::Closing(op) => {
                self.hub.directory().operator_view(line, op)
            }
            _ => None,
        });
        ClientState {
            dialog: Some(dialog),
            operator,
            missed: match (log, last_seq) {
                (Some(log), Some(last)) => log.since(last),
                _ => Vec::new(),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn client_message(
        &mut self,
        now: u64,
        line: crate::routing::LineIdx,
        client: crate::routing::ClientId,
        info: crate::protocol::ClientInfo,
        hint: Option<DialogId>,
        key: String,
        text: String,
    ) -> Result<Stored, Refusal> {
        let open = hint
            .filter(|d| self.logs.get(d).is_some_and(|l| l.client == client))
            .or_else(|| self.core.client_open(line, &client));
        if let Some(log) = open.and_then(|d| self.logs.get(&d)) {
            if let Some((msg_id, seq)) = log.seen(Side::Client, &key) {
                return Ok(Stored {
                    dialog: log.id,
                    msg_id,
                    seq,
                });
            }
        }
        let reply = self.core.handle(
            now,
            Command::ClientMessage {
                line,
                client: client.clone(),
                dialog: hint,
            },
            &mut self.out,
        );
        let (dialog, audience) = match reply {
            Ok(Reply::ClientMessage {
                dialog, audience, ..
            }) => (dialog, audience),
            Ok(_) => unreachable!("a client message answers with its dialog"),
            Err(e) => {
                self.apply_effects(now);
                return Err(e.into());
            }
        };
        let msg_id = self.next_msg_id();
        let log = self
            .logs
            .entry(dialog)
            .or_insert_with(|| DialogLog::new(dialog, line, client.clone(), info));
        let view = log.append(
            msg_id,
            Author::Client,
            None,
            text.into(),
            now as i64,
            Some((Side::Client, key)),
        );
        self.touch(dialog);
        let result = Stored {
            dialog,
            msg_id,
            seq: view.seq,
        };
        for op in audience {
            self.outbox
                .publish(op, OperatorOut::Message(to_operator_message(view.clone())));
        }
        self.apply_effects(now);
        Ok(result)
    }

    pub(super) fn client_typing(&mut self, now: u64, client: &str, dialog: DialogId, text: String) {
        let Some(log) = self.logs.get_mut(&dialog) else {
            return;
        };
        if &*log.client != client || !self.hub.directory().lines[log.line.0 as usize].typing_preview
        {
            return;
        }
        let due = log.typing.last_sent_ms + TYPING_PREVIEW_INTERVAL_MS;
        if now >= due {
            self.send_preview(now, dialog, text);
        } else {
            if log.typing.pending.replace(text).is_none() {
                self.typing_due.insert((due, dialog));
            }
        }
    }

    pub(super) fn send_preview(&mut self, now: u64, dialog: DialogId, text: String) {
        let Some(log) = self.logs.get_mut(&dialog) else {
            return;
        };
        log.typing.last_sent_ms = now;
        let audience = self
            .core
            .dialog(dialog)
            .map(|d| d.audience())
            .unwrap_or_default();
        for op in audience {
            let frame = OperatorOut::TypingPreview(operator::TypingPreview {
                dialog_id: dialog.0,
                text: text.clone(),
            });
            self.outbox.publish_ephemeral(op, frame);
        }
    }
}
