//! The login state machine: the transition table of docs/behaviour.md
//! (#transitions), with no I/O.
//!
//! [`LoginMachine`] never reads a clock, touches a socket or draws entropy.
//! Every input carries `now` (ms on the driver's monotonic clock); every
//! effect is an [`Output`] the driver polls. Methods fall in four groups:
//!
//! - **getters**: [`status`](LoginMachine::status),
//!   [`accid`](LoginMachine::accid), [`clients`](LoginMachine::clients), …
//! - **app commands**: [`login`](LoginMachine::login),
//!   [`auto_login`](LoginMachine::auto_login),
//!   [`kick_client`](LoginMachine::kick_client),
//!   [`logout`](LoginMachine::logout);
//! - **`handle_*` inputs** from the transport and the browser, and
//!   [`handle_timeout`](LoginMachine::handle_timeout) when the clock reaches
//!   the deadline;
//! - **`poll_*` outputs**: [`poll_output`](LoginMachine::poll_output), which
//!   the driver calls after every input until it returns `None`, then
//!   [`poll_timeout`](LoginMachine::poll_timeout), the one deadline the
//!   driver sleeps until.
//!
//! A driver therefore keeps one timer: after every input it drains
//! `poll_output`, then (re-)arms its timer for `poll_timeout()`; when the
//! timer fires it calls `handle_timeout(now)` and does the same again. A
//! timer that fires early is harmless (`handle_timeout` only acts on what is
//! due), and so is one that fires late.

use std::collections::VecDeque;

use imlogin_protocol::{
    close, decode_server_frame, Client, ClientFrame, LoginCode, LoginFrame, LoginMode, ServerFrame,
};

use crate::config::MAX_DURATION_MS;
use crate::device::{DeviceProof, ProofRequest, ResumeFields};
use crate::timer::{Timer, TimerTable};
use crate::{
    ClientsUpdate, Config, ConnId, Credentials, Disconnect, Event, LoginError, Output, RequestId,
    Rng, Status, StoredSession, Ticket,
};

/// The connection the machine currently owns.
#[derive(Debug)]
struct Conn {
    id: ConnId,
    /// Whether the socket has opened.
    opened: bool,
    /// With dynamic tokens: the token fetched for this attempt, once it came.
    token: Option<String>,
    /// Whether the login frame has been sent on it.
    login_sent: bool,
    /// Device binding: where the device key's answer stands.
    proof: Proof,
}

/// The device key's part in one connection attempt.
#[derive(Debug, Clone, PartialEq)]
enum Proof {
    /// Not asked for: no binding, no ticket.
    NotNeeded,
    /// Asked for with [`Output::Prove`]; the login frame waits.
    Waiting { resume: bool },
    /// The answer, and `now` when it came (with its `wall_ms`, it maps the
    /// machine's clock to the device's wall clock). `None`: no device key
    /// (a token login then goes on without binding).
    Ready(Option<DeviceProof>, f64),
}

/// The credentials being logged in with, or logged in.
#[derive(Debug)]
struct Session {
    credentials: Credentials,
    /// Whether a login with these credentials has succeeded: from then on
    /// every disconnect is followed by reconnection in auto mode, forever.
    established: bool,
    /// Mandatory login for the attempts until the first success.
    force: bool,
    /// A manual login that has not succeeded yet: the connection attempts
    /// made so far (at most `retryCount`); its failure ends the session.
    /// `None` for an auto login, which retries network failures for ever.
    manual_attempts: Option<u32>,
}

impl Session {
    /// A manual login still under way (not yet successful).
    fn is_manual(&self) -> bool {
        self.manual_attempts.is_some() && !self.established
    }
}

/// What another tab needs to carry this machine's session on after it
/// (the tab group's takeover): the credentials and where the login stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handover {
    pub credentials: Credentials,
    /// The credentials have logged in: resume in auto mode, never forced.
    pub established: bool,
    /// Mandatory login, for the attempts until the first success.
    pub force: bool,
    /// A manual login under way (its failure ends the session).
    pub manual: bool,
}

/// A retry whose delay the app is choosing ([`Output::ChooseDelay`]).
#[derive(Debug, Clone, Copy)]
struct PendingDelay {
    /// The attempt that failed, which the answer names.
    conn: ConnId,
    /// When the retry began.
    since: f64,
    attempt: u32,
    /// The machine's own delay, used until (and unless) the app answers.
    default_ms: f64,
    /// The server's `retryAfterMs`: no answer goes below it.
    floor_ms: f64,
    reason: Disconnect,
}

/// How a session ends, for [`LoginMachine::stop`].
enum Ending {
    /// A failure: reported (`loginFailed`), and the waiting calls reject
    /// with it.
    Failed(LoginError),
    /// Not a failure (logout, a kick): the waiting calls reject with it
    /// (499), and nothing is reported.
    Cancelled(LoginError),
}

/// The sans-IO login machine. See the module documentation for the driver
/// contract, and docs/behaviour.md for the behaviour.
pub struct LoginMachine {
    config: Config,
    rng: Rng,
    /// A retry waiting for the app's `reconnectDelay` answer.
    pending_delay: Option<PendingDelay>,
    outputs: VecDeque<Output>,
    timers: TimerTable,
    status: Status,
    online: bool,
    next_conn: u64,
    next_request: u64,
    conn: Option<Conn>,
    session: Option<Session>,
    /// `login`/`auto_login` calls waiting for the session's outcome.
    waiters: Vec<RequestId>,
    kicks: Vec<(RequestId, String)>,
    clients: Vec<Client>,
    client_id: Option<String>,
    heartbeat_ms: f64,
    /// Failed connection attempts in a row; the backoff exponent.
    failures: u32,
    /// The server's `retryAfterMs` for the next delay (0 when none).
    retry_floor_ms: f64,
    /// A restart notice's moment: no attempt of the machine's own before
    /// it (0 when none).
    not_before: f64,
}

