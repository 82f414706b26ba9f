//! An operator's (or bot's) connection: `hello` with a token, then presence, workday, offers,
//! answers, transfers, history and quick answers. Every frame it receives carries the
//! operator's event `seq`; replies carry the current one without being numbered as events.
//! Requests are pipelined: each is sent to its shard as soon as it is read, and the answers go
//! out in request order while events keep flowing, so one operator's accepts and closes share
//! group commits instead of waiting for one each.
//!
//! Files: `hello` (the handshake up to the welcome and the missed events), `requests` (one
//! handler per request frame, answered now or later), this file (the connection loop: events,
//! answers in request order, closes).
//! Must never: touch routing state (it asks the shard), or reorder an operator's answers.

mod hello;
mod requests;

use super::conn::{close, Conn, Incoming};
use super::{ConnectionSlot, Gateway};
use crate::config::bounds::{FLUSH_FRAMES_MAX, REQUESTS_IN_FLIGHT_MAX};
use crate::delivery::{CloseSignal, Outbound, SessionTx};
use crate::protocol::{OperatorIn, OperatorOut};
use crate::routing::{OpIdx, Presence};
use axum::extract::ws::WebSocket;
use futures_util::stream::{FuturesOrdered, StreamExt};
use requests::dispatch;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// How the connection loop ended: close with this code and reason, or (`None`) just stop.
type Closing = Option<(u16, &'static str)>;

/// Runs one operator connection to its end; `peer` is its source address.
pub async fn run(
    socket: WebSocket,
    gw: Arc<Gateway>,
    slot: ConnectionSlot,
    peer: Option<std::net::IpAddr>,
) {
    let mut conn = Conn::new(
        socket,
        &gw.hub.limits,
        gw.hub.metrics.clone(),
        crate::metrics::Side::Operator,
    );
    let (op, last_seq) = match hello::admit(&mut conn, &gw, peer).await {
        Ok(admitted) => admitted,
        Err(Some((code, reason))) => return conn.close(code, reason).await,
        Err(None) => return,
    };
    let (tx, rx, close_signal) = SessionTx::new(gw.hub.limits.outbound_frames_max);
    let session = tx.clone();
    let alive = hello::welcome(&mut conn, &gw, op, tx, last_seq).await;
    let me = Session {
        gw: &gw,
        op,
        session: &session,
    };
    let closing = me.serve(&mut conn, rx, &close_signal, alive).await;
    leave(&gw, op, session.id);
    if let Some((code, reason)) = closing {
        return conn.close(code, reason).await;
    }
    drop(slot);
}

/// One operator session after the welcome.
struct Session<'a> {
    gw: &'a Gateway,
    op: OpIdx,
    session: &'a SessionTx,
}

