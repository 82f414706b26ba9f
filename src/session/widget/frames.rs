//! What a widget may send after `hello`, one handler per frame type: a message (checked, then
//! posted to its shard and acknowledged in order once durable), a typing draft (coalesced),
//! the consent answer (stored before it counts), a rating and closing.
//! Must never: answer a message before its shard's batch is durable.

use super::{ack, line_consent, InFlight, Widget};
use crate::protocol::{common, widget, ErrorCode, Score, WidgetIn, WidgetOut};
use crate::routing::DialogId;
use crate::session::conn::{check_text, error, shutting_down, Conn};
use crate::shard::{Refusal, ShardRequest};
use tokio::time::Instant;

/// A refusal as the widget's error frame.
fn refused(req: Option<u64>, r: Refusal) -> WidgetOut {
    WidgetOut::Error(common::ErrorFrame {
        req,
        code: r.code,
        message: r.message,
    })
}

/// A shard's answer to request `req`: `ok()` when done, the refusal, or shutting down when the
/// shard task is gone.
fn answered(
    req: Option<u64>,
    answer: Option<Result<(), Refusal>>,
    ok: impl FnOnce() -> WidgetOut,
) -> WidgetOut {
    match answer {
        Some(Ok(())) => ok(),
        Some(Err(r)) => refused(req, r),
        None => WidgetOut::Error(shutting_down(req)),
    }
}

impl Widget {
    /// Answers one frame (`None` when the answer comes later, or never).
    pub(super) async fn handle(
        &mut self,
        frame: WidgetIn,
        conn: &mut Conn,
        in_flight: &mut InFlight,
    ) -> Option<WidgetOut> {
        let req = frame.req();
        if !matches!(frame, WidgetIn::Typing(_)) && !conn.bucket.take() {
            return Some(WidgetOut::Error(error(
                req,
                ErrorCode::RateLimited,
                "too many messages; slow down",
            )));
        }
        match frame {
            WidgetIn::Hello(_) => Some(WidgetOut::Error(error(
                req,
                ErrorCode::InvalidState,
                "already said hello",
            ))),
            WidgetIn::Message(m) => self.on_message(req, m, conn, in_flight),
            WidgetIn::Typing(t) => {
                self.on_typing(t);
                None
            }
            WidgetIn::Consent(c) => Some(self.on_consent(req, c).await),
            WidgetIn::Rate(r) => Some(self.on_rate(req, r).await),
            WidgetIn::Close(_) => Some(self.on_close(req).await),
        }
    }

    /// A message: checked here, then posted to the shard of the widget's dialog (or line).
    /// Pipelined: the ack comes when the shard's batch is durable, while this connection goes
    /// on reading (acks return in order).
    fn on_message(
        &mut self,
        req: Option<u64>,
        m: widget::SendMessage,
        conn: &mut Conn,
        in_flight: &mut InFlight,
    ) -> Option<WidgetOut> {
        let hub = &self.gw.hub;
        // What was typed before it is stale now
        self.drafts.discard();
        let arrived = std::time::Instant::now();
        conn.count_message_in();
        if hub.directory().lines[self.line.0 as usize].retired {
            return Some(WidgetOut::Error(error(
                req,
                ErrorCode::NotFound,
                "this line was deleted",
            )));
        }
        if let Err(e) = check_text(req, &m.text, &hub.limits) {
            return Some(WidgetOut::Error(e));
        }
        if let Some(why) = hub.disk.refusal() {
            return Some(WidgetOut::Error(crate::protocol::common::ErrorFrame {
                req,
                code: ErrorCode::Unavailable,
                message: why.into(),
            }));
        }
        if self.consent_needed {
            return Some(WidgetOut::Error(error(
                req,
                ErrorCode::ConsentRequired,
                "accept the consent notice first",
            )));
        }
        let shard = match self.dialog {
            Some(d) => hub.shard_of_dialog(d),
            None => hub.shard_of_line(self.line),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        hub.post(
            shard,
            ShardRequest::ClientMessage {
                line: self.line,
                client: self.client.clone(),
                info: self.info.clone(),
                dialog: self.dialog,
                key: m.client_msg_id,
                text: m.text,
                arrived,
                reply,
            },
        );
        in_flight.push_back((req, answer, arrived));
        None
    }

    /// A typing draft of the open dialog: kept, and sent on at most once per preview window.
    fn on_typing(&mut self, t: widget::Typing) {
        let Some(dialog) = self.dialog else {
            return;
        };
        if crate::protocol::text_within(&t.text, self.gw.hub.limits.text_chars_max) {
            if let Some((dialog, text)) = self.drafts.typed(Instant::now(), dialog, t.text) {
                self.post_draft(dialog, text);
            }
        }
    }

    /// The consent answer: stored (durably) before it is acknowledged or takes effect.
    async fn on_consent(&mut self, req: Option<u64>, c: widget::Consent) -> WidgetOut {
        let hub = self.gw.hub.clone();
        let (line_id, consent) = line_consent(&hub, self.line);
        if let Some((_, version, _)) = consent {
            let stored = hub
                .record_consent(&line_id, &self.client, version, c.accepted)
                .await;
            if stored.is_err() {
                return WidgetOut::Error(error(
                    req,
                    ErrorCode::Internal,
                    "the consent answer could not be stored; send it again",
                ));
            }
        }
        if c.accepted {
            self.consent_needed = false;
        }
        ack(req, None, None)
    }

    /// The client's rating of a dialog awaiting one.
    async fn on_rate(&mut self, req: Option<u64>, r: widget::Rate) -> WidgetOut {
        let hub = &self.gw.hub;
        let dialog = DialogId(r.dialog_id);
        let like = r.score == Score::Like;
        let client = self.client.clone();
        let answer = hub
            .ask(hub.shard_of_dialog(dialog), |reply| {
                ShardRequest::ClientRate {
                    client,
                    dialog,
                    like,
                    comment: r.comment,
                    reply,
                }
            })
            .await;
        answered(req, answer, || ack(req, Some(dialog), None))
    }

    /// The client closes its open dialog.
    async fn on_close(&mut self, req: Option<u64>) -> WidgetOut {
        let Some(dialog) = self.dialog else {
            return WidgetOut::Error(error(req, ErrorCode::InvalidState, "no open dialog"));
        };
        let hub = &self.gw.hub;
        let client = self.client.clone();
        let answer = hub
            .ask(hub.shard_of_dialog(dialog), |reply| {
                ShardRequest::ClientClose {
                    client,
                    dialog,
                    reply,
                }
            })
            .await;
        answered(req, answer, || {
            self.dialog = None;
            ack(req, Some(dialog), None)
        })
    }
}