impl core::fmt::Debug for LoginMachine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoginMachine")
            .field("status", &self.status)
            .field("online", &self.online)
            .field("conn", &self.conn)
            .field("session", &self.session)
            .field("waiters", &self.waiters)
            .field("timers", &self.timers)
            .field("pending_delay", &self.pending_delay)
            .finish_non_exhaustive()
    }
}

const NOT_REACHABLE: &str = "could not reach the link server";
/// The close code of a connection that broke without a close frame.
const ABNORMAL_CLOSE: u16 = 1006;
const CONNECTION_LOST: &str = "connection to the link server lost";

impl LoginMachine {
    /// A machine in `loggedOut`, online, with its jitter seeded by `seed`.
    ///
    /// `config` should have passed [`Config::validate`]; out-of-range
    /// durations are clamped rather than trusted.
    pub fn new(config: Config, seed: u64) -> Self {
        let heartbeat_ms = clamp_ms(config.default_heartbeat_ms, 1_000.0);
        LoginMachine {
            config,
            rng: Rng::new(seed),
            pending_delay: None,
            outputs: VecDeque::new(),
            timers: TimerTable::default(),
            status: Status::LoggedOut,
            online: true,
            next_conn: 0,
            next_request: 0,
            conn: None,
            session: None,
            waiters: Vec::new(),
            kicks: Vec::new(),
            clients: Vec::new(),
            client_id: None,
            heartbeat_ms,
            failures: 0,
            retry_floor_ms: 0.0,
            not_before: 0.0,
        }
    }

    // ----- getters -----

