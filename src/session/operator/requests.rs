//! One handler per request an operator sends after `hello`: presence and workday (changed in
//! place), actions on a dialog, messages, typing, history (sent to the dialog's shard, answered
//! when durable) and quick answers. Each returns at once: [`Dispatched::Now`] with the answer,
//! or [`Dispatched::Later`] with the answer to come, so the next request can be read while this
//! one is being made durable. Requests reach each shard in the order they came.
//! Must never: wait for a shard or the store here (that is what `Later` is for).

use super::{Dispatched, PendingReply};
use crate::config::bounds::HISTORY_PAGE_MAX;
use crate::hub::live_config::ChangeFailure;
use crate::protocol::{
    common, operator, ErrorCode, ErrorFrame, OperatorIn, OperatorOut, PresenceState, QuickAnswer,
    WorkdayAction,
};
use crate::routing::{DialogId, OpIdx, Presence, TransferTarget, Workday};
use crate::session::conn::{check_text, error, shutting_down, Conn};
use crate::session::Gateway;
use crate::shard::{OperatorAction, Refusal, ShardRequest};
use tokio::sync::oneshot;

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

/// An answer ready now.
fn now(reply: OperatorOut) -> Dispatched {
    Dispatched::Now(Some(reply))
}

/// Handles one request as far as it can without waiting.
pub(super) fn dispatch(gw: &Gateway, op: OpIdx, frame: OperatorIn, conn: &mut Conn) -> Dispatched {
    let req = frame.req();
    if !matches!(frame, OperatorIn::Typing(_)) && !conn.bucket.take() {
        return now(OperatorOut::Error(error(
            req,
            ErrorCode::RateLimited,
            "too many messages; slow down",
        )));
    }
    let on = |dialog_id: u64, action| act(gw, op, req, DialogId(dialog_id), action);
    match frame {
        OperatorIn::Hello(_) => now(OperatorOut::Error(error(
            req,
            ErrorCode::InvalidState,
            "already said hello",
        ))),
        OperatorIn::Status(s) => presence(gw, op, req, s.state),
        OperatorIn::Workday(w) => workday(gw, op, req, w.action),
        OperatorIn::Accept(d) => on(d.dialog_id, OperatorAction::Accept),
        OperatorIn::Decline(d) => on(d.dialog_id, OperatorAction::Decline),
        OperatorIn::Close(d) => on(d.dialog_id, OperatorAction::Close),
        OperatorIn::SupervisorRate(r) => {
            on(r.dialog_id, OperatorAction::SupervisorRate(r.score.get()))
        }
        OperatorIn::Transfer(t) => transfer(gw, op, req, t),
        OperatorIn::Message(m) => message(gw, op, req, m, conn),
        OperatorIn::Typing(d) => {
            let dialog = DialogId(d.dialog_id);
            let hub = &gw.hub;
            hub.post(
                hub.shard_of_dialog(dialog),
                ShardRequest::OperatorTyping { op, dialog },
            );
            Dispatched::Now(None)
        }
        OperatorIn::History(h) => history(gw, op, req, h),
        OperatorIn::QuickAnswers(_) => quick_answers(gw, op, req),
        OperatorIn::SaveQuickAnswer(s) => save_quick_answer(gw, op, req, s.text),
        frame @ (OperatorIn::SearchContacts(_)
        | OperatorIn::Contact(_)
        | OperatorIn::CreateContact(_)
        | OperatorIn::UpdateContact(_)
        | OperatorIn::LinkContact(_)
        | OperatorIn::UnlinkContact(_)
        | OperatorIn::AddInteraction(_)
        | OperatorIn::Interactions(_)) => {
            let reply = crate::session::contacts::handle(gw, op, frame);
            Dispatched::Later(Box::pin(async move { Some(reply.await) }))
        }
    }
}

/// The operator's presence changed: every shard re-reads it.
fn presence(gw: &Gateway, op: OpIdx, req: Option<u64>, state: PresenceState) -> Dispatched {
    let presence = match state {
        PresenceState::Online => Presence::Online,
        PresenceState::Away => Presence::Away,
        PresenceState::Offline => Presence::Offline,
    };
    changed(gw, op, req, |cell| {
        cell.set_presence(presence);
    })
}

