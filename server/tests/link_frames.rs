//! Link framing: the close codes for bad input
//! (docs/protocol.md#bad-input-on-the-link, #close-codes), the Origin
//! allow-list, and the drop/pause test hooks.

mod common;

use common::{login_frame, Link, TestServer, APP_KEY};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test]
async fn frames_before_login_close_1008() {
    let s = TestServer::start(&[]).await;
    for frame in [
        json!({"t":"ping"}),
        json!({"t":"logout"}),
        json!({"t":"kick","clientId":"x"}),
    ] {
        let mut l = s.connect().await;
        l.send_json(frame).await;
        assert_eq!(l.expect_close().await, Some(1008));
    }
}

#[tokio::test]
async fn malformed_frames_close_1008() {
    let s = TestServer::start(&[]).await;
    for text in [
        "not json",
        "[1,2]",
        "{\"t\":5}",
        "{\"t\":\"dance\"}",
        "",
        "{",
    ] {
        let mut l = s.connect().await;
        l.send_text(text).await;
        assert_eq!(l.expect_close().await, Some(1008), "{text:?}");
    }
}

#[tokio::test]
async fn second_login_and_bad_kick_close_1008() {
    let s = TestServer::start(&[]).await;
    let token = s.create("u1").await;
    let (mut l, _) = s.login_ok("u1", &token, "d", "manual").await;
    l.send_json(login_frame("u1", &token, "d", "manual", false))
        .await;
    assert_eq!(l.expect_close().await, Some(1008));

    let (mut l, _) = s.login_ok("u1", &token, "d", "manual").await;
    l.send_json(json!({"t":"kick","clientId":7})).await;
    assert_eq!(l.expect_close().await, Some(1008));
    // The session left the registry with its socket.
    let (mut l, _) = s.login_ok("u1", &token, "d", "manual").await;
    l.send_json(json!({"t":"kick"})).await;
    assert_eq!(l.expect_close().await, Some(1008));
}

#[tokio::test]
async fn binary_frames_close_1003() {
    let s = TestServer::start(&[]).await;
    let mut l = s.connect().await;
    l.send_binary(b"{\"t\":\"ping\"}").await;
    assert_eq!(l.expect_close().await, Some(1003));
    let token = s.create("u2").await;
    let (mut l, _) = s.login_ok("u2", &token, "d", "manual").await;
    l.send_binary(&[0, 1, 2]).await;
    assert_eq!(l.expect_close().await, Some(1003));
}

#[tokio::test]
async fn oversize_frames_close_1009() {
    let s = TestServer::start(&[]).await;
    let mut l = s.connect().await;
    l.send_text(&format!(
        "{{\"t\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(5000)
    ))
    .await;
    assert_eq!(l.expect_close().await, Some(1009));
    // Far over the transport's buffer too.
    let mut l = s.connect().await;
    l.send_text(&"y".repeat(200_000)).await;
    assert_eq!(l.expect_close().await, Some(1009));
}

#[tokio::test]
async fn invalid_utf8_closes_1007() {
    let s = TestServer::start(&[]).await;
    let mut l = s.connect().await;
    l.send_invalid_utf8().await;
    assert_eq!(l.expect_close().await, Some(1007));
}

#[tokio::test]
async fn foreign_origin_is_refused_and_allowed_ones_pass() {
    let s = TestServer::start(&["--allow-origin", "https://app.example.com"]).await;
    let addr = s.handle.as_ref().unwrap().local_addr();
    let try_origin = |origin: &str| {
        let mut req = s.ws_url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
        async move { tokio_tungstenite::connect_async(req).await }
    };
    match try_origin("https://evil.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403)
        }
        other => panic!("expected HTTP 403, got {:?}", other.map(|_| ())),
    }
    assert!(try_origin("https://app.example.com").await.is_ok());
    assert!(try_origin(&format!("http://{addr}")).await.is_ok());
    // No Origin (a non-browser client) is fine.
    s.connect().await.send_json(json!({"t":"ping"})).await;
}

