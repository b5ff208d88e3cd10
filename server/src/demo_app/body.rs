//! JSON request bodies of `/app/*`. They must say `Content-Type:
//! application/json`: a cross-site HTML form cannot send that, and a
//! cross-site `fetch` that does needs a CORS preflight the server never
//! grants — a second guard, after the SameSite=Strict cookie, against
//! cross-site request forgery.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest accepted `/app/*` request body.
pub const MAX_JSON_BYTES: usize = 4 * 1024;

/// Reads `body` as JSON of type `T`.
///
/// # Errors
/// [`ApiError::BadParam`] for another content type, malformed JSON or
/// missing fields; [`ApiError::BodyTooLarge`] over [`MAX_JSON_BYTES`].
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::BadParam(
            "Content-Type must be application/json".to_owned(),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_JSON_BYTES)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::BadParam("malformed JSON body".to_owned()))
}
