//! An operator's contact frames: `search_contacts`, `contact`, `create_contact` and
//! `update_contact`, answered by the contact registry with this operator's access (restricted
//! contacts only for their listed operators and for supervisors: others get `forbidden` and
//! find nothing). The answer is a future, so requests stay pipelined like the rest.
//!
//! Never touches routing state: the registry is separate from the shards.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::contact_links as links;
use super::Gateway;
use crate::contacts::search::{Ask, Cursor, Filters, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX};
use crate::contacts::{ContactError, ContactInput, Kind, Registry, Viewer};
use crate::protocol::contacts::{ContactCard, ContactsPage, SearchContacts};
use crate::protocol::{ErrorCode, ErrorFrame, OperatorIn, OperatorOut};
use crate::routing::OpIdx;

/// The answer to one contact frame.
pub type ContactReply = Pin<Box<dyn Future<Output = OperatorOut> + Send>>;

/// Handles a contact frame of operator `op` (any other frame gets `bad_frame`).
pub(super) fn handle(gw: &Gateway, op: OpIdx, frame: OperatorIn) -> ContactReply {
    let req = frame.req();
    let directory = gw.hub.directory();
    let me = &directory.operators[op.0 as usize];
    let viewer = Viewer::Operator {
        id: me.id.to_string(),
        supervisor: me.supervisor,
    };
    let Some(registry) = gw.contacts.get().cloned() else {
        return ready(refusal(
            req,
            ErrorCode::Internal,
            "the contact registry is not running".into(),
        ));
    };
    let hub = Arc::clone(&gw.hub);
    Box::pin(async move {
        let answer = match frame {
            OperatorIn::LinkContact(l) => {
                let contact = Some(l.contact_id);
                return links::link(hub, registry, op, viewer, req, l.dialog_id, contact).await;
            }
            OperatorIn::UnlinkContact(u) => {
                return links::link(hub, registry, op, viewer, req, u.dialog_id, None).await;
            }
            OperatorIn::AddInteraction(a) => return links::add(registry, viewer, req, a).await,
            OperatorIn::Interactions(r) => return links::page(&registry, &viewer, req, r),
            OperatorIn::SearchContacts(s) => search(&registry, s, viewer).await,
            OperatorIn::Contact(c) => registry
                .get(c.contact_id, &viewer)
                .map(|contact| card(req, json(&contact), Vec::new())),
            OperatorIn::CreateContact(c) => match input_of(c.contact, None) {
                Ok(input) => registry
                    .create(&input, "manual")
                    .await
                    .map(|(contact, warnings)| card(req, json(&contact), warnings)),
                Err(frame) => return OperatorOut::Error(ErrorFrame { req, ..frame }),
            },
            OperatorIn::UpdateContact(u) => match input_of(u.contact, Some(u.version)) {
                Ok(input) => registry
                    .update(u.contact_id, &input, &viewer)
                    .await
                    .map(|(contact, warnings)| card(req, json(&contact), warnings)),
                Err(frame) => return OperatorOut::Error(ErrorFrame { req, ..frame }),
            },
            _ => return refusal(req, ErrorCode::BadFrame, "not a contact frame".into()),
        };
        answer.unwrap_or_else(|e| refused(req, e))
    })
}

fn ready(out: OperatorOut) -> ContactReply {
    Box::pin(std::future::ready(out))
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn card(req: Option<u64>, contact: Value, warnings: Vec<String>) -> OperatorOut {
    OperatorOut::Contact(ContactCard {
        req,
        contact,
        warnings,
    })
}

pub(super) fn refusal(req: Option<u64>, code: ErrorCode, message: String) -> OperatorOut {
    OperatorOut::Error(ErrorFrame {
        req,
        code,
        message: message.into(),
    })
}

/// A registry refusal as an `error` frame.
pub(super) fn refused(req: Option<u64>, e: ContactError) -> OperatorOut {
    let code = match &e {
        ContactError::Invalid(_) | ContactError::Query(_) => ErrorCode::BadFrame,
        ContactError::NotFound(_) | ContactError::Deleted(_) | ContactError::Merged { .. } => {
            ErrorCode::NotFound
        }
        ContactError::Forbidden(_) => ErrorCode::Forbidden,
        ContactError::Conflict { .. } => ErrorCode::Conflict,
        ContactError::TooLarge(_) => ErrorCode::TooLarge,
        ContactError::Unsupported(_) => ErrorCode::BadFrame,
        ContactError::Store(_) | ContactError::Index(_) => ErrorCode::Internal,
    };
    refusal(req, code, e.to_string())
}

/// The `contact` object of a frame as a registry input; mistakes name the field.
fn input_of(contact: Value, version: Option<u64>) -> Result<ContactInput, ErrorFrame> {
    let mut input: ContactInput =
        serde_path_to_error::deserialize(contact).map_err(|e| ErrorFrame {
            req: None,
            code: ErrorCode::BadFrame,
            message: format!("contact.{}: {}", e.path(), e.inner()).into(),
        })?;
    if version.is_some() {
        input.version = version;
    }
    Ok(input)
}

async fn search(
    registry: &Arc<Registry>,
    s: SearchContacts,
    viewer: Viewer,
) -> Result<OperatorOut, ContactError> {
    let bad = |field: &str, reason: &str| {
        ContactError::Invalid(crate::contacts::FieldError::new(field, reason))
    };
    let kind = match s.kind.as_deref() {
        None => None,
        Some("person") => Some(Kind::Person),
        Some("company") => Some(Kind::Company),
        Some(_) => return Err(bad("kind", "is \"person\" or \"company\"")),
    };
    let after = match s.after.as_deref() {
        None => None,
        Some(text) => {
            Some(Cursor::parse(text).ok_or_else(|| bad("after", "is a next_after value"))?)
        }
    };
    let limit = s.limit.map_or(PAGE_LIMIT_DEFAULT, |l| l as usize);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(bad("limit", "is between 1 and 500"));
    }
    let ask = Ask {
        filters: Filters {
            kind,
            kind_type: s.kind_type,
            tags: s
                .tags
                .iter()
                .map(|t| crate::contacts::normalize::tag(t))
                .collect(),
            responsible: s.responsible,
            updated_after: s.updated_after,
        },
        viewer,
        after,
        limit,
    };
    let page = registry.search(s.q.as_deref(), &ask).await?;
    Ok(OperatorOut::Contacts(ContactsPage {
        req: s.req,
        contacts: page.contacts.iter().map(json).collect(),
        next_after: page.next_after,
    }))
}
