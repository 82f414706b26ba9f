//! A chat widget's connection: `hello` (new client or resume), then messages, typing drafts,
//! consent, rating and closing; frames from the shards arrive on the outbound queue.

use super::conn::{check_text, close, error, shutting_down, Conn, Incoming};
use super::drafts::Drafts;
use super::{ConnectionSlot, Gateway};
use crate::config::bounds::FLUSH_FRAMES_MAX;
use crate::config::bounds::MESSAGES_IN_FLIGHT_MAX;
use crate::delivery::{Outbound, SessionTx};
use crate::hub::Hub;
use crate::protocol::{common, widget, ClientInfo, ErrorCode, Score, WidgetIn, WidgetOut};
use crate::routing::{DialogId, LineIdx};
use crate::shard::{ClientState, ShardRequest};
use axum::extract::ws::WebSocket;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::time::Instant;

/// Messages posted to a shard, with their `req`, waiting for their durable ack, in order.
/// With when each arrived (for the ack-latency histogram).
type InFlight = std::collections::VecDeque<(
    Option<u64>,
    tokio::sync::oneshot::Receiver<Result<crate::shard::Stored, crate::shard::Refusal>>,
    std::time::Instant,
)>;

struct Widget {
    gw: Arc<Gateway>,
    line: LineIdx,
    client: Arc<str>,
    info: ClientInfo,
    dialog: Option<DialogId>,
    consent_needed: bool,
    drafts: Drafts,
}

