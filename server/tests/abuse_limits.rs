//! Abuse limits (docs/abuse-limits.md): login attempts per account and per IP (token
//! buckets) → `loginErr` 416 with `retryAfterMs` and close 1013, which the
//! login machine honours; open link sockets per IP; server API calls per
//! AppKey → 416; and the `/link` Origin allow-list (cross-site WebSocket
//! hijacking). Limits are set low here with the very flags an operator uses.

mod common;

use std::time::Duration;

use common::{Link, TestServer, DEADLINE};
use imlogin::{BackoffConfig, Config, Event, Status};
use imlogin_native::NativeClient;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Expects `loginErr` 416 with a positive `retryAfterMs`, then close 1013;
/// returns the `retryAfterMs`.
async fn expect_rate_limited(first: Value, link: &mut Link) -> u64 {
    assert_eq!(first["t"], "loginErr", "{first}");
    assert_eq!(first["code"], 416, "{first}");
    let retry = first["retryAfterMs"].as_u64().expect("retryAfterMs");
    assert!(retry > 0, "{first}");
    assert_eq!(link.expect_close().await, Some(1013));
    retry
}

#[tokio::test]
async fn login_attempts_per_account_are_limited_with_retry_after() {
    let s = TestServer::start(&["--login-rate-per-account", "3"]).await;
    let token = s.create("target").await;
    for _ in 0..3 {
        let (mut l, v) = s.login("target", "guess", "d", "manual", false).await;
        Link::expect_login_err(v, &mut l, 302).await;
    }
    // Even the right token waits now: the bucket is per account.
    let (mut l, v) = s.login("target", &token, "d", "manual", false).await;
    let retry = expect_rate_limited(v, &mut l).await;
    // 3 per minute: one attempt comes back within 20 s.
    assert!(retry <= 20_000, "{retry}");
    // Another account is not affected.
    let other = s.create("other").await;
    s.login_ok("other", &other, "d", "manual").await;
}

#[tokio::test]
async fn login_attempts_per_ip_are_limited() {
    let s = TestServer::start(&["--login-rate-per-ip", "3"]).await;
    let mut tokens = Vec::new();
    for i in 0..4 {
        tokens.push(s.create(&format!("ip{i}")).await);
    }
    for (i, token) in tokens.iter().enumerate().take(3) {
        s.login_ok(&format!("ip{i}"), token, "d", "manual").await;
    }
    let (mut l, v) = s.login("ip3", &tokens[3], "d", "manual", false).await;
    expect_rate_limited(v, &mut l).await;
    // Logins with bad fields are charged to the IP too.
    let mut l = s.connect().await;
    l.send_json(json!({"t":"login"})).await;
    let v = l.recv().await;
    expect_rate_limited(v, &mut l).await;
}

#[tokio::test]
async fn open_sockets_per_ip_are_limited() {
    let s = TestServer::start(&["--max-sessions-per-ip", "2", "--max-sessions", "10"]).await;
    let token = s.create("many").await;
    let (mut a, _) = s.login_ok("many", &token, "d1", "manual").await;
    let (b, _) = s.login_ok("many", &token, "d2", "manual").await;
    let (mut c, v) = s.login("many", &token, "d3", "manual", false).await;
    let retry = expect_rate_limited(v, &mut c).await;
    assert_eq!(retry, 5_000);
    // A socket closes: there is room again.
    drop(b);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (mut l, v) = s.login("many", &token, "d3", "manual", false).await;
        if v["t"] == "loginOk" {
            break;
        }
        expect_rate_limited(v, &mut l).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "room never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.alive().await;
}

#[tokio::test]
async fn server_api_calls_per_app_key_are_limited() {
    let s = TestServer::start(&["--api-rate-per-app-key", "3"]).await;
    for i in 0..3 {
        s.create(&format!("api{i}")).await;
    }
    let v = s
        .api("/nimserver/user/create.action", &[("accid", "api3")])
        .await;
    assert_eq!(v["code"], 416, "{v}");
    // Unsigned requests are refused before they can spend the app's budget.
    let v = s
        .api_with("/nimserver/user/create.action", &[("accid", "x")], &[])
        .await;
    assert_eq!(v["code"], 403, "{v}");
}

