//! A contact as stored and as the API shows it (PROTOCOL.md "Contacts"), and the record kept
//! under a contact id in the store: a live contact, a pointer to the contact it was merged into,
//! or the mark of a deletion (ids are never reused).
//!
//! Pure data: no I/O, no clock. Normalization of emails and phones is in `normalize`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A contact's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Person,
    Company,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Company => "company",
        }
    }
}

/// One email of a contact: kept as given (trimmed); matched by [`normalize::email_key`].
///
/// [`normalize::email_key`]: super::normalize::email_key
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub value: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary: bool,
}

/// One phone of a contact: `value` is E.164 (`+4930123456`) when the number could be parsed,
/// otherwise the text as given with `unparsed: true`; `given` is the text as typed when it
/// differs from `value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub value: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unparsed: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A contact of the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: u64,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default)]
    pub emails: Vec<Email>,
    #[serde(default)]
    pub phones: Vec<Phone>,
    #[serde(default)]
    pub websites: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible: Option<String>,
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_operators: Option<Vec<String>>,
    /// `manual`, `import`, or `line:<line id>/<channel>`.
    pub source: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub photo: bool,
    /// Widget client ids whose chats follow this contact (remembered when a chat is linked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// Verified identities (`identity.external_id` from a site that signs them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<String>,
    pub version: u64,
    pub created_ts: u64,
    pub updated_ts: u64,
}

impl Contact {
    /// A contact of `kind` with nothing filled in yet, version 1, created and updated at
    /// `now_ms`.
    pub fn blank(id: u64, kind: Kind, source: &str, now_ms: u64) -> Contact {
        Contact {
            id,
            kind,
            first_name: None,
            last_name: None,
            company_name: None,
            company_id: None,
            position: None,
            emails: Vec::new(),
            phones: Vec::new(),
            websites: Vec::new(),
            addresses: Vec::new(),
            description: None,
            tags: Vec::new(),
            kind_type: None,
            responsible: None,
            custom: BTreeMap::new(),
            allowed_operators: None,
            source: source.to_string(),
            photo: false,
            client_ids: Vec::new(),
            external_ids: Vec::new(),
            version: 1,
            created_ts: now_ms,
            updated_ts: now_ms,
        }
    }

    /// The primary email (the one marked, else the first).
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails
            .iter()
            .find(|e| e.primary)
            .or(self.emails.first())
    }

    /// The primary phone (the one marked, else the first).
    pub fn primary_phone(&self) -> Option<&Phone> {
        self.phones
            .iter()
            .find(|p| p.primary)
            .or(self.phones.first())
    }

    /// Whether `operator` may see this contact (supervisors are checked by the caller).
    pub fn allows(&self, operator: &str) -> bool {
        match &self.allowed_operators {
            None => true,
            Some(list) => list.is_empty() || list.iter().any(|o| o == operator),
        }
    }

    /// The display name: "first last" for a person, the company name for a company.
    pub fn display_name(&self) -> String {
        match self.kind {
            Kind::Company => self.company_name.clone().unwrap_or_default(),
            Kind::Person => [&self.first_name, &self.last_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The texts search looks at, one per field value (a phrase never spans two of them):
    /// names, company, position, emails, phones (E.164 and as typed), tags, description.
    pub fn search_texts(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for field in [
            &self.first_name,
            &self.last_name,
            &self.company_name,
            &self.position,
        ] {
            out.extend(field.as_deref());
        }
        out.extend(self.emails.iter().map(|e| e.value.as_str()));
        for phone in &self.phones {
            out.push(&phone.value);
            out.extend(phone.given.as_deref());
        }
        out.extend(self.tags.iter().map(String::as_str));
        out.extend(self.description.as_deref());
        out
    }
}

/// What the store keeps under a contact id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    Live(Box<Contact>),
    /// Folded into `into` by a merge.
    Merged {
        into: u64,
        ts: u64,
    },
    /// Deleted (irreversible); `erased` when the deletion asked to erase its chats' data, and
    /// how many closed chats that erased.
    Deleted {
        ts: u64,
        erased: bool,
        #[serde(default)]
        erased_chats: u64,
    },
}

impl Stored {
    pub fn encode(&self) -> Vec<u8> {
        // A plain struct of strings and numbers always serializes.
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Stored, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}
