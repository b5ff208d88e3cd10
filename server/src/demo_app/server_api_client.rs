//! The demo app server's client of the NIM server API: signed,
//! form-encoded POSTs over real HTTP — exactly what a customer's app server
//! sends to `/nimserver/...`, with the AppKey, a fresh Nonce, CurTime and
//! `CheckSum = sha1(AppSecret + Nonce + CurTime)`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use imlogin_protocol::checksum::checksum;
use serde_json::Value;

use crate::clock::now_secs;
use crate::error::ApiError;
use crate::secret::{random_hex, Secret};

/// How long one server API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A signed server API client for one app.
pub struct ServerApiClient {
    http: reqwest::Client,
    base: String,
    app_key: String,
    app_secret: Secret,
}

impl core::fmt::Debug for ServerApiClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerApiClient")
            .field("base", &self.base)
            .field("app_key", &self.app_key)
            .finish_non_exhaustive()
    }
}

fn internal(what: &str, e: impl core::fmt::Display) -> ApiError {
    ApiError::Internal(format!("server API {what}: {e}"))
}

/// `http://ADDR` for a server bound to `addr`, with an unspecified address
/// (`0.0.0.0`, `::`) replaced by loopback.
pub fn loopback_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

impl ServerApiClient {
    /// A client of the server API at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: String, app_key: String, app_secret: Secret) -> Self {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .unwrap_or_default();
        ServerApiClient {
            http,
            base,
            app_key,
            app_secret,
        }
    }

    /// `create.action` without a token (the IM server generates one):
    /// returns the created accid and its token.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when the call fails or answers another code
    /// (the code is logged; the token never is).
    pub async fn create_user(&self, accid: &str, name: &str) -> Result<(String, Secret), ApiError> {
        let v = self
            .post(
                "/nimserver/user/create.action",
                &[("accid", accid), ("name", name)],
            )
            .await?;
        let info = &v["info"];
        match (info["accid"].as_str(), info["token"].as_str()) {
            (Some(a), Some(t)) => Ok((a.to_owned(), Secret::new(t))),
            _ => Err(internal("create.action", "answer without accid/token")),
        }
    }

    async fn post(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, ApiError> {
        let nonce = random_hex(16).map_err(|e| internal(path, e))?;
        let cur_time = now_secs().to_string();
        let sum = checksum(self.app_secret.expose(), &nonce, &cur_time);
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("AppKey", &self.app_key)
            .header("Nonce", &nonce)
            .header("CurTime", &cur_time)
            .header("CheckSum", sum)
            .form(params)
            .send()
            .await
            .map_err(|e| internal(path, e))?;
        let body = response.bytes().await.map_err(|e| internal(path, e))?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| internal(path, e))?;
        match v["code"].as_u64() {
            Some(200) => Ok(v),
            code => Err(internal(path, format!("answered code {code:?}"))),
        }
    }
}
