//! Secrets stay secret: a full flow (create, login, refreshToken, kick,
//! login, update, logout, and the demo app's sign-up with a password and
//! a cookie) against the server binary logging JSON lines at TRACE leaves
//! the accid in the log, a request line for every call, and no token,
//! resume ticket, password, CheckSum or cookie; `Debug` of every type that
//! holds a token or a ticket redacts it; the database (and on SQLite its
//! files) holds token and ticket hashes only.

mod common;

use std::time::Duration;

use common::process::Proc;
use common::{APP_KEY, APP_SECRET, DEADLINE};
use imlogin::{Config, Credentials, LoginMachine, Status, StoredSession};
use imlogin_native::NativeClient;
use imlogin_protocol::{ClientFrame, ClientType, LoginFrame, LoginMode, ServerFrame};
use imlogin_server::secret::hash_token;
use sqlx::{Connection, PgConnection, Row, SqliteConnection};

const ACCID: &str = "secretive";
const FIRST: &str = "First-Token-0f1e2d3c4b5a";
const THIRD: &str = "Third-Token-a5b4c3d2e1f0";
const PASSWORD: &str = "Demo-Password-7e6d5c4b";
const NONCE: &str = "known-nonce-for-the-checksum";

fn client(url: &str, device: &str) -> NativeClient {
    NativeClient::spawn(Config::new(APP_KEY, device), url, 11)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn trace_logs_name_the_accid_but_never_a_token_and_the_database_holds_hashes_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let log = dir.path().join("server.log");
    let server = Proc::start_traced(&db, &["--log-format", "json", "--demo-app"], &log).await;
    let url = server.ws_url();

    let signed_at = common::now_secs();
    let v = server
        .api_with_nonce(
            "/nimserver/user/create.action",
            &[("accid", ACCID), ("token", FIRST)],
            NONCE,
        )
        .await;
    assert_eq!(v["code"], 200, "{v}");
    // Every CheckSum that request may have carried (CurTime is read in
    // the helper, a moment after `signed_at`).
    let checksums: Vec<String> = (signed_at.saturating_sub(2)..=signed_at + 5)
        .map(|t| imlogin_protocol::checksum::checksum(APP_SECRET, NONCE, &t.to_string()))
        .collect();

    // The demo app: a password in, a cookie out, an IM token out.
    let http = reqwest::Client::new();
    let app = |path: &str| format!("http://{}{path}", server.addr);
    let registered = http
        .post(app("/app/register"))
        .json(&serde_json::json!({ "username": "secret-keeper", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookie = registered.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let cookie_value = cookie.split_once('=').unwrap().1.to_owned();
    assert!(cookie_value.len() >= 16, "{cookie}");
    let im: serde_json::Value = http
        .post(app("/app/im"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let demo_token = im["token"].as_str().expect("an IM token").to_owned();
    let mut a = client(&url, "device-a");
    a.login(ACCID, FIRST, false).await.expect("login");

    // refreshToken: the new token travels in the response; `a` is kicked.
    let v = server
        .api("/nimserver/user/refreshToken.action", &[("accid", ACCID)])
        .await;
    let second = v["info"]["token"].as_str().expect("a new token").to_owned();
    assert!(a.wait_for(Status::LoggedOut, DEADLINE).await);

    let b = client(&url, "device-b");
    b.login(ACCID, &second, false)
        .await
        .expect("login with the new token");
    b.logout().await;
    let v = server
        .api(
            "/nimserver/user/update.action",
            &[("accid", ACCID), ("token", THIRD)],
        )
        .await;
    assert_eq!(v["code"], 200, "{v}");
    let c = client(&url, "device-c");
    c.login(ACCID, THIRD, false).await.expect("login");
    let err = client(&url, "device-d")
        .login(ACCID, FIRST, false)
        .await
        .expect_err("the old token");
    assert_eq!(err.code.as_u16(), 302);

    // A device-bound client: its login gets a ticket, and after a drop it
    // resumes with it.
    let options = imlogin_native::Options {
        device_binding: true,
        ..Default::default()
    };
    let mut e =
        NativeClient::spawn_with_options(Config::new(APP_KEY, "device-e"), &url, 12, options);
    e.login(ACCID, THIRD, true).await.expect("binding login");
    let ticket = e.device_ticket().expect("a ticket");
    server.post("/_test/drop").await;
    assert!(e.wait_for(Status::Waiting, DEADLINE).await);
    assert!(e.wait_for(Status::LoggedIn, DEADLINE * 2).await, "resumed");
    assert_eq!(e.device_ticket().as_deref(), Some(ticket.as_str()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate().await;

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(ACCID), "logging was on: {} bytes", text.len());
    assert!(
        text.contains("TRACE") || text.contains("DEBUG"),
        "verbose levels were on"
    );
    let mut secrets = vec![
        FIRST,
        second.as_str(),
        THIRD,
        APP_SECRET,
        PASSWORD,
        cookie_value.as_str(),
        demo_token.as_str(),
        ticket.as_str(),
    ];
    secrets.extend(checksums.iter().map(String::as_str));
    for secret in secrets {
        assert!(!text.contains(secret), "a secret is in the log");
        assert!(
            !text.contains(&hex(secret)),
            "a secret is in the log, in hex"
        );
    }
    // Every line is one JSON object; every call made a request line.
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "imlogin_server::request")
        .collect();
    for (method, route, code) in [
        ("POST", "/nimserver/user/create.action", 200),
        ("POST", "/nimserver/user/refreshToken.action", 200),
        ("POST", "/nimserver/user/update.action", 200),
        ("POST", "/app/register", 200),
        ("POST", "/app/im", 200),
    ] {
        let line = requests
            .iter()
            .find(|l| l["method"] == method && l["route"] == route)
            .unwrap_or_else(|| panic!("no request line for {method} {route}"));
        assert_eq!(line["status"], 200, "{line}");
        assert_eq!(line["code"], code, "{line}");
        assert!(line["latency_ms"].as_f64().is_some(), "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
    }

    let stored: String = if let Some(path) = db.strip_prefix("sqlite://") {
        // The file itself, WAL included: no token in any form we wrote.
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{path}{suffix}");
            if let Ok(bytes) = std::fs::read(&path) {
                let raw = String::from_utf8_lossy(&bytes);
                for token in [FIRST, second.as_str(), THIRD, ticket.as_str()] {
                    assert!(!raw.contains(token), "a token is stored in clear in {path}");
                }
            }
        }
        let mut conn = SqliteConnection::connect(&db).await.unwrap();
        sqlx::query("SELECT token_hash FROM accounts WHERE accid = ?1")
            .bind(ACCID)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0)
    } else {
        let mut conn = PgConnection::connect(&db).await.unwrap();
        // Every row of every table, as text: no token in clear.
        for table in [
            "accounts",
            "last_devices",
            "resumable_devices",
            "daily_logins",
            "apps",
            "app_users",
            "app_sessions",
            "device_tickets",
        ] {
            let sql = format!("SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t");
            let raw: String = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get(0);
            for token in [FIRST, second.as_str(), THIRD, ticket.as_str()] {
                assert!(
                    !raw.contains(token),
                    "a token is stored in clear in {table}"
                );
            }
        }
        sqlx::query("SELECT token_hash FROM accounts WHERE accid = $1")
            .bind(ACCID)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(stored, hash_token(THIRD), "the current token's SHA-256");
    assert_eq!(stored.len(), 64);
}

#[test]
fn debug_output_redacts_every_token() {
    let token = "Debug-Token-123456";
    let creds = Credentials::new("Alice", token).unwrap();
    let stored = StoredSession {
        credentials: creds.clone(),
        saved_at: 1,
    };
    let frame = LoginFrame {
        app_key: APP_KEY.into(),
        accid: "alice".into(),
        token: Some(token.into()),
        device_id: "d".into(),
        client_type: ClientType::Web,
        mode: LoginMode::Manual,
        force: false,
        custom_tag: None,
        sdk: "imlogin/test".into(),
        device_key: None,
        ticket: None,
        ts: None,
        nonce: None,
        sig: None,
    };
    let mut machine = LoginMachine::new(Config::new(APP_KEY, "d"), 1);
    let _ = machine.login(0.0, "alice", token, false);
    let secret = imlogin_server::Secret::new(token);
    let config = <imlogin_server::Config as clap::Parser>::parse_from([
        "imlogin-server",
        "--app-key",
        "k",
        "--app-secret",
        token,
    ]);
    let outputs = [
        format!("{creds:?}"),
        format!("{stored:?}"),
        format!("{frame:?}"),
        format!("{:?}", ClientFrame::Login(frame.clone())),
        format!("{machine:?}"),
        format!("{secret:?} {secret}"),
        format!("{config:?}"),
    ];
    for out in &outputs {
        assert!(!out.contains(token), "token in Debug output: {out}");
    }
    // A resume ticket, in the frames that carry it and the ticket record.
    let ticket = "Debug-Ticket-0123456789abcdefghijklmnopqrstu";
    let resume = LoginFrame {
        token: None,
        mode: LoginMode::Auto,
        ticket: Some(ticket.into()),
        ts: Some(1),
        nonce: Some("n".into()),
        sig: Some("s".into()),
        ..frame
    };
    let ok = ServerFrame::LoginOk {
        client_id: "c".into(),
        server_time: 1,
        heartbeat_ms: 1,
        clients: vec![],
        ticket: Some(ticket.to_owned().into()),
    };
    let record = imlogin_server::backend::TicketRecord {
        ticket_hash: imlogin_server::binding::hash_ticket(ticket),
        app_key: APP_KEY.into(),
        accid: "alice".into(),
        client_type: ClientType::Web,
        device_id: "d".into(),
        device_key: "k".into(),
        at_ms: 1,
        expired_before_ms: 0,
    };
    for out in [
        format!("{resume:?}"),
        format!("{:?}", resume.credential()),
        format!("{ok:?}"),
        format!("{record:?}"),
    ] {
        assert!(!out.contains(ticket), "ticket in Debug output: {out}");
        assert!(
            !out.contains(&imlogin_server::binding::hash_ticket(ticket)),
            "ticket hash in Debug output: {out}"
        );
    }
    assert!(
        outputs[0].contains("alice"),
        "the accid is shown: {}",
        outputs[0]
    );
}
