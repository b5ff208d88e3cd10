//! A server on its way out refuses new link handshakes, so that clients
//! retrying at once meet the next server instead of logging in to this one
//! and waiting out its grace period (found by the reconnect-storm bench).

mod common;

use std::time::Duration;

use common::{TestServer, DEADLINE};
use tokio_tungstenite::tungstenite::{self, Message};

#[tokio::test]
async fn a_shutting_down_server_refuses_new_link_handshakes() {
    let mut server = TestServer::start(&[]).await;
    let url = server.ws_url.clone();
    // A client that never reads: its close handshake cannot finish, so the
    // server stays in its grace period long enough to be probed.
    let (stuck, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connect");
    let handle = server.handle.take().expect("running");
    let shutdown = tokio::spawn(handle.shutdown());

    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut accepted_late = 0;
    loop {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 503, "refused as unavailable");
                break;
            }
            Ok((mut ws, _)) => {
                // Upgraded just before the shutdown began: it must be told
                // to go (1012) at once, not served.
                use futures_util::StreamExt;
                let mut next = tokio::time::timeout(DEADLINE, ws.next())
                    .await
                    .expect("closed in time");
                // Open when the drain began: the restart notice comes first.
                if let Some(Ok(Message::Text(notice))) = &next {
                    assert!(notice.as_str().contains(r#""t":"restart""#), "{notice}");
                    next = tokio::time::timeout(DEADLINE, ws.next())
                        .await
                        .expect("closed in time");
                }
                match next {
                    Some(Ok(Message::Close(Some(frame)))) => {
                        assert_eq!(u16::from(frame.code), 1012)
                    }
                    other => panic!("a late socket must get close 1012, got {other:?}"),
                }
                accepted_late += 1;
            }
            Err(other) => panic!("unexpected handshake error during shutdown: {other}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        accepted_late < 100,
        "{accepted_late} sockets got in before the refusal"
    );
    drop(stuck);
    tokio::time::timeout(DEADLINE, shutdown)
        .await
        .expect("shutdown finishes")
        .expect("task");
}
