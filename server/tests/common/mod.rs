//! Shared harness for the server's integration tests: an in-process server
//! on port 0 with a fresh database (a temporary SQLite file, or with
//! `IMLOGIN_TEST_BACKEND=postgres` a new PostgreSQL database), a signed
//! server API client and a WebSocket link client.
#![allow(dead_code)]

pub mod process;
pub mod proxy;
pub mod tls;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use imlogin_protocol::checksum::checksum;
use imlogin_server::{serve, Config, ServerHandle};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous deadline for anything the server should do "at once".
pub const DEADLINE: Duration = Duration::from_secs(10);
pub const APP_KEY: &str = "testappkey";
pub const APP_SECRET: &str = "testappsecret";

static NONCE: AtomicU64 = AtomicU64::new(0);

pub fn fresh_nonce() -> String {
    let n = NONCE.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("n{t}x{n}")
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The environment variable that picks the tests' database backend:
/// `postgres`, or unset (or `sqlite`) for SQLite.
pub const BACKEND_VAR: &str = "IMLOGIN_TEST_BACKEND";
/// A superuser URL of the PostgreSQL server the tests may create databases
/// in; scripts/test.sh sets it (scripts/lib/postgres.sh).
pub const PG_ADMIN_VAR: &str = "IMLOGIN_TEST_PG_ADMIN_URL";

/// Whether this run's tests use PostgreSQL (`IMLOGIN_TEST_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var(BACKEND_VAR) {
        Ok(v) if v == "postgres" => true,
        Ok(v) if v.is_empty() || v == "sqlite" => false,
        Ok(v) => panic!("{BACKEND_VAR}={v}: expected `postgres` or `sqlite`"),
        Err(_) => false,
    }
}

/// A database URL for one test: a new SQLite file in `dir`, or with
/// `IMLOGIN_TEST_BACKEND=postgres` a new, empty PostgreSQL database.
pub async fn fresh_database_url(dir: &Path) -> String {
    if on_postgres() {
        fresh_pg_database_url().await
    } else {
        fresh_sqlite_url(dir)
    }
}

/// A new SQLite file URL in `dir`, whatever the backend (for tests that
/// are about SQLite itself).
pub fn fresh_sqlite_url(dir: &Path) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("sqlite://{}", dir.join(format!("test-{n}.db")).display())
}

/// A fresh PostgreSQL database for the tests that need one whatever the
/// backend (the two-node cluster tests); `None` — said on stderr — when no
/// PostgreSQL is configured and this is not CI (`scripts/test.sh` always
/// starts one; CI fails instead of skipping).
pub async fn pg_database_url_or_skip() -> Option<String> {
    if std::env::var(PG_ADMIN_VAR).is_err() && std::env::var("CI").is_err() {
        // Straight to stderr: `eprintln!` is captured, and shown only for
        // a failing test.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no {PG_ADMIN_VAR} (scripts/test.sh starts a throwaway PostgreSQL)"
        );
        return None;
    }
    Some(fresh_pg_database_url().await)
}

