//! Which routing effects are webhook events, and their data: the ids a receiver needs to fetch
//! more (`dialog_id`, `line`, `client_id`, `operator_id`) and what changed. Pure: names come
//! from the directory handed in.

use serde_json::{json, Value};

use super::event::EventKind;
use crate::hub::directory::Directory;
use crate::protocol::common::RevokeReason;
use crate::routing::{DialogId, Effect, LineIdx, OpIdx};

/// One event an effect makes: its type, line, dialog and data.
pub struct DialogEvent {
    pub kind: EventKind,
    pub line: String,
    pub dialog: DialogId,
    pub data: Value,
}

impl DialogEvent {
    /// The ordering key: every event of one dialog in one lane.
    pub fn order(dialog: DialogId) -> String {
        format!("dialog:{}", dialog.0)
    }
}

fn line_id(dir: &Directory, line: LineIdx) -> String {
    dir.lines
        .get(line.0 as usize)
        .map(|l| l.id.to_string())
        .unwrap_or_default()
}

fn op_id(dir: &Directory, op: OpIdx) -> String {
    dir.operators
        .get(op.0 as usize)
        .map(|o| o.id.to_string())
        .unwrap_or_default()
}

/// The event `effect` makes, if any; `line_of` tells an open dialog's line (for effects that
/// do not carry it).
pub fn of_effect(
    effect: &Effect,
    dir: &Directory,
    line_of: impl Fn(DialogId) -> Option<LineIdx>,
) -> Option<DialogEvent> {
    let event = |kind, line: LineIdx, dialog: DialogId, mut data: Value| {
        let line = line_id(dir, line);
        data["dialog_id"] = json!(dialog.0);
        data["line"] = json!(line);
        DialogEvent {
            kind,
            line,
            dialog,
            data,
        }
    };
    let made = match effect {
        Effect::DialogOpened {
            dialog,
            line,
            client,
        } => event(
            EventKind::DialogCreated,
            *line,
            *dialog,
            json!({"client_id": &**client}),
        ),
        Effect::Offered {
            dialog,
            line,
            op,
            deadline_ms,
            ..
        } => event(
            EventKind::DialogOffered,
            *line,
            *dialog,
            json!({"operator_id": op_id(dir, *op), "deadline": super::event::timestamp(*deadline_ms)}),
        ),
        Effect::Assigned { dialog, line, op } => event(
            EventKind::DialogAssigned,
            *line,
            *dialog,
            json!({"operator_id": op_id(dir, *op)}),
        ),
        Effect::Revoked {
            dialog,
            op,
            reason: RevokeReason::Transferred,
        } => event(
            EventKind::DialogTransferred,
            line_of(*dialog)?,
            *dialog,
            json!({"from_operator_id": op_id(dir, *op)}),
        ),
        Effect::LineChanged { dialog, from, to } => event(
            EventKind::DialogTransferred,
            *to,
            *dialog,
            json!({"from_line": line_id(dir, *from)}),
        ),
        Effect::MoveOut(moved) => event(
            EventKind::DialogTransferred,
            moved.to_line,
            moved.id,
            json!({"client_id": &*moved.client}),
        ),
        Effect::Closed {
            dialog,
            reason,
            finished,
        } => event(
            EventKind::DialogClosed,
            finished.line,
            *dialog,
            json!({
                "client_id": &*finished.client,
                "operator_id": finished.holder.map(|op| op_id(dir, op)),
                "reason": reason.as_str(),
            }),
        ),
        Effect::Rated {
            dialog,
            like,
            comment,
            line,
            operator,
        } => event(
            EventKind::DialogRated,
            *line,
            *dialog,
            json!({
                "score": if *like { "like" } else { "dislike" },
                "comment": comment,
                "operator_id": operator.map(|op| op_id(dir, op)),
            }),
        ),
        Effect::KpiAlert { dialog, kind, .. } => event(
            EventKind::KpiMissed,
            line_of(*dialog)?,
            *dialog,
            json!({"kind": kind}),
        ),
        _ => return None,
    };
    Some(made)
}

/// The `message.created` record of a stored message, if an endpoint of `line` wants one.
pub fn message_created(
    outlet: &super::outlet::Outlet,
    dir: &Directory,
    (dialog, line): (DialogId, LineIdx),
    message: &crate::store::records::MessageRecord,
    seq: u64,
) -> Option<crate::store::Record> {
    if !outlet.wants_any(Some(EventKind::MessageCreated)) {
        return None;
    }
    let line = line_id(dir, line);
    if !outlet.wants(EventKind::MessageCreated, Some(&line)) {
        return None;
    }
    let data = || {
        json!({
            "dialog_id": dialog.0,
            "line": line,
            "msg_id": message.msg_id,
            "seq": seq,
            "author": message.author,
            "name": message.name,
            "text": message.text,
            "ts": message.ts,
        })
    };
    outlet.event(
        EventKind::MessageCreated,
        Some(&line),
        Some(DialogEvent::order(dialog)),
        data,
    )
}