#[tokio::test]
async fn drop_hook_closes_every_socket_with_1012() {
    let s = TestServer::start(&[]).await;
    let token = s.create("u3").await;
    let (mut a, _) = s.login_ok("u3", &token, "d", "manual").await;
    let mut idle = s.connect().await;
    let v = s.post_json("/_test/drop").await;
    assert_eq!(v["code"], 200);
    assert_eq!(v["dropped"], 2);
    assert_eq!(a.expect_close().await, Some(1012));
    assert_eq!(idle.expect_close().await, Some(1012));
    // The dropped device resumes.
    s.login_ok("u3", &token, "d", "auto").await;
}

#[tokio::test]
async fn pause_hook_answers_handshakes_with_503() {
    let s = TestServer::start(&[]).await;
    let v = s.post_json("/_test/pause?ms=60000").await;
    assert_eq!(v["code"], 200);
    match tokio_tungstenite::connect_async(s.ws_url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503)
        }
        other => panic!("expected HTTP 503, got {:?}", other.map(|_| ())),
    }
    s.post_json("/_test/pause?ms=0").await;
    Link::connect(&s.ws_url).await;
}

#[tokio::test]
async fn graceful_shutdown_closes_sessions_with_1012() {
    let mut s = TestServer::start(&[]).await;
    let token = s.create("u4").await;
    let (mut a, _) = s.login_ok("u4", &token, "d", "manual").await;
    let closing = tokio::spawn(async move {
        // The restart notice first (docs/protocol.md#server-restart).
        assert_eq!(a.recv().await["t"], "restart");
        a.expect_close().await
    });
    s.shutdown().await;
    assert_eq!(closing.await.unwrap(), Some(1012));
}

#[tokio::test]
async fn the_server_answers_garbage_logins_without_dying() {
    let s = TestServer::start(&[]).await;
    let junk = [
        json!({"t":"login"}),
        json!({"t":"login","appKey":APP_KEY,"accid":null,"token":[],"deviceId":{}}),
        json!({"t":"login","appKey":APP_KEY,"accid":"a","token":"t","deviceId":"d","clientType":"fridge","mode":"manual","force":false,"sdk":"x"}),
        json!({"t":"login","appKey":APP_KEY,"accid":"a","token":"t","deviceId":"d","clientType":"web","mode":"sometimes","force":false,"sdk":"x"}),
        json!({"t":"login","appKey":APP_KEY,"accid":"a","token":"t\u{7}","deviceId":"d","clientType":"web","mode":"auto","force":false,"sdk":"x"}),
    ];
    for frame in junk {
        let mut l = s.connect().await;
        l.send_json(frame.clone()).await;
        let v = l.recv().await;
        Link::expect_login_err(v, &mut l, 414).await;
    }
    let token = s.create("alive").await;
    s.login_ok("alive", &token, "d", "manual").await;
}

#[tokio::test]
async fn server_sends_ping_control_frames_and_drops_a_silent_client() {
    use futures_util::StreamExt;
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::Message;
    let s = TestServer::start(&["--heartbeat-ms", "200"]).await;
    let token = s.create("u5").await;
    let (mut live, _) = s.login_ok("u5", &token, "d1", "manual").await;
    let t2 = s.create("u6").await;
    // This client never reads, so it never answers a ping.
    let (_silent, _) = s.login_ok("u6", &t2, "d1", "manual").await;

    let deadline = tokio::time::Instant::now() + common::DEADLINE;
    let mut pinged = false;
    loop {
        // Reading lets tungstenite answer the server's pings.
        if let Ok(Some(Ok(Message::Ping(_)))) =
            tokio::time::timeout(Duration::from_millis(50), live.ws.next()).await
        {
            pinged = true;
        }
        let v = s.get_json("/_test/sessions?accid=u6").await;
        if pinged && v["sessions"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pinged {pinged}, silent client kept"
        );
    }
    // The answering client is still there.
    live.ping_pong().await;
}
