//! A refusal reaches the peer as its documented close code, never as a TCP
//! reset: a client that is still sending a frame far over the limit (1 MiB)
//! when the server has decided to close gets close 1009, run after run.
//! Before the server read what was still arriving, closing made the kernel
//! answer that data with a reset, and the client's send failed or its read
//! saw the reset instead of the close frame.

mod common;

use common::{login_frame, Link, TestServer, DEADLINE};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// How many times each case runs: a reset showed up in about two runs of
/// five, so twenty would all pass by chance about once in 27 000.
const RUNS: usize = 20;

/// A text frame of 1 MiB.
fn over_limit() -> Message {
    Message::text("x".repeat(1 << 20))
}

/// A link connection whose socket has a small send buffer: on loopback
/// the kernel would otherwise take the whole frame at once, and the client
/// would be done sending before the server closes — the slow link of a
/// real client, where the frame is still on its way.
async fn slow_sender(s: &TestServer) -> Link {
    let addr = s.handle.as_ref().expect("running").local_addr();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 * 1024).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) = tokio::time::timeout(
        DEADLINE,
        tokio_tungstenite::client_async(s.ws_url.as_str(), stream),
    )
    .await
    .expect("handshake in time")
    .expect("handshake");
    Link { ws }
}

/// Sends the over-limit frame on `link` and expects close 1009.
async fn refused_with_1009(link: &mut Link, run: usize) {
    let sent = link.ws.send(over_limit()).await;
    assert!(
        sent.is_ok(),
        "run {run}: the frame could not be sent ({sent:?}): the server reset the connection"
    );
    let got = tokio::time::timeout(DEADLINE, async {
        loop {
            match link.ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("an answer within the deadline");
    match got {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1009, "run {run}: {frame:?}")
        }
        other => panic!("run {run}: expected close 1009, got {other:?}"),
    }
}

#[tokio::test]
async fn an_over_limit_frame_always_gets_close_1009_never_a_reset() {
    let s = TestServer::start(&[]).await;
    for run in 0..RUNS {
        let mut link = slow_sender(&s).await;
        refused_with_1009(&mut link, run).await;
    }
}

#[tokio::test]
async fn an_over_limit_frame_after_login_always_gets_close_1009_never_a_reset() {
    let s = TestServer::start(&["--max-sessions", "100"]).await;
    let token = s.create("big").await;
    for run in 0..RUNS {
        let mut link = slow_sender(&s).await;
        link.send_json(login_frame(
            "big",
            &token,
            &format!("d{run}"),
            "manual",
            false,
        ))
        .await;
        let ok = link.recv().await;
        assert_eq!(ok["t"], "loginOk", "{ok}");
        refused_with_1009(&mut link, run).await;
    }
}
