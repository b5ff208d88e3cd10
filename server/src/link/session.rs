//! One link connection's protocol logic, without the socket: each received
//! frame goes in, the frames to send and the close to perform come out.
//! The socket task ([`super::socket`]) and a fuzz harness both drive it.

use std::net::IpAddr;
use std::sync::Arc;

use imlogin_protocol::{
    close, decode_client_frame, ClientFrame, ClientType, DecodeError, LoginCode, LoginFrame,
    ServerFrame,
};
use tokio::sync::mpsc;

use super::login::{login, LoggedIn, Refusal};
use super::Link;
use crate::metrics::metrics;
use crate::sessions::{Control, ControlTx};

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

/// The protocol state of one link connection. Dropping it while logged in
/// only takes it off the live-sessions gauge: [`LinkSession::end`] leaves
/// the directory.
#[derive(Debug)]
pub struct LinkSession {
    link: Arc<Link>,
    peer: Option<IpAddr>,
    tx: ControlTx,
    phase: Phase,
}

impl LinkSession {
    /// A new connection from `peer`, and the receiver of the control
    /// messages other parts of the server send it (kicks, `clients`
    /// frames, drop/shutdown).
    pub fn new(link: Arc<Link>, peer: Option<IpAddr>) -> (Self, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let session = LinkSession {
            link,
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
            (Phase::AwaitingLogin, Ok(ClientFrame::Login(f))) => self.login(Ok(&f), text).await,
            (Phase::AwaitingLogin, Err(DecodeError::BadLogin(_))) => {
                self.login(Err(text), text).await
            }
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
                let (accid, device) = (accid.clone(), vec![(*client_type, device_id.clone())]);
                self.end();
                self.link.accounts.forget(&accid, device).await;
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
                    .link
                    .directory
                    .kick_by_client(&accid, client_id, &target)
                    .await;
                let code = match kicked {
                    Ok(Some(device)) => {
                        self.link.accounts.forget(&accid, vec![device]).await;
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
                if let ServerFrame::Kicked { reason, .. } = &frame {
                    metrics().kick(*reason);
                }
                // The directory has already removed the session.
                self.set_phase(Phase::Closed);
                vec![Action::Send(frame), Action::Close(close::NORMAL)]
            }
            Control::Close(code) => self.close(code),
        }
    }

    /// The connection ended (or is about to): leave the directory. Safe to
    /// call more than once.
    pub fn end(&mut self) {
        if let Phase::LoggedIn {
            accid, client_id, ..
        } = &self.phase
        {
            self.link.directory.remove(accid, client_id);
        }
        self.set_phase(Phase::Closed);
    }

    /// Moves to `phase`, keeping the live-sessions gauge in step.
    fn set_phase(&mut self, phase: Phase) {
        if let Phase::LoggedIn { client_type, .. } = &self.phase {
            metrics().session(*client_type, -1);
        }
        if let Phase::LoggedIn { client_type, .. } = &phase {
            metrics().session(*client_type, 1);
        }
        self.phase = phase;
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

    fn fail(&mut self, refusal: Refusal) -> Vec<Action> {
        self.set_phase(Phase::Closed);
        let message = refusal.message().to_owned();
        let Refusal {
            code,
            retry_after_ms,
            ..
        } = refusal;
        let close_code = if code == LoginCode::RateLimited {
            close::TRY_AGAIN_LATER
        } else {
            close::NORMAL
        };
        vec![
            Action::Send(ServerFrame::LoginErr {
                code,
                message,
                retry_after_ms,
            }),
            Action::Close(close_code),
        ]
    }

    /// A login frame: decoded, or the raw text of one with bad fields;
    /// `text` as received.
    async fn login(&mut self, frame: Result<&LoginFrame, &str>, text: &str) -> Vec<Action> {
        match login(&self.link, self.peer, frame, text, &self.tx).await {
            Ok(LoggedIn {
                admitted,
                ticket,
                server_time,
            }) => {
                if let Ok(f) = frame {
                    self.set_phase(Phase::LoggedIn {
                        accid: f.accid.clone(),
                        client_id: admitted.client_id.clone(),
                        client_type: f.client_type,
                        device_id: f.device_id.clone(),
                    });
                }
                vec![Action::Send(ServerFrame::LoginOk {
                    client_id: admitted.client_id,
                    server_time,
                    heartbeat_ms: self.link.heartbeat_ms,
                    clients: admitted.others,
                    ticket: ticket.map(|t| t.expose().to_owned().into()),
                })]
            }
            Err(refusal) => self.fail(refusal),
        }
    }
}

impl Drop for LinkSession {
    fn drop(&mut self) {
        if let Phase::LoggedIn { client_type, .. } = &self.phase {
            metrics().session(*client_type, -1);
        }
    }
}