/// Creates a new, uniquely named PostgreSQL database through
/// `IMLOGIN_TEST_PG_ADMIN_URL` and returns its URL.
pub async fn fresh_pg_database_url() -> String {
    use sqlx::Connection;
    static N: AtomicU64 = AtomicU64::new(0);
    let admin = std::env::var(PG_ADMIN_VAR).unwrap_or_default();
    assert!(
        !admin.is_empty(),
        "{PG_ADMIN_VAR} is not set: this test needs PostgreSQL. Run it through \
         scripts/test.sh (its native and postgres suites start a throwaway \
         server), or set {PG_ADMIN_VAR}=postgres://USER@HOST:PORT/postgres \
         (a role that may CREATE DATABASE)"
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "imlogin_t{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = tokio::time::timeout(DEADLINE, sqlx::PgConnection::connect(&admin))
        .await
        .expect("PostgreSQL answers in time")
        .unwrap_or_else(|e| panic!("cannot connect to {PG_ADMIN_VAR}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = conn.close().await;
    with_database(&admin, &name)
}

/// `url` with its database (path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..end])
}

/// The configuration of a server on 127.0.0.1 (port 0) with the database
/// at `db`, the test AppKey and `flags` (the secret among them: the tests
/// choose how it is given).
pub fn config(db: &str, flags: &[&str]) -> Config {
    let mut args = vec![
        "imlogin-server",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        db,
        "--app-key",
        APP_KEY,
    ];
    args.extend_from_slice(flags);
    Config::try_parse_from(args).unwrap()
}

pub struct TestServer {
    pub handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub base: String,
    pub ws_url: String,
}

impl TestServer {
    /// Starts a server with test hooks, the test app credentials and a
    /// fresh database (see [`fresh_database_url`]), plus `extra` flags.
    pub async fn start(extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra).await
    }

    /// Like [`TestServer::start`], keeping `dir` (and a SQLite file in it).
    pub async fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> TestServer {
        let db = fresh_database_url(dir.path()).await;
        Self::start_with_database(dir, &db, extra).await
    }

    /// Like [`TestServer::start`], on the database at `db`.
    pub async fn start_with_database(
        dir: tempfile::TempDir,
        db: &str,
        extra: &[&str],
    ) -> TestServer {
        let mut flags = vec!["--app-secret", APP_SECRET, "--test-hooks"];
        flags.extend_from_slice(extra);
        let handle = serve(config(db, &flags)).await.unwrap();
        let addr = handle.local_addr();
        TestServer {
            handle: Some(handle),
            dir,
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
            ws_url: format!("ws://{addr}/link"),
        }
    }

    pub async fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }

    /// A signed server API call with correct headers.
    pub async fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let nonce = fresh_nonce();
        let cur = now_secs().to_string();
        let sum = checksum(APP_SECRET, &nonce, &cur);
        self.api_with(
            path,
            params,
            &[
                ("AppKey", APP_KEY),
                ("Nonce", &nonce),
                ("CurTime", &cur),
                ("CheckSum", &sum),
            ],
        )
        .await
    }

    /// A server API call with exactly these headers.
    pub async fn api_with(
        &self,
        path: &str,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Value {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(params);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = tokio::time::timeout(DEADLINE, req.send())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), 200, "NIM answers HTTP 200");
        resp.json().await.unwrap()
    }

    /// Creates an account through the server API and returns its token.
    pub async fn create(&self, accid: &str) -> String {
        let v = self
            .api("/nimserver/user/create.action", &[("accid", accid)])
            .await;
        assert_eq!(v["code"], 200, "{v}");
        v["info"]["token"].as_str().unwrap().to_owned()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = tokio::time::timeout(
            DEADLINE,
            self.http.get(format!("{}{path}", self.base)).send(),
        )
        .await
        .unwrap()
        .unwrap();
        resp.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str) -> Value {
        let resp = tokio::time::timeout(
            DEADLINE,
            self.http.post(format!("{}{path}", self.base)).send(),
        )
        .await
        .unwrap()
        .unwrap();
        resp.json().await.unwrap()
    }

    pub async fn connect(&self) -> Link {
        Link::connect(&self.ws_url).await
    }

    /// Connects and logs in; returns the link and the first frame.
    pub async fn login(
        &self,
        accid: &str,
        token: &str,
        device: &str,
        mode: &str,
        force: bool,
    ) -> (Link, Value) {
        let mut link = self.connect().await;
        link.send_json(login_frame(accid, token, device, mode, force))
            .await;
        let first = link.recv().await;
        (link, first)
    }

    /// Logs in and asserts `loginOk`.
    pub async fn login_ok(
        &self,
        accid: &str,
        token: &str,
        device: &str,
        mode: &str,
    ) -> (Link, Value) {
        let (link, v) = self.login(accid, token, device, mode, false).await;
        assert_eq!(v["t"], "loginOk", "{v}");
        (link, v)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Abandoned servers die with the test's runtime.
    }
}

