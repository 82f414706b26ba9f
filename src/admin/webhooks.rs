//! Webhook endpoints at run time: `GET /webhooks`, `GET/PUT/DELETE /webhooks/{id}` (bodies use
//! the keys of `[[webhooks]]`; a change is validated like the file, made durable, then applied),
//! `GET /webhooks/{id}/deliveries?status=&limit=&before=`, `POST
//! /webhooks/{id}/deliveries/{delivery_id}/retry` and `POST /webhooks/{id}/test`. Secrets are
//! never shown; bad input is a 400 naming the field.

use super::error::{ApiError, ApiResult};
use super::query::{self, Body};
use super::Admin;
use crate::config::changes::{Change, ChangeErrorKind};
use crate::config::{parse_webhook_body, Config, WebhookConfig};
use crate::hub::live_config::ChangeFailure;
use crate::webhooks::delivery::{Delivery, Status};
use crate::webhooks::WebhookError;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// Pages of stored deliveries read at most to fill one answer with a status filter.
const STORED_PAGES_MAX: usize = 10;

pub fn router() -> axum::Router<Arc<Admin>> {
    axum::Router::new()
        .route("/webhooks", get(list))
        .route("/webhooks/{id}", get(one).put(put).delete(delete))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}/retry", post(retry))
        .route("/webhooks/{id}/test", post(test))
}

/// An endpoint as shown: everything but the secrets (their count instead).
fn shown(hook: &WebhookConfig) -> Value {
    let mut value = serde_json::to_value(hook).unwrap_or_default();
    if let Value::Object(fields) = &mut value {
        fields.remove("secret");
        let secrets = hook.secret.split_whitespace().count();
        fields.insert("secrets".into(), json!(secrets));
    }
    value
}

fn find(config: &Config, id: &str) -> ApiResult<WebhookConfig> {
    config
        .webhooks
        .iter()
        .find(|h| h.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no webhook \"{id}\"")))
}

/// An invalid body is a 400 (the project's other objects answer 422 for a valid JSON body
/// that breaks a rule; webhooks follow the 400).
fn refused(failure: ChangeFailure) -> ApiError {
    match failure {
        ChangeFailure::Refused(e) if e.kind == ChangeErrorKind::Invalid => {
            ApiError::new(StatusCode::BAD_REQUEST, e.kind.code(), e.to_string())
        }
        other => other.into(),
    }
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotRunning(_) => {
                ApiError::new(StatusCode::CONFLICT, "not_running", e.to_string())
            }
            WebhookError::Store(e) => ApiError::internal(e.to_string()),
        }
    }
}

async fn list(State(admin): State<Arc<Admin>>) -> Json<Value> {
    let config = admin.hub.live_config().await;
    let hooks: Vec<Value> = config.webhooks.iter().map(shown).collect();
    Json(json!({ "webhooks": hooks }))
}

async fn one(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let hook = find(&admin.hub.live_config().await, &id)?;
    Ok(Json(shown(&hook)))
}

async fn put(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let hook = parse_webhook_body(&id, &body).map_err(|e| refused(e.into()))?;
    let existed = find(&admin.hub.live_config().await, &id).is_ok();
    let config = admin
        .hub
        .change(Change::PutWebhook(Box::new(hook)))
        .await
        .map_err(refused)?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(shown(&find(&config, &id)?))))
}

async fn delete(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    admin
        .hub
        .change(Change::DeleteWebhook { id: id.clone() })
        .await
        .map_err(refused)?;
    Ok(Json(json!({ "deleted": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveriesQuery {
    status: Option<String>,
    limit: Option<usize>,
    /// Only deliveries of events before this id (paging, newest first).
    before: Option<u64>,
}

async fn deliveries(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let q: DeliveriesQuery = query::parse(raw.as_deref())?;
    let wanted = match q.status.as_deref() {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query parameter `status`: \"{text}\" is not failed, pending or delivered"
            ))
        })?),
    };
    let limit = query::page_limit(q.limit)?;
    find(&admin.hub.live_config().await, &id)?;
    let before = q.before.unwrap_or(u64::MAX);
    let webhooks = &admin.hub.webhooks;
    // Held deliveries (pending) come from the endpoint's task; their stored rows are older.
    let held = webhooks.pending(&id).await.unwrap_or_default();
    let held_seqs: HashSet<u64> = held.iter().map(|(seq, _)| *seq).collect();
    let mut found: Vec<(u64, Delivery)> = held
        .into_iter()
        .filter(|(seq, d)| *seq < before && wanted.is_none_or(|w| d.status == w))
        .collect();
    if wanted != Some(Status::Pending) {
        let mut scan = before;
        for _ in 0..STORED_PAGES_MAX {
            let page = webhooks.stored(&id, scan, limit)?;
            let Some((last, _)) = page.last() else { break };
            scan = *last;
            let short = page.len() < limit;
            found.extend(page.into_iter().filter(|(seq, d)| {
                !held_seqs.contains(seq) && wanted.is_none_or(|w| d.status == w)
            }));
            if short || found.len() >= limit {
                break;
            }
        }
    }
    found.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    let instance = webhooks.instance();
    let items: Vec<Value> = found
        .iter()
        .take(limit)
        .map(|(seq, d)| d.view(instance, *seq))
        .collect();
    Ok(Json(json!({ "deliveries": items })))
}

async fn retry(
    State(admin): State<Arc<Admin>>,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let seq = query::id(&delivery, "delivery")?;
    find(&admin.hub.live_config().await, &id)?;
    if !admin.hub.webhooks.retry(&id, seq).await? {
        return Err(ApiError::not_found(format!(
            "no delivery {seq} of webhook \"{id}\" to retry (or its event is gone)"
        )));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "retrying": seq.to_string() })),
    ))
}

async fn test(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let hook = find(&admin.hub.live_config().await, &id)?;
    let attempt = admin
        .hub
        .webhooks
        .test(&hook)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(json!({
        "delivered": attempt.status.is_some_and(|s| (200..300).contains(&s)),
        "status_code": attempt.status,
        "error": attempt.error,
        "latency_ms": attempt.latency_ms,
    })))
}
