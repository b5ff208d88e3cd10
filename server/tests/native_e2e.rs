//! The login machine (the browser package's core) driven natively over a
//! real WebSocket against the real server binary: it logs in, the server
//! dies or restarts on the same port and database, and the machine logs in
//! again by itself, in auto mode, without the app doing anything.

mod common;

use std::time::Duration;

use common::process::Proc;
use common::{APP_KEY, DEADLINE};
use imlogin::{BackoffConfig, Config, Status};
use imlogin_native::NativeClient;
use serde_json::Value;

async fn sessions(server: &Proc, accid: &str) -> Vec<Value> {
    let v = server.get(&format!("/_test/sessions?accid={accid}")).await;
    v["sessions"].as_array().cloned().unwrap_or_default()
}

fn client(server: &Proc, device: &str) -> NativeClient {
    let mut config = Config::new(APP_KEY, device);
    // Short backoff keeps the test quick; the behaviour is the same.
    config.backoff = BackoffConfig {
        initial_ms: 200.0,
        max_ms: 1_000.0,
    };
    NativeClient::spawn(config, &server.ws_url(), 42)
}

async fn wait_for_session(server: &Proc, accid: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE * 2;
    loop {
        if let Some(s) = sessions(server, accid).await.first() {
            return s.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no session came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn account(server: &Proc) -> (String, String) {
    let a = server.post("/_test/accounts").await;
    (
        a["accid"].as_str().expect("accid").to_owned(),
        a["token"].as_str().expect("token").to_owned(),
    )
}

#[tokio::test]
async fn machine_logs_in_again_by_itself_after_the_server_is_killed_and_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::fresh_database_url(dir.path()).await;
    let mut server = Proc::start(&db, "127.0.0.1:0", &[]).await;
    let (accid, token) = account(&server).await;

    let mut c = client(&server, "native-device-1");
    c.login(&accid, &token, false).await.expect("manual login");
    assert_eq!(c.status(), Status::LoggedIn);
    assert_eq!(wait_for_session(&server, &accid).await["mode"], "manual");

    // Kill -9: no close frame, no goodbye.
    server.child.kill().await.expect("kill");
    assert!(
        c.wait_for(Status::Waiting, DEADLINE * 2).await,
        "the loss is noticed"
    );

    let server = Proc::start(&db, &server.addr, &[]).await;
    assert!(
        c.wait_for(Status::LoggedIn, DEADLINE * 2).await,
        "logged in again without app code"
    );
    let session = wait_for_session(&server, &accid).await;
    assert_eq!(session["mode"], "auto", "reconnects are auto logins");
    assert_eq!(session["deviceId"], "native-device-1");
    assert!(c.persisted().is_some(), "the persisted session survives");
}

#[tokio::test]
async fn machine_rides_through_a_graceful_restart_1012() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::fresh_database_url(dir.path()).await;
    let server = Proc::start(&db, "127.0.0.1:0", &[]).await;
    let addr = server.addr.clone();
    let (accid, token) = account(&server).await;

    let mut c = client(&server, "native-device-2");
    c.login(&accid, &token, false).await.expect("manual login");

    // SIGTERM: the server closes every session with 1012 and exits cleanly.
    server.terminate().await;
    assert!(c.wait_for(Status::Waiting, DEADLINE * 2).await);

    let server = Proc::start(&db, &addr, &[]).await;
    assert!(c.wait_for(Status::LoggedIn, DEADLINE * 2).await);
    assert_eq!(wait_for_session(&server, &accid).await["mode"], "auto");
}

#[tokio::test]
async fn wrong_token_fails_once_and_never_retries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(
        &common::fresh_database_url(dir.path()).await,
        "127.0.0.1:0",
        &[],
    )
    .await;
    let (accid, _) = account(&server).await;
    let c = client(&server, "native-device-3");
    let err = c
        .login(&accid, "wrong-token", false)
        .await
        .expect_err("302");
    assert_eq!(err.code.as_u16(), 302);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attempts = server.get(&format!("/_test/attempts?accid={accid}")).await;
    assert_eq!(attempts["count"], 1, "auth failures never loop");
    assert_eq!(c.status(), Status::LoggedOut);
}

#[tokio::test]
async fn with_device_binding_the_machine_resumes_with_its_ticket_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::fresh_database_url(dir.path()).await;
    let server = Proc::start(&db, "127.0.0.1:0", &[]).await;
    let (accid, token) = account(&server).await;
    let mut config = Config::new(APP_KEY, "bound-device");
    config.backoff = BackoffConfig {
        initial_ms: 200.0,
        max_ms: 1_000.0,
    };
    let options = imlogin_native::Options {
        device_binding: true,
        ..Default::default()
    };
    let mut c = NativeClient::spawn_with_options(config, &server.ws_url(), 43, options);
    c.login(&accid, &token, false).await.expect("manual login");
    let ticket = c.device_ticket().expect("the binding login got a ticket");
    let first = server
        .api(
            "/nimserver/user/listDeviceTickets.action",
            &[("accid", &accid)],
        )
        .await;
    assert_eq!(first["tickets"][0]["deviceId"], "bound-device", "{first}");

    // A graceful restart on the same address and database: close 1012,
    // and the machine's auto login travels as a resume with the ticket.
    let addr = server.addr.clone();
    server.terminate().await;
    assert!(c.wait_for(Status::Waiting, DEADLINE * 2).await);
    let server = Proc::start(&db, &addr, &[]).await;
    assert!(
        c.wait_for(Status::LoggedIn, DEADLINE * 2).await,
        "resumed without app code"
    );
    assert_eq!(wait_for_session(&server, &accid).await["mode"], "auto");
    let after = server
        .api(
            "/nimserver/user/listDeviceTickets.action",
            &[("accid", &accid)],
        )
        .await;
    let (created, used) = (
        after["tickets"][0]["createdAt"].as_u64().unwrap(),
        after["tickets"][0]["lastUsedAt"].as_u64().unwrap(),
    );
    assert!(used > created, "the ticket was used to resume: {after}");
    assert_eq!(
        c.device_ticket().as_deref(),
        Some(ticket.as_str()),
        "a resume keeps it"
    );

    // The app server revokes it: kicked `revoked`, and the record and the
    // ticket are gone.
    let v = server
        .api(
            "/nimserver/user/revokeDeviceTicket.action",
            &[("accid", &accid)],
        )
        .await;
    assert_eq!(v["revoked"], 1, "{v}");
    assert!(c.wait_for(Status::LoggedOut, DEADLINE * 2).await);
    assert!(
        c.persisted().is_none(),
        "a revoked device forgets its session"
    );
    assert!(c.device_ticket().is_none());
}