pub fn login_frame(accid: &str, token: &str, device: &str, mode: &str, force: bool) -> Value {
    json!({
        "t": "login", "appKey": APP_KEY, "accid": accid, "token": token,
        "deviceId": device, "clientType": "web", "mode": mode, "force": force,
        "sdk": "imlogin/test"
    })
}

pub struct Link {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What ended a read: a text frame or a close.
#[derive(Debug)]
pub enum Got {
    Text(Value),
    Closed(Option<u16>),
}

impl Link {
    pub async fn connect(url: &str) -> Link {
        let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        Link { ws }
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, s: &str) {
        self.ws.send(Message::text(s.to_owned())).await.unwrap();
    }

    pub async fn send_binary(&mut self, b: &[u8]) {
        self.ws.send(Message::binary(b.to_vec())).await.unwrap();
    }

    /// Sends a text frame whose payload is not UTF-8.
    pub async fn send_invalid_utf8(&mut self) {
        let frame = Frame::message(vec![0xff, 0xfe, 0xfd], OpCode::Data(Data::Text), true);
        self.ws.send(Message::Frame(frame)).await.unwrap();
    }

    /// The next text frame or close, skipping pings and pongs.
    pub async fn next(&mut self) -> Got {
        tokio::time::timeout(DEADLINE, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        return Got::Text(serde_json::from_str(t.as_str()).unwrap())
                    }
                    Some(Ok(Message::Close(f))) => {
                        return Got::Closed(f.map(|f| u16::from(f.code)))
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return Got::Closed(None),
                }
            }
        })
        .await
        .expect("the server answered within the deadline")
    }

    /// The next text frame; panics on a close.
    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Got::Text(v) => v,
            Got::Closed(c) => panic!("expected a frame, got close {c:?}"),
        }
    }

    /// The close code, asserting that no text frame comes first.
    pub async fn expect_close(&mut self) -> Option<u16> {
        match self.next().await {
            Got::Closed(c) => c,
            Got::Text(v) => panic!("expected a close, got {v}"),
        }
    }

    /// Expects `kicked{reason}` followed by close 1000.
    pub async fn expect_kicked(&mut self, reason: &str) {
        let v = self.recv().await;
        self.kicked_then_closed(v, reason).await;
    }

    /// Like [`Link::expect_kicked`], letting `clients` frames come first:
    /// between nodes, a list update travels apart from the kick.
    pub async fn expect_kicked_after_clients(&mut self, reason: &str) {
        let mut v = self.recv().await;
        while v["t"] == "clients" {
            v = self.recv().await;
        }
        self.kicked_then_closed(v, reason).await;
    }

    async fn kicked_then_closed(&mut self, v: Value, reason: &str) {
        assert_eq!(v["t"], "kicked", "{v}");
        assert_eq!(v["reason"], reason, "{v}");
        assert_eq!(self.expect_close().await, Some(1000));
    }

    /// Expects `loginErr{code}` followed by close 1000.
    pub async fn expect_login_err(first: Value, link: &mut Link, code: u16) {
        assert_eq!(first["t"], "loginErr", "{first}");
        assert_eq!(first["code"], code, "{first}");
        assert_eq!(link.expect_close().await, Some(1000));
    }

    /// Sends ping and reads up to the pong, letting only `clients` frames
    /// (other sessions of the account coming and going) come first; proves
    /// that the session is live and was not kicked.
    pub async fn alive(&mut self) {
        self.send_json(json!({"t":"ping"})).await;
        loop {
            match self.next().await {
                Got::Text(v) if v["t"] == "pong" => return,
                Got::Text(v) if v["t"] == "clients" => continue,
                other => panic!("expected a pong, got {other:?}"),
            }
        }
    }

    /// Sends ping, expects pong (proves the socket is live and in order).
    pub async fn ping_pong(&mut self) {
        self.send_json(json!({"t":"ping"})).await;
        let v = self.recv().await;
        assert_eq!(v["t"], "pong", "{v}");
    }
}
