//! `GET /api/v1/stats` (per line and per operator: dialogs by state, queue length, KPI histogram
//! summaries in ms, unanswered, ratings) and `GET /metrics` (the same and the server's own
//! counters and latency histograms, in the Prometheus text format).

use super::error::{ApiError, ApiResult};
use super::Admin;
use crate::admin::views::StatsView;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

pub async fn stats(State(admin): State<Arc<Admin>>) -> ApiResult<Json<StatsView>> {
    Ok(Json(admin.hub.stats().await))
}

pub async fn metrics(State(admin): State<Arc<Admin>>) -> Result<Response, ApiError> {
    let text = admin
        .hub
        .metrics_text()
        .await
        .map_err(|e| ApiError::internal(format!("cannot render metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            crate::metrics::prometheus::CONTENT_TYPE,
        )],
        text,
    )
        .into_response())
}