/// The operator's workday started, paused or ended: every shard re-reads it.
fn workday(gw: &Gateway, op: OpIdx, req: Option<u64>, action: WorkdayAction) -> Dispatched {
    let workday = match action {
        WorkdayAction::Start => Workday::Started,
        WorkdayAction::Pause => Workday::Paused,
        WorkdayAction::End => Workday::Ended,
    };
    changed(gw, op, req, |cell| {
        cell.set_workday(workday);
    })
}

/// Changes the operator's shared cell in place and tells every shard.
fn changed(
    gw: &Gateway,
    op: OpIdx,
    req: Option<u64>,
    change: impl FnOnce(&crate::routing::OperatorCell),
) -> Dispatched {
    let hub = &gw.hub;
    change(&hub.directory().operators[op.0 as usize].cell);
    hub.operator_changed(op);
    now(ack(req, None))
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

/// A transfer to an operator or a line, named by id (exactly one of them).
fn transfer(gw: &Gateway, op: OpIdx, req: Option<u64>, t: operator::Transfer) -> Dispatched {
    let dir = gw.hub.directory();
    let target = match (t.to_operator.as_deref(), t.to_line.as_deref()) {
        (Some(id), None) => dir
            .operator_index
            .get(id)
            .map(|o| TransferTarget::Operator(*o)),
        (None, Some(id)) => dir.line_index.get(id).map(|l| TransferTarget::Line(*l)),
        _ => {
            return now(OperatorOut::Error(error(
                req,
                ErrorCode::BadFrame,
                "give to_operator or to_line, one of them",
            )))
        }
    };
    match target {
        Some(target) => {
            let dialog = DialogId(t.dialog_id);
            let to = match &target {
                TransferTarget::Operator(to) => Some(dir.operators[to.0 as usize].id.to_string()),
                TransferTarget::Line(_) => None,
            };
            let acted = act(gw, op, req, dialog, OperatorAction::Transfer(target));
            match (acted, to, gw.contacts.get().cloned()) {
                (Dispatched::Later(answer), Some(to), Some(registry)) => {
                    let hub = std::sync::Arc::clone(&gw.hub);
                    Dispatched::Later(Box::pin(async move {
                        let out = answer.await;
                        if matches!(out, Some(OperatorOut::Ack(_))) {
                            crate::session::contact_links::reassign(&hub, &registry, dialog, &to)
                                .await;
                        }
                        out
                    }))
                }
                (acted, _, _) => acted,
            }
        }
        None => now(OperatorOut::Error(error(
            req,
            ErrorCode::NotFound,
            "no such transfer target",
        ))),
    }
}

/// A message in a dialog: checked here, stored by its shard, acknowledged once durable.
fn message(
    gw: &Gateway,
    op: OpIdx,
    req: Option<u64>,
    m: operator::SendMessage,
    conn: &mut Conn,
) -> Dispatched {
    let hub = &gw.hub;
    conn.count_message_in();
    if let Err(e) = check_text(req, &m.text, &hub.limits) {
        return now(OperatorOut::Error(e));
    }
    if let Some(why) = hub.disk.refusal() {
        return now(OperatorOut::Error(crate::protocol::common::ErrorFrame {
            req,
            code: ErrorCode::Unavailable,
            message: why.into(),
        }));
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

/// A page of a dialog's history (at most `HISTORY_PAGE_MAX` messages).
fn history(gw: &Gateway, op: OpIdx, req: Option<u64>, h: operator::HistoryRequest) -> Dispatched {
    let hub = &gw.hub;
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

/// The quick answers of every list of the operator's lines.
fn quick_answers(gw: &Gateway, op: OpIdx, req: Option<u64>) -> Dispatched {
    let lists = quick_lists(gw, op);
    let all = gw.hub.quick_answers.lock();
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

/// Saves a quick answer to the first list of the operator's lines (stored, then acknowledged).
fn save_quick_answer(gw: &Gateway, op: OpIdx, req: Option<u64>, text: String) -> Dispatched {
    let hub = &gw.hub;
    if !crate::protocol::text_within(&text, hub.limits.text_chars_max) || text.trim().is_empty() {
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
    let pending: PendingReply = Box::pin(async move {
        Some(match hub.save_quick_answer(&list, text).await {
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
    });
    Dispatched::Later(pending)
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
