//! The task that owns one link WebSocket: feeds its messages and control
//! messages to a [`LinkSession`], performs the actions, sends WebSocket
//! ping control frames and drops a client that stays silent.
//!
//! Generic over any `Stream + Sink` of axum messages, so that tests can
//! drive it with channels.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::registry::Control;
use super::session::{Action, LinkSession};

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
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                    Vec::new()
                }
            }
        };
        if perform(&mut socket, actions).await.is_break() {
            break;
        }
    }
    session.end();
}

/// Performs actions in order; `Break` once the socket is closed or broken.
async fn perform<S>(socket: &mut S, actions: Vec<Action>) -> std::ops::ControlFlow<()>
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    for action in actions {
        match action {
            Action::Send(frame) => {
                if socket.send(Message::text(frame.to_json())).await.is_err() {
                    return std::ops::ControlFlow::Break(());
                }
            }
            Action::Close(code) => {
                let frame = CloseFrame {
                    code,
                    reason: Default::default(),
                };
                if socket.send(Message::Close(Some(frame))).await.is_ok() {
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
