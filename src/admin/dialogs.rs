//! `GET /api/v1/dialogs` (filters `line`, `state`, `operator`; paging `after`, `limit`),
//! `GET /api/v1/dialogs/{id}` (with KPI figures and, while open, its routing decisions) and
//! `GET /api/v1/dialogs/{id}/messages` (paging `before_seq`, `limit`).

use super::error::{ApiError, ApiResult};
use super::{query, Admin};
use crate::admin::views::{parse_state, DialogFilter, DialogView};
use crate::protocol::MessageView;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    line: Option<String>,
    state: Option<String>,
    operator: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub struct DialogPage {
    dialogs: Vec<DialogView>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<u64>,
}

pub async fn list(
    State(admin): State<Arc<Admin>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<DialogPage>> {
    let q: ListQuery = query::parse(raw.as_deref())?;
    let hub = &admin.hub;
    let dir = hub.directory();
    let line = match &q.line {
        None => None,
        Some(id) => Some(dir.line_index.get(id.as_str()).copied().ok_or_else(|| {
            ApiError::not_found(format!("query parameter `line`: no line \"{id}\""))
        })?),
    };
    let operator = match &q.operator {
        None => None,
        Some(id) => Some(
            dir.operator_index
                .get(id.as_str())
                .copied()
                .ok_or_else(|| {
                    ApiError::not_found(format!("query parameter `operator`: no operator \"{id}\""))
                })?,
        ),
    };
    let state = match &q.state {
        None => None,
        Some(s) => Some(parse_state(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query parameter `state`: \"{s}\" is not one of queued, offered, bot, active, \
                 closing, closed"
            ))
        })?),
    };
    let limit = query::page_limit(q.limit)?;
    let filter = DialogFilter {
        line,
        state,
        operator,
    };
    let dialogs = hub
        .admin_dialogs(filter, q.after.unwrap_or(0), limit)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let next_after = (dialogs.len() == limit)
        .then(|| dialogs.last().map(|d| d.id))
        .flatten();
    Ok(Json(DialogPage {
        dialogs,
        next_after,
    }))
}

pub async fn one(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> ApiResult<Json<DialogView>> {
    let id = query::id(&id, "dialog")?;
    admin
        .hub
        .admin_dialog(id)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no dialog {id}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    before_seq: Option<u64>,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub struct MessagePage {
    messages: Vec<MessageView>,
}

pub async fn messages(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<MessagePage>> {
    let id = query::id(&id, "dialog")?;
    let q: MessagesQuery = query::parse(raw.as_deref())?;
    let limit = query::page_limit(q.limit)?;
    let hub = &admin.hub;
    let messages = hub
        .admin_messages(id, q.before_seq, limit)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if messages.is_empty()
        && hub
            .admin_dialog(id)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .is_none()
    {
        return Err(ApiError::not_found(format!("no dialog {id}")));
    }
    Ok(Json(MessagePage { messages }))
}
