//! `GET /api/v1/consents?line=` (paging `after` = a client id, `limit`): the stored answers to
//! one line's consent notice, by client id.

use super::error::{ApiError, ApiResult};
use super::{query, Admin};
use crate::hub::consents::ConsentView;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    line: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub struct ConsentPage {
    consents: Vec<ConsentView>,
    /// Pass as `after` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<String>,
}

pub async fn list(
    State(admin): State<Arc<Admin>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ConsentPage>> {
    let q: ListQuery = query::parse(raw.as_deref())?;
    let Some(line) = q.line else {
        return Err(ApiError::bad_request(
            "query parameter `line` is required: consents are listed per line",
        ));
    };
    // Answers outlive a deleted line's slot, but an id never configured is a mistake
    if !admin.hub.directory().line_index.contains_key(line.as_str()) {
        return Err(ApiError::not_found(format!(
            "query parameter `line`: no line \"{line}\""
        )));
    }
    let limit = query::page_limit(q.limit)?;
    let hub = admin.hub.clone();
    let after = q.after;
    // A store read: off the async workers. One more than a page tells whether another follows.
    let mut consents = tokio::task::spawn_blocking(move || {
        hub.consents(&line, after.as_deref(), limit.saturating_add(1))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let next_after = if consents.len() > limit {
        consents.truncate(limit);
        consents.last().map(|c| c.client_id.clone())
    } else {
        None
    };
    Ok(Json(ConsentPage {
        consents,
        next_after,
    }))
}
