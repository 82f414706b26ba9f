//! `/api/v1/contacts...`: the contact registry over HTTP (PROTOCOL.md "Contacts";
//! docs/contacts.md). Handlers read parameters strictly (an unknown or malformed one is a 400
//! naming it), call the registry and shape its answers; every refusal is the API's error shape,
//! with `merged_into` added when an id was merged and `version` on a `conflict`.
//!
//! The admin token sees every contact; restricted access applies to operators (their frames).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::query::{self, Body};
use super::Admin;
use crate::contacts::bulk;
use crate::contacts::search::{self, Ask, Cursor, Filters, Viewer};
use crate::contacts::{photo, Contact, ContactError, ContactInput, Kind, Registry};

/// A refusal as an HTTP answer: the registry's, or one of the API's own.
pub enum Refusal {
    Contact(ContactError),
    Api(ApiError),
}

impl From<ContactError> for Refusal {
    fn from(e: ContactError) -> Self {
        Refusal::Contact(e)
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let error = match self {
            Refusal::Api(e) => return e.into_response(),
            Refusal::Contact(e) => e,
        };
        let (status, code, extra) = status_of(&error);
        let mut body = json!({ "code": code, "message": error.to_string() });
        if let Some((key, value)) = extra {
            body[key] = value;
        }
        (status, Json(json!({ "error": body }))).into_response()
    }
}

/// The status, code and extra error field of a registry refusal.
fn status_of(error: &ContactError) -> (StatusCode, &'static str, Option<(&'static str, Value)>) {
    match error {
        ContactError::Invalid(_) | ContactError::Query(_) => {
            (StatusCode::BAD_REQUEST, "bad_request", None)
        }
        ContactError::NotFound(_) | ContactError::Deleted(_) => {
            (StatusCode::NOT_FOUND, "not_found", None)
        }
        ContactError::Merged { into, .. } => (
            StatusCode::NOT_FOUND,
            "merged",
            Some(("merged_into", json!(into))),
        ),
        ContactError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
        ContactError::Conflict { current, .. } => (
            StatusCode::CONFLICT,
            "conflict",
            Some(("version", json!(current))),
        ),
        ContactError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", None),
        ContactError::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported", None),
        ContactError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
        ContactError::Index(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
    }
}

pub(super) type Answer<T> = Result<T, Refusal>;

/// Runs `work` (a read over the whole registry) on a blocking thread.
async fn off_worker<T: Send + 'static>(
    admin: &Arc<Admin>,
    work: impl FnOnce(&Registry) -> Result<T, ContactError> + Send + 'static,
) -> Result<T, Refusal> {
    registry(admin)?;
    let admin = Arc::clone(admin);
    match tokio::task::spawn_blocking(move || work(registry(&admin)?).map_err(Refusal::from)).await
    {
        Ok(result) => result,
        Err(e) => Err(ContactError::Unsupported(format!("the read stopped: {e}")).into()),
    }
}

pub(super) fn registry(admin: &Admin) -> Result<&Registry, Refusal> {
    admin.contacts.as_deref().ok_or_else(|| {
        Refusal::from(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the contact registry is not running",
        ))
    })
}

pub(super) fn bad(message: impl Into<String>) -> Refusal {
    ApiError::bad_request(message).into()
}

