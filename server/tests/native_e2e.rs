//! The login machine (the browser package's core) driven natively over a
//! real WebSocket against the real server binary: it logs in, the server
//! dies or restarts on the same port and database, and the machine logs in
//! again by itself, in auto mode, without the app doing anything.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use imlogin::{BackoffConfig, Config, Status};
use imlogin_native::NativeClient;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const APP_KEY: &str = "native-e2e-key";
const APP_SECRET: &str = "native-e2e-secret";
const DEADLINE: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    addr: String,
}

async fn start(db: &Path, bind: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imlogin-server"))
        .args([
            "--bind",
            bind,
            "--app-key",
            APP_KEY,
            "--app-secret",
            APP_SECRET,
            "--test-hooks",
        ])
        .arg("--database-url")
        .arg(format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("server binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("server prints its address in time")
        .expect("stdout readable")
        .expect("a first line");
    let addr = line
        .strip_prefix("listening on http://")
        .expect("listening line")
        .to_owned();
    Server { child, addr }
}

async fn post(addr: &str, path: &str) -> Value {
    reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

async fn sessions(addr: &str, accid: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("http://{addr}/_test/sessions?accid={accid}"))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    v["sessions"].as_array().cloned().unwrap_or_default()
}

fn client(addr: &str, device: &str) -> NativeClient {
    let mut config = Config::new(APP_KEY, device);
    // Short backoff keeps the test quick; the behaviour is the same.
    config.backoff = BackoffConfig {
        initial_ms: 200.0,
        max_ms: 1_000.0,
    };
    NativeClient::spawn(config, &format!("ws://{addr}/link"), 42)
}

async fn wait_for_auto_session(addr: &str, accid: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let list = sessions(addr, accid).await;
        if let Some(s) = list.first() {
            return s.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no session came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn machine_logs_in_again_by_itself_after_the_server_is_killed_and_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let mut server = start(&db, "127.0.0.1:0").await;
    let addr = server.addr.clone();
    let account = post(&addr, "/_test/accounts").await;
    let (accid, token) = (
        account["accid"].as_str().unwrap(),
        account["token"].as_str().unwrap(),
    );

    let mut c = client(&addr, "native-device-1");
    c.login(accid, token, false).await.expect("manual login");
    assert_eq!(c.status(), Status::LoggedIn);
    assert_eq!(wait_for_auto_session(&addr, accid).await["mode"], "manual");

    // Kill -9: no close frame, no goodbye.
    server.child.kill().await.expect("kill");
    assert!(
        c.wait_for(Status::Waiting, DEADLINE).await,
        "the loss is noticed"
    );

    let _server = start(&db, &addr).await;
    assert!(
        c.wait_for(Status::LoggedIn, DEADLINE).await,
        "logged in again without app code"
    );
    let session = wait_for_auto_session(&addr, accid).await;
    assert_eq!(session["mode"], "auto", "reconnects are auto logins");
    assert_eq!(session["deviceId"], "native-device-1");
    assert!(c.persisted().is_some(), "the persisted session survives");
}

#[tokio::test]
async fn machine_rides_through_a_graceful_restart_1012() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("e2e.db");
    let server = start(&db, "127.0.0.1:0").await;
    let addr = server.addr.clone();
    let account = post(&addr, "/_test/accounts").await;
    let (accid, token) = (
        account["accid"].as_str().unwrap(),
        account["token"].as_str().unwrap(),
    );

    let mut c = client(&addr, "native-device-2");
    c.login(accid, token, false).await.expect("manual login");

    // SIGTERM: the server closes every session with 1012 and exits.
    let pid = server.child.id().expect("pid").to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill -TERM");
    assert!(status.success());
    let mut server = server;
    let exit = tokio::time::timeout(DEADLINE, server.child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    assert!(c.wait_for(Status::Waiting, DEADLINE).await);

    let _server = start(&db, &addr).await;
    assert!(c.wait_for(Status::LoggedIn, DEADLINE).await);
    assert_eq!(wait_for_auto_session(&addr, accid).await["mode"], "auto");
}

#[tokio::test]
async fn wrong_token_fails_once_and_never_retries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(&dir.path().join("e2e.db"), "127.0.0.1:0").await;
    let account = post(&server.addr, "/_test/accounts").await;
    let accid = account["accid"].as_str().unwrap();
    let c = client(&server.addr, "native-device-3");
    let err = c.login(accid, "wrong-token", false).await.expect_err("302");
    assert_eq!(err.code.as_u16(), 302);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attempts: Value = reqwest::get(format!(
        "http://{}/_test/attempts?accid={accid}",
        server.addr
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(attempts["count"], 1, "auth failures never loop");
    assert_eq!(c.status(), Status::LoggedOut);
}