/// Runs one widget connection to its end.
/// `origin` is the page's `Origin` header from the handshake (absent for non-browser clients).
pub async fn run(
    socket: WebSocket,
    gw: Arc<Gateway>,
    slot: ConnectionSlot,
    origin: Option<String>,
) {
    let mut conn = Conn::new(
        socket,
        &gw.hub.limits,
        gw.hub.metrics.clone(),
        crate::metrics::Side::Widget,
    );
    let auth_timeout = std::time::Duration::from_millis(gw.hub.limits.auth_timeout.as_ms());
    let hello = match tokio::time::timeout(auth_timeout, conn.recv::<WidgetIn>(true)).await {
        Err(_) => return conn.close(close::POLICY, "no hello in time").await,
        Ok(Incoming::Frame(WidgetIn::Hello(hello))) => hello,
        Ok(Incoming::Frame(other)) => {
            conn.send(&WidgetOut::Error(error(
                other.req(),
                ErrorCode::Unauthorized,
                "the first frame must be hello",
            )))
            .await;
            return conn.close(close::POLICY, "hello first").await;
        }
        Ok(Incoming::Bad(e)) => {
            conn.send(&WidgetOut::Error(e)).await;
            return conn.close(close::POLICY, "hello first").await;
        }
        Ok(Incoming::Close(code, reason)) => return conn.close(code, reason).await,
        Ok(Incoming::Gone | Incoming::Nothing) => return,
    };
    let hub = gw.hub.clone();
    let Some(line) = hub.directory().line_index.get(hello.line.as_str()).copied() else {
        conn.send(&WidgetOut::Error(error(
            hello.req,
            ErrorCode::NotFound,
            "no such line",
        )))
        .await;
        return conn.close(close::POLICY, "no such line").await;
    };
    let line_id = hub.directory().lines[line.0 as usize].id.clone();
    if !hub.directory().lines[line.0 as usize].allows_origin(origin.as_deref()) {
        let message = format!(
            "a page of {} may not use line {line_id} (not in its allowed_origins)",
            origin.as_deref().unwrap_or_default()
        );
        conn.send(&WidgetOut::Error(common::ErrorFrame {
            req: hello.req,
            code: ErrorCode::Forbidden,
            message: message.into(),
        }))
        .await;
        return conn.close(close::POLICY, "origin not allowed").await;
    }
    let (client, token) = match &hello.resume_token {
        Some(token) => match gw.hub.redeem(token) {
            Some((client, token_line)) if token_line == line_id => (client, token.clone()),
            _ => {
                conn.send(&WidgetOut::Error(error(
                    hello.req,
                    ErrorCode::Unauthorized,
                    "unknown resume token",
                )))
                .await;
                return conn.close(close::POLICY, "unknown resume token").await;
            }
        },
        None => {
            let client: Arc<str> = match hello
                .client_id
                .as_deref()
                .filter(|c| !c.is_empty() && c.len() <= 128)
            {
                Some(id) => id.into(),
                None => crate::hub::random_hex().into(),
            };
            match gw.hub.issue_token(&client, &line_id).await {
                Ok(token) => (client, token),
                Err(r) => {
                    conn.send(&WidgetOut::Error(common::ErrorFrame {
                        req: hello.req,
                        code: r.code,
                        message: r.message,
                    }))
                    .await;
                    return conn.close(close::TRY_AGAIN_LATER, "try again later").await;
                }
            }
        }
    };
    let (tx, mut rx, close_signal) = SessionTx::new(hub.limits.outbound_frames_max);
    let session_id = tx.id;
    hub.clients.attach(&client, tx);
    let shard = hub.shard_of_line(line);
    let state = hub
        .ask(shard, |reply| ShardRequest::ClientHello {
            line,
            client: client.clone(),
            last_seq: hello.last_seq,
            reply,
        })
        .await
        .unwrap_or_default();
    let now = hub.clock.now_ms();
    let (line_id, consent) = line_consent(&hub, line);
    // A client without an open dialog is asked, unless it accepted this version of the notice
    // before (the answer is stored)
    let ask_consent =
        consent
            .as_ref()
            .filter(|_| state.dialog.is_none())
            .filter(|(_, version, _)| {
                hub.stored_consent(&line_id, &client)
                    .is_none_or(|answer| !answer.accepted || answer.version != *version)
            });
    let mut me = Widget {
        gw: gw.clone(),
        line,
        client: client.clone(),
        info: ClientInfo {
            client_id: client.to_string(),
            name: hello.name,
            email: hello.email,
            phone: hello.phone,
            contact_id: None,
        },
        dialog: state.dialog,
        consent_needed: ask_consent.is_some_and(|(_, _, required)| *required),
        drafts: Drafts::default(),
    };
    let ClientState {
        dialog,
        operator,
        missed,
    } = state;
    let welcome = WidgetOut::Welcome(widget::Welcome {
        client_id: client.to_string(),
        resume_token: token,
        line_name: hub.directory().lines[line.0 as usize].name.to_string(),
        dialog_id: dialog.map(|d| d.0),
        operator,
        working_hours_open: hub.directory().line_open(line, now),
        prechat: hub.directory().lines[line.0 as usize]
            .prechat
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
    });
    let mut alive = conn.send(&welcome).await;
    if let Some((text, version, _)) = ask_consent.cloned() {
        alive &= conn
            .send(&WidgetOut::ConsentRequest(widget::ConsentRequest {
                text,
                version,
            }))
            .await;
    }
    // The session was attached before the shard answered, so a message committed in between is
    // both in the replay and on the queue: the queue's copy up to the replay's last seq is dropped
    let replayed = missed.last().map(|m| (m.dialog_id, m.seq));
    for message in missed {
        alive &= conn.send(&WidgetOut::Message(message)).await;
    }
    let mut shutdown = gw.shutdown();
    let mut in_flight = InFlight::new();
    // The wake-up for a kept draft; boxed, and only while one is kept, so an idle connection
    // does not carry a timer
    let mut draft_due: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    while alive {
        if let (None, Some(at)) = (&draft_due, me.drafts.due()) {
            draft_due = Some(Box::pin(tokio::time::sleep_until(at)));
        }
        tokio::select! {
            frame = rx.recv() => match frame {
                Some(Outbound::Widget(frame)) => {
                    // Everything already queued goes out with one flush.
                    let mut next = Some(frame);
                    let mut fed = 0;
                    while let Some(frame) = next.take() {
                        if let WidgetOut::DialogClosed(closed) = &*frame {
                            if me.dialog.map(|d| d.0) == Some(closed.dialog_id) {
                                me.dialog = None;
                            }
                        }
                        if !is_replayed(&frame, replayed) {
                            alive = conn.feed(&*frame).await;
                            fed += 1;
                        }
                        if alive && fed < FLUSH_FRAMES_MAX {
                            if let Ok(Outbound::Widget(frame)) = rx.try_recv() {
                                next = Some(frame);
                            }
                        }
                    }
                    alive &= conn.flush().await;
                }
                Some(Outbound::Operator(_)) => {}
                None => break,
            },
            _ = close_signal.notify.notified() => {
                if close_signal.overflowed.load(Ordering::Acquire) {
                    hub.clients.detach(&client, session_id);
                    return conn.close(close::SLOW_CONSUMER, "slow consumer: reconnect with last_seq").await;
                }
            },
            _ = shutdown.changed() => {
                hub.clients.detach(&client, session_id);
                return conn.close(close::GOING_AWAY, "server shutting down").await;
            },
            _ = async { draft_due.as_mut().expect("guarded").await }, if draft_due.is_some() => {
                draft_due = None;
                if let Some((dialog, text)) = me.drafts.take_due(Instant::now()) {
                    me.post_draft(dialog, text);
                }
            },
            answer = async { (&mut in_flight.front_mut().expect("guarded").1).await }, if !in_flight.is_empty() => {
                let (req, _, arrived) = in_flight.pop_front().expect("guarded");
                hub.metrics.ack_us.record(arrived.elapsed().as_micros() as u64);
                let reply = match answer {
                    Ok(Ok(stored)) => {
                        me.dialog = Some(stored.dialog);
                        ack(req, Some(stored.dialog), Some((stored.msg_id, stored.seq)))
                    }
                    Ok(Err(r)) => WidgetOut::Error(common::ErrorFrame { req, code: r.code, message: r.message }),
                    Err(_) => WidgetOut::Error(shutting_down(req)),
                };
                alive = conn.send(&reply).await;
            },
            incoming = conn.recv::<WidgetIn>(false), if in_flight.len() < MESSAGES_IN_FLIGHT_MAX => match incoming {
                Incoming::Frame(frame) => {
                    if let Some(reply) = me.handle(frame, &mut conn, &mut in_flight).await {
                        alive = conn.send(&reply).await;
                    }
                }
                Incoming::Bad(e) => alive = conn.send(&WidgetOut::Error(e)).await,
                Incoming::Close(code, reason) => {
                    hub.clients.detach(&client, session_id);
                    return conn.close(code, reason).await;
                }
                Incoming::Gone => break,
                Incoming::Nothing => {}
            },
        }
    }
    hub.clients.detach(&client, session_id);
    drop(slot);
}

