//! One link connection's protocol logic, without the socket: each received
//! frame goes in, the frames to send and the close to perform come out.
//! The socket task ([`super::socket`]) and a fuzz harness both drive it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use imlogin_protocol::{
    close, decode_client_frame, ClientFrame, ClientType, DecodeError, LoginCode, LoginFrame,
    ServerFrame,
};
use tokio::sync::mpsc;

use super::login::{check_login, forget};
use super::registry::{Control, ControlTx};
use crate::clock::now_ms;
use crate::rate::Refused;
use crate::state::AppState;

/// What the socket must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this frame as a text message.
    Send(ServerFrame),
    /// Close the socket with this code; nothing follows.
    Close(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    AwaitingLogin,
    LoggedIn {
        accid: String,
        client_id: String,
        client_type: ClientType,
        device_id: String,
    },
    Closed,
}

/// The protocol state of one link connection.
#[derive(Debug)]
pub struct LinkSession {
    state: Arc<AppState>,
    peer: Option<IpAddr>,
    tx: ControlTx,
    phase: Phase,
}

impl LinkSession {
    /// A new connection from `peer`, and the receiver of the control
    /// messages other parts of the server send it (kicks, `clients`
    /// frames, drop/shutdown).
    pub fn new(
        state: Arc<AppState>,
        peer: Option<IpAddr>,
    ) -> (Self, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let session = LinkSession {
            state,
            peer,
            tx,
            phase: Phase::AwaitingLogin,
        };
        (session, rx)
    }

    /// The control channel's sender (to register the socket for
    /// drop/shutdown).
    pub fn control_sender(&self) -> ControlTx {
        self.tx.clone()
    }

    /// Whether the session has logged in and not ended.
    pub fn is_logged_in(&self) -> bool {
        matches!(self.phase, Phase::LoggedIn { .. })
    }

