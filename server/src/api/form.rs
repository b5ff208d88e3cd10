//! Form-encoded request bodies: read with the 64 KiB limit, parsed into
//! named parameters.

use axum::body::Body;
use axum::http::{header, HeaderMap};

use crate::error::ApiError;

/// The largest accepted request body; larger → 414.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refuses a body declared as anything but
/// `application/x-www-form-urlencoded` (parameters such as `charset`
/// allowed). A request without `Content-Type` is read as a form, as NIM
/// does.
///
/// # Errors
/// [`ApiError::BadParam`] (414) for another or an unreadable content type.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case("application/x-www-form-urlencoded") => Ok(()),
        _ => Err(ApiError::BadParam(
            "Content-Type must be application/x-www-form-urlencoded".to_owned(),
        )),
    }
}

/// The parameters of a form-encoded body (first occurrence wins).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads and parses `body`.
    ///
    /// # Errors
    /// [`ApiError::BodyTooLarge`] over 64 KiB; [`ApiError::BadParam`] for a
    /// body that is not `application/x-www-form-urlencoded` UTF-8.
    pub async fn read(body: Body) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::BodyTooLarge)?;
        Self::parse(&bytes)
    }

    /// Parses a form-encoded byte string.
    ///
    /// # Errors
    /// [`ApiError::BadParam`] when it is not valid form encoding.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
            .map(Params)
            .map_err(|_| ApiError::BadParam("malformed form body".to_owned()))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a required parameter.
    ///
    /// # Errors
    /// [`ApiError::BadParam`] when it is absent.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::BadParam(format!("parameter {name} is required")))
    }

    /// A boolean parameter (`true`/`false`), `default` when absent.
    ///
    /// # Errors
    /// [`ApiError::BadParam`] for any other value.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(ApiError::BadParam(format!(
                "parameter {name} must be true or false"
            ))),
        }
    }
}