/// The list parameters: `q`, `kind`, `type`, `tag` (repeatable), `responsible`,
/// `updated_after`, `after`, `limit`.
fn list_params(raw: Option<&str>) -> Answer<(Option<String>, Ask)> {
    let mut q = None;
    let mut filters = Filters::default();
    let mut after = None;
    let mut limit = None;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let named = |reason: &str| bad(format!("query parameter `{key}`: {reason}"));
        match key.as_ref() {
            "q" => q = Some(value.into_owned()),
            "kind" => {
                filters.kind = Some(match value.as_ref() {
                    "person" => Kind::Person,
                    "company" => Kind::Company,
                    _ => return Err(named("is \"person\" or \"company\"")),
                })
            }
            "type" => filters.kind_type = Some(value.into_owned()),
            "tag" => filters.tags.push(crate::contacts::normalize::tag(&value)),
            "responsible" => filters.responsible = Some(value.into_owned()),
            "updated_after" => {
                filters.updated_after =
                    Some(value.parse().map_err(|_| named("is a time in Unix ms"))?)
            }
            "after" => {
                after = Some(
                    Cursor::parse(&value)
                        .ok_or_else(|| named("is a next_after value from an earlier page"))?,
                )
            }
            "limit" => {
                let n: usize = value.parse().map_err(|_| named("is a number"))?;
                if !(1..=search::PAGE_LIMIT_MAX).contains(&n) {
                    return Err(named(&format!(
                        "{n} is not between 1 and {}",
                        search::PAGE_LIMIT_MAX
                    )));
                }
                limit = Some(n);
            }
            _ => return Err(bad(format!("query parameter `{key}` is not known"))),
        }
    }
    let ask = Ask {
        filters,
        viewer: Viewer::Admin,
        after,
        limit: limit.unwrap_or(search::PAGE_LIMIT_DEFAULT),
    };
    Ok((q, ask))
}

/// `GET /contacts`.
pub async fn list(State(admin): State<Arc<Admin>>, RawQuery(raw): RawQuery) -> Answer<Json<Value>> {
    let registry = registry(&admin)?;
    let (q, ask) = list_params(raw.as_deref())?;
    let page = registry.search(q.as_deref(), &ask).await?;
    let mut body = json!({ "contacts": page.contacts });
    if let Some(next) = page.next_after {
        body["next_after"] = json!(next);
    }
    Ok(Json(body))
}

/// A body as a [`ContactInput`]; mistakes name the field.
fn input_of(body: &[u8]) -> Answer<ContactInput> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        if at == "." || at.is_empty() {
            bad(format!("body: {}", e.inner()))
        } else {
            bad(format!("{at}: {}", e.inner()))
        }
    })
}

fn with_warnings(contact: &Contact, warnings: Vec<String>) -> Json<Value> {
    let mut body = json!(contact);
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    Json(body)
}

/// `POST /contacts`.
pub async fn create(
    State(admin): State<Arc<Admin>>,
    Body(body): Body,
) -> Answer<(StatusCode, Json<Value>)> {
    let registry = registry(&admin)?;
    let input = input_of(&body)?;
    if input.version.is_some() {
        return Err(bad("version: a new contact has none"));
    }
    let (contact, warnings) = registry.create(&input, "manual").await?;
    Ok((StatusCode::CREATED, with_warnings(&contact, warnings)))
}

