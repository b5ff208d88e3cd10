//! A native driver for [`imlogin_core::LoginMachine`]: one tokio task per
//! client runs the very machine the browser package runs (the same
//! `imlogin-core` crate), over a real WebSocket
//! (tokio-tungstenite), with tokio's clock for `now` and one sleep until the
//! machine's `poll_timeout()`. Used by the end-to-end tests of core + server,
//! and by load generators.
//!
//! With [`Options::device_binding`] the client binds a P-256 device key of
//! its own to its logins and resumes with the ticket the server issues
//! (docs/protocol.md, "Device-bound sessions"): the machine binds and
//! resumes as it does in the browser, and [`DeviceKey`] answers its
//! requests in place of WebCrypto.
//!
//! ```no_run
//! # async fn demo() {
//! use imlogin_core::{Config, Status};
//! use imlogin_native::NativeClient;
//!
//! let mut client = NativeClient::spawn(Config::new("app-key", "device-1"), "ws://127.0.0.1:8080/link", 7);
//! client.login("alice", "token", false).await.unwrap();
//! assert_eq!(client.status(), Status::LoggedIn);
//! # }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use imlogin_core::device::{DeviceProof, ProofRequest, ResumeFields, ResumeProof};
use imlogin_core::protocol::LoginCode;
use imlogin_core::{
    Config, ConnId, Event, LoginError, LoginMachine, Output, RequestId, Status, StoredSession,
};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// An app command for the client task.
enum Command {
    Login {
        accid: String,
        token: String,
        force: bool,
        reply: oneshot::Sender<Result<(), LoginError>>,
    },
    AutoLogin {
        force: bool,
        reply: oneshot::Sender<Result<bool, LoginError>>,
    },
    AutoLoginWith {
        accid: String,
        token: String,
        force: bool,
        reply: oneshot::Sender<Result<bool, LoginError>>,
    },
    Kick {
        client_id: String,
        reply: oneshot::Sender<Result<(), LoginError>>,
    },
    Logout {
        reply: oneshot::Sender<()>,
    },
    Offline,
    Online,
}

/// Something a connection task reports.
enum SocketEvent {
    Opened,
    Text(String),
    Closed(u16),
}

/// A connection task's handle: frames to send, or a close.
enum SocketCommand {
    Send(String),
    Close(u16),
}

/// A login client running on tokio: the login machine, a WebSocket, and an
/// in-memory "storage" for the persisted session.
pub struct NativeClient {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    events: mpsc::UnboundedReceiver<Event>,
    persisted: Arc<Mutex<Option<StoredSession>>>,
    task: JoinHandle<()>,
}

/// How a [`NativeClient`] is set up beyond its [`Config`].
#[derive(Default, Clone)]
pub struct Options {
    /// Ask this LBS for a link URL before every connection (see
    /// [`NativeClient::spawn_with_lbs`]).
    pub lbs_url: Option<String>,
    /// A session "persisted" by an earlier run.
    pub persisted: Option<StoredSession>,
    /// The TLS configuration for a `wss://` link.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Bind a device key of this client's own ([`DeviceKey`]) to its
    /// logins and resume with the server's ticket: sets the machine's
    /// `Config::device_binding`.
    pub device_binding: bool,
}

/// A native client's device key (docs/protocol.md, "Device-bound
/// sessions"): a P-256 key of its own that answers the login machine's
/// requests ([`Output::Prove`]) as the browser package's WebCrypto key
/// does — the public key for a login with a token, a signed resume for a
/// login with the ticket. The machine does the rest (the ticket in its
/// record, never the token; 419 and `revoked` clear it), so the frames
/// are the browser's.
pub struct DeviceKey {
    key: SigningKey,
    public: String,
}