#[tokio::test]
async fn the_login_machine_waits_at_least_retry_after_ms() {
    // Two logins per minute from this IP: the third waits about 30 s.
    let s = TestServer::start(&["--login-rate-per-ip", "2"]).await;
    let account = s.post_json("/_test/accounts").await;
    let accid = account["accid"].as_str().unwrap().to_owned();
    let token = account["token"].as_str().unwrap().to_owned();
    let mut config = Config::new(common::APP_KEY, "native-416");
    // Left to itself the machine would retry within 200 ms.
    config.backoff = BackoffConfig {
        initial_ms: 100.0,
        max_ms: 200.0,
    };
    let mut c = NativeClient::spawn(config, &s.ws_url, 7);
    c.login(&accid, &token, false).await.expect("first login");
    // Drop: the machine logs in again (auto), spending the second attempt.
    s.post_json("/_test/drop").await;
    assert!(c.wait_for(Status::Waiting, DEADLINE).await);
    assert!(c.wait_for(Status::LoggedIn, DEADLINE).await);
    c.drain_events();
    // Drop again: the third attempt gets 416 with retryAfterMs ≈ 30 000.
    s.post_json("/_test/drop").await;
    let mut delays = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while delays.len() < 2 && tokio::time::Instant::now() < deadline {
        if let Some(Event::Reconnecting { delay_ms, .. }) =
            c.next_event(Duration::from_millis(200)).await
        {
            delays.push(delay_ms);
        }
    }
    assert_eq!(delays.len(), 2, "the drop, then the 416: {delays:?}");
    assert!(
        delays[0] <= 200.0,
        "an ordinary loss backs off briefly: {delays:?}"
    );
    let attempts = |v: Value| v["count"].as_u64().unwrap();
    let url = format!("/_test/attempts?accid={accid}");
    let before = attempts(s.get_json(&url).await);
    let last = s.get_json(&url).await["attempts"]
        .as_array()
        .and_then(|a| a.last().cloned())
        .unwrap_or_default();
    assert_eq!(last["code"], 416, "{last}");
    assert!(
        delays[1] >= 25_000.0,
        "the machine waits at least retryAfterMs (~30 s), not its own 200 ms: {delays:?}"
    );
    // And it really does not come back early.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(attempts(s.get_json(&url).await), before);
    assert_eq!(c.status(), Status::Waiting);
    assert!(c.persisted().is_some(), "a 416 never logs the user out");
}

fn with_origin(
    url: &str,
    origin: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", HeaderValue::from_str(origin).unwrap());
    req
}

#[tokio::test]
async fn link_origin_allow_list_refuses_cross_site_handshakes() {
    let s = TestServer::start(&[
        "--allow-origin",
        "https://app.example.com",
        "--public-url",
        "https://im.example.com",
    ])
    .await;
    let addr = s.handle.as_ref().unwrap().local_addr();
    let refused = |origin: &'static str| {
        let req = with_origin(&s.ws_url, origin);
        async move {
            match tokio_tungstenite::connect_async(req).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
                Err(e) => panic!("{origin}: {e}"),
                Ok(_) => 101,
            }
        }
    };
    for origin in [
        "https://evil.example",
        "https://app.example.com.evil.example",
        "https://im.example.com:8443",
        "http://app.example.com",
        "null",
    ] {
        assert_eq!(refused(origin).await, 403, "{origin}");
    }
    for origin in [
        "https://app.example.com",
        "HTTPS://APP.EXAMPLE.COM",
        "https://im.example.com",
    ] {
        assert_eq!(refused(origin).await, 101, "{origin}");
    }
    // The origin the request was addressed to (Host) is our own.
    let own = format!("http://{addr}");
    let req = with_origin(&s.ws_url, &own);
    assert!(tokio_tungstenite::connect_async(req).await.is_ok());
    // No Origin: a non-browser client.
    let token = s.create("origin").await;
    s.login_ok("origin", &token, "d", "manual").await;
}
