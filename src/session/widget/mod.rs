//! A chat widget's connection: `hello` (new client or resume), then messages, typing drafts,
//! consent, rating and closing; frames from the shards arrive on the outbound queue.
//!
//! Files: `hello` (the handshake up to the welcome and the replay of missed messages),
//! `frames` (one handler per frame the widget sends), this file (the connection loop: outbound
//! frames, acks in order, drafts, slow-consumer and shutdown closes).
//! Must never: touch routing state (it asks the shard), or ack a message before it is durable.

mod frames;
mod hello;

use super::conn::{close, shutting_down, Conn, Incoming};
use super::drafts::Drafts;
use super::{ConnectionSlot, Gateway};
use crate::config::bounds::FLUSH_FRAMES_MAX;
use crate::config::bounds::MESSAGES_IN_FLIGHT_MAX;
use crate::delivery::{Outbound, SessionTx};
use crate::hub::Hub;
use crate::protocol::{common, ClientInfo, WidgetIn, WidgetOut};
use crate::routing::{DialogId, LineIdx};
use crate::shard::{Refusal, ShardRequest, Stored};
use axum::extract::ws::WebSocket;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Messages posted to a shard, with their `req`, waiting for their durable ack, in order.
/// With when each arrived (for the ack-latency histogram).
type InFlight = std::collections::VecDeque<(
    Option<u64>,
    oneshot::Receiver<Result<Stored, Refusal>>,
    std::time::Instant,
)>;

/// How the connection loop ended: close with this code and reason, or (`None`) just stop.
type Closing = Option<(u16, &'static str)>;

struct Widget {
    gw: Arc<Gateway>,
    line: LineIdx,
    client: Arc<str>,
    info: ClientInfo,
    dialog: Option<DialogId>,
    consent_needed: bool,
    drafts: Drafts,
}

/// Runs one widget connection to its end. `origin` is the page's `Origin` header from the
/// handshake (absent for clients that are not browsers).
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
    let admitted = match hello::admit(&mut conn, &gw, origin.as_deref()).await {
        Ok(admitted) => admitted,
        Err(Some((code, reason))) => return conn.close(code, reason).await,
        Err(None) => return,
    };
    let hub = gw.hub.clone();
    let client = admitted.client.clone();
    let (tx, rx, close_signal) = SessionTx::new(hub.limits.outbound_frames_max);
    let session_id = tx.id;
    hub.clients.attach(&client, tx);
    let welcomed = hello::welcome(&mut conn, &gw, admitted).await;
    let closing = serve(&mut conn, welcomed, rx, &close_signal).await;
    hub.clients.detach(&client, session_id);
    if let Some((code, reason)) = closing {
        return conn.close(code, reason).await;
    }
    drop(slot);
}

/// The connection loop after the welcome: frames queued for the widget, acks as their batches
/// become durable, frames from the widget, kept drafts, closes.
async fn serve(
    conn: &mut Conn,
    welcomed: hello::Welcomed,
    mut rx: mpsc::Receiver<Outbound>,
    close_signal: &crate::delivery::CloseSignal,
) -> Closing {
    let hello::Welcomed {
        mut me,
        replayed,
        mut alive,
    } = welcomed;
    let hub = me.gw.hub.clone();
    let mut shutdown = me.gw.shutdown();
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
                    alive = me.forward(conn, &mut rx, frame, replayed).await;
                }
                Some(Outbound::Operator(_)) => {}
                None => break,
            },
            _ = close_signal.notify.notified() => {
                if close_signal.overflowed.load(Ordering::Acquire) {
                    return Some((close::SLOW_CONSUMER, "slow consumer: reconnect with last_seq"));
                }
            },
            _ = shutdown.changed() => return Some((close::GOING_AWAY, "server shutting down")),
            _ = async { draft_due.as_mut().expect("guarded").await }, if draft_due.is_some() => {
                draft_due = None;
                if let Some((dialog, text)) = me.drafts.take_due(Instant::now()) {
                    me.post_draft(dialog, text);
                }
            },
            answer = async { (&mut in_flight.front_mut().expect("guarded").1).await }, if !in_flight.is_empty() => {
                let (req, _, arrived) = in_flight.pop_front().expect("guarded");
                hub.metrics.ack_us.record(arrived.elapsed().as_micros() as u64);
                alive = conn.send(&me.acked(req, answer)).await;
            },
            incoming = conn.recv::<WidgetIn>(false), if in_flight.len() < MESSAGES_IN_FLIGHT_MAX => match incoming {
                Incoming::Frame(frame) => {
                    if let Some(reply) = me.handle(frame, conn, &mut in_flight).await {
                        alive = conn.send(&reply).await;
                    }
                }
                Incoming::Bad(e) => alive = conn.send(&WidgetOut::Error(e)).await,
                Incoming::Close(code, reason) => return Some((code, reason)),
                Incoming::Gone => break,
                Incoming::Nothing => {}
            },
        }
    }
    None
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

    /// Writes `frame` and everything already queued after it (up to `FLUSH_FRAMES_MAX`) with
    /// one flush, skipping messages the replay already sent; whether the socket is alive.
    async fn forward(
        &mut self,
        conn: &mut Conn,
        rx: &mut mpsc::Receiver<Outbound>,
        frame: Arc<WidgetOut>,
        replayed: Option<(u64, u64)>,
    ) -> bool {
        let mut alive = true;
        let mut next = Some(frame);
        let mut fed = 0;
        while let Some(frame) = next.take() {
            if let WidgetOut::DialogClosed(closed) = &*frame {
                if self.dialog.map(|d| d.0) == Some(closed.dialog_id) {
                    self.dialog = None;
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
        let flushed = conn.flush().await;
        alive && flushed
    }

    /// The answer to a message once its shard's batch is durable (or refused).
    fn acked(
        &mut self,
        req: Option<u64>,
        answer: Result<Result<Stored, Refusal>, oneshot::error::RecvError>,
    ) -> WidgetOut {
        match answer {
            Ok(Ok(stored)) => {
                self.dialog = Some(stored.dialog);
                ack(req, Some(stored.dialog), Some((stored.msg_id, stored.seq)))
            }
            Ok(Err(r)) => WidgetOut::Error(common::ErrorFrame {
                req,
                code: r.code,
                message: r.message,
            }),
            Err(_) => WidgetOut::Error(shutting_down(req)),
        }
    }
}

/// The id of `line` and its consent notice (text, version, required), if it has one.
fn line_consent(hub: &Hub, line: LineIdx) -> (Arc<str>, Option<(String, u32, bool)>) {
    let dir = hub.directory();
    let info = &dir.lines[line.0 as usize];
    (info.id.clone(), info.consent.clone())
}
