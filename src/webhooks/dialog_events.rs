//! Which routing effects are webhook events, and their data: the ids a receiver needs to fetch
//! more (`dialog_id`, `line`, `client_id`, `operator_id`) and what changed. Pure: names come
//! from the directory handed in.

use serde_json::{json, Value};

use super::event::EventKind;
use crate::hub::directory::Directory;
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

/// The event `effect` makes, if any (every such effect carries its line).
pub fn of_effect(effect: &Effect, dir: &Directory) -> Option<DialogEvent> {
    let (kind, line, dialog, mut data) = routed(effect, dir).or_else(|| ended(effect, dir))?;
    let line = line_id(dir, line);
    data["dialog_id"] = json!(dialog.0);
    data["line"] = json!(line);
    Some(DialogEvent {
        kind,
        line,
        dialog,
        data,
    })
}

/// What an event is made of: its type, line, dialog and the data particular to it.
type Parts = (EventKind, LineIdx, DialogId, Value);

/// Created, offered, assigned, transferred.
fn routed(effect: &Effect, dir: &Directory) -> Option<Parts> {
    let parts = match effect {
        Effect::DialogOpened {
            dialog,
            line,
            client,
        } => (
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
        } => (
            EventKind::DialogOffered,
            *line,
            *dialog,
            json!({"operator_id": op_id(dir, *op), "deadline": super::event::timestamp(*deadline_ms)}),
        ),
        Effect::Assigned { dialog, line, op } => (
            EventKind::DialogAssigned,
            *line,
            *dialog,
            json!({"operator_id": op_id(dir, *op)}),
        ),
        Effect::Transferred {
            dialog,
            line,
            from_line,
            from_op,
        } => {
            let mut data = json!({"from_operator_id": op_id(dir, *from_op)});
            if let Some(from) = from_line {
                data["from_line"] = json!(line_id(dir, *from));
            }
            (EventKind::DialogTransferred, *line, *dialog, data)
        }
        _ => return None,
    };
    Some(parts)
}

/// Rated, closed, a KPI target missed.
fn ended(effect: &Effect, dir: &Directory) -> Option<Parts> {
    let parts = match effect {
        Effect::Closed {
            dialog,
            reason,
            finished,
        } => (
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
        } => (
            EventKind::DialogRated,
            *line,
            *dialog,
            json!({
                "score": if *like { "like" } else { "dislike" },
                "comment": comment,
                "operator_id": operator.map(|op| op_id(dir, op)),
            }),
        ),
        Effect::KpiMissed { dialog, line, kind } => {
            (EventKind::KpiMissed, *line, *dialog, json!({"kind": kind}))
        }
        _ => return None,
    };
    Some(parts)
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
    /// `message.created`'s data, serialized as it stands (a message is the one event made for
    /// every message, on the chat's path).
    #[derive(serde::Serialize)]
    struct Data<'a> {
        dialog_id: u64,
        line: &'a str,
        msg_id: u64,
        seq: u64,
        author: &'a crate::protocol::Author,
        name: &'a Option<String>,
        text: &'a str,
        ts: i64,
    }
    let data = || Data {
        dialog_id: dialog.0,
        line: &line,
        msg_id: message.msg_id,
        seq,
        author: &message.author,
        name: &message.name,
        text: &message.text,
        ts: message.ts,
    };
    outlet.event(
        EventKind::MessageCreated,
        Some(&line),
        Some(DialogEvent::order(dialog)),
        data,
    )
}
