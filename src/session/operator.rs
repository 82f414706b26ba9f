//! An operator's (or bot's) connection: `hello` with a token, then presence, workday, offers,
//! answers, transfers, history and quick answers. Every frame it receives carries the
//! operator's event `seq`; replies carry the current one without being numbered as events.
//! Requests are pipelined: each is sent to its shard as soon as it is read, and the answers go
//! out in request order while events keep flowing, so one operator's accepts and closes share
//! group commits instead of waiting for one each.

use super::conn::{check_text, close, error, shutting_down, Conn, Incoming};
use super::{ConnectionSlot, Gateway};
use crate::config::bounds::FLUSH_FRAMES_MAX;
use crate::config::bounds::{HISTORY_PAGE_MAX, REQUESTS_IN_FLIGHT_MAX};
use crate::delivery::{Outbound, SessionTx};
use crate::hub::live_config::ChangeFailure;
use crate::protocol::{
    common, operator, ErrorCode, ErrorFrame, OperatorIn, OperatorOut, PresenceState, QuickAnswer,
    Sequenced, WorkdayAction,
};
use crate::routing::{DialogId, OpIdx, Presence, TransferTarget, Workday};
use crate::shard::{OperatorAction, Refusal, ShardRequest};
use axum::extract::ws::WebSocket;
use futures_util::stream::{FuturesOrdered, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Runs one operator connection to its end.
pub async fn run(socket: WebSocket, gw: Arc<Gateway>, slot: ConnectionSlot) {
    let mut conn = Conn::new(
        socket,
        &gw.hub.limits,
        gw.hub.metrics.clone(),
        crate::metrics::Side::Operator,
    );
    let hub = gw.hub.clone();
    let auth_timeout = std::time::Duration::from_millis(hub.limits.auth_timeout.as_ms());
    let unauthorized = |req| Sequenced {
        seq: 0,
        frame: OperatorOut::Error(error(req, ErrorCode::Unauthorized, "unknown token")),
    };
    let hello = match tokio::time::timeout(auth_timeout, conn.recv::<OperatorIn>(true)).await {
        Err(_) => return conn.close(close::POLICY, "no hello in time").await,
        Ok(Incoming::Frame(OperatorIn::Hello(hello))) => hello,
        Ok(Incoming::Frame(other)) => {
            conn.send(&unauthorized(other.req())).await;
            return conn.close(close::POLICY, "hello first").await;
        }
        Ok(Incoming::Bad(e)) => {
            conn.send(&Sequenced {
                seq: 0,
                frame: OperatorOut::Error(e),
            })
            .await;
            return conn.close(close::POLICY, "hello first").await;
        }
        Ok(Incoming::Close(code, reason)) => return conn.close(code, reason).await,
        Ok(Incoming::Gone | Incoming::Nothing) => return,
    };
    let Some(op) = hub.directory().authenticate(&hello.token) else {
        conn.send(&unauthorized(hello.req)).await;
        return conn.close(close::POLICY, "unauthorized").await;
    };
    let (tx, mut rx, close_signal) = SessionTx::new(hub.limits.outbound_frames_max);
    let session = tx.clone();
    // Attach first so no event is lost; queued events are written only after the welcome.
    let (missed, seq) = hub.feeds.attach(op, tx, hello.last_seq);
    let info = &hub.directory().operators[op.0 as usize];
    let mut dialogs = Vec::new();
    for shard in 0..hub.shards() {
        if let Some(list) = hub
            .ask(shard, |reply| ShardRequest::OperatorDialogs { op, reply })
            .await
        {
            dialogs.extend(list);
        }
    }
    let welcome = OperatorOut::Welcome(operator::Welcome {
        operator_id: info.id.to_string(),
        name: info.name.to_string(),
        status: PresenceState::Online,
        dialogs,
    });
    let mut alive = conn
        .send(&Sequenced {
            seq,
            frame: welcome,
        })
        .await;
    for event in missed.unwrap_or_default() {
        alive &= conn.send(&*event).await;
    }
    // Online only now: offers this causes arrive after the welcome.
    info.cell.set_presence(Presence::Online);
    hub.operator_changed(op);
    let mut shutdown = gw.shutdown();
    // Answers to requests already sent to the shards, in request order.
    let mut replies: FuturesOrdered<PendingReply> = FuturesOrdered::new();
    while alive {
        tokio::select! {
            Some(reply) = replies.next(), if !replies.is_empty() => {
                reply_if_any(&gw, op, &session, reply);
            },
            frame = rx.recv() => match frame {
                Some(Outbound::Operator(frame)) => {
                    // Everything already queued goes out with one flush.
                    alive = conn.feed(&*frame).await;
                    for _ in 1..FLUSH_FRAMES_MAX {
                        match rx.try_recv() {
                            Ok(Outbound::Operator(frame)) if alive => alive = conn.feed(&*frame).await,
                            _ => break,
                        }
                    }
                    alive &= conn.flush().await;
                }
                Some(Outbound::Widget(_)) => {}
                None => break,
            },
            _ = close_signal.notify.notified() => {
                if close_signal.dismissed.load(Ordering::Acquire) {
                    leave(&gw, op, session.id);
                    return conn.close(close::POLICY, "this operator was deleted").await;
                }
                if close_signal.overflowed.load(Ordering::Acquire) {
                    leave(&gw, op, session.id);
                    return conn.close(close::SLOW_CONSUMER, "slow consumer: reconnect with last_seq").await;
                }
            },
            _ = shutdown.changed() => {
                leave(&gw, op, session.id);
                return conn.close(close::GOING_AWAY, "server shutting down").await;
            },
            incoming = conn.recv::<OperatorIn>(false), if replies.len() < REQUESTS_IN_FLIGHT_MAX => match incoming {
                Incoming::Frame(frame) if reads_what_came_before(&frame) => {
                    // Everything sent before must be durable first (a closed dialog's history
                    // is read from the store), and nothing after may overtake it.
                    while let Some(reply) = replies.next().await {
                        reply_if_any(&gw, op, &session, reply);
                    }
                    let reply = match dispatch(&gw, op, frame, &mut conn) {
                        Dispatched::Now(reply) => reply,
                        Dispatched::Later(pending) => pending.await,
                    };
                    reply_if_any(&gw, op, &session, reply);
                }
                Incoming::Frame(frame) => {
                    let dispatched = dispatch(&gw, op, frame, &mut conn);
                    in_order(&mut replies, dispatched, |r| reply_if_any(&gw, op, &session, r));
                }
                Incoming::Bad(e) => {
                    let dispatched = Dispatched::Now(Some(OperatorOut::Error(e)));
                    in_order(&mut replies, dispatched, |r| reply_if_any(&gw, op, &session, r));
                }
                Incoming::Close(code, reason) => {
                    leave(&gw, op, session.id);
                    return conn.close(code, reason).await;
                }
                Incoming::Gone => break,
                Incoming::Nothing => {}
            },
        }
    }
    leave(&gw, op, session.id);
    drop(slot);
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

fn ack(req: Option<u64>, dialog: Option<DialogId>) -> OperatorOut {
    OperatorOut::Ack(operator::Ack {
        req,
        dialog_id: dialog.map(|d| d.0),
        msg_id: None,
        dialog_seq: None,
    })
}

fn refused(req: Option<u64>, r: Refusal) -> OperatorOut {
    OperatorOut::Error(common::ErrorFrame {
        req,
        code: r.code,
        message: r.message,
    })
}

/// Sends an operator action on `dialog` to its shard now; the reply comes when it is durable.
fn act(
    gw: &Gateway,
    op: OpIdx,
    req: Option<u64>,
    dialog: DialogId,
    action: OperatorAction,
) -> Dispatched {
    let hub = &gw.hub;
    let answer = hub.request(hub.shard_of_dialog(dialog), |reply| {
        ShardRequest::Operator {
            op,
            dialog,
            action,
            reply,
        }
    });
    answered(req, answer, move |()| ack(req, Some(dialog)))
}

/// The answer a shard will give to request `req`: `ok` of its result, or the refusal.
fn answered<T: Send + 'static>(
    req: Option<u64>,
    answer: oneshot::Receiver<Result<T, Refusal>>,
    ok: impl FnOnce(T) -> OperatorOut + Send + 'static,
) -> Dispatched {
    Dispatched::Later(Box::pin(async move {
        Some(match answer.await {
            Ok(Ok(value)) => ok(value),
            Ok(Err(r)) => refused(req, r),
            Err(_) => OperatorOut::Error(shutting_down(req)),
        })
    }))
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

/// Handles one request as far as it can without waiting: checks it, changes what is changed
/// in place, and sends what a shard (or the store) must do, so the next request can be read
/// while this one is being made durable. Requests reach each shard in the order they came.
fn dispatch(gw: &Gateway, op: OpIdx, frame: OperatorIn, conn: &mut Conn) -> Dispatched {
    let hub = &gw.hub;
    let req = frame.req();
    let now = |reply| Dispatched::Now(Some(reply));
    if !matches!(frame, OperatorIn::Typing(_)) && !conn.bucket.take() {
        return now(OperatorOut::Error(error(
            req,
            ErrorCode::RateLimited,
            "too many messages; slow down",
        )));
    }
    let cell = &hub.directory().operators[op.0 as usize].cell;
    match frame {
        OperatorIn::Hello(_) => now(OperatorOut::Error(error(
            req,
            ErrorCode::InvalidState,
            "already said hello",
        ))),
        OperatorIn::Status(s) => {
            cell.set_presence(match s.state {
                PresenceState::Online => Presence::Online,
                PresenceState::Away => Presence::Away,
                PresenceState::Offline => Presence::Offline,
            });
            hub.operator_changed(op);
            now(ack(req, None))
        }
        OperatorIn::Workday(w) => {
            cell.set_workday(match w.action {
                WorkdayAction::Start => Workday::Started,
                WorkdayAction::Pause => Workday::Paused,
                WorkdayAction::End => Workday::Ended,
            });
            hub.operator_changed(op);
            now(ack(req, None))
        }
        OperatorIn::Accept(d) => act(gw, op, req, DialogId(d.dialog_id), OperatorAction::Accept),
        OperatorIn::Decline(d) => act(gw, op, req, DialogId(d.dialog_id), OperatorAction::Decline),
        OperatorIn::Close(d) => act(gw, op, req, DialogId(d.dialog_id), OperatorAction::Close),
        OperatorIn::SupervisorRate(r) => act(
            gw,
            op,
            req,
            DialogId(r.dialog_id),
            OperatorAction::SupervisorRate(r.score.get()),
        ),
        OperatorIn::Transfer(t) => {
            let target = match (t.to_operator.as_deref(), t.to_line.as_deref()) {
                (Some(id), None) => hub
                    .directory()
                    .operator_index
                    .get(id)
                    .map(|o| TransferTarget::Operator(*o)),
                (None, Some(id)) => hub
                    .directory()
                    .line_index
                    .get(id)
                    .map(|l| TransferTarget::Line(*l)),
                _ => {
                    return now(OperatorOut::Error(error(
                        req,
                        ErrorCode::BadFrame,
                        "give to_operator or to_line, one of them",
                    )))
                }
            };
            match target {
                Some(target) => act(
                    gw,
                    op,
                    req,
                    DialogId(t.dialog_id),
                    OperatorAction::Transfer(target),
                ),
                None => now(OperatorOut::Error(error(
                    req,
                    ErrorCode::NotFound,
                    "no such transfer target",
                ))),
            }
        }
        OperatorIn::Message(m) => {
            conn.count_message_in();
            if let Err(e) = check_text(req, &m.text, &hub.limits) {
                return now(OperatorOut::Error(e));
            }
            let dialog = DialogId(m.dialog_id);
            let answer = hub.request(hub.shard_of_dialog(dialog), |reply| {
                ShardRequest::OperatorMessage {
                    op,
                    dialog,
                    key: m.client_msg_id,
                    text: m.text,
                    reply,
                }
            });
            answered(req, answer, move |stored| {
                OperatorOut::Ack(operator::Ack {
                    req,
                    dialog_id: Some(stored.dialog.0),
                    msg_id: Some(stored.msg_id),
                    dialog_seq: Some(stored.seq),
                })
            })
        }
        OperatorIn::Typing(d) => {
            let dialog = DialogId(d.dialog_id);
            hub.post(
                hub.shard_of_dialog(dialog),
                ShardRequest::OperatorTyping { op, dialog },
            );
            Dispatched::Now(None)
        }
        OperatorIn::History(h) => {
            let dialog = DialogId(h.dialog_id);
            let limit = h
                .limit
                .map_or(50, |l| l as usize)
                .clamp(1, HISTORY_PAGE_MAX);
            let answer = hub.request(hub.shard_of_dialog(dialog), |reply| ShardRequest::History {
                op,
                dialog,
                before: h.before_seq,
                limit,
                reply,
            });
            answered(req, answer, move |messages| {
                OperatorOut::History(operator::HistoryPage {
                    req,
                    dialog_id: dialog.0,
                    messages,
                })
            })
        }
        frame @ (OperatorIn::SearchContacts(_)
        | OperatorIn::Contact(_)
        | OperatorIn::CreateContact(_)
        | OperatorIn::UpdateContact(_)) => {
            let reply = super::contacts::handle(gw, op, frame);
            Dispatched::Later(Box::pin(async move { Some(reply.await) }))
        }
        OperatorIn::QuickAnswers(_) => {
            let lists = quick_lists(gw, op);
            let all = hub.quick_answers.lock();
            let items: Vec<QuickAnswer> = lists
                .iter()
                .filter_map(|l| all.get(l))
                .flatten()
                .cloned()
                .collect();
            now(OperatorOut::QuickAnswers(operator::QuickAnswerList {
                req,
                items,
            }))
        }
        OperatorIn::SaveQuickAnswer(s) => {
            if !crate::protocol::text_within(&s.text, hub.limits.text_chars_max)
                || s.text.trim().is_empty()
            {
                return now(OperatorOut::Error(error(
                    req,
                    ErrorCode::TooLarge,
                    "quick answer text is empty or too long",
                )));
            }
            let Some(list) = quick_lists(gw, op).into_iter().next() else {
                return now(OperatorOut::Error(error(
                    req,
                    ErrorCode::NotFound,
                    "none of your lines has a quick-answer list",
                )));
            };
            let hub = hub.clone();
            Dispatched::Later(Box::pin(async move {
                Some(match hub.save_quick_answer(&list, s.text).await {
                    Ok(()) => ack(req, None),
                    // E.g. the list would outgrow the config's limits
                    Err(ChangeFailure::Refused(e)) => OperatorOut::Error(ErrorFrame {
                        message: e.to_string().into(),
                        ..error(req, ErrorCode::TooLarge, "")
                    }),
                    Err(ChangeFailure::Store(e)) => OperatorOut::Error(ErrorFrame {
                        message: format!("the quick answer could not be stored: {e}").into(),
                        ..error(req, ErrorCode::Internal, "")
                    }),
                })
            }))
        }
    }
}

/// Quick-answer lists of the lines `op` works on, in line order, without repeats.
fn quick_lists(gw: &Gateway, op: OpIdx) -> Vec<String> {
    let dir = gw.hub.directory();
    let mut lists = Vec::new();
    for line in dir.operator_lines.get(&op).into_iter().flatten() {
        if let Some(list) = &dir.lines[line.0 as usize].quick_list {
            if !lists.contains(list) {
                lists.push(list.clone());
            }
        }
    }
    lists
}