/// Whether `frame` is a message the session already sent in its replay, which ended at
/// `replayed` (dialog, seq).
fn is_replayed(frame: &WidgetOut, replayed: Option<(u64, u64)>) -> bool {
    match (frame, replayed) {
        (WidgetOut::Message(m), Some((dialog, seq))) => m.dialog_id == dialog && m.seq <= seq,
        _ => false,
    }
}

fn ack(req: Option<u64>, dialog: Option<DialogId>, stored: Option<(u64, u64)>) -> WidgetOut {
    WidgetOut::Ack(common::Ack {
        req,
        dialog_id: dialog.map(|d| d.0),
        msg_id: stored.map(|s| s.0),
        seq: stored.map(|s| s.1),
    })
}

impl Widget {
    /// Sends a draft on to the shard of its dialog, unless the session moved on to another.
    fn post_draft(&self, dialog: DialogId, text: String) {
        if self.dialog != Some(dialog) {
            return;
        }
        let hub = &self.gw.hub;
        hub.post(
            hub.shard_of_dialog(dialog),
            ShardRequest::ClientTyping {
                client: self.client.clone(),
                dialog,
                text,
            },
        );
    }

    async fn handle(
        &mut self,
        frame: WidgetIn,
        conn: &mut Conn,
        in_flight: &mut InFlight,
    ) -> Option<WidgetOut> {
        let hub = self.gw.hub.clone();
        let req = frame.req();
        if !matches!(frame, WidgetIn::Typing(_)) && !conn.bucket.take() {
            return Some(WidgetOut::Error(error(
                req,
                ErrorCode::RateLimited,
                "too many messages; slow down",
            )));
        }
        let refused = |r: crate::shard::Refusal| {
            WidgetOut::Error(common::ErrorFrame {
                req,
                code: r.code,
                message: r.message,
            })
        };
        let gone = || WidgetOut::Error(shutting_down(req));
        match frame {
            WidgetIn::Hello(_) => Some(WidgetOut::Error(error(
                req,
                ErrorCode::InvalidState,
                "already said hello",
            ))),
            WidgetIn::Message(m) => {
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
                let (line, client, info, dialog) = (
                    self.line,
                    self.client.clone(),
                    self.info.clone(),
                    self.dialog,
                );
                // Pipelined: the ack comes when the shard's batch is durable, while this
                // connection goes on reading (acks return in order).
                let (reply, answer) = tokio::sync::oneshot::channel();
                hub.post(
                    shard,
                    ShardRequest::ClientMessage {
                        line,
                        client,
                        info,
                        dialog,
                        key: m.client_msg_id,
                        text: m.text,
                        arrived,
                        reply,
                    },
                );
                in_flight.push_back((req, answer, arrived));
                None
            }
            WidgetIn::Typing(t) => {
                if let Some(dialog) = self.dialog {
                    if crate::protocol::text_within(&t.text, hub.limits.text_chars_max) {
                        if let Some((dialog, text)) =
                            self.drafts.typed(Instant::now(), dialog, t.text)
                        {
                            self.post_draft(dialog, text);
                        }
                    }
                }
                None
            }
            WidgetIn::Consent(c) => {
                let (line_id, consent) = line_consent(&hub, self.line);
                // The answer is stored (durably) before it is acknowledged or takes effect
                if let Some((_, version, _)) = consent {
                    let stored = hub
                        .record_consent(&line_id, &self.client, version, c.accepted)
                        .await;
                    if stored.is_err() {
                        return Some(WidgetOut::Error(error(
                            req,
                            ErrorCode::Internal,
                            "the consent answer could not be stored; send it again",
                        )));
                    }
                }
                if c.accepted {
                    self.consent_needed = false;
                }
                Some(ack(req, None, None))
            }
            WidgetIn::Rate(r) => {
                let dialog = DialogId(r.dialog_id);
                let shard = hub.shard_of_dialog(dialog);
                let like = r.score == Score::Like;
                let client = self.client.clone();
                let answer = hub
                    .ask(shard, |reply| ShardRequest::ClientRate {
                        client,
                        dialog,
                        like,
                        comment: r.comment,
                        reply,
                    })
                    .await;
                Some(match answer {
                    Some(Ok(())) => ack(req, Some(dialog), None),
                    Some(Err(r)) => refused(r),
                    None => gone(),
                })
            }
            WidgetIn::Close(_) => {
                let Some(dialog) = self.dialog else {
                    return Some(WidgetOut::Error(error(
                        req,
                        ErrorCode::InvalidState,
                        "no open dialog",
                    )));
                };
                let shard = hub.shard_of_dialog(dialog);
                let client = self.client.clone();
                let answer = hub
                    .ask(shard, |reply| ShardRequest::ClientClose {
                        client,
                        dialog,
                        reply,
                    })
                    .await;
                Some(match answer {
                    Some(Ok(())) => {
                        self.dialog = None;
                        ack(req, Some(dialog), None)
                    }
                    Some(Err(r)) => refused(r),
                    None => gone(),
                })
            }
        }
    }
}

/// The id of `line` and its consent notice (text, version, required), if it has one.
fn line_consent(hub: &Hub, line: LineIdx) -> (Arc<str>, Option<(String, u32, bool)>) {
    let dir = hub.directory();
    let info = &dir.lines[line.0 as usize];
    (info.id.clone(), info.consent.clone())
}
