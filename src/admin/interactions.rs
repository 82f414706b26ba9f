//! `/api/v1/contacts/{id}/interactions`, `/api/v1/interactions` (a segment) and
//! `/api/v1/contacts/{id}/dialogs`: the chat tracker's interaction log over HTTP. Bodies are
//! read strictly (an unknown field is a 400 naming it); refusals are the contacts API's.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::contacts::{bad, registry, Answer};
use super::query::{self, Body};
use super::Admin;
use crate::contacts::interactions::{self, PAGE_LIMIT_MAX};
use crate::contacts::search::{self, Ask, Filters, Viewer};
use crate::contacts::Kind;

/// Entries in one page unless asked otherwise.
const PAGE_LIMIT_DEFAULT: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    before: Option<String>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialogsParams {
    limit: Option<usize>,
}

/// A page size: [`PAGE_LIMIT_DEFAULT`] when absent, else 1 to [`PAGE_LIMIT_MAX`].
fn limit_of(limit: Option<usize>) -> Answer<usize> {
    let limit = limit.unwrap_or(PAGE_LIMIT_DEFAULT);
    if !(1..=PAGE_LIMIT_MAX).contains(&limit) {
        return Err(bad(format!(
            "query parameter `limit`: {limit} is not between 1 and {PAGE_LIMIT_MAX}"
        )));
    }
    Ok(limit)
}

/// `GET /contacts/{id}/interactions?before=&limit=`: newest first.
pub async fn list(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer<Json<Value>> {
    let id = query::id(&id, "contact")?;
    let params: PageParams = query::parse(raw.as_deref())?;
    let before = match params.before.as_deref() {
        None => None,
        Some(text) => Some(interactions::parse_cursor(text).ok_or_else(|| {
            bad("query parameter `before`: is a next_before value from an earlier page")
        })?),
    };
    let limit = limit_of(params.limit)?;
    let registry = registry(&admin)?;
    Ok(Json(json!(registry.interactions(
        id,
        &Viewer::Admin,
        before,
        limit
    )?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInteraction {
    kind: String,
    text: String,
    /// Who did it (an operator id, a name); `admin` when absent.
    author: Option<String>,
}

/// `POST /contacts/{id}/interactions {kind, text, author?}`: 201 with the entry.
pub async fn add(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Answer<(StatusCode, Json<Value>)> {
    let id = query::id(&id, "contact")?;
    let new: NewInteraction = strict(&body)?;
    let author = new.author.as_deref().unwrap_or("admin");
    let entry = registry(&admin)?
        .add_interaction(id, &new.kind, &new.text, author, &Viewer::Admin)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(entry))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Segment {
    q: Option<String>,
    /// `person` or `company` (`kind` is the interaction's).
    contact_kind: Option<Kind>,
    #[serde(rename = "type")]
    kind_type: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    responsible: Option<String>,
    updated_after: Option<u64>,
    kind: String,
    text: String,
    author: Option<String>,
}

/// `POST /interactions {q?, contact_kind?, type?, tags?, responsible?, updated_after?, kind,
/// text, author?}`: one entry for every contact the search finds; `{"recorded": n}`.
pub async fn segment(State(admin): State<Arc<Admin>>, Body(body): Body) -> Answer<Json<Value>> {
    let segment: Segment = strict(&body)?;
    let ask = Ask {
        filters: Filters {
            kind: segment.contact_kind,
            kind_type: segment.kind_type,
            tags: segment
                .tags
                .iter()
                .map(|t| crate::contacts::normalize::tag(t))
                .collect(),
            responsible: segment.responsible,
            updated_after: segment.updated_after,
        },
        viewer: Viewer::Admin,
        after: None,
        limit: search::PAGE_LIMIT_MAX,
    };
    let author = segment.author.as_deref().unwrap_or("admin");
    let recorded = registry(&admin)?
        .add_to_segment(
            segment.q.as_deref(),
            &ask,
            &segment.kind,
            &segment.text,
            author,
        )
        .await?;
    Ok(Json(json!({ "recorded": recorded })))
}

/// `GET /contacts/{id}/dialogs`: the contact's closed chats (with those of the ids merged into
/// it), newest first, each with its summary; at most `limit` (default 50, 1 to 200).
pub async fn dialogs(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer<Json<Value>> {
    let id = query::id(&id, "contact")?;
    let params: DialogsParams = query::parse(raw.as_deref())?;
    let registry = registry(&admin)?;
    let limit = limit_of(params.limit)?;
    let mut chats = Vec::new();
    let mut before = None;
    loop {
        let page = registry.interactions(id, &Viewer::Admin, before, PAGE_LIMIT_MAX)?;
        chats.extend(
            page.interactions
                .into_iter()
                .filter_map(|e| e.interaction.chat)
                .take(limit - chats.len().min(limit)),
        );
        match page
            .next_before
            .as_deref()
            .and_then(interactions::parse_cursor)
        {
            Some(cursor) if chats.len() < limit => before = Some(cursor),
            _ => break,
        }
    }
    Ok(Json(
        json!({ "contact_id": registry.resolve(id)?, "dialogs": chats }),
    ))
}

/// A JSON body read strictly; mistakes name the field.
fn strict<T: serde::de::DeserializeOwned>(body: &[u8]) -> Answer<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| bad(format!("{}: {}", e.path(), e.inner())))
}
