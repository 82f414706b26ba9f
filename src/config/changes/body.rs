//! `PUT` bodies: JSON with the same keys as the file's `[[lines]]`, `[[operators]]` and
//! `[[quick_answers]]` tables, read into the same typed structs (so the same defaults and the same
//! `deny_unknown_fields`). The `id` key may be left out (the URL names the object); when present
//! it must equal the URL's id. Type errors name the key path (`queue.mode: unknown variant ...`).
//!
//! Only shape is checked here; the semantic rules run in `apply`, over the whole config.
//! The caller bounds the body's size; serde_json bounds its nesting (128).

use super::{ChangeError, ChangeErrorKind};
use crate::config::model::{LineConfig, OperatorConfig, QuickAnswerListConfig};
use crate::config::WebhookConfig;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Reads a line from a `PUT /lines/{id}` body: the keys of a `[[lines]]` table.
pub fn parse_line_body(id: &str, body: &[u8]) -> Result<LineConfig, ChangeError> {
    parse(id, body)
}

/// Reads an operator from a `PUT /operators/{id}` body: the keys of an `[[operators]]` table.
/// A plain `token` is replaced by its `token_sha256` (when that is not also given), so the token
/// itself is never stored; the operator logs in with it all the same.
pub fn parse_operator_body(id: &str, body: &[u8]) -> Result<OperatorConfig, ChangeError> {
    let mut op: OperatorConfig = parse(id, body)?;
    if op.token_sha256.is_none() {
        if let Some(token) = op.token.take_if(|t| !t.is_empty()) {
            op.token_sha256 = Some(hex(&Sha256::digest(token.as_bytes())));
        }
    }
    Ok(op)
}

/// Reads a quick-answer list from a `PUT /quick-answers/{id}` body: the keys of a
/// `[[quick_answers]]` table, i.e. `{"items": ["text", ...]}` (plus an optional `"id"`).
pub fn parse_quick_answers_body(
    id: &str,
    body: &[u8],
) -> Result<QuickAnswerListConfig, ChangeError> {
    parse(id, body)
}

/// Reads a webhook endpoint from a `PUT /webhooks/{id}` body: the keys of a `[[webhooks]]`
/// table.
pub fn parse_webhook_body(id: &str, body: &[u8]) -> Result<WebhookConfig, ChangeError> {
    parse(id, body)
}

fn parse<T: DeserializeOwned>(id: &str, body: &[u8]) -> Result<T, ChangeError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ChangeError::one(ChangeErrorKind::BadJson, "", e.to_string()))?;
    let Value::Object(fields) = &mut value else {
        return Err(ChangeError::one(
            ChangeErrorKind::Invalid,
            "",
            format!("the body must be a JSON object, not {}", json_kind(&value)),
        ));
    };
    match fields.get("id") {
        None => {
            fields.insert("id".into(), Value::String(id.into()));
        }
        Some(Value::String(given)) if given != id => {
            return Err(ChangeError::one(
                ChangeErrorKind::Invalid,
                "id",
                format!("\"{given}\" does not match the id in the URL (\"{id}\")"),
            ));
        }
        // The right id, or not a string: the typed read below reports the type.
        Some(_) => {}
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        ChangeError::one(
            ChangeErrorKind::Invalid,
            if key == "." { String::new() } else { key },
            e.inner().to_string(),
        )
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}
