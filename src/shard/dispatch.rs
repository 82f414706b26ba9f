//! Routing one request from the inbox to the code that answers it; every answer goes into the
//! batch's outbox.

use super::dialog_io::DialogIo;
use super::requests::{Refusal, ShardRequest};
use super::ShardTask;
use crate::protocol::{widget, WidgetOut};
use crate::routing::{Command, DialogId};
use std::sync::Arc;
impl ShardTask {
    /// Answers one request: a widget's, an operator's, or one of the hub's own.
    pub(super) fn on_msg(&mut self, now: u64, msg: ShardRequest) {
        let Some(msg) = self.on_client_request(now, msg) else {
            return;
        };
        let Some(msg) = self.on_operator_request(now, msg) else {
            return;
        };
        self.on_hub_request(now, msg);
    }

    /// A widget session's request; hands any other back.
    fn on_client_request(&mut self, now: u64, msg: ShardRequest) -> Option<ShardRequest> {
        match msg {
            ShardRequest::ClientHello {
                line,
                client,
                last_seq,
                reply,
            } => {
                let answer = self.client_state(line, &client, last_seq);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::ClientMessage {
                line,
                client,
                info,
                dialog,
                key,
                text,
                arrived,
                reply,
            } => {
                self.arrivals.push(arrived);
                let answer = self.client_message(now, line, client, info, dialog, key, text);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::ClientTyping {
                client,
                dialog,
                text,
            } => self.client_typing(now, &client, dialog, text),
            ShardRequest::ClientClose {
                client,
                dialog,
                reply,
            } => {
                let result =
                    self.core
                        .handle(now, Command::ClientClose { client, dialog }, &mut self.out);
                self.apply_effects();
                let answer = result.map(|_| ()).map_err(Refusal::from);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::ClientRate {
                client,
                dialog,
                like,
                comment,
                reply,
            } => {
                let result = self.core.handle(
                    now,
                    Command::ClientRate {
                        client,
                        dialog,
                        like,
                        comment,
                    },
                    &mut self.out,
                );
                self.apply_effects();
                let answer = result.map(|_| ()).map_err(Refusal::from);
                self.outbox.reply(reply, answer);
            }
            other => return Some(other),
        }
        None
    }

    /// An operator session's request; hands any other back.
    fn on_operator_request(&mut self, now: u64, msg: ShardRequest) -> Option<ShardRequest> {
        match msg {
            ShardRequest::OperatorMessage {
                op,
                dialog,
                key,
                text,
                reply,
            } => {
                let answer = self.operator_message(now, op, dialog, key, text);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::Operator {
                op,
                dialog,
                action,
                reply,
            } => {
                let answer = self.operator_action(now, op, dialog, action);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::LinkContact {
                op,
                dialog,
                contact,
                reply,
            } => {
                let answer = self.link_contact(now, op, dialog, contact);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::OperatorTyping { op, dialog } => {
                let holds = self
                    .core
                    .dialog(dialog)
                    .is_some_and(|d| d.holder_op() == Some(op));
                if let (true, Some(d)) = (holds, self.core.dialog(dialog)) {
                    let frame = WidgetOut::OperatorTyping(widget::OperatorTyping {
                        dialog_id: dialog.0,
                    });
                    self.outbox.send_client(&d.client, Arc::new(frame));
                }
            }
            ShardRequest::History {
                op,
                dialog,
                before,
                limit,
                reply,
            } => {
                let answer = self.history(op, dialog, before, limit);
                self.outbox.reply(reply, answer);
            }
            ShardRequest::OperatorDialogs { op, reply } => {
                let answer = self.operator_dialogs(op);
                self.outbox.reply(reply, answer);
            }
            other => return Some(other),
        }
        None
    }

    /// The hub's own requests: shared state changed, reconfiguration, admin reads, snapshot
    /// export, a dialog moving in, stop.
    fn on_hub_request(&mut self, now: u64, msg: ShardRequest) {
        match msg {
            ShardRequest::OperatorChanged { op } => {
                let _ = self
                    .core
                    .handle(now, Command::OperatorChanged { op }, &mut self.out);
                self.apply_effects();
            }
            ShardRequest::Stop => {}
            ShardRequest::Reconfigure {
                ops,
                lines,
                retired,
            } => {
                let shards = self.hub.shards();
                self.core
                    .reconfigure(now, ops, &lines, shards, &retired, &mut self.out);
                self.apply_effects();
            }
            ShardRequest::AdminDialogs { filter, reply } => {
                let _ = reply.send(self.admin_dialogs(filter));
            }
            ShardRequest::AdminDialog { dialog, reply } => {
                let _ = reply.send(self.admin_dialog(dialog));
            }
            ShardRequest::Report { reply } => {
                let _ = reply.send(self.report());
            }
            ShardRequest::Export { reply } => {
                let mut ids: Vec<DialogId> = self.core.dialogs().map(|d| d.id).collect();
                ids.sort_unstable();
                let states = ids
                    .into_iter()
                    .filter_map(|id| self.dialog_state(id, true))
                    .collect();
                let dir = self.hub.directory();
                let counts = self
                    .core
                    .client_dialog_counts()
                    .map(|(line, client, n)| {
                        (
                            dir.lines[line.0 as usize].id.to_string(),
                            client.to_string(),
                            n,
                        )
                    })
                    .collect();
                self.outbox.reply(
                    reply,
                    (
                        states,
                        (self.core.dialog_seq_high(), self.core.msg_seq_high()),
                        counts,
                    ),
                );
            }
            ShardRequest::Adopt { moved, io } => {
                let id = moved.id;
                // Every message so far was saved by the shard it left, and is durable: this
                // request left that shard after its commit.
                let last = moved.conversation.transcript.last_seq();
                let mut io = io.map_or_else(DialogIo::default, |io| *io);
                (io.saved, io.durable, io.awaiting) = (last, last, None);
                let _ = self.core.handle(now, Command::Adopt(moved), &mut self.out);
                if self.core.dialog(id).is_some() {
                    self.io.insert(id, io);
                }
                self.apply_effects();
            }
            _ => unreachable!("widget and operator requests are answered before"),
        }
    }
}
