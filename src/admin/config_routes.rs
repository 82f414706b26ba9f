//! Lines, operators and quick-answer lists at run time: `GET /lines`, `GET/PUT/DELETE
//! /lines/{id}`, the same for `/operators`, and `GET/PUT /quick-answers/{list}`. Bodies use the
//! keys of the config file; a change is validated like the file, made durable, then applied to
//! live routing before the answer goes out. Operator tokens are never shown (only their hash).

use super::error::{ApiError, ApiResult};
use super::query::Body;
use super::Admin;
use crate::config::changes::Change;
use crate::config::{
    parse_line_body, parse_operator_body, parse_quick_answers_body, Config, LineConfig,
    OperatorConfig,
};
use crate::hub::live_config::ChangeFailure;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

impl From<ChangeFailure> for ApiError {
    fn from(failure: ChangeFailure) -> Self {
        match failure {
            ChangeFailure::Refused(e) => {
                let status = StatusCode::from_u16(e.kind.http_status())
                    .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                ApiError::new(status, e.kind.code(), e.to_string())
            }
            ChangeFailure::Store(error) => ApiError::internal(error.to_string()),
        }
    }
}

fn line_of(config: &Config, id: &str) -> ApiResult<LineConfig> {
    config
        .lines
        .iter()
        .find(|l| l.id == id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no line \"{id}\"")))
}

/// An operator as shown: the plain token (if the file has one) is never returned.
fn shown(op: &OperatorConfig) -> OperatorConfig {
    let mut op = op.clone();
    if let Some(token) = op.token.take() {
        op.token_sha256 = Some(
            crate::hub::sha256(&token)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        );
    }
    op
}

fn operator_of(config: &Config, id: &str) -> ApiResult<OperatorConfig> {
    config
        .operators
        .iter()
        .find(|o| o.id == id)
        .map(shown)
        .ok_or_else(|| ApiError::not_found(format!("no operator \"{id}\"")))
}

/// 201 when the change created the object, else 200.
fn created_or_ok(existed: bool) -> StatusCode {
    if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

pub async fn lines(State(admin): State<Arc<Admin>>) -> Json<Value> {
    let config = admin.hub.live_config().await;
    Json(json!({ "lines": config.lines }))
}

pub async fn line(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> ApiResult<Json<LineConfig>> {
    line_of(&admin.hub.live_config().await, &id).map(Json)
}

pub async fn put_line(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<LineConfig>)> {
    let line = parse_line_body(&id, &body).map_err(ChangeFailure::from)?;
    let existed = line_of(&admin.hub.live_config().await, &id).is_ok();
    let config = admin.hub.change(Change::PutLine(Box::new(line))).await?;
    Ok((created_or_ok(existed), Json(line_of(&config, &id)?)))
}

pub async fn delete_line(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admin
        .hub
        .change(Change::DeleteLine { id: id.clone() })
        .await?;
    Ok(Json(json!({ "deleted": id })))
}

pub async fn operators(State(admin): State<Arc<Admin>>) -> Json<Value> {
    let config = admin.hub.live_config().await;
    let shown: Vec<OperatorConfig> = config.operators.iter().map(shown).collect();
    Json(json!({ "operators": shown }))
}

pub async fn operator(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OperatorConfig>> {
    operator_of(&admin.hub.live_config().await, &id).map(Json)
}

pub async fn put_operator(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<OperatorConfig>)> {
    let op = parse_operator_body(&id, &body).map_err(ChangeFailure::from)?;
    let existed = operator_of(&admin.hub.live_config().await, &id).is_ok();
    let config = admin.hub.change(Change::PutOperator(Box::new(op))).await?;
    Ok((created_or_ok(existed), Json(operator_of(&config, &id)?)))
}

pub async fn delete_operator(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admin
        .hub
        .change(Change::DeleteOperator { id: id.clone() })
        .await?;
    Ok(Json(json!({ "deleted": id })))
}

/// A list's items now: the configured ones and what operators saved since the start.
fn quick_list(admin: &Admin, id: &str) -> Option<Value> {
    let all = admin.hub.quick_answers.lock();
    all.get(id).map(|items| json!({ "id": id, "items": items }))
}

pub async fn quick_answers(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    quick_list(&admin, &id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no quick-answer list \"{id}\"")))
}

pub async fn put_quick_answers(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let list = parse_quick_answers_body(&id, &body).map_err(ChangeFailure::from)?;
    let existed = quick_list(&admin, &id).is_some();
    admin.hub.change(Change::PutQuickAnswers(list)).await?;
    let shown = quick_list(&admin, &id)
        .ok_or_else(|| ApiError::internal(format!("list \"{id}\" vanished after the change")))?;
    Ok((created_or_ok(existed), Json(shown)))
}