/// `GET /contacts/{id}`.
pub async fn one(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Answer<Json<Contact>> {
    let id = query::id(&id, "contact")?;
    Ok(Json(registry(&admin)?.get(id, &Viewer::Admin)?))
}

/// `PATCH /contacts/{id}`.
pub async fn patch(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Answer<Json<Value>> {
    let id = query::id(&id, "contact")?;
    let input = input_of(&body)?;
    let (contact, warnings) = registry(&admin)?.update(id, &input, &Viewer::Admin).await?;
    Ok(with_warnings(&contact, warnings))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteParams {
    #[serde(default)]
    erase: bool,
}

/// `DELETE /contacts/{id}[?erase=true]`: irreversible.
pub async fn delete(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer<Json<Value>> {
    let id = query::id(&id, "contact")?;
    let params: DeleteParams = query::parse(raw.as_deref())?;
    let erased_chats = registry(&admin)?.delete(id, params.erase).await?;
    Ok(Json(json!({
        "deleted": id,
        "erased": params.erase,
        "erased_chats": erased_chats,
        "irreversible": true,
        "note": "the contact is gone for good; its id will not be used again",
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    from: Vec<u64>,
}

/// `POST /contacts/{id}/merge {"from": [ids]}`.
pub async fn merge(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Answer<Json<Contact>> {
    let id = query::id(&id, "contact")?;
    let mut de = serde_json::Deserializer::from_slice(&body);
    let body: MergeBody = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| bad(format!("{}: {}", e.path(), e.inner())))?;
    Ok(Json(registry(&admin)?.merge(id, &body.from).await?))
}

/// `GET /contacts/tags`: `{"tags": [{"tag", "count"}]}` by tag.
pub async fn tags(State(admin): State<Arc<Admin>>) -> Answer<Json<Value>> {
    let tags: Vec<Value> = registry(&admin)?
        .tags()
        .into_iter()
        .map(|(tag, count)| json!({ "tag": tag, "count": count }))
        .collect();
    Ok(Json(json!({ "tags": tags })))
}

/// `GET /contacts/duplicates`.
pub async fn duplicates(State(admin): State<Arc<Admin>>) -> Answer<Json<Value>> {
    let groups = off_worker(&admin, |registry| registry.duplicates()).await?;
    Ok(Json(json!({ "groups": groups })))
}

/// `PUT /contacts/{id}/photo` (JPEG or PNG body, at most 1 MB).
pub async fn put_photo(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Answer<Json<Contact>> {
    let id = query::id(&id, "contact")?;
    let registry = registry(&admin)?;
    registry.get(id, &Viewer::Admin)?;
    let png = tokio::task::spawn_blocking(move || photo::prepare(&body))
        .await
        .map_err(|e| ApiError::internal(format!("photo: {e}")))??;
    Ok(Json(registry.set_photo(id, png).await?))
}

/// `GET /contacts/{id}/photo` (PNG).
pub async fn get_photo(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> Answer<Response> {
    let id = query::id(&id, "contact")?;
    match registry(&admin)?.photo(id, &Viewer::Admin)? {
        Some(png) => Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response()),
        None => Err(ApiError::not_found(format!("contact {id} has no photo")).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkParams {
    format: Option<String>,
    #[serde(default)]
    all_or_nothing: bool,
}

fn csv_format(format: Option<&str>) -> Answer<bool> {
    match format {
        None | Some("jsonl") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(bad(format!(
            "query parameter `format`: \"{other}\" is not \"csv\" or \"jsonl\""
        ))),
    }
}

/// `POST /contacts/import?format=csv|jsonl[&all_or_nothing=true]`.
pub async fn import(
    State(admin): State<Arc<Admin>>,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> Answer<Response> {
    let params: BulkParams = query::parse(raw.as_deref())?;
    let csv = csv_format(params.format.as_deref())?;
    let text = std::str::from_utf8(&body).map_err(|e| bad(format!("body: not UTF-8 text: {e}")))?;
    let rows = if csv {
        bulk::parse_csv(text)
    } else {
        bulk::parse_jsonl(text)
    }
    .map_err(|reason| bad(format!("body: {reason}")))?;
    let report = registry(&admin)?
        .import(rows, params.all_or_nothing)
        .await?;
    let status = if params.all_or_nothing && !report.errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!(report))).into_response())
}

/// `GET /contacts/export?format=csv|jsonl`.
pub async fn export(State(admin): State<Arc<Admin>>, RawQuery(raw): RawQuery) -> Answer<Response> {
    let params: BulkParams = query::parse(raw.as_deref())?;
    let csv = csv_format(params.format.as_deref())?;
    let bytes = off_worker(&admin, move |registry| registry.export(csv)).await?;
    let content_type = if csv {
        "text/csv"
    } else {
        "application/x-ndjson"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// The contact routes, merged into `/api/v1` behind the admin token.
pub fn router() -> axum::Router<Arc<Admin>> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/tags", get(tags))
        .route("/contacts/duplicates", get(duplicates))
        .route("/contacts/export", get(export))
        .route(
            "/contacts/import",
            post(import).layer(DefaultBodyLimit::max(bulk::IMPORT_BYTES_MAX)),
        )
        .route("/contacts/{id}", get(one).patch(patch).delete(delete))
        .route("/contacts/{id}/merge", post(merge))
        .route(
            "/contacts/{id}/interactions",
            get(super::interactions::list).post(super::interactions::add),
        )
        .route("/contacts/{id}/dialogs", get(super::interactions::dialogs))
        .route("/interactions", post(super::interactions::segment))
        .route(
            "/contacts/{id}/photo",
            get(get_photo)
                .put(put_photo)
                .layer(DefaultBodyLimit::max(8 * photo::PHOTO_BYTES_MAX)),
        )
}
