//! Signed server API requests: the `AppKey`, `Nonce`, `CurTime` and
//! `CheckSum` headers checked against the app's secret and the Nonce
//! window, the AppKey's rate limit charged, and the form body read — all
//! by the [`Signed`] extractor, for the server API and the console alike.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::HeaderMap;
use imlogin_protocol::checksum::verify_checksum;

use super::form::{check_content_type, Params};
use crate::backend::NonceWindow;
use crate::clock::now_secs;
use crate::error::ApiError;
use crate::rate::{RateGate, Refused};
use crate::secret::Secret;

/// How far `CurTime` may be from the server's clock, in seconds.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// The longest accepted Nonce, in characters.
pub const NONCE_MAX: usize = 128;

/// What checks a signed request: the app's credentials, the Nonce window
/// and the AppKey's rate limit.
#[derive(Debug)]
pub struct Gate {
    /// The app's AppKey.
    pub app_key: String,
    /// The app's AppSecret.
    pub app_secret: Secret,
    /// Nonces seen within the replay window.
    pub nonces: Arc<NonceWindow>,
    /// The server API's rate limit (per AppKey).
    pub rate: Arc<RateGate>,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized("missing or non-ASCII auth header"))
}

impl Gate {
    /// Checks a request's signature headers at `now` (unix seconds). Every
    /// failure of the request is [`ApiError::Unauthorized`] (403); a Nonce
    /// window that cannot be consulted (the shared one's database) is
    /// [`ApiError::Store`] (500, retryable).
    ///
    /// # Errors
    /// As above.
    pub async fn verify(&self, headers: &HeaderMap, now: u64) -> Result<(), ApiError> {
        let app_key = header(headers, "appkey")?;
        let nonce = header(headers, "nonce")?;
        let cur_time = header(headers, "curtime")?;
        let check_sum = header(headers, "checksum")?;
        if app_key != self.app_key {
            return Err(ApiError::Unauthorized("unknown AppKey"));
        }
        let nonce_len = nonce.chars().count();
        if nonce_len == 0 || nonce_len > NONCE_MAX {
            return Err(ApiError::Unauthorized("Nonce length out of 1-128"));
        }
        let Some(t) = (!cur_time.is_empty() && cur_time.bytes().all(|b| b.is_ascii_digit()))
            .then(|| cur_time.parse::<u64>().ok())
            .flatten()
        else {
            return Err(ApiError::Unauthorized("CurTime is not a number"));
        };
        if t.abs_diff(now) > MAX_CLOCK_SKEW_SECS {
            return Err(ApiError::Unauthorized(
                "CurTime too far from the server's clock",
            ));
        }
        if !verify_checksum(self.app_secret.expose(), nonce, cur_time, check_sum) {
            return Err(ApiError::Unauthorized("bad CheckSum"));
        }
        // Only a correctly signed request may use up a nonce.
        if !self.nonces.check_and_insert(nonce, now).await? {
            return Err(ApiError::Unauthorized("Nonce reused"));
        }
        Ok(())
    }

    /// Charges the AppKey's rate limit (416 when spent).
    ///
    /// # Errors
    /// [`ApiError::RateLimited`]; [`ApiError::Store`] when the shared
    /// buckets cannot be asked (fail closed: a limit that cannot be
    /// checked is not skipped).
    pub async fn charge(&self) -> Result<(), ApiError> {
        match self.rate.check_api(&self.app_key, Instant::now()).await {
            Ok(()) => Ok(()),
            Err(Refused::RetryAfter(retry_after)) => {
                tracing::info!(
                    retry_after_ms = retry_after.as_millis(),
                    "server API rate limited"
                );
                Err(ApiError::RateLimited)
            }
            Err(Refused::Store(e)) => Err(ApiError::Store(e)),
        }
    }
}

/// The form parameters of a request that was correctly signed (403
/// otherwise), within the AppKey's rate limit (416), and form-encoded
/// (414): the extractor of every server API and console route.
#[derive(Debug)]
pub struct Signed(pub Params);

impl<S> FromRequest<S> for Signed
where
    S: Send + Sync,
    Arc<Gate>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let gate = Arc::<Gate>::from_ref(state);
        let (parts, body) = req.into_parts();
        gate.verify(&parts.headers, now_secs()).await?;
        gate.charge().await?;
        check_content_type(&parts.headers)?;
        Ok(Signed(Params::read(body).await?))
    }
}