impl Session<'_> {
    /// The connection loop: events from the operator's feed, answers in request order, requests
    /// read while earlier ones are made durable, closes.
    async fn serve(
        &self,
        conn: &mut Conn,
        mut rx: mpsc::Receiver<Outbound>,
        close_signal: &CloseSignal,
        mut alive: bool,
    ) -> Closing {
        let mut shutdown = self.gw.shutdown();
        // Answers to requests already sent to the shards, in request order.
        let mut replies: FuturesOrdered<PendingReply> = FuturesOrdered::new();
        while alive {
            tokio::select! {
                Some(reply) = replies.next(), if !replies.is_empty() => self.reply(reply),
                frame = rx.recv() => match frame {
                    Some(Outbound::Operator(frame)) => alive = forward(conn, &mut rx, &frame).await,
                    Some(Outbound::Widget(_)) => {}
                    None => break,
                },
                _ = close_signal.notify.notified() => {
                    if close_signal.dismissed.load(Ordering::Acquire) {
                        return Some((close::POLICY, "this operator was deleted"));
                    }
                    if close_signal.overflowed.load(Ordering::Acquire) {
                        return Some((close::SLOW_CONSUMER, "slow consumer: reconnect with last_seq"));
                    }
                },
                _ = shutdown.changed() => return Some((close::GOING_AWAY, "server shutting down")),
                incoming = conn.recv::<OperatorIn>(false), if replies.len() < REQUESTS_IN_FLIGHT_MAX => match incoming {
                    Incoming::Frame(frame) if reads_what_came_before(&frame) => {
                        self.in_turn(frame, conn, &mut replies).await;
                    }
                    Incoming::Frame(frame) => {
                        let dispatched = dispatch(self.gw, self.op, frame, conn);
                        in_order(&mut replies, dispatched, |r| self.reply(r));
                    }
                    Incoming::Bad(e) => {
                        let dispatched = Dispatched::Now(Some(OperatorOut::Error(e)));
                        in_order(&mut replies, dispatched, |r| self.reply(r));
                    }
                    Incoming::Close(code, reason) => return Some((code, reason)),
                    Incoming::Gone => break,
                    Incoming::Nothing => {}
                },
            }
        }
        None
    }

    /// A request that reads what came before: every earlier answer first (everything sent
    /// before must be durable, e.g. a closed dialog's history is read from the store), and
    /// nothing after may overtake it.
    async fn in_turn(
        &self,
        frame: OperatorIn,
        conn: &mut Conn,
        replies: &mut FuturesOrdered<PendingReply>,
    ) {
        while let Some(reply) = replies.next().await {
            self.reply(reply);
        }
        let reply = match dispatch(self.gw, self.op, frame, conn) {
            Dispatched::Now(reply) => reply,
            Dispatched::Later(pending) => pending.await,
        };
        self.reply(reply);
    }

    /// Sends the answer to a request, if it has one.
    fn reply(&self, reply: Option<OperatorOut>) {
        reply_if_any(self.gw, self.op, self.session, reply);
    }
}

/// Writes `frame` and everything already queued after it (up to `FLUSH_FRAMES_MAX`) with one
/// flush; whether the socket is alive.
async fn forward(
    conn: &mut Conn,
    rx: &mut mpsc::Receiver<Outbound>,
    frame: &crate::protocol::Sequenced<OperatorOut>,
) -> bool {
    let mut alive = conn.feed(frame).await;
    for _ in 1..FLUSH_FRAMES_MAX {
        match rx.try_recv() {
            Ok(Outbound::Operator(frame)) if alive => alive = conn.feed(&*frame).await,
            _ => break,
        }
    }
    let flushed = conn.flush().await;
    alive && flushed
}

/// The session ends: the last one takes the operator offline (their dialogs stay theirs).
fn leave(gw: &Gateway, op: OpIdx, session_id: u64) {
    let hub = &gw.hub;
    if hub.feeds.detach(op, session_id) == 0 {
        hub.directory().operators[op.0 as usize]
            .cell
            .set_presence(Presence::Offline);
        hub.operator_changed(op);
    }
}

/// Sends an answer ready now at once if no earlier one is still awaited; otherwise (and for an
/// answer still to come) queues it behind them.
fn in_order(
    replies: &mut FuturesOrdered<PendingReply>,
    dispatched: Dispatched,
    send: impl FnOnce(Option<OperatorOut>),
) {
    match dispatched {
        Dispatched::Now(reply) if replies.is_empty() => send(reply),
        Dispatched::Now(reply) => replies.push_back(Box::pin(std::future::ready(reply))),
        Dispatched::Later(pending) => replies.push_back(pending),
    }
}

/// Sends the answer to a request, if it has one.
fn reply_if_any(gw: &Gateway, op: OpIdx, session: &SessionTx, reply: Option<OperatorOut>) {
    if let Some(reply) = reply {
        gw.hub.feeds.reply(op, session, reply);
    }
}

/// Requests taken one at a time, after every earlier one is answered and before any later one
/// is read: `history` (a closed dialog's is read from the store, so an earlier `close` must be
/// durable) and `save_quick_answer` (a later `quick_answers` must list it). Both are rare.
fn reads_what_came_before(frame: &OperatorIn) -> bool {
    matches!(
        frame,
        OperatorIn::History(_) | OperatorIn::SaveQuickAnswer(_)
    )
}

/// What became of one request: answered at once, or sent on with its answer to come.
enum Dispatched {
    Now(Option<OperatorOut>),
    Later(PendingReply),
}

/// The answer to a request that was sent to a shard (or the store); `None` needs no reply.
type PendingReply = Pin<Box<dyn Future<Output = Option<OperatorOut>> + Send>>;
