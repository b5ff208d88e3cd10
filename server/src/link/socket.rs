//! The task that owns one link WebSocket: feeds its messages and control
//! messages to a [`LinkSession`], performs the actions, sends WebSocket
//! ping control frames and drops a client that stays silent — or that stops
//! reading: a send that cannot complete within two heartbeats (the peer's
//! receive window and our send buffer are full) drops the client too,
//! rather than hanging the task and keeping its session forever.
//!
//! Generic over any `Stream + Sink` of axum messages, so that tests can
//! drive it with channels.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::session::{Action, LinkSession};
use crate::sessions::Control;

/// How long a connection may stay open without logging in.
pub const LOGIN_DEADLINE: Duration = Duration::from_secs(30);
/// How long to wait for the client's close frame after sending ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why reading from the socket failed.
enum ReadFailure {
    InvalidUtf8,
    TooLarge,
    Other,
}

fn classify(err: axum::Error) -> ReadFailure {
    match err.into_inner().downcast::<tungstenite::Error>() {
        Ok(e) => match *e {
            tungstenite::Error::Utf8(_) => ReadFailure::InvalidUtf8,
            tungstenite::Error::Capacity(_) => ReadFailure::TooLarge,
            _ => ReadFailure::Other,
        },
        Err(_) => ReadFailure::Other,
    }
}

/// Runs the connection until it closes. `heartbeat` paces the ping control
/// frames; a client that sends nothing (not even a pong) for two
/// heartbeats is dropped.
pub async fn run<S>(
    mut socket: S,
    mut session: LinkSession,
    mut control: mpsc::UnboundedReceiver<Control>,
    heartbeat: Duration,
) where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    let started = Instant::now();
    let mut last_heard = Instant::now();
    let mut ticker = interval_at(Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let actions = tokio::select! {
            biased;
            ctrl = control.recv() => match ctrl {
                Some(c) => session.handle_control(c),
                None => break,
            },
            msg = socket.next() => {
                last_heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => session.handle_text(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => session.handle_binary(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Vec::new(),
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => match classify(e) {
                        ReadFailure::InvalidUtf8 => session.handle_invalid_utf8(),
                        ReadFailure::TooLarge => session.handle_oversize(),
                        ReadFailure::Other => break,
                    },
                }
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() > heartbeat * 2 {
                    tracing::debug!("link client silent for two heartbeats: dropping it");
                    break;
                }
                if !session.is_logged_in() && !session.is_closed() && started.elapsed() > LOGIN_DEADLINE {
                    session.handle_control(Control::Close(imlogin_protocol::close::POLICY_VIOLATION))
                } else {
                    if send(&mut socket, Message::Ping(Default::default()), heartbeat * 2).await.is_err() {
                        break;
                    }
                    Vec::new()
                }
            }
        };
        if perform(&mut socket, actions, heartbeat * 2)
            .await
            .is_break()
        {
            break;
        }
    }
    session.end();
}

/// Sends one message; `Err` when the socket is broken or the send does not
/// complete within `limit` (a peer that stopped reading).
async fn send<S>(socket: &mut S, message: Message, limit: Duration) -> Result<(), ()>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    match tokio::time::timeout(limit, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            tracing::debug!("link client stopped reading: dropping it");
            Err(())
        }
    }
}

/// Performs actions in order; `Break` once the socket is closed or broken.
async fn perform<S>(
    socket: &mut S,
    actions: Vec<Action>,
    send_limit: Duration,
) -> std::ops::ControlFlow<()>
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    for action in actions {
        match action {
            Action::Send(frame) => {
                if send(socket, Message::text(frame.to_json()), send_limit)
                    .await
                    .is_err()
                {
                    return std::ops::ControlFlow::Break(());
                }
            }
            Action::Close(code) => {
                let frame = CloseFrame {
                    code,
                    reason: Default::default(),
                };
                if send(socket, Message::Close(Some(frame)), send_limit)
                    .await
                    .is_ok()
                {
                    // Let the client answer the close so that it sees a clean
                    // closing handshake; give up after a grace period.
                    let _ = tokio::time::timeout(CLOSE_GRACE, async {
                        while let Some(Ok(m)) = socket.next().await {
                            if matches!(m, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                }
                return std::ops::ControlFlow::Break(());
            }
        }
    }
    std::ops::ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use clap::Parser;
    use futures_util::{Sink, Stream};

    use super::*;
    use crate::{AppState, Config};

    /// A peer that sends what the test queues and never reads: every send
    /// waits forever, as on a connection whose buffers are full.
    struct NeverReads {
        incoming: mpsc::UnboundedReceiver<Message>,
    }

    impl Stream for NeverReads {
        type Item = Result<Message, axum::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.incoming.poll_recv(cx).map(|m| m.map(Ok))
        }
    }

    impl Sink<Message> for NeverReads {
        type Error = axum::Error;
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
    }

    /// A client that floods frames but never reads the answers used to hang
    /// its socket task forever in `send`, keeping the session alive.
    #[tokio::test]
    async fn a_peer_that_never_reads_is_dropped_instead_of_hanging_the_task() {
        let config = Config::parse_from([
            "imlogin-server",
            "--database-url",
            "sqlite::memory:",
            "--app-key",
            "k",
            "--app-secret",
            "s",
        ]);
        let state = AppState::new(config, ([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let link = state.link().clone();
        let (tx, incoming) = mpsc::unbounded_channel();
        for _ in 0..100 {
            tx.send(Message::text("not json")).unwrap();
        }
        let (session, control) = LinkSession::new(link, None);
        let heartbeat = Duration::from_millis(100);
        let ran = tokio::time::timeout(
            Duration::from_secs(10),
            run(NeverReads { incoming }, session, control, heartbeat),
        )
        .await;
        assert!(ran.is_ok(), "the socket task ended");
    }
}
