//! What a client sends to create or change a contact (`POST`/`PATCH` bodies, import rows,
//! operator frames), and how it is checked and applied to a [`Contact`]: every refusal names
//! its field (`emails[1].value`), every bound has a name here.
//!
//! In a change, an absent field is left alone, `null` clears it and a list replaces the whole
//! list. Pure: no I/O. References to other contacts and operators are checked by the caller.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

use super::model::{Contact, Email, Kind, Phone};
use super::normalize;
use super::Settings;

/// Characters of one short text field (names, position, one website or address) at most.
pub const TEXT_CHARS_MAX: usize = 500;
/// Characters of the description at most.
pub const DESCRIPTION_CHARS_MAX: usize = 10_000;
/// Items of one list (emails, phones, websites, addresses, tags, allowed operators, custom
/// fields) at most.
pub const LIST_ITEMS_MAX: usize = 50;
/// Characters of one tag at most.
pub const TAG_CHARS_MAX: usize = 64;

/// A field that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// One email or phone as sent.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub value: String,
    #[serde(default)]
    pub primary: bool,
}

/// A contact as sent; see the module comment for what absent and `null` mean.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub kind: Option<Kind>,
    #[serde(default, deserialize_with = "nullable")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub company_id: Option<Option<u64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub position: Option<Option<String>>,
    pub emails: Option<Vec<ChannelInput>>,
    pub phones: Option<Vec<ChannelInput>>,
    pub websites: Option<Vec<String>>,
    pub addresses: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub responsible: Option<Option<String>>,
    pub custom: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_operators: Option<Option<Vec<String>>>,
    /// The version a change was made against (required by `PATCH`).
    pub version: Option<u64>,
}

/// `Some(None)` for an explicit `null`, `Some(Some(v))` for a value (absent is `None` by
/// `#[serde(default)]`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl ContactInput {
    /// The operators this input names (responsible, allowed), with their fields.
    pub fn operators_named(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        if let Some(Some(id)) = &self.responsible {
            out.push(("responsible".to_string(), id.as_str()));
        }
        if let Some(Some(list)) = &self.allowed_operators {
            for (i, id) in list.iter().enumerate() {
                out.push((format!("allowed_operators[{i}]"), id.as_str()));
            }
        }
        out
    }
}

/// Applies `input` to `contact`; returns warnings (phones kept as text). On `Err` the contact
/// may be half changed: apply to a copy.
pub fn apply(
    input: &ContactInput,
    contact: &mut Contact,
    settings: &Settings,
) -> Result<Vec<String>, FieldError> {
    if let Some(kind) = input.kind {
        contact.kind = kind;
    }
    set_text(&mut contact.first_name, &input.first_name, "first_name")?;
    set_text(&mut contact.last_name, &input.last_name, "last_name")?;
    set_text(
        &mut contact.company_name,
        &input.company_name,
        "company_name",
    )?;
    set_text(&mut contact.position, &input.position, "position")?;
    if let Some(value) = &input.description {
        contact.description = checked(value, "description", DESCRIPTION_CHARS_MAX)?;
    }
    if let Some(id) = input.company_id {
        contact.company_id = id;
    }
    if let Some(emails) = &input.emails {
        contact.emails = emails_of(emails)?;
    }
    let mut warnings = Vec::new();
    if let Some(phones) = &input.phones {
        contact.phones = phones_of(phones, settings, &mut warnings)?;
    }
    if let Some(list) = &input.websites {
        contact.websites = texts_of(list, "websites")?;
    }
    if let Some(list) = &input.addresses {
        contact.addresses = texts_of(list, "addresses")?;
    }
    if let Some(tags) = &input.tags {
        contact.tags = tags_of(tags)?;
    }
    if let Some(kind_type) = &input.kind_type {
        if let Some(name) = kind_type {
            if !settings.types.iter().any(|t| t == name) {
                return Err(FieldError::new(
                    "type",
                    format!("\"{name}\" is not one of {}", settings.types.join(", ")),
                ));
            }
        }
        contact.kind_type = kind_type.clone();
    }
    if let Some(responsible) = &input.responsible {
        contact.responsible = responsible.clone();
    }
    if let Some(custom) = &input.custom {
        contact.custom = custom_of(custom)?;
    }
    if let Some(allowed) = &input.allowed_operators {
        if allowed.as_ref().is_some_and(|l| l.len() > LIST_ITEMS_MAX) {
            return Err(too_many("allowed_operators"));
        }
        contact.allowed_operators = allowed.clone();
    }
    check_whole(contact)?;
    Ok(warnings)
}

/// Rules over the whole contact after a change.
fn check_whole(contact: &Contact) -> Result<(), FieldError> {
    match contact.kind {
        Kind::Person if contact.first_name.is_none() && contact.last_name.is_none() => Err(
            FieldError::new("first_name", "a person needs a first_name or a last_name"),
        ),
        Kind::Company if contact.company_name.is_none() => Err(FieldError::new(
            "company_name",
            "a company needs a company_name",
        )),
        Kind::Company if contact.company_id.is_some() => Err(FieldError::new(
            "company_id",
            "only a person links to a company",
        )),
        _ => Ok(()),
    }
}

