//! The admin API's bearer token: `Authorization: Bearer <token>`, whose SHA-256 is compared in
//! constant time with the configured one (`server.admin_token` or `server.admin_token_sha256`).
//! Without a configured token the admin API is closed.

use super::error::ApiError;
use crate::hub::directory::sha256;
use axum::http::{header, HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

/// The configured admin token, as a hash.
#[derive(Clone, Copy)]
pub struct AdminToken(Option<[u8; 32]>);

impl AdminToken {
    /// From `server.admin_token` (plain) or `server.admin_token_sha256` (64 hex digits).
    pub fn new(plain: Option<&str>, sha256_hex: Option<&str>) -> Self {
        let hash = plain
            .map(sha256)
            .or_else(|| sha256_hex.and_then(crate::hub::directory::parse_hex32));
        Self(hash)
    }

    /// Checks a request's `Authorization` header.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(expected) = &self.0 else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the admin API is disabled: set server.admin_token or server.admin_token_sha256",
            ));
        };
        let unauthorized = |message: &str| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                message.to_string(),
            )
        };
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <admin token>"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                unauthorized("the Authorization header must be `Bearer <admin token>`")
            })?;
        if bool::from(sha256(token.trim()).ct_eq(expected)) {
            Ok(())
        } else {
            Err(unauthorized("wrong admin token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        let token = AdminToken::new(Some("s3cret"), None);
        assert!(token.check(&with("Bearer s3cret")).is_ok());
        assert_eq!(
            token.check(&with("Bearer nope")).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            token.check(&with("s3cret")).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            token.check(&HeaderMap::new()).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        let hashed = AdminToken::new(None, Some(&hex(&sha256("s3cret"))));
        assert!(hashed.check(&with("Bearer s3cret")).is_ok());
        let closed = AdminToken::new(None, None);
        assert_eq!(
            closed.check(&with("Bearer s3cret")).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
