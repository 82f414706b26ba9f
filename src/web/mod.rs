//! The bundled web pages and what they read: `GET /widget.js` (the chat widget a site embeds
//! with one script tag), `GET /demo` (a host page with the widget), `GET /console` (the operator
//! console and supervisor board) and its files, all from `web/` compiled in (`assets`), and
//! the console's operator-authenticated reads (`console_api`). Must never: serve a file that is
//! not in `web/`, or accept the admin token from a browser.

pub mod assets;
mod console_api;

use crate::hub::Hub;
use assets::Caching;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::sync::Arc;

/// The page routes and the console's reads, ready to merge into the server's router.
pub fn routes(hub: Arc<Hub>) -> axum::Router {
    // Compress every file in the background now rather than on the first visitor's request.
    std::thread::spawn(assets::warm);
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/demo") }))
        .route("/widget.js", get(widget))
        .route("/demo", get(demo))
        .route("/demo.css", get(demo_css))
        .route("/console", get(console_index))
        .route("/console/", get(console_index))
        .route("/console/{file}", get(console_file))
        .route("/favicon.ico", get(favicon))
        .route("/api/v1/console/directory", get(console_api::directory))
        .route("/api/v1/console/board", get(console_api::board))
        .with_state(hub)
}

fn serve(path: &str, headers: &HeaderMap, caching: Caching) -> Response {
    match assets::get(path) {
        Some(asset) => assets::respond(asset, headers, caching),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": { "code": "not_found", "message": format!("no such file: {path}") }
            })),
        )
            .into_response(),
    }
}

async fn widget(headers: HeaderMap) -> Response {
    serve("widget.js", &headers, Caching::Short)
}

async fn demo(headers: HeaderMap) -> Response {
    serve("demo.html", &headers, Caching::Revalidate)
}

async fn demo_css(headers: HeaderMap) -> Response {
    serve("demo.css", &headers, Caching::Revalidate)
}

async fn console_index(headers: HeaderMap) -> Response {
    serve("console/index.html", &headers, Caching::Revalidate)
}

async fn console_file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    // One path segment, so `..` cannot leave the folder; the embedded map has nothing else.
    serve(&format!("console/{file}"), &headers, Caching::Revalidate)
}

async fn favicon(headers: HeaderMap) -> Response {
    serve("favicon.svg", &headers, Caching::Short)
}