impl DeviceKey {
    /// A new random key.
    ///
    /// # Panics
    /// When the operating system has no randomness to give.
    pub fn new() -> Self {
        let key = loop {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).expect("the OS has randomness");
            // Fails only for a seed of 0 or past the group order.
            if let Ok(key) = SigningKey::from_slice(&seed) {
                break key;
            }
        };
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes());
        DeviceKey { key, public }
    }

    /// The public key as a login frame's `deviceKey` carries it.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// A resume of `fields` signed now: `ts` is this machine's wall clock
    /// plus the record's clock offset, the nonce 16 random bytes.
    pub fn sign_resume(&self, fields: &ResumeFields) -> ResumeProof {
        let ts = wall_ms().saturating_add_signed(fields.skew_ms as i64);
        let nonce = random_nonce();
        let sig: Signature = self.key.sign(fields.message(ts, &nonce).as_bytes());
        ResumeProof {
            ts,
            nonce,
            sig: URL_SAFE_NO_PAD.encode(sig.to_bytes()),
        }
    }

    /// The answer to the machine's request.
    pub fn prove(&self, request: &ProofRequest) -> DeviceProof {
        DeviceProof {
            device_key: self.public.clone(),
            wall_ms: wall_ms() as f64,
            resume: match request {
                ProofRequest::PublicKey => None,
                ProofRequest::Resume(fields) => Some(self.sign_resume(fields)),
            },
        }
    }
}

impl Default for DeviceKey {
    fn default() -> Self {
        Self::new()
    }
}

/// This machine's wall clock, ms since the Unix epoch.
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// 16 random bytes, base64url.
fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

impl NativeClient {
    /// Starts a client task that connects to `link_url` when asked to log in.
    pub fn spawn(config: Config, link_url: &str, seed: u64) -> NativeClient {
        Self::spawn_with_session(config, link_url, seed, None)
    }

    /// Like [`NativeClient::spawn`], but asks the LBS at `lbs_url`
    /// (`GET lbs_url?appKey=…`) for a link URL before every connection, as
    /// the browser package does, falling back to `link_url` when the LBS
    /// cannot be reached or offers no `ws://`/`wss://` link.
    pub fn spawn_with_lbs(
        config: Config,
        lbs_url: &str,
        link_url: &str,
        seed: u64,
    ) -> NativeClient {
        let options = Options {
            lbs_url: Some(lbs_url.to_owned()),
            ..Options::default()
        };
        Self::spawn_with_options(config, link_url, seed, options)
    }

    /// Like [`NativeClient::spawn`], for a `wss://` link URL: the TLS
    /// connection trusts what `tls` trusts (its root certificates), e.g.
    /// a private CA.
    pub fn spawn_tls(
        config: Config,
        link_url: &str,
        seed: u64,
        tls: Arc<rustls::ClientConfig>,
    ) -> NativeClient {
        let options = Options {
            tls: Some(tls),
            ..Options::default()
        };
        Self::spawn_with_options(config, link_url, seed, options)
    }

    /// Like [`NativeClient::spawn`], with a session "persisted" by an
    /// earlier run (a reloaded page, a restarted app).
    pub fn spawn_with_session(
        config: Config,
        link_url: &str,
        seed: u64,
        persisted: Option<StoredSession>,
    ) -> NativeClient {
        let options = Options {
            persisted,
            ..Options::default()
        };
        Self::spawn_with_options(config, link_url, seed, options)
    }

    /// Starts a client task set up by `options` (any combination of the
    /// other constructors' settings, and device binding).
    pub fn spawn_with_options(
        config: Config,
        link_url: &str,
        seed: u64,
        options: Options,
    ) -> NativeClient {
        let Options {
            lbs_url,
            persisted,
            tls,
            device_binding,
        } = options;
        let lbs = lbs_url.map(|url| Lbs {
            url,
            app_key: config.app_key.clone(),
        });
        let mut config = config;
        config.device_binding |= device_binding;
        let device_key = config.device_binding.then(DeviceKey::new);
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(Status::LoggedOut);
        let (event_tx, events) = mpsc::unbounded_channel();
        let persisted = Arc::new(Mutex::new(persisted));
        let (socket_tx, socket_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            machine: LoginMachine::new(config, seed),
            start: Instant::now(),
            link_url: link_url.to_owned(),
            lbs,
            tls,
            sockets: HashMap::new(),
            socket_tx,
            socket_rx,
            replies: HashMap::new(),
            status: status_tx,
            events: event_tx,
            persisted: persisted.clone(),
            device_key,
        };
        let task = tokio::spawn(driver.run(command_rx));
        NativeClient {
            commands,
            status,
            events,
            persisted,
            task,
        }
    }