    /// Whether the session has ended (a close was decided).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Handles one text frame.
    pub async fn handle_text(&mut self, text: &str) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        let decoded = decode_client_frame(text);
        match (&self.phase, decoded) {
            (Phase::AwaitingLogin, Ok(ClientFrame::Login(f))) => self.login(Ok(f)).await,
            (Phase::AwaitingLogin, Err(DecodeError::BadLogin(_))) => self.login(Err(text)).await,
            (Phase::LoggedIn { .. }, Ok(ClientFrame::Ping)) => {
                vec![Action::Send(ServerFrame::Pong)]
            }
            (
                Phase::LoggedIn {
                    accid,
                    client_type,
                    device_id,
                    ..
                },
                Ok(ClientFrame::Logout),
            ) => {
                let (accid, device) = (accid.clone(), [(*client_type, device_id.clone())]);
                self.end();
                forget(&self.state, &accid, &device).await;
                vec![Action::Close(close::NORMAL)]
            }
            (
                Phase::LoggedIn {
                    accid, client_id, ..
                },
                Ok(ClientFrame::Kick { client_id: target }),
            ) => {
                let accid = accid.clone();
                let kicked = self
                    .state
                    .sessions
                    .kick_by_client(&accid, client_id, &target)
                    .await;
                let code = match kicked {
                    Ok(Some(device)) => {
                        forget(&self.state, &accid, &[device]).await;
                        LoginCode::Ok
                    }
                    Ok(None) => LoginCode::NotFound,
                    Err(_) => LoginCode::ServerError,
                };
                vec![Action::Send(ServerFrame::KickResult {
                    client_id: target,
                    code,
                })]
            }
            // A frame before login, or a second login.
            (_, Ok(_)) | (Phase::LoggedIn { .. }, Err(DecodeError::BadLogin(_))) => {
                self.close(close::POLICY_VIOLATION)
            }
            (_, Err(e)) => self.close(e.close_code().unwrap_or(close::POLICY_VIOLATION)),
        }
    }

    /// Handles a binary frame: the link carries text only (1003).
    pub fn handle_binary(&mut self) -> Vec<Action> {
        self.close(close::UNSUPPORTED_DATA)
    }

    /// Handles a text frame that was not valid UTF-8 (1007).
    pub fn handle_invalid_utf8(&mut self) -> Vec<Action> {
        self.close(close::INVALID_PAYLOAD)
    }

    /// Handles a message over the transport's size limit (1009).
    pub fn handle_oversize(&mut self) -> Vec<Action> {
        self.close(close::MESSAGE_TOO_BIG)
    }

    /// Handles a control message; `kicked` and closes end the session.
    pub fn handle_control(&mut self, control: Control) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        match control {
            Control::Send(frame) => vec![Action::Send(frame)],
            Control::Kicked(frame) => {
                // The registry has already removed the session.
                self.phase = Phase::Closed;
                vec![Action::Send(frame), Action::Close(close::NORMAL)]
            }
            Control::Close(code) => self.close(code),
        }
    }

    /// The connection ended (or is about to): leave the registry. Safe to
    /// call more than once.
    pub fn end(&mut self) {
        if let Phase::LoggedIn {
            accid, client_id, ..
        } = &self.phase
        {
            self.state.sessions.remove(accid, client_id);
        }
        self.phase = Phase::Closed;
    }

    /// Decides a close with `code`; nothing once the session has ended
    /// (a close was already decided, and nothing may follow it).
    fn close(&mut self, code: u16) -> Vec<Action> {
        if self.is_closed() {
            return Vec::new();
        }
        self.end();
        vec![Action::Close(code)]
    }

    fn fail(&mut self, code: LoginCode, retry_after_ms: Option<u64>) -> Vec<Action> {
        self.phase = Phase::Closed;
        let close_code = if code == LoginCode::RateLimited {
            close::TRY_AGAIN_LATER
        } else {
            close::NORMAL
        };
        vec![
            Action::Send(ServerFrame::LoginErr {
                code,
                message: code.description().to_owned(),
                retry_after_ms,
            }),
            Action::Close(close_code),
        ]
    }

    /// A login frame: decoded, or the raw text of one with bad fields.
    async fn login(&mut self, frame: Result<LoginFrame, &str>) -> Vec<Action> {
        let open_from_peer = self
            .peer
            .map_or(0, |ip| self.state.connections.open_from(ip));
        let accid = frame.as_ref().ok().map(|f| f.accid.as_str());
        let gate = self
            .state
            .rate
            .check_login(self.peer, open_from_peer, accid, Instant::now())
            .await;
        match gate {
            Ok(()) => {}
            Err(Refused::RetryAfter(retry_after)) => {
                let ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX);
                tracing::info!(peer = ?self.peer, accid, retry_after_ms = ms, "login rate limited");
                self.record_attempt(&frame, LoginCode::RateLimited);
                return self.fail(LoginCode::RateLimited, Some(ms));
            }
            // Fail closed: a limit that cannot be checked is not skipped;
            // 500 tells the client to retry.
            Err(Refused::Store(e)) => {
                tracing::error!(peer = ?self.peer, accid, error = %e, "login rate check failed on storage");
                self.record_attempt(&frame, LoginCode::ServerError);
                return self.fail(LoginCode::ServerError, None);
            }
        }
        let f = match &frame {
            Ok(f) => f,
            Err(_) => {
                self.record_attempt(&frame, LoginCode::BadParameter);
                return self.fail(LoginCode::BadParameter, None);
            }
        };
        let result = check_login(&self.state, f, &self.tx).await;
        self.record_attempt(
            &frame,
            result.as_ref().err().copied().unwrap_or(LoginCode::Ok),
        );
        match result {
            Ok(admitted) => {
                tracing::debug!(
                    accid = %f.accid,
                    client_id = %admitted.client_id,
                    mode = f.mode.as_str(),
                    "login ok"
                );
                self.phase = Phase::LoggedIn {
                    accid: f.accid.clone(),
                    client_id: admitted.client_id.clone(),
                    client_type: f.client_type,
                    device_id: f.device_id.clone(),
                };
                vec![Action::Send(ServerFrame::LoginOk {
                    client_id: admitted.client_id,
                    server_time: now_ms(),
                    heartbeat_ms: self.state.config.heartbeat_ms,
                    clients: admitted.others,
                })]
            }
            Err(code) => {
                tracing::debug!(accid = %f.accid, code = code.as_u16(), "login refused");
                self.fail(code, None)
            }
        }
    }

    fn record_attempt(&self, frame: &Result<LoginFrame, &str>, code: LoginCode) {
        if let Some(log) = &self.state.attempts {
            log.record(frame, code);
        }
    }
}
