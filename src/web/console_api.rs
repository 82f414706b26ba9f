//! What the operator console reads over HTTP, behind an operator's own token
//! (`Authorization: Bearer <operator token>`; the admin token is never given to a browser):
//! `GET /api/v1/console/directory` (who I am, the lines and operators to transfer to) for every
//! operator, and `GET /api/v1/console/board` (queues, presence and load, KPI figures, open
//! dialogs with their routing decisions) for supervisors only. Must never: change anything.

use crate::admin::views::{DialogFilter, DialogView, StatsEntry};
use crate::admin::ApiError;
use crate::hub::login_guard::LoginRefused;
use crate::hub::Hub;
use crate::routing::{OpIdx, Presence, Workday};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Open dialogs on the board at most (the oldest first); beyond them the board says how many.
const BOARD_DIALOGS_MAX: usize = 200;

/// The operator whose token the request carries; wrong tokens count against the address.
fn operator(
    hub: &Hub,
    headers: &HeaderMap,
    source: Option<std::net::IpAddr>,
) -> Result<OpIdx, ApiError> {
    let now = hub.clock.now_ms();
    match hub
        .logins
        .attempt(source, now, || token_owner(hub, headers), |_| true)
    {
        Ok(op) => Ok(op),
        Err(LoginRefused::Blocked) => Err(ApiError::too_many_failed_logins()),
        Err(LoginRefused::Refused(e)) => Err(e),
    }
}

fn token_owner(hub: &Hub, headers: &HeaderMap) -> Result<OpIdx, ApiError> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let token = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing Authorization: Bearer <operator token>"))?
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            unauthorized("the Authorization header must be `Bearer <operator token>`")
        })?;
    hub.directory()
        .authenticate(token.trim())
        .ok_or_else(|| unauthorized("unknown operator token"))
}

#[derive(Serialize)]
pub struct Me {
    id: String,
    name: String,
    supervisor: bool,
}

#[derive(Serialize)]
pub struct LineEntry {
    id: String,
    name: String,
}

#[derive(Serialize)]
pub struct OperatorEntry {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    presence: &'static str,
}

#[derive(Serialize)]
pub struct DirectoryView {
    me: Me,
    lines: Vec<LineEntry>,
    operators: Vec<OperatorEntry>,
}

fn presence_name(p: Presence) -> &'static str {
    match p {
        Presence::Online => "online",
        Presence::Away => "away",
        Presence::Offline => "offline",
    }
}

fn workday_name(w: Workday) -> &'static str {
    match w {
        Workday::NotStarted => "not_started",
        Workday::Started => "working",
        Workday::Paused => "paused",
        Workday::Ended => "ended",
    }
}

/// `GET /api/v1/console/directory`.
pub async fn directory(
    State(hub): State<Arc<Hub>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<DirectoryView>, ApiError> {
    let me = operator(&hub, &headers, Some(peer.ip()))?;
    let dir = hub.directory();
    let info = &dir.operators[me.0 as usize];
    Ok(Json(DirectoryView {
        me: Me {
            id: info.id.to_string(),
            name: info.name.to_string(),
            supervisor: info.supervisor,
        },
        lines: dir
            .lines
            .iter()
            .filter(|l| !l.retired)
            .map(|l| LineEntry {
                id: l.id.to_string(),
                name: l.name.to_string(),
            })
            .collect(),
        operators: dir
            .operators
            .iter()
            .filter(|o| !o.bot)
            .map(|o| OperatorEntry {
                id: o.id.to_string(),
                name: o.name.to_string(),
                title: o.title.clone(),
                presence: presence_name(o.cell.state().presence),
            })
            .collect(),
    }))
}

#[derive(Serialize)]
pub struct BoardLine {
    name: String,
    /// Age of the oldest dialog still waiting (queued or on offer), 0 when none waits.
    oldest_wait_ms: u64,
    #[serde(flatten)]
    stats: StatsEntry,
}

#[derive(Serialize)]
pub struct BoardOperator {
    name: String,
    presence: &'static str,
    workday: &'static str,
    load: u32,
    capacity: u32,
    #[serde(flatten)]
    stats: StatsEntry,
}

#[derive(Serialize)]
pub struct Board {
    now_ts: u64,
    lines: Vec<BoardLine>,
    operators: Vec<BoardOperator>,
    /// Open dialogs, oldest first, with their routing decisions.
    dialogs: Vec<DialogView>,
    /// Open dialogs not listed (beyond the board's bound).
    dialogs_not_shown: usize,
}

/// `GET /api/v1/console/board` (supervisors).
pub async fn board(
    State(hub): State<Arc<Hub>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Board>, ApiError> {
    let me = operator(&hub, &headers, Some(peer.ip()))?;
    let dir = hub.directory();
    if !dir.operators[me.0 as usize].supervisor {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the board is for supervisors (operators with supervisor = true)",
        ));
    }
    let now = hub.clock.now_ms();
    let stats = hub.stats().await;
    let mut open = hub.open_dialogs(DialogFilter::default()).await;
    open.sort_unstable_by_key(|d| d.id);
    let mut oldest: HashMap<&str, i64> = HashMap::new();
    for d in open.iter().filter(|d| d.operator.is_none()) {
        let at = oldest.entry(d.line.as_str()).or_insert(d.created_ts);
        *at = (*at).min(d.created_ts);
    }
    let lines = stats
        .lines
        .into_iter()
        .filter_map(|stats| {
            let info = &dir.lines[dir.line_index.get(stats.id.as_str())?.0 as usize];
            let oldest_wait_ms = oldest
                .get(stats.id.as_str())
                .map_or(0, |at| now.saturating_sub(*at as u64));
            Some(BoardLine {
                name: info.name.to_string(),
                oldest_wait_ms,
                stats,
            })
        })
        .collect();
    let operators = stats
        .operators
        .into_iter()
        .filter_map(|stats| {
            let info = &dir.operators[dir.operator_index.get(stats.id.as_str())?.0 as usize];
            let state = info.cell.state();
            Some(BoardOperator {
                name: info.name.to_string(),
                presence: presence_name(state.presence),
                workday: workday_name(state.workday),
                load: state.load,
                capacity: state.capacity,
                stats,
            })
        })
        .collect();
    let dialogs_not_shown = open.len().saturating_sub(BOARD_DIALOGS_MAX);
    open.truncate(BOARD_DIALOGS_MAX);
    let mut dialogs = Vec::with_capacity(open.len());
    for view in open {
        // The decisions come with the single-dialog read; a dialog closed meanwhile is dropped.
        if let Ok(Some(full)) = hub.admin_dialog(view.id).await {
            dialogs.push(full);
        }
    }
    Ok(Json(Board {
        now_ts: now,
        lines,
        operators,
        dialogs,
        dialogs_not_shown,
    }))
}
