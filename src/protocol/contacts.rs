//! Operator frames of the contact registry (PROTOCOL.md "Operator side", docs/contacts.md):
//! `search_contacts` → `contacts`, `contact` (the card) → `contact`, `create_contact` and
//! `update_contact` → `contact`. A contact travels as a JSON object in the shape of the admin
//! API (the registry checks it field by field), so this module stays free of the registry.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `search_contacts {req, q?, kind?, contact_type?, tags?, responsible?, updated_after?,
/// after?, limit?}`: the same search as `GET /api/v1/contacts`, within what this operator may
/// see (`contact_type` is the `type=` filter: `type` names the frame).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchContacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(rename = "contact_type", skip_serializing_if = "Option::is_none")]
    pub kind_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `contact {req, contact_id}`: the card of one contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact_id: u64,
}

/// `create_contact {req, contact: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateContact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact: Value,
}

/// `update_contact {req, contact_id, version, contact: {...}}`: a change made against
/// `version`; a stale one gets `error conflict`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateContact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact_id: u64,
    pub version: u64,
    pub contact: Value,
}

/// `contacts {req, contacts: [...], next_after?}`: a page of search results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contacts: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// `contact {req, contact, warnings?}`: one contact (the answer to `contact`,
/// `create_contact` and `update_contact`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `link_contact {req, dialog_id, contact_id}`: the dialog's client is this contact (e.g. an
/// `unverified_match` confirmed); its later chats follow. Answered with `ack` once durable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkContact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
    pub contact_id: u64,
}

/// `unlink_contact {req, dialog_id}`: the dialog's client is no contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlinkContact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub dialog_id: u64,
}

/// `add_interaction {req, contact_id, kind, text}`: a call, meeting, email, note (or a
/// configured kind) in the contact's log. Answered with `interactions` holding the new entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddInteraction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact_id: u64,
    pub kind: String,
    pub text: String,
}

/// `interactions {req, contact_id, before?, limit?}`: a page of the contact's log, newest
/// first (`before` is a `next_before` from the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionsRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `interactions {req, contact_id, interactions: [...], next_before?}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionsPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    pub contact_id: u64,
    pub interactions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}
