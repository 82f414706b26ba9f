//! Reading requests of the admin API strictly: a query string into a typed struct (unknown or
//! malformed parameters are a 400 naming the parameter), numeric path ids, and bodies (an
//! unreadable or oversized body is a JSON error too).

use super::error::ApiError;
use crate::config::bounds::{ADMIN_PAGE_DEFAULT, ADMIN_PAGE_MAX};
use serde::de::DeserializeOwned;

/// Parses a query string (`None` = no query) into `T`.
pub fn parse<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    let raw = query.unwrap_or("");
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        if at == "." || at.is_empty() {
            ApiError::bad_request(format!("query: {}", e.inner()))
        } else {
            ApiError::bad_request(format!("query parameter `{at}`: {}", e.inner()))
        }
    })
}

/// A page's `limit` parameter: absent means the default, anything outside 1..=1000 is a 400.
pub fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(ADMIN_PAGE_DEFAULT),
        Some(n @ 1..=ADMIN_PAGE_MAX) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!(
            "query parameter `limit`: {n} is not between 1 and {ADMIN_PAGE_MAX}"
        ))),
    }
}

/// Parses a numeric id from the path.
pub fn id(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("{what} id `{text}` is not a number")))
}

/// A request body as bytes; a body that cannot be read (e.g. over the size limit) is an
/// [`ApiError`] with the fitting status, in JSON like every other refusal.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::body::Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(|e| {
                let code = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                };
                ApiError::new(e.status(), code, format!("request body: {}", e.body_text()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Q {
        limit: Option<usize>,
        line: Option<String>,
    }

    #[test]
    fn parameters_parse_and_mistakes_name_the_parameter() {
        let q: Q = parse(Some("limit=5&line=support")).unwrap();
        assert_eq!(
            q,
            Q {
                limit: Some(5),
                line: Some("support".into())
            }
        );
        let q: Q = parse(None).unwrap();
        assert_eq!(
            q,
            Q {
                limit: None,
                line: None
            }
        );
        let e = parse::<Q>(Some("limit=five")).unwrap_err();
        assert!(e.message.contains("`limit`"), "{}", e.message);
        let e = parse::<Q>(Some("colour=red")).unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        assert!(id("12", "dialog").is_ok());
        assert!(id("x", "dialog").unwrap_err().message.contains("`x`"));
    }
}
