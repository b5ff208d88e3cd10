//! Shared set-up for the server-side fuzz targets: one tokio runtime and
//! one in-memory server (state + router) per fuzzing process, with a few
//! accounts whose tokens are known, so that inputs can log in.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::Request;
use clap::Parser;
use imlogin_protocol::checksum::checksum;
use imlogin_server::{AppState, Config};
use tower::ServiceExt;

/// The AppKey of the fuzzed server.
pub const APP_KEY: &str = "fuzzkey";
/// The AppSecret of the fuzzed server.
pub const APP_SECRET: &str = "fuzzsecret";
/// The accounts created at start: `ACCOUNTS[i]` has token `TOKENS[i]`.
pub const ACCOUNTS: [&str; 3] = ["fz0", "fz1", "fz2"];
/// The tokens of [`ACCOUNTS`].
pub const TOKENS: [&str; 3] = ["tok0", "tok1", "tok2"];

/// The runtime and server every input of one process shares.
pub struct Harness {
    /// A current-thread runtime: inputs run one at a time, in order.
    pub rt: tokio::runtime::Runtime,
    /// The server's shared state (in-memory SQLite).
    pub state: AppState,
    /// The full router over `state`.
    pub router: axum::Router,
}

/// The process-wide harness, created on first use.
pub fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let config = Config::parse_from([
            "imlogin-server",
            "--database-url",
            "sqlite::memory:",
            "--app-key",
            APP_KEY,
            "--app-secret",
            APP_SECRET,
            // Far above what one process can send, so that limits do not
            // hide the code behind them (their own tests cover them).
            "--login-rate-per-account",
            "1000000000",
            "--login-rate-per-ip",
            "1000000000",
            "--api-rate-per-app-key",
            "1000000000",
        ]);
        let addr: SocketAddr = ([127, 0, 0, 1], 1).into();
        let state = rt
            .block_on(AppState::new(config, addr))
            .expect("server state");
        let router = imlogin_server::router(&state);
        let h = Harness { rt, state, router };
        h.rt.block_on(async {
            for (accid, token) in ACCOUNTS.iter().zip(TOKENS) {
                let (status, body) = h
                    .call(signed(
                        "/nimserver/user/create.action",
                        &format!("accid={accid}&token={token}"),
                    ))
                    .await;
                assert_eq!(status, 200, "{body}");
            }
        });
        h
    })
}

impl Harness {
    /// Sends `req` through the router; the status and the body as text.
    pub async fn call(&self, req: Request<Body>) -> (u16, String) {
        let resp = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("a readable body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// A correctly signed form POST to `path` with a fresh nonce.
pub fn signed(path: &str, body: &str) -> Request<Body> {
    let nonce = fresh_nonce();
    let cur = now_secs().to_string();
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("AppKey", APP_KEY)
        .header("Nonce", &nonce)
        .header("CurTime", &cur)
        .header("CheckSum", checksum(APP_SECRET, &nonce, &cur))
        .body(Body::from(body.to_owned()))
        .expect("a valid request")
}

/// A nonce never used before in this process.
pub fn fresh_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("fresh-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The wall clock in unix seconds.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