    /// The current status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The accid being logged in with or logged in, if any.
    pub fn accid(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.credentials.accid.as_str())
    }

    /// This device's id.
    pub fn device_id(&self) -> &str {
        &self.config.device_id
    }

    /// The account's other live sessions, as last reported by the server.
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    /// This session's server-assigned id while logged in.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Whether the browser last reported the network as up.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// The connection the machine owns (open or opening), if any.
    pub fn connection(&self) -> Option<ConnId> {
        self.conn.as_ref().map(|c| c.id)
    }

    /// Whether a `login`/`auto_login` call is waiting for its outcome.
    pub fn has_pending_login(&self) -> bool {
        !self.waiters.is_empty()
    }

    /// Whether the current credentials have logged in successfully (so that
    /// the machine reconnects by itself).
    pub fn is_established(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.established)
    }

    /// The next action for the driver, in order; `None` when there is none.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout)
    /// next, on its clock; `None` when nothing is due ever (logged out).
    ///
    /// Read it after draining [`poll_output`](Self::poll_output): every
    /// input may move it.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.timers.next_timeout().map(|(_, at)| at)
    }

    /// The session, as a tab taking over would carry it on.
    pub(crate) fn handover(&self) -> Option<Handover> {
        let session = self.session.as_ref()?;
        Some(Handover {
            credentials: session.credentials.clone(),
            established: session.established,
            force: session.force,
            manual: session.is_manual(),
        })
    }

    /// Adopts the device id of the tab group whose connection this machine
    /// is about to hold, so that the server sees one device whatever tab
    /// holds it. Takes effect from the next login frame.
    pub(crate) fn set_device_id(&mut self, device_id: &str) {
        device_id.clone_into(&mut self.config.device_id);
    }

    /// Carries on a session another machine held (see [`Handover`]): a
    /// manual login under way starts again as one (offline: fails with 415);
    /// anything else resumes in auto mode, an established session without
    /// `force`. The returned request settles like the call that started it.
    ///
    /// With device binding, a handover that carries the token logs in with
    /// it (binding this tab's key, which earns a fresh ticket) rather than
    /// resuming with the ticket: the tab that held the session may have
    /// signed with a key this tab does not have (`persistence: "none"`
    /// keeps a key per manager). Without the token, the ticket it is.
    pub(crate) fn resume(&mut self, now: f64, mut handover: Handover) -> RequestId {
        let request = self.new_request();
        if !handover.credentials.token.is_empty() {
            handover.credentials.ticket = None;
        }
        if handover.manual && !handover.established {
            if !self.online {
                self.reject_now(
                    request,
                    LoginError::from_code(LoginCode::NetworkUnavailable),
                );
                return request;
            }
            self.start(handover.credentials, handover.force, Some(1), request);
            self.arm(
                Timer::LoginTimeout,
                now + clamp_ms(self.config.login_timeout_ms, 1_000.0),
            );
            self.connect(now);
        } else {
            let force = handover.force && !handover.established;
            self.start(handover.credentials, force, None, request);
            if let Some(session) = &mut self.session {
                session.established = handover.established;
            }
            if self.online {
                self.connect(now);
            } else {
                self.set_status(Status::Offline);
                self.settle_waiters(Ok(()));
            }
        }
        request
    }

    /// Lets go of everything without a word: closes the connection, stops
    /// every timer, forgets the session and the calls waiting on it (whose
    /// outcome another tab now owes), and ends in `loggedOut` without an
    /// event. For a tab that leaves its group: the session is not logged
    /// out, it moves on with the group.
    pub(crate) fn shut_down(&mut self) {
        self.close_conn();
        self.disarm_all();
        self.waiters.clear();
        self.kicks.clear();
        self.session = None;
        self.clients.clear();
        self.client_id = None;
        self.status = Status::LoggedOut;
    }

    // ----- app commands -----

    /// A manual login. Replaces whatever login or session there was (a
    /// pending one settles with 499). Bad arguments are refused with 414
    /// and offline with 415 before any traffic, leaving the current state
    /// untouched.
    ///
    /// With dynamic tokens ([`Config::dynamic_token`]) an empty `token` is
    /// allowed: every attempt fetches its own.
    pub fn login(&mut self, now: f64, accid: &str, token: &str, force: bool) -> RequestId {
        let request = self.new_request();
        let Some(credentials) = self.credentials_or_reject(request, accid, token) else {
            return request;
        };
        if !self.online {
            self.reject_now(
                request,
                LoginError::from_code(LoginCode::NetworkUnavailable),
            );
            return request;
        }
        self.start(credentials, force, Some(1), request);
        self.arm(
            Timer::LoginTimeout,
            now + clamp_ms(self.config.login_timeout_ms, 1_000.0),
        );
        self.connect(now);
        request
    }

    /// An auto login with the session persisted by an earlier successful
    /// login. Returns `None` when nothing is persisted and no session is
    /// under way (the JS promise then resolves `false` at once).
    ///
    /// It settles on the first outcome: `Ok` once logged in, and `Ok` too as
    /// soon as an attempt fails for network reasons or the browser is
    /// offline — the session is kept and retried without limit, and
    /// [`status`](Self::status) tells where it stands; `Err` for a terminal
    /// refusal (302, 403, 414, 417, 422) or a cancellation (499).
    ///
    /// It never interrupts what is under way: it joins a manual login in
    /// progress (and settles as it does), and a session of the stored
    /// account — logging in, logged in or reconnecting — whose outcome it
    /// shares without resetting the backoff.
    pub fn auto_login(
        &mut self,
        now: f64,
        stored: Option<StoredSession>,
        force: bool,
    ) -> Option<RequestId> {
        if let Some(session) = &self.session {
            let same = stored
                .as_ref()
                .is_none_or(|s| s.credentials.accid == session.credentials.accid);
            if same || session.is_manual() {
                let request = self.new_request();
                self.join(request);
                return Some(request);
            }
        }
        let stored = stored?;
        let request = self.new_request();
        self.start_auto(now, stored.credentials, force, request);
        Some(request)
    }

    /// An auto login with credentials the app server has just issued
    /// rather than stored ones (the CommsEase recipe for apps that are not
    /// IM-first: `autoLogin({ accid, token, force: true })`).
    ///
    /// Auto mode: network failures are retried without limit; a terminal
    /// code stops, is reported (`loginFailed`) and rejects; success is
    /// persisted like any login's. `force` skips the server's device check
    /// on the attempts until the first success. It settles like
    /// [`auto_login`](Self::auto_login). Bad arguments are refused with 414
    /// before any traffic, leaving the current state untouched.
    ///
    /// It joins a session with the same accid and token; any other session
    /// or login is replaced (a pending call settles with 499).
    pub fn auto_login_with(
        &mut self,
        now: f64,
        accid: &str,
        token: &str,
        force: bool,
    ) -> RequestId {
        let request = self.new_request();
        let Some(credentials) = self.credentials_or_reject(request, accid, token) else {
            return request;
        };
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.credentials.same_login(&credentials))
        {
            self.join(request);
            return request;
        }
        self.start_auto(now, credentials, force, request);
        request
    }

    /// Asks the server to end another session of this account. Settles with
    /// the server's `kickResult` (404: no such client), or 415 when not
    /// connected.
    pub fn kick_client(&mut self, _now: f64, client_id: &str) -> RequestId {
        let request = self.new_request();
        match &self.conn {
            Some(conn) if self.status == Status::LoggedIn => {
                let frame = ClientFrame::Kick {
                    client_id: client_id.to_owned(),
                };
                self.outputs.push_back(Output::Send(conn.id, frame));
                self.kicks.push((request, client_id.to_owned()));
            }
            _ => {
                let error = LoginError::new(
                    LoginCode::NetworkUnavailable,
                    "not connected to the link server",
                );
                self.outputs.push_back(Output::Settle(request, Err(error)));
            }
        }
        request
    }

    /// Logs out: tells the server when logged in, closes, cancels every
    /// timer, clears the persisted session and settles a pending login with
    /// 499. Leaves `loggedOut` whatever the state was.
    pub fn logout(&mut self, _now: f64) {
        if let (Some(conn), Status::LoggedIn) = (&self.conn, self.status) {
            self.outputs
                .push_back(Output::Send(conn.id, ClientFrame::Logout));
        }
        let cancelled = LoginError::new(LoginCode::Cancelled, "cancelled by logout");
        self.stop(Ending::Cancelled(cancelled), true);
    }

    /// The app aborted call `request` (its `AbortSignal`): the call settles
    /// with 498 at once. When no other call waits on the same login and
    /// that login has not succeeded yet, it stops too — the connection
    /// attempt closes, timers stop, the status becomes `loggedOut`, the
    /// persisted session is kept and nothing is reported (an abort is not a
    /// failure). A call already settled, or one that joined a session that
    /// had logged in (reconnecting), leaves the session as it is.
    pub fn abort(&mut self, _now: f64, request: RequestId) {
        let Some(i) = self.waiters.iter().position(|r| *r == request) else {
            return;
        };
        self.waiters.remove(i);
        let aborted = LoginError::from_code(LoginCode::Aborted);
        self.outputs
            .push_back(Output::Settle(request, Err(aborted.clone())));
        let attempt_only_for_it =
            self.waiters.is_empty() && self.session.as_ref().is_some_and(|s| !s.established);
        if attempt_only_for_it {
            self.stop(Ending::Cancelled(aborted), false);
        }
    }

    // ----- transport inputs -----

    /// Device binding: the driver's answer to [`Output::Prove`] for attempt
    /// `conn` — `None` when the device key could not be loaded or used. A
    /// login with a token then goes on without binding (it earns no
    /// ticket); a resume with a ticket cannot, and ends as a refused
    /// binding (419, the saved session cleared). A late answer is ignored.
    pub fn handle_proof(&mut self, now: f64, conn: ConnId, proof: Option<DeviceProof>) {
        let resume = match self.conn.as_ref().map(|c| (c.id, &c.proof)) {
            Some((id, Proof::Waiting { resume })) if id == conn => *resume,
            _ => return,
        };
        if resume && proof.as_ref().is_none_or(|p| p.resume.is_none()) {
            let error = LoginError::new(
                LoginCode::DeviceBindingRefused,
                "device binding refused: this device's key is unavailable",
            );
            self.stop(Ending::Failed(error), true);
            return;
        }
        if let Some(current) = &mut self.conn {
            current.proof = Proof::Ready(proof, now);
        }
        self.send_login_when_ready();
    }

    /// The connection `conn` opened: send the login frame (with dynamic
    /// tokens, as soon as the token has come too).
    pub fn handle_opened(&mut self, _now: f64, conn: ConnId) {
        match &mut self.conn {
            Some(current) if current.id == conn => current.opened = true,
            _ => return,
        }
        self.send_login_when_ready();
    }

    /// Dynamic tokens: the token fetched for attempt `conn` (`None` when the
    /// provider failed or gave something that is not a token). A failure is
    /// retryable: the attempt is abandoned and retried with backoff.
    pub fn handle_token(&mut self, now: f64, conn: ConnId, token: Option<&str>) {
        let waiting = self.conn.as_ref().is_some_and(|c| {
            c.id == conn && c.token.is_none() && self.status == Status::Connecting
        });
        if !waiting {
            return;
        }
        match token.filter(|t| imlogin_protocol::limits::check_token(t).is_ok()) {
            Some(token) => {
                if let Some(current) = &mut self.conn {
                    current.token = Some(token.to_owned());
                }
                self.send_login_when_ready();
            }
            None => {
                let error =
                    LoginError::new(LoginCode::Unavailable, "the tokenProvider gave no token");
                self.retry(now, error, Disconnect::NoToken);
            }
        }
    }

    /// Sends the login frame once the socket is open and, with dynamic
    /// tokens, the token is there.
    fn send_login_when_ready(&mut self) {
        let Some(current) = &self.conn else { return };
        let token_ready = !self.config.dynamic_token || current.token.is_some();
        let proof_ready = !matches!(current.proof, Proof::Waiting { .. });
        if !current.opened
            || !token_ready
            || !proof_ready
            || current.login_sent
            || self.status != Status::Connecting
        {
            return;
        }
        let conn = current.id;
        let Some(mut frame) = self.login_frame() else {
            return;
        };
        if let (Some(token), Some(_)) = (&current.token, &frame.token) {
            frame.token = Some(token.clone());
        }
        if let Proof::Ready(Some(proof), _) = &current.proof {
            match &proof.resume {
                Some(resume) => {
                    frame.ts = Some(resume.ts);
                    frame.nonce = Some(resume.nonce.clone());
                    frame.sig = Some(resume.sig.clone());
                }
                None => frame.device_key = Some(proof.device_key.clone()),
            }
        }
        self.outputs
            .push_back(Output::Send(conn, ClientFrame::Login(frame)));
        if let Some(current) = &mut self.conn {
            current.login_sent = true;
        }
    }

    /// A text frame arrived on `conn`. A frame that does not decode means
    /// the connection is broken: it is closed and retried.
    pub fn handle_text(&mut self, now: f64, conn: ConnId, text: &str) {
        match decode_server_frame(text) {
            Ok(frame) => self.handle_frame(now, conn, frame),
            Err(_) => self.handle_bad_frame(now, conn),
        }
    }

    /// A frame arrived on `conn` that does not decode (the driver decoded
    /// it itself): the connection is broken, so it is closed and retried.
    pub fn handle_bad_frame(&mut self, now: f64, conn: ConnId) {
        if self.is_current(conn) {
            let error = LoginError::new(LoginCode::ServerError, "bad frame from the link server");
            self.retry(now, error, Disconnect::BadFrame);
        }
    }

    /// A decoded frame arrived on `conn`.
    pub fn handle_frame(&mut self, now: f64, conn: ConnId, frame: ServerFrame) {
        if !self.is_current(conn) {
            return;
        }
        let logging_in =
            self.status == Status::Connecting && self.conn.as_ref().is_some_and(|c| c.login_sent);
        match frame {
            ServerFrame::LoginOk {
                client_id,
                server_time,
                heartbeat_ms,
                clients,
                ticket,
            } if logging_in => self.logged_in(
                now,
                client_id,
                server_time,
                heartbeat_ms,
                clients,
                ticket.map(|t| t.0),
            ),
            ServerFrame::LoginErr {
                code,
                message,
                retry_after_ms,
            } if logging_in => {
                let error = LoginError::new(code, message).with_retry_after(retry_after_ms);
                if code.is_retryable() {
                    self.retry_floor_ms =
                        retry_after_ms.map_or(0.0, |ms| (ms as f64).min(MAX_DURATION_MS));
                    self.retry(now, error, Disconnect::Refused(code));
                } else {
                    self.stop(Ending::Failed(error), code.clears_session());
                }
            }
            ServerFrame::Kicked {
                reason,
                client_type,
            } => {
                let cancelled =
                    LoginError::new(LoginCode::Cancelled, "kicked before login completed");
                self.emit(Event::Kicked {
                    reason,
                    client_type,
                });
                self.stop(Ending::Cancelled(cancelled), reason.clears_session());
            }
            ServerFrame::Clients { clients, change } if self.status == Status::LoggedIn => {
                let update = ClientsUpdate::changed(&self.clients, clients, change);
                self.clients.clone_from(&update.clients);
                self.emit(Event::Clients(update));
            }
            ServerFrame::KickResult { client_id, code } => {
                if let Some(i) = self.kicks.iter().position(|(_, id)| *id == client_id) {
                    let (request, _) = self.kicks.remove(i);
                    let result = if code == LoginCode::Ok {
                        Ok(())
                    } else {
                        Err(LoginError::new(code, "no such client"))
                    };
                    self.outputs.push_back(Output::Settle(request, result));
                }
            }
            ServerFrame::Pong if self.status == Status::LoggedIn => {
                self.disarm(Timer::PongTimeout);
                self.arm(Timer::Heartbeat, now + self.heartbeat_ms);
            }
            ServerFrame::Restart {
                retry_in_ms,
                spread_ms,
            } if matches!(self.status, Status::Connecting | Status::LoggedIn) => {
                self.restart_notice(now, retry_in_ms, spread_ms);
            }
            _ => {}
        }
    }

    /// The connection `conn` closed (or failed to open) with `code`.
    pub fn handle_closed(&mut self, now: f64, conn: ConnId, code: u16) {
        let Some(current) = self.conn.take_if(|c| c.id == conn) else {
            return;
        };
        // The socket is gone: nothing to close any more.
        let message = if self.status == Status::LoggedIn {
            CONNECTION_LOST
        } else {
            NOT_REACHABLE
        };
        let reason = if current.opened {
            Disconnect::Closed(code)
        } else {
            Disconnect::Unreachable
        };
        let error = LoginError::new(LoginCode::NetworkUnavailable, message);
        self.retry(now, error, reason);
    }

    /// The connection `conn` reported an error; treated as closed without
    /// a close frame (1006).
    pub fn handle_error(&mut self, now: f64, conn: ConnId) {
        self.handle_closed(now, conn, ABNORMAL_CLOSE);
    }

    /// With [`Config::delay_hook`]: the app's answer to
    /// [`Output::ChooseDelay`] for attempt `conn` — the delay in ms, or
    /// `None` when it gave none (a throw, or not a number). A non-finite or
    /// negative answer keeps the machine's own delay; the server's
    /// `retryAfterMs` stays a floor. The `reconnecting` event follows. An
    /// answer that comes late (the machine moved on) is ignored; one that
    /// makes the retry due already takes effect at the next
    /// [`handle_timeout`](Self::handle_timeout).
    pub fn handle_delay(&mut self, _now: f64, conn: ConnId, delay_ms: Option<f64>) {
        let Some(pending) = self.pending_delay.filter(|p| p.conn == conn) else {
            return;
        };
        self.pending_delay = None;
        let chosen = match delay_ms {
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms.min(MAX_DURATION_MS),
            _ => pending.default_ms,
        };
        let delay_ms = chosen.max(pending.floor_ms);
        self.arm(
            Timer::Reconnect,
            (pending.since + delay_ms).max(self.not_before),
        );
        self.emit(Event::Reconnecting {
            attempt: pending.attempt,
            delay_ms,
            reason: pending.reason,
        });
    }

    // ----- timer and browser inputs -----

    /// The driver's clock reached (or passed) [`poll_timeout`](Self::poll_timeout):
    /// everything due by `now` happens, earliest first. Called early, it
    /// does nothing.
    pub fn handle_timeout(&mut self, now: f64) {
        while let Some((timer, at)) = self.timers.next_timeout() {
            if at > now {
                break;
            }
            self.timers.stop(timer);
            self.fire(now, timer);
        }
    }

    /// The browser went offline. Closes the connection (a socket across a
    /// network change is rarely usable) and waits in `offline`, which
    /// settles waiting auto logins (`Ok`); a manual login that never
    /// succeeded fails with 415 instead.
    pub fn handle_offline(&mut self, _now: f64) {
        self.online = false;
        if matches!(self.status, Status::LoggedOut | Status::Offline) {
            return;
        }
        if self.session.as_ref().is_some_and(Session::is_manual) {
            let error = LoginError::from_code(LoginCode::NetworkUnavailable);
            self.stop(Ending::Failed(error), false);
            return;
        }
        self.close_conn();
        self.disarm_all();
        self.reject_kicks("connection to the link server lost");
        self.set_status(Status::Offline);
        self.network_outcome();
    }

    /// The browser is online again: from `offline`, the next attempt starts
    /// at once with the backoff reset.
    pub fn handle_online(&mut self, now: f64) {
        self.online = true;
        if self.status == Status::Offline {
            self.failures = 0;
            self.retry_floor_ms = 0.0;
            if now < self.not_before {
                // A restart notice's window is still open: wait for it.
                self.set_status(Status::Waiting);
                self.arm(Timer::Reconnect, self.not_before);
            } else {
                self.connect(now);
            }
        }
    }

    /// The page became visible: while `waiting`, attempt at once (but
    /// never before a restart notice's moment).
    pub fn handle_visible(&mut self, now: f64) {
        if self.status == Status::Waiting && self.online && now >= self.not_before {
            self.disarm(Timer::Reconnect);
            self.reconnect(now);
        }
    }

    // ----- internals -----

    /// Validates what the app passed to `login` or `auto_login_with`;
    /// refuses it (414) without touching the state.
    fn credentials_or_reject(
        &mut self,
        request: RequestId,
        accid: &str,
        token: &str,
    ) -> Option<Credentials> {
        let credentials = if self.config.dynamic_token && token.is_empty() {
            Credentials::accid_only(accid)
        } else {
            Credentials::new(accid, token)
        };
        match credentials {
            Ok(c) => Some(c),
            Err(e) => {
                let mut message = String::from(e.field);
                message.push(' ');
                message.push_str(e.reason());
                self.reject_now(request, LoginError::new(LoginCode::BadParameter, message));
                None
            }
        }
    }

    /// A new request that shares the current session's outcome: settled at
    /// once when that outcome is already known (logged in; or an auto
    /// session that is waiting or offline), else with the other waiters.
    fn join(&mut self, request: RequestId) {
        let manual = self.session.as_ref().is_some_and(Session::is_manual);
        let known = match self.status {
            Status::LoggedIn => true,
            Status::Waiting | Status::Offline => !manual,
            Status::Connecting | Status::LoggedOut => false,
        };
        if known {
            self.outputs.push_back(Output::Settle(request, Ok(())));
        } else {
            self.waiters.push(request);
        }
    }

    /// Takes up `credentials` in auto mode and makes the first attempt, or
    /// waits in `offline` (which settles `request` at once).
    fn start_auto(&mut self, now: f64, credentials: Credentials, force: bool, request: RequestId) {
        self.start(credentials, force, None, request);
        if self.online {
            self.connect(now);
        } else {
            self.set_status(Status::Offline);
            self.settle_waiters(Ok(()));
        }
    }

    /// Settles every waiting `login`/`auto_login` call with `result`.
    fn settle_waiters(&mut self, result: Result<(), LoginError>) {
        for request in core::mem::take(&mut self.waiters) {
            self.outputs
                .push_back(Output::Settle(request, result.clone()));
        }
    }

    /// A network failure or going offline, with the session kept: auto
    /// calls have their first outcome (a manual login goes on).
    fn network_outcome(&mut self) {
        if !self.session.as_ref().is_some_and(Session::is_manual) {
            self.settle_waiters(Ok(()));
        }
    }

    /// `timer`, just disarmed, is due.
    fn fire(&mut self, now: f64, timer: Timer) {
        match timer {
            Timer::LoginTimeout => {
                if self.session.as_ref().is_some_and(Session::is_manual) {
                    self.stop(
                        Ending::Failed(LoginError::from_code(LoginCode::Timeout)),
                        false,
                    );
                }
            }
            Timer::ConnectTimeout => {
                if self.status == Status::Connecting {
                    let error = LoginError::new(LoginCode::Timeout, "connection attempt timed out");
                    self.retry(now, error, Disconnect::Timeout);
                }
            }
            Timer::Reconnect => {
                if self.status == Status::Waiting {
                    // The app never answered: its retry goes ahead with the
                    // machine's delay, announced as every retry is.
                    if let Some(p) = self.pending_delay.take() {
                        self.emit(Event::Reconnecting {
                            attempt: p.attempt,
                            delay_ms: p.default_ms.max(p.floor_ms),
                            reason: p.reason,
                        });
                    }
                    self.reconnect(now);
                }
            }
            Timer::Heartbeat => {
                if let (Some(conn), Status::LoggedIn) = (&self.conn, self.status) {
                    self.outputs
                        .push_back(Output::Send(conn.id, ClientFrame::Ping));
                    self.arm(Timer::PongTimeout, now + self.heartbeat_ms);
                }
            }
            Timer::PongTimeout => {
                if self.status == Status::LoggedIn {
                    let error =
                        LoginError::new(LoginCode::NetworkUnavailable, "no pong: connection lost");
                    self.retry(now, error, Disconnect::NoPong);
                }
            }
        }
    }

    fn new_request(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    fn is_current(&self, conn: ConnId) -> bool {
        self.conn.as_ref().is_some_and(|c| c.id == conn)
    }

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Emit(event));
    }

    fn set_status(&mut self, status: Status) {
        if self.status != status {
            self.status = status;
            self.emit(Event::Status(status));
        }
    }

    fn arm(&mut self, timer: Timer, at: f64) {
        self.timers.set(timer, at);
    }

    fn disarm(&mut self, timer: Timer) {
        self.timers.stop(timer);
    }

    fn disarm_all(&mut self) {
        self.timers = TimerTable::default();
        self.pending_delay = None;
    }

    fn close_conn(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.outputs
                .push_back(Output::Close(conn.id, close::NORMAL));
        }
    }

    /// Rejects a request that never started, without touching the state.
    fn reject_now(&mut self, request: RequestId, error: LoginError) {
        self.emit(Event::LoginFailed(error.clone()));
        self.outputs.push_back(Output::Settle(request, Err(error)));
    }

    fn reject_kicks(&mut self, message: &'static str) {
        for (request, _) in core::mem::take(&mut self.kicks) {
            let error = LoginError::new(LoginCode::NetworkUnavailable, message);
            self.outputs.push_back(Output::Settle(request, Err(error)));
        }
    }

    /// Drops whatever is open or pending (pending calls settle with 499)
    /// and takes up new credentials, `request` waiting for their outcome;
    /// `manual_attempts` as in [`Session`].
    fn start(
        &mut self,
        credentials: Credentials,
        force: bool,
        manual_attempts: Option<u32>,
        request: RequestId,
    ) {
        self.settle_waiters(Err(LoginError::new(
            LoginCode::Cancelled,
            "cancelled by a newer login",
        )));
        self.close_conn();
        self.disarm_all();
        self.reject_kicks("cancelled by a newer login");
        self.clients.clear();
        self.client_id = None;
        self.failures = 0;
        self.retry_floor_ms = 0.0;
        self.not_before = 0.0;
        self.session = Some(Session {
            credentials,
            established: false,
            force,
            manual_attempts,
        });
        self.waiters.push(request);
    }

    /// Opens a new connection attempt.
    fn connect(&mut self, now: f64) {
        self.close_conn();
        self.pending_delay = None;
        self.next_conn += 1;
        let id = ConnId(self.next_conn);
        let proof_request = self.proof_request();
        self.conn = Some(Conn {
            id,
            opened: false,
            token: None,
            login_sent: false,
            proof: match &proof_request {
                Some(request) => Proof::Waiting {
                    resume: matches!(request, ProofRequest::Resume(_)),
                },
                None => Proof::NotNeeded,
            },
        });
        self.outputs.push_back(Output::Connect(id));
        if let Some(request) = proof_request {
            self.outputs.push_back(Output::Prove(id, request));
        }
        if self.config.dynamic_token {
            if let Some(session) = &self.session {
                let accid = session.credentials.accid.clone();
                self.outputs.push_back(Output::FetchToken(id, accid));
            }
        }
        self.arm(
            Timer::ConnectTimeout,
            now + clamp_ms(self.config.connect_timeout_ms, 1_000.0),
        );
        // Every attempt passes through `connecting`, even right after one.
        if self.status == Status::Connecting {
            self.emit(Event::Status(Status::Connecting));
        }
        self.set_status(Status::Connecting);
    }

    /// The next attempt after a backoff delay or on visibility.
    fn reconnect(&mut self, now: f64) {
        if let Some(attempts) = self
            .session
            .as_mut()
            .and_then(|s| s.manual_attempts.as_mut())
        {
            *attempts += 1;
        }
        self.connect(now);
    }

    /// The ticket every attempt resumes with: the session's, except with
    /// dynamic tokens, where every attempt logs in with the token the
    /// provider gives (binding the key again, which renews the ticket).
    fn resume_ticket(&self) -> Option<&Ticket> {
        let ticket = self.session.as_ref()?.credentials.ticket.as_ref();
        ticket.filter(|_| !self.config.dynamic_token)
    }

    /// What the next attempt needs from the device key: a signed resume
    /// when it resumes with a ticket, else the public key when binding.
    fn proof_request(&self) -> Option<ProofRequest> {
        let credentials = &self.session.as_ref()?.credentials;
        match self.resume_ticket() {
            Some(ticket) => Some(ProofRequest::Resume(ResumeFields {
                app_key: self.config.app_key.clone(),
                accid: credentials.accid.clone(),
                device_id: self.config.device_id.clone(),
                ticket: ticket.ticket.clone(),
                skew_ms: ticket.skew_ms,
            })),
            None => self
                .config
                .device_binding
                .then_some(ProofRequest::PublicKey),
        }
    }

    fn login_frame(&self) -> Option<LoginFrame> {
        let session = self.session.as_ref()?;
        let ticket = self.resume_ticket();
        // A resume is always an auto login; a manual login never holds a
        // ticket.
        let manual = session.is_manual() && ticket.is_none();
        Some(LoginFrame {
            app_key: self.config.app_key.clone(),
            accid: session.credentials.accid.clone(),
            token: match ticket {
                Some(_) => None,
                None => Some(session.credentials.token.clone()),
            },
            ticket: ticket.map(|t| t.ticket.clone()),
            device_key: None,
            ts: None,
            nonce: None,
            sig: None,
            device_id: self.config.device_id.clone(),
            client_type: self.config.client_type,
            mode: if manual {
                LoginMode::Manual
            } else {
                LoginMode::Auto
            },
            force: session.force && !session.established,
            custom_tag: self.config.custom_tag.clone(),
            sdk: self.config.sdk.clone(),
        })
    }

    fn logged_in(
        &mut self,
        now: f64,
        client_id: String,
        server_time: u64,
        heartbeat_ms: u64,
        clients: Vec<Client>,
        ticket: Option<String>,
    ) {
        self.disarm(Timer::ConnectTimeout);
        self.disarm(Timer::LoginTimeout);
        // The server's clock minus the device's wall clock, when the device
        // key told the wall clock for this attempt.
        let skew_ms = match self.conn.as_ref().map(|c| &c.proof) {
            Some(Proof::Ready(Some(proof), at)) => {
                let wall_now = proof.wall_ms + (now - at);
                Some(Ticket::checked_skew(server_time as f64 - wall_now))
            }
            _ => None,
        };
        let Some(session) = &mut self.session else {
            return;
        };
        session.established = true;
        session.manual_attempts = None;
        // With dynamic tokens the record keeps the token that worked last.
        if let Some(token) = self.conn.as_ref().and_then(|c| c.token.clone()) {
            session.credentials.token = token;
        }
        // A new binding replaces the ticket; a resume keeps it, with the
        // clock offset measured now.
        // Only a login that sent this machine's device key earns a ticket
        // it keeps (a driver that binds on its own keeps its own).
        let bound = self.conn.as_ref().is_some_and(
            |c| matches!(&c.proof, Proof::Ready(Some(proof), _) if proof.resume.is_none()),
        );
        let ticket = ticket.filter(|t| bound && imlogin_protocol::limits::check_ticket(t).is_ok());
        match (ticket, &mut session.credentials.ticket) {
            (Some(ticket), _) => {
                session.credentials.ticket = Some(Ticket {
                    ticket,
                    skew_ms: skew_ms.unwrap_or(0.0),
                });
            }
            (None, Some(held)) => held.skew_ms = skew_ms.unwrap_or(held.skew_ms),
            (None, None) => {}
        }
        // A record with a ticket never carries the token, not even to the
        // driver.
        let record =
            (session.credentials.ticket.is_some() || self.config.persist_token).then(|| {
                let mut credentials = session.credentials.clone();
                if credentials.ticket.is_some() {
                    credentials.token.clear();
                }
                StoredSession {
                    credentials,
                    saved_at: server_time,
                }
            });
        self.failures = 0;
        self.retry_floor_ms = 0.0;
        self.client_id = Some(client_id);
        if heartbeat_ms > 0 {
            self.heartbeat_ms = clamp_ms(heartbeat_ms as f64, 1_000.0);
        }
        self.clients.clone_from(&clients);
        self.outputs.push_back(match record {
            Some(stored) => Output::Persist(stored),
            // Device binding without a ticket: no record, and none left
            // from before (it would hold a token).
            None => Output::ClearPersisted,
        });
        self.set_status(Status::LoggedIn);
        self.emit(Event::Clients(ClientsUpdate::list(clients)));
        self.settle_waiters(Ok(()));
        self.arm(Timer::Heartbeat, now + self.heartbeat_ms);
    }

    /// The connection is gone: close it, stop its timers, fail the kicks
    /// in flight; the session stays.
    fn lose_connection(&mut self) {
        self.close_conn();
        for timer in [
            Timer::ConnectTimeout,
            Timer::Reconnect,
            Timer::Heartbeat,
            Timer::PongTimeout,
        ] {
            self.disarm(timer);
        }
        self.reject_kicks(CONNECTION_LOST);
        self.client_id = None;
    }

    /// A connection attempt failed or a live connection was lost (for
    /// `reason`): back off and try again, unless a manual login has used up
    /// its attempts.
    fn retry(&mut self, now: f64, error: LoginError, reason: Disconnect) {
        self.lose_connection();
        if self.manual_attempts_used() {
            self.stop(Ending::Failed(error), false);
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let default_ms = self.backoff_delay();
        let floor_ms = core::mem::take(&mut self.retry_floor_ms);
        // The server said when: its `retryAfterMs` replaces the backoff
        // (a slot it handed out; a backoff climbed through repeated 416s
        // would overshoot it), and a draw in [0, initialMs] goes on top so
        // that clients refused together do not come back together.
        let own_ms = if floor_ms > 0.0 {
            floor_ms + self.jitter(self.config.backoff.initial_ms)
        } else {
            default_ms
        };
        let attempt = self.failures;
        self.set_status(Status::Waiting);
        self.arm(Timer::Reconnect, (now + own_ms).max(self.not_before));
        if self.config.delay_hook {
            let conn = ConnId(self.next_conn);
            self.pending_delay = Some(PendingDelay {
                conn,
                since: now,
                attempt,
                default_ms,
                floor_ms,
                reason,
            });
            self.outputs.push_back(Output::ChooseDelay {
                conn,
                attempt,
                default_ms,
            });
        } else {
            self.emit(Event::Reconnecting {
                attempt,
                delay_ms: own_ms,
                reason,
            });
        }
        self.network_outcome();
    }

    /// A manual login that has made its last attempt (`retryCount`) and
    /// never succeeded: losing the connection now ends it.
    fn manual_attempts_used(&self) -> bool {
        let attempts = self.session.as_ref().and_then(|s| s.manual_attempts);
        attempts.is_some_and(|n| n >= self.config.retry_count) && !self.is_established()
    }

    /// The server's restart notice: close, make no attempt before a moment
    /// drawn uniformly from `[retry_in_ms, retry_in_ms + spread_ms]`, and
    /// fall back to the backoff from its first step after it. The app's
    /// `reconnectDelay` is not asked: the server's window rules, as its
    /// `retryAfterMs` does.
    fn restart_notice(&mut self, now: f64, retry_in_ms: u64, spread_ms: u64) {
        let retry_in = (retry_in_ms as f64).min(MAX_DURATION_MS);
        let spread = (spread_ms as f64).min(MAX_DURATION_MS);
        let delay_ms = retry_in + self.jitter(spread);
        self.lose_connection();
        self.pending_delay = None;
        if self.manual_attempts_used() {
            let error = LoginError::new(LoginCode::Unavailable, "the link server is restarting");
            self.stop(Ending::Failed(error), false);
            return;
        }
        self.failures = 0;
        self.retry_floor_ms = 0.0;
        self.not_before = now + delay_ms;
        self.set_status(Status::Waiting);
        self.arm(Timer::Reconnect, self.not_before);
        self.emit(Event::Reconnecting {
            attempt: 1,
            delay_ms,
            reason: Disconnect::Closed(close::SERVICE_RESTART),
        });
        self.network_outcome();
    }

    /// A whole number of ms drawn uniformly from `[0, ceiling]` (the
    /// ceiling itself without jitter).
    fn jitter(&mut self, ceiling: f64) -> f64 {
        if self.config.backoff_jitter {
            (self.rng.next_f64() * (ceiling + 1.0)).floor().min(ceiling)
        } else {
            ceiling
        }
    }

    /// Full jitter: `random(0, min(max, initial · 2^(failures−1)))`.
    fn backoff_delay(&mut self) -> f64 {
        let backoff = self.config.backoff;
        let exponent = self.failures.saturating_sub(1).min(52);
        let ceiling = (backoff.initial_ms * 2f64.powi(exponent as i32)).min(backoff.max_ms);
        self.jitter(ceiling)
    }

    /// Ends everything: close, cancel timers, settle the waiting calls
    /// with `ending`'s error, forget the session.
    fn stop(&mut self, ending: Ending, clear_persisted: bool) {
        self.close_conn();
        self.disarm_all();
        self.reject_kicks(CONNECTION_LOST);
        if clear_persisted {
            self.outputs.push_back(Output::ClearPersisted);
        }
        self.session = None;
        self.clients.clear();
        self.client_id = None;
        self.failures = 0;
        self.retry_floor_ms = 0.0;
        self.set_status(Status::LoggedOut);
        let error = match ending {
            Ending::Failed(error) => {
                self.emit(Event::LoginFailed(error.clone()));
                error
            }
            Ending::Cancelled(error) => error,
        };
        self.settle_waiters(Err(error));
    }
}

/// A duration from settings or the server, made finite and in range.
fn clamp_ms(ms: f64, min: f64) -> f64 {
    if ms.is_finite() {
        ms.clamp(min, MAX_DURATION_MS)
    } else {
        min
    }
}