fn too_many(field: &str) -> FieldError {
    FieldError::new(field, format!("more than {LIST_ITEMS_MAX} items"))
}

/// A trimmed text, `None` when empty; refused beyond `max` characters.
fn checked(value: &Option<String>, field: &str, max: usize) -> Result<Option<String>, FieldError> {
    let Some(text) = value.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("longer than {max} characters"),
        ));
    }
    Ok(Some(text.to_string()))
}

fn set_text(
    slot: &mut Option<String>,
    value: &Option<Option<String>>,
    field: &str,
) -> Result<(), FieldError> {
    if let Some(value) = value {
        *slot = checked(value, field, TEXT_CHARS_MAX)?;
    }
    Ok(())
}

fn texts_of(list: &[String], field: &str) -> Result<Vec<String>, FieldError> {
    if list.len() > LIST_ITEMS_MAX {
        return Err(too_many(field));
    }
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        if let Some(text) = checked(
            &Some(item.clone()),
            &format!("{field}[{i}]"),
            TEXT_CHARS_MAX,
        )? {
            out.push(text);
        }
    }
    Ok(out)
}

fn one_primary(list: &[ChannelInput], field: &str) -> Result<(), FieldError> {
    if list.len() > LIST_ITEMS_MAX {
        return Err(too_many(field));
    }
    if list.iter().filter(|c| c.primary).count() > 1 {
        return Err(FieldError::new(field, "only one may be primary"));
    }
    Ok(())
}

fn emails_of(list: &[ChannelInput]) -> Result<Vec<Email>, FieldError> {
    one_primary(list, "emails")?;
    let mut out: Vec<Email> = Vec::new();
    for (i, email) in list.iter().enumerate() {
        let value = email.value.trim();
        if !normalize::email_ok(value) || value.chars().count() > TEXT_CHARS_MAX {
            return Err(FieldError::new(
                format!("emails[{i}].value"),
                format!("\"{value}\" is not an email address"),
            ));
        }
        let key = normalize::email_key(value);
        if out.iter().any(|e| normalize::email_key(&e.value) == key) {
            return Err(FieldError::new(
                format!("emails[{i}].value"),
                format!("\"{value}\" is listed twice"),
            ));
        }
        out.push(Email {
            value: value.to_string(),
            primary: email.primary,
        });
    }
    Ok(out)
}

fn phones_of(
    list: &[ChannelInput],
    settings: &Settings,
    warnings: &mut Vec<String>,
) -> Result<Vec<Phone>, FieldError> {
    one_primary(list, "phones")?;
    let mut out = Vec::new();
    for (i, phone) in list.iter().enumerate() {
        let given = phone.value.trim();
        if given.is_empty() || given.chars().count() > TEXT_CHARS_MAX {
            return Err(FieldError::new(
                format!("phones[{i}].value"),
                "must be 1 to 500 characters",
            ));
        }
        let parsed = normalize::phone_e164(given, settings.region);
        if parsed.is_none() {
            warnings.push(format!(
                "phones[{i}].value: \"{given}\" is not a phone number that can be normalized; kept as text"
            ));
        }
        out.push(Phone {
            value: parsed.clone().unwrap_or_else(|| given.to_string()),
            primary: phone.primary,
            given: parsed
                .as_ref()
                .filter(|p| *p != given)
                .map(|_| given.to_string()),
            unparsed: parsed.is_none(),
        });
    }
    Ok(out)
}

fn tags_of(list: &[String]) -> Result<Vec<String>, FieldError> {
    if list.len() > LIST_ITEMS_MAX {
        return Err(too_many("tags"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, tag) in list.iter().enumerate() {
        let tag = normalize::tag(tag);
        if tag.is_empty() || tag.chars().count() > TAG_CHARS_MAX {
            return Err(FieldError::new(
                format!("tags[{i}]"),
                format!("a tag is 1 to {TAG_CHARS_MAX} characters"),
            ));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn custom_of(map: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, FieldError> {
    if map.len() > LIST_ITEMS_MAX {
        return Err(too_many("custom"));
    }
    for (name, value) in map {
        if name.trim().is_empty() || name.chars().count() > TAG_CHARS_MAX {
            return Err(FieldError::new(
                format!("custom.{name}"),
                format!("a custom field name is 1 to {TAG_CHARS_MAX} characters"),
            ));
        }
        if value.chars().count() > TEXT_CHARS_MAX {
            return Err(FieldError::new(
                format!("custom.{name}"),
                format!("longer than {TEXT_CHARS_MAX} characters"),
            ));
        }
    }
    Ok(map.clone())
}
