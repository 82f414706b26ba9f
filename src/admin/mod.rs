//! The admin HTTP API (`/api/v1`, PROTOCOL.md "Admin HTTP API") and `GET /metrics`.
//!
//! Every `/api/v1` request needs the bearer admin token (`auth`). Handlers read the hub
//! (`dialogs`, `stats`, `consents`) or change the live configuration (`config_routes`); parameters are read
//! strictly (`query`) and every refusal is `{"error": {"code", "message"}}` with a 4xx status
//! naming what was wrong (`error`). Nothing here touches routing state directly: reads are asked
//! of the shards, changes go through the hub.

mod auth;
mod config_routes;
mod consents;
mod contacts;
mod dialogs;
mod error;
mod interactions;
mod query;
pub mod read;
mod stats;
pub mod views;
mod webhooks;

use crate::config::ServerConfig;
use crate::hub::Hub;
use auth::AdminToken;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use std::sync::Arc;

use crate::hub::login_guard::LoginRefused;
pub use error::ApiError;

/// What admin handlers share.
pub struct Admin {
    pub hub: Arc<Hub>,
    /// The contact registry (`None`: contact routes answer 503).
    pub contacts: Option<Arc<crate::contacts::Registry>>,
    token: AdminToken,
}

/// The `/api/v1` routes and `/metrics`, ready to merge into the server's router.
pub fn routes(
    hub: Arc<Hub>,
    server: &ServerConfig,
    contacts: Option<Arc<crate::contacts::Registry>>,
) -> axum::Router {
    let admin = Arc::new(Admin {
        hub,
        contacts,
        token: AdminToken::new(
            server.admin_token.as_deref(),
            server.admin_token_sha256.as_deref(),
        ),
    });
    let api = axum::Router::new()
        .route("/dialogs", get(dialogs::list))
        .route("/dialogs/{id}", get(dialogs::one))
        .route("/dialogs/{id}/messages", get(dialogs::messages))
        .route("/stats", get(stats::stats))
        .route("/consents", get(consents::list))
        .route("/lines", get(config_routes::lines))
        .route(
            "/lines/{id}",
            get(config_routes::line)
                .put(config_routes::put_line)
                .delete(config_routes::delete_line),
        )
        .route("/operators", get(config_routes::operators))
        .route(
            "/operators/{id}",
            get(config_routes::operator)
                .put(config_routes::put_operator)
                .delete(config_routes::delete_operator),
        )
        .route(
            "/quick-answers/{id}",
            get(config_routes::quick_answers).put(config_routes::put_quick_answers),
        )
        .merge(contacts::router())
        .merge(webhooks::router())
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(admin.clone(), authorize))
        .with_state(admin.clone());
    axum::Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(stats::metrics))
        .with_state(admin)
}

async fn authorize(
    State(admin): State<Arc<Admin>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let checked = admin.hub.logins.attempt(
        peer_ip(&request),
        admin.hub.clock.now_ms(),
        || admin.token.check(request.headers()),
        // "No admin token configured" (403) is not a guess.
        |e| e.status == axum::http::StatusCode::UNAUTHORIZED,
    );
    match checked {
        Ok(()) => Ok(next.run(request).await),
        Err(LoginRefused::Blocked) => Err(ApiError::too_many_failed_logins()),
        Err(LoginRefused::Refused(e)) => Err(e),
    }
}

/// The address a request came from (set by the server's accept loop).
pub fn peer_ip<B>(request: &axum::http::Request<B>) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no such admin endpoint")
}