    fn send(&self, command: Command) {
        // The task only ends when the client is dropped.
        let _ = self.commands.send(command);
    }

    /// A manual login; resolves like the JS `login()`.
    pub async fn login(&self, accid: &str, token: &str, force: bool) -> Result<(), LoginError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Login {
            accid: accid.to_owned(),
            token: token.to_owned(),
            force,
            reply,
        });
        rx.await.unwrap_or_else(|_| Err(cancelled()))
    }

    /// An auto login with the persisted session; resolves like the JS
    /// `autoLogin()`: `false` when nothing is persisted, `true` once logged
    /// in or as soon as an attempt fails for network reasons (the session
    /// is kept and retried), an error for a terminal refusal.
    pub async fn auto_login(&self, force: bool) -> Result<bool, LoginError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::AutoLogin { force, reply });
        rx.await.unwrap_or_else(|_| Err(cancelled()))
    }

    /// An auto login with credentials the app server has just issued
    /// ([`LoginMachine::auto_login_with`]); settles like
    /// [`auto_login`](Self::auto_login).
    pub async fn auto_login_with(
        &self,
        accid: &str,
        token: &str,
        force: bool,
    ) -> Result<bool, LoginError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::AutoLoginWith {
            accid: accid.to_owned(),
            token: token.to_owned(),
            force,
            reply,
        });
        rx.await.unwrap_or_else(|_| Err(cancelled()))
    }

    /// Kicks another session of the account.
    pub async fn kick_client(&self, client_id: &str) -> Result<(), LoginError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Kick {
            client_id: client_id.to_owned(),
            reply,
        });
        rx.await.unwrap_or_else(|_| Err(cancelled()))
    }

    /// Logs out.
    pub async fn logout(&self) {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Logout { reply });
        let _ = rx.await;
    }

    /// Tells the machine the network went away / came back.
    pub fn set_online(&self, online: bool) {
        self.send(if online {
            Command::Online
        } else {
            Command::Offline
        });
    }

    /// The current status.
    pub fn status(&self) -> Status {
        *self.status.borrow()
    }

    /// Waits until the status is `want`; `false` if `deadline` passes first.
    pub async fn wait_for(&mut self, want: Status, deadline: std::time::Duration) -> bool {
        tokio::time::timeout(deadline, self.status.wait_for(|s| *s == want))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The next event, if one arrives within `deadline`.
    pub async fn next_event(&mut self, deadline: std::time::Duration) -> Option<Event> {
        tokio::time::timeout(deadline, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// Every event received so far and not yet taken.
    pub fn drain_events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }

    /// The resume ticket the client holds, with device binding on (a
    /// secret: for tests).
    pub fn device_ticket(&self) -> Option<String> {
        let session = self.persisted()?;
        session.credentials.ticket.map(|t| t.ticket)
    }

    /// What the client's "storage" holds.
    pub fn persisted(&self) -> Option<StoredSession> {
        self.persisted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for NativeClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn cancelled() -> LoginError {
    LoginError::new(LoginCode::Cancelled, "the client task ended")
}

/// A reply channel waiting for a request's outcome.
enum Reply {
    Unit(oneshot::Sender<Result<(), LoginError>>),
    Bool(oneshot::Sender<Result<bool, LoginError>>),
}

/// Where link URLs are discovered.
#[derive(Clone)]
struct Lbs {
    url: String,
    app_key: String,
}

impl Lbs {
    /// The first `ws://`/`wss://` link the LBS offers, or `None` on any
    /// failure (within two seconds).
    async fn discover(&self) -> Option<String> {
        let ask = async {
            let body: serde_json::Value = reqwest::Client::new()
                .get(&self.url)
                .query(&[("appKey", &self.app_key)])
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            if body["code"] != 200 {
                return None;
            }
            body["links"]
                .as_array()?
                .iter()
                .filter_map(serde_json::Value::as_str)
                .find(|l| l.starts_with("ws://") || l.starts_with("wss://"))
                .map(str::to_owned)
        };
        tokio::time::timeout(std::time::Duration::from_secs(2), ask)
            .await
            .ok()
            .flatten()
    }
}

struct Driver {
    machine: LoginMachine,
    start: Instant,
    link_url: String,
    lbs: Option<Lbs>,
    /// The TLS configuration for `wss://` links (none: `ws://` only).
    tls: Option<Arc<rustls::ClientConfig>>,
    sockets: HashMap<ConnId, mpsc::UnboundedSender<SocketCommand>>,
    /// Connection tasks report here (a clone per task) …
    socket_tx: mpsc::UnboundedSender<(ConnId, SocketEvent)>,
    /// … and the client task reads here.
    socket_rx: mpsc::UnboundedReceiver<(ConnId, SocketEvent)>,
    replies: HashMap<RequestId, Reply>,
    status: watch::Sender<Status>,
    events: mpsc::UnboundedSender<Event>,
    persisted: Arc<Mutex<Option<StoredSession>>>,
    /// The device key, with device binding.
    device_key: Option<DeviceKey>,
}

impl Driver {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            self.drain();
            let sleep_until = self
                .machine
                .poll_timeout()
                .map(|at| self.start + std::time::Duration::from_secs_f64((at.max(0.0)) / 1000.0));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(c) => self.command(c),
                    None => return,
                },
                Some((conn, event)) = self.socket_rx.recv() => {
                    let now = self.now();
                    match event {
                        SocketEvent::Opened => self.machine.handle_opened(now, conn),
                        SocketEvent::Text(text) => self.machine.handle_text(now, conn, &text),
                        SocketEvent::Closed(code) => {
                            self.sockets.remove(&conn);
                            self.machine.handle_closed(now, conn, code);
                        }
                    }
                }
                _ = sleep_or_forever(sleep_until) => {
                    let now = self.now();
                    self.machine.handle_timeout(now);
                }
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Login {
                accid,
                token,
                force,
                reply,
            } => {
                let id = self.machine.login(now, &accid, &token, force);
                self.replies.insert(id, Reply::Unit(reply));
            }
            Command::AutoLogin { force, reply } => {
                let stored = self
                    .persisted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                match self.machine.auto_login(now, stored, force) {
                    Some(id) => {
                        self.replies.insert(id, Reply::Bool(reply));
                    }
                    None => {
                        let _ = reply.send(Ok(false));
                    }
                }
            }
            Command::AutoLoginWith {
                accid,
                token,
                force,
                reply,
            } => {
                let id = self.machine.auto_login_with(now, &accid, &token, force);
                self.replies.insert(id, Reply::Bool(reply));
            }
            Command::Kick { client_id, reply } => {
                let id = self.machine.kick_client(now, &client_id);
                self.replies.insert(id, Reply::Unit(reply));
            }
            Command::Logout { reply } => {
                self.machine.logout(now);
                self.drain();
                let _ = reply.send(());
            }
            Command::Offline => self.machine.handle_offline(now),
            Command::Online => self.machine.handle_online(now),
        }
    }

    /// Carries out every pending output.
    fn drain(&mut self) {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Connect(conn) => self.connect(conn),
                // Native clients log in with fixed tokens (no provider) …
                Output::FetchToken(conn, _) => self.machine.handle_token(self.now(), conn, None),
                // … answer for their device key (or say they have none) …
                Output::Prove(conn, request) => {
                    let proof = self.device_key.as_ref().map(|k| k.prove(&request));
                    self.machine.handle_proof(self.now(), conn, proof);
                }
                // … and keep the machine's backoff (no delay hook).
                Output::ChooseDelay { conn, .. } => {
                    self.machine.handle_delay(self.now(), conn, None);
                }
                Output::Send(conn, frame) => {
                    if let Some(socket) = self.sockets.get(&conn) {
                        let _ = socket.send(SocketCommand::Send(frame.to_json()));
                    }
                }
                Output::Close(conn, code) => {
                    if let Some(socket) = self.sockets.remove(&conn) {
                        let _ = socket.send(SocketCommand::Close(code));
                    }
                }
                Output::Persist(session) => {
                    *self.persisted.lock().unwrap_or_else(|e| e.into_inner()) = Some(session);
                }
                Output::ClearPersisted => {
                    *self.persisted.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Output::Emit(event) => {
                    if let Event::Status(s) = &event {
                        self.status.send_replace(*s);
                    }
                    let _ = self.events.send(event);
                }
                Output::Settle(id, result) => match self.replies.remove(&id) {
                    Some(Reply::Unit(tx)) => {
                        let _ = tx.send(result);
                    }
                    Some(Reply::Bool(tx)) => {
                        let _ = tx.send(result.map(|()| true));
                    }
                    None => {}
                },
            }
        }
    }

    /// Spawns the task that owns connection `conn`.
    fn connect(&mut self, conn: ConnId) {
        let (tx, mut rx) = mpsc::unbounded_channel::<SocketCommand>();
        self.sockets.insert(conn, tx);
        let events = self.socket_tx.clone();
        let fallback = self.link_url.clone();
        let lbs = self.lbs.clone();
        let tls = self.tls.clone().map(tokio_tungstenite::Connector::Rustls);
        tokio::spawn(async move {
            let report = |e: SocketEvent| {
                let _ = events.send((conn, e));
            };
            let url = match &lbs {
                Some(lbs) => lbs.discover().await.unwrap_or(fallback),
                None => fallback,
            };
            let mut ws = tokio::select! {
                connected = tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, false, tls) => match connected {
                    Ok((ws, _)) => ws,
                    Err(_) => return report(SocketEvent::Closed(1006)),
                },
                // Closed by the machine (connect timeout) before it opened.
                _ = wait_for_close(&mut rx) => return,
            };
            report(SocketEvent::Opened);
            loop {
                tokio::select! {
                    command = rx.recv() => match command {
                        Some(SocketCommand::Send(text)) => {
                            if ws.send(Message::text(text)).await.is_err() {
                                return report(SocketEvent::Closed(1006));
                            }
                        }
                        close @ (Some(SocketCommand::Close(_)) | None) => {
                            let code = match close {
                                Some(SocketCommand::Close(code)) => code,
                                _ => 1000,
                            };
                            let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
                            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(Some(frame))).await;
                            return;
                        }
                    },
                    message = ws.next() => match message {
                        Some(Ok(Message::Text(text))) => report(SocketEvent::Text(text.to_string())),
                        Some(Ok(Message::Close(frame))) => {
                            return report(SocketEvent::Closed(frame.map_or(1005, |f| u16::from(f.code))));
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => return report(SocketEvent::Closed(1006)),
                    },
                }
            }
        });
    }
}

async fn wait_for_close(rx: &mut mpsc::UnboundedReceiver<SocketCommand>) {
    loop {
        match rx.recv().await {
            Some(SocketCommand::Close(_)) | None => return,
            Some(SocketCommand::Send(_)) => {}
        }
    }
}

async fn sleep_or_forever(until: Option<Instant>) {
    match until {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
