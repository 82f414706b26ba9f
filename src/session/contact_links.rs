//! An operator's chat-tracker frames: `link_contact` / `unlink_contact` (the dialog's client
//! is, or is no longer, a contact: the dialog's shard records it durably, then the client id is
//! remembered on the contact so the client's later chats follow), `add_interaction` and
//! `interactions` (the contact's log). Access rules are the registry's: a restricted contact
//! is `forbidden` to operators not listed on it.

use std::sync::Arc;

use serde_json::Value;

use super::contacts::{refusal, refused};
use crate::contacts::interactions::{self, PAGE_LIMIT_MAX};
use crate::contacts::{Registry, Viewer};
use crate::hub::Hub;
use crate::protocol::contacts::{AddInteraction, InteractionsPage, InteractionsRequest};
use crate::protocol::{ErrorCode, OperatorOut};
use crate::routing::{DialogId, OpIdx};
use crate::shard::requests::ShardRequest;

/// Entries in one `interactions` answer unless asked otherwise.
const PAGE_LIMIT_DEFAULT: usize = 20;

/// `link_contact` (`contact_id: Some`) or `unlink_contact`.
pub(super) async fn link(
    hub: Arc<Hub>,
    registry: Arc<Registry>,
    op: OpIdx,
    viewer: Viewer,
    req: Option<u64>,
    dialog_id: u64,
    contact_id: Option<u64>,
) -> OperatorOut {
    let contact = match contact_id {
        Some(id) => match registry
            .resolve(id)
            .and_then(|id| Ok((id, registry.card_of(id, &viewer)?)))
        {
            Ok(found) => Some(found),
            Err(e) => return refused(req, e),
        },
        None => None,
    };
    let remember = contact.as_ref().map(|(id, _)| *id);
    let dialog = DialogId(dialog_id);
    let answer = hub
        .ask(hub.shard_of_dialog(dialog), |reply| {
            ShardRequest::LinkContact {
                op,
                dialog,
                contact,
                reply,
            }
        })
        .await;
    let client = match answer {
        Some(Ok(client)) => client,
        Some(Err(r)) => return refusal(req, r.code, r.message.to_string()),
        None => {
            return refusal(
                req,
                ErrorCode::Internal,
                "the dialog's shard stopped".into(),
            )
        }
    };
    if let Some(id) = remember {
        if let Err(e) = registry.remember(id, &client, None).await {
            return refused(req, e);
        }
    }
    OperatorOut::Ack(crate::protocol::operator::Ack {
        req,
        dialog_id: Some(dialog_id),
        ..Default::default()
    })
}

/// `add_interaction`: answered with the new entry.
pub(super) async fn add(
    registry: Arc<Registry>,
    viewer: Viewer,
    req: Option<u64>,
    a: AddInteraction,
) -> OperatorOut {
    let author = match &viewer {
        Viewer::Operator { id, .. } => id.clone(),
        Viewer::Admin => "admin".to_string(),
    };
    match registry
        .add_interaction(a.contact_id, &a.kind, &a.text, &author, &viewer)
        .await
    {
        Ok(entry) => OperatorOut::Interactions(InteractionsPage {
            req,
            contact_id: entry.contact_id,
            interactions: vec![json(&entry)],
            next_before: None,
        }),
        Err(e) => refused(req, e),
    }
}

/// `interactions`: a page of the contact's log.
pub(super) fn page(
    registry: &Registry,
    viewer: &Viewer,
    req: Option<u64>,
    r: InteractionsRequest,
) -> OperatorOut {
    let before = match r.before.as_deref() {
        None => None,
        Some(text) => match interactions::parse_cursor(text) {
            Some(cursor) => Some(cursor),
            None => {
                let message = "before: not a cursor from next_before".to_string();
                return refusal(req, ErrorCode::BadFrame, message);
            }
        },
    };
    let limit = r.limit.map_or(PAGE_LIMIT_DEFAULT, |l| l as usize);
    if limit == 0 || limit > PAGE_LIMIT_MAX {
        let message = format!("limit: 1 to {PAGE_LIMIT_MAX}");
        return refusal(req, ErrorCode::BadFrame, message);
    }
    match registry.interactions(r.contact_id, viewer, before, limit) {
        Ok(log) => OperatorOut::Interactions(InteractionsPage {
            req,
            contact_id: registry.resolve(r.contact_id).unwrap_or(r.contact_id),
            interactions: log.interactions.iter().map(json).collect(),
            next_before: log.next_before,
        }),
        Err(e) => refused(req, e),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// After a manual transfer of `dialog` to operator `to`: on a line that reassigns on transfer,
/// `to` becomes responsible for the dialog's contact when that contact was created from this
/// line's chats (never for a contact that existed before). A failure is logged: the transfer
/// itself is done.
pub(crate) async fn reassign(hub: &Hub, registry: &Registry, dialog: DialogId, to: &str) {
    let shard = hub.shard_of_dialog(dialog);
    let view = hub
        .ask(shard, |reply| ShardRequest::AdminDialog { dialog, reply })
        .await
        .flatten();
    let Some(view) = view else { return };
    let Some(contact) = view.client.contact_id else {
        return;
    };
    let reassigns = hub
        .directory()
        .line_index
        .get(view.line.as_str())
        .map(|l| hub.directory().lines[l.0 as usize].crm.reassign_on_transfer);
    if reassigns != Some(true) {
        return;
    }
    if let Err(e) = registry.reassign(contact, &view.line, to).await {
        eprintln!("switchboard: making {to} responsible for contact {contact} failed: {e}");
    }
}
