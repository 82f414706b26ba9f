//! A shard answering widget sessions: the state a resuming client missed, a client's message
//! (numbered, and recognised as a repeat by `client_msg_id`, in the routing core), and typing
//! drafts coalesced into previews for operators.

use super::fan_out::to_operator_message;
use super::requests::{ClientState, Refusal, Stored};
use super::ShardTask;
use crate::config::bounds::TYPING_PREVIEW_INTERVAL_MS;
use crate::protocol::{operator, ClientInfo, OperatorOut};
use crate::routing::{transcript, ClientId, Command, DialogId, Holder, LineIdx};

impl ShardTask {
    pub(super) fn client_state(
        &self,
        line: LineIdx,
        client: &ClientId,
        last_seq: Option<u64>,
    ) -> ClientState {
        let Some(dialog) = self.core.client_open(line, client) else {
            return ClientState::default();
        };
        let open = self.core.dialog(dialog);
        let operator = open.and_then(|d| match d.holder {
            Holder::Active(op) | Holder::Bot(op) | Holder::Closing(op) => {
                self.hub.directory().operator_view(line, op)
            }
            _ => None,
        });
        ClientState {
            dialog: Some(dialog),
            operator,
            missed: match (open, last_seq) {
                (Some(d), Some(last)) => {
                    let transcript = &d.conversation.transcript;
                    self.open_since(dialog, transcript, last)
                        .unwrap_or_else(|refusal| {
                            // The store failed (the hub fails with it): what memory holds.
                            eprintln!("switchboard: dialog {}: {}", dialog.0, refusal.message);
                            transcript::views(dialog, transcript.since(last))
                        })
                }
                _ => Vec::new(),
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn client_message(
        &mut self,
        now: u64,
        line: LineIdx,
        client: ClientId,
        info: ClientInfo,
        hint: Option<DialogId>,
        key: String,
        text: String,
    ) -> Result<Stored, Refusal> {
        // Timers due by now fire first and are published first: a text one stores (the
        // unanswered text, say) has a lower seq than this message and must reach the
        // operators before it.
        if self.core.next_wake().is_some_and(|due| due <= now) {
            let _ = self.core.handle(now, Command::Tick, &mut self.out);
            self.apply_effects();
        }
        let responsible = responsible_of(&self.hub, line, &info);
        let command = Command::ClientMessage {
            line,
            client,
            dialog: hint,
            info,
            key,
            text: text.into(),
            responsible,
        };
        let (stored, duplicate, audience) = self.message_through_core(now, command)?;
        if duplicate {
            return Ok(stored);
        }
        self.touch(stored.dialog);
        if let Some(view) = self.message_view(stored.dialog, stored.seq) {
            for op in audience {
                self.outbox
                    .publish(op, OperatorOut::Message(to_operator_message(view.clone())));
            }
        }
        self.apply_effects();
        Ok(stored)
    }

    pub(super) fn client_typing(&mut self, now: u64, client: &str, dialog: DialogId, text: String) {
        let Some(d) = self.core.dialog(dialog) else {
            return;
        };
        if &*d.client != client || !self.hub.directory().lines[d.line.0 as usize].typing_preview {
            return;
        }
        let io = self.io.entry(dialog).or_default();
        let due = io.typing.last_sent_ms + TYPING_PREVIEW_INTERVAL_MS;
        if now >= due {
            self.send_preview(now, dialog, text);
        } else if io.typing.pending.replace(text).is_none() {
            self.typing_due.insert((due, dialog));
        }
    }

    pub(super) fn send_preview(&mut self, now: u64, dialog: DialogId, text: String) {
        let Some(d) = self.core.dialog(dialog) else {
            return;
        };
        let audience = d.audience();
        self.io.entry(dialog).or_default().typing.last_sent_ms = now;
        for op in audience {
            let frame = OperatorOut::TypingPreview(operator::TypingPreview {
                dialog_id: dialog.0,
                text: text.clone(),
            });
            self.outbox.publish_ephemeral(op, frame);
        }
    }
}

/// The operator responsible for the client's linked contact, when the line routes to the
/// responsible and that operator exists.
fn responsible_of(
    hub: &crate::hub::Hub,
    line: LineIdx,
    info: &ClientInfo,
) -> Option<crate::routing::OpIdx> {
    // Most clients are no contact's: the directory is not even loaded for them.
    let id = info.contact.as_ref()?.responsible.as_deref()?;
    let dir = hub.directory();
    if !dir.lines.get(line.0 as usize)?.crm.route_to_responsible {
        return None;
    }
    dir.operator_index.get(id).copied()
}
