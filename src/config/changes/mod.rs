//! Runtime changes to lines, operators and quick-answer lists, made through the admin API and
//! replayed over the configuration file at every start.
//!
//! - `body`: a `PUT` body (JSON, the same keys as the file's table) → a typed object.
//! - `apply`: one change → the new whole [`Config`](crate::config::Config), checked by the same
//!   `validate` as the file;
//!   `replay` folds a stored list over the file's config, skipping what no longer applies.
//! - `compact`: shortens a stored list without changing what it replays to.
//!
//! Invariants: `apply` never returns a config that `validate` rejects, and never reorders the
//! objects that stay (new ones are appended). A [`Change`] is plain data (no `serde_json::Value`)
//! so it round-trips through MessagePack (`rmp_serde::to_vec_named`), and it never holds an
//! operator's plain token (`parse_operator_body` hashes it). This module never does I/O.

mod apply;
mod body;
mod compact;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use apply::{apply, replay};
pub use body::{
    parse_line_body, parse_operator_body, parse_quick_answers_body, parse_webhook_body,
};
pub use compact::compact;

use super::model::{LineConfig, OperatorConfig, QuickAnswerListConfig};
use super::ConfigError;
use super::WebhookConfig;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One runtime change made through the admin API. Stored in the service's durable log
/// (MessagePack with field names), so its encoding is part of the on-disk format: variants and
/// fields may be added, never renamed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Create the line with this id, or replace it in place.
    PutLine(Box<LineConfig>),
    DeleteLine {
        id: String,
    },
    /// Create the operator with this id, or replace them in place.
    PutOperator(Box<OperatorConfig>),
    /// Remove the operator and every reference to them (see [`apply`]).
    DeleteOperator {
        id: String,
    },
    /// Create the quick-answer list with this id, or replace it in place.
    PutQuickAnswers(QuickAnswerListConfig),
    /// Create the webhook endpoint with this id, or replace it in place.
    PutWebhook(Box<WebhookConfig>),
    DeleteWebhook {
        id: String,
    },
}

/// What kind of object a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Line,
    Operator,
    QuickAnswers,
    Webhook,
}

impl Change {
    /// The object this change is about: its kind and id.
    fn target(&self) -> (Object, &str) {
        match self {
            Change::PutLine(line) => (Object::Line, &line.id),
            Change::DeleteLine { id } => (Object::Line, id),
            Change::PutOperator(op) => (Object::Operator, &op.id),
            Change::DeleteOperator { id } => (Object::Operator, id),
            Change::PutQuickAnswers(list) => (Object::QuickAnswers, &list.id),
            Change::PutWebhook(hook) => (Object::Webhook, &hook.id),
            Change::DeleteWebhook { id } => (Object::Webhook, id),
        }
    }
}

/// Why a change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeErrorKind {
    /// The body is not JSON at all (the problem names line and column).
    BadJson,
    /// The body is JSON but not a valid object: wrong type, unknown key, id mismatch, or the
    /// resulting config fails validation.
    Invalid,
    /// A delete names an id that does not exist.
    NotFound,
    /// A delete would leave the rest of the config broken (e.g. a line's bot is that operator).
    Conflict,
}

impl ChangeErrorKind {
    /// The error code for the admin API's `{"error": {"code", ...}}`.
    pub fn code(self) -> &'static str {
        match self {
            ChangeErrorKind::BadJson => "bad_json",
            ChangeErrorKind::Invalid => "invalid",
            ChangeErrorKind::NotFound => "not_found",
            ChangeErrorKind::Conflict => "conflict",
        }
    }

    /// The HTTP status that fits.
    pub fn http_status(self) -> u16 {
        match self {
            ChangeErrorKind::BadJson => 400,
            ChangeErrorKind::Invalid => 422,
            ChangeErrorKind::NotFound => 404,
            ChangeErrorKind::Conflict => 409,
        }
    }
}

/// A refused change: its kind and every problem found (never empty). Problem keys are relative
/// to the changed object (`queue.members[1]`); problems elsewhere name that place by id
/// (`lines[sales].bot.operator`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeError {
    pub kind: ChangeErrorKind,
    pub problems: Vec<ConfigError>,
}

impl ChangeError {
    fn one(kind: ChangeErrorKind, key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind,
            problems: vec![ConfigError {
                key: key.into(),
                reason: reason.into(),
            }],
        }
    }
}

impl fmt::Display for ChangeError {
    /// `path: message; path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChangeError {}
