//! The one place where a login's outcome is decided and recorded. The
//! checks, in order: admission pacing (416, [`super::pacing`]) → the
//! abuse limits (416) → the fields (414) → the
//! appKey and a `deviceKey` (414) → accid/token (302), or for a resume the
//! ticket and its proof (419, [`check_resume`]) → blocked (422) → the
//! device rule (403) → the session policy (417); then the session is
//! admitted and the login recorded (last device, DAU, a new resume ticket
//! or a resumed one's new lifetime) — `loginOk` is sent only once that
//! record has committed. Every outcome, success or refusal, passes through
//! [`login`]'s end, where it is logged and shown to the test hooks.
//!
//! The device rule's record: the device of the last successful login per
//! account and clientType, the devices of the live sessions, and devices
//! whose session ended without a logout or kick (network loss, a server
//! restart) so that every device of a multi-session account can resume
//! after a restart. A logout or kick forgets the device: it then gets 403,
//! so it can never kick back the device that replaced it.

use std::net::IpAddr;
use std::time::Instant;

use imlogin_protocol::{Credential, LoginCode, LoginFrame, LoginMode};

use super::Link;
use crate::backend::{DeviceWrite, LoginRecord, Refused, TicketRecord};
use crate::binding::{hash_ticket, new_ticket, DeviceKey};
use crate::clock::{now_ms, now_secs, utc_day};
use crate::metrics::metrics;
use crate::secret::Secret;
use crate::sessions::{Admission, AdmitError, Admitted, ControlTx};

/// How many times a login is re-checked when the account changes under it
/// (token update, block) before it gives up with 500.
const MAX_STALE_RETRIES: usize = 3;

/// How far a resume's `ts` may be from the server's clock, in ms.
pub const RESUME_WINDOW_MS: u64 = 300_000;

/// The 419 message when the ticket itself was refused (unknown, revoked,
/// expired, or bound to another device).
pub const TICKET_REFUSED: &str =
    "device binding refused: the resume ticket is unknown, revoked or expired";
/// The 419 message when the ticket's proof was refused: the timestamp, the
/// signature or the nonce (which one is logged, never told).
pub const PROOF_REFUSED: &str =
    "device binding refused: the resume signature, timestamp or nonce does not check";

/// The namespace of resume nonces in the Nonce window the server API's
/// `Nonce` uses: a newline, which no HTTP header value holds, so that the
/// two kinds never meet.
const RESUME_NONCE_PREFIX: &str = "resume\n";

/// A refused login: its `loginErr` code, and for 416 when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The `loginErr` code.
    pub code: LoginCode,
    /// `retryAfterMs`, for a rate-limited login.
    pub retry_after_ms: Option<u64>,
    /// The `loginErr` message, when the code's description is not it.
    pub message: Option<&'static str>,
}

impl From<LoginCode> for Refusal {
    fn from(code: LoginCode) -> Self {
        Refusal {
            code,
            retry_after_ms: None,
            message: None,
        }
    }
}

impl Refusal {
    /// A 419 with `message` ([`TICKET_REFUSED`] or [`PROOF_REFUSED`]).
    fn binding(message: &'static str) -> Self {
        Refusal {
            message: Some(message),
            ..LoginCode::DeviceBindingRefused.into()
        }
    }

    /// The `loginErr` message.
    pub fn message(&self) -> &'static str {
        self.message.unwrap_or(self.code.description())
    }
}

/// An admitted login: the session, and the resume ticket issued to the
/// `deviceKey` it bound (for `loginOk.ticket`).
#[derive(Debug)]
pub struct LoggedIn {
    /// The session as the directory admitted it.
    pub admitted: Admitted,
    /// The new resume ticket, for a login that sent `deviceKey`.
    pub ticket: Option<Secret>,
    /// The server's clock when it admitted the login (`serverTime`).
    pub server_time: u64,
}

/// Decides a login frame from `peer` — decoded, or the raw text of one
/// whose fields were refused — and, if it passes, registers the session
/// with control channel `tx` and records the login. `text` is the frame as
/// received (a resume's signature covers its `accid` as sent).
pub async fn login(
    link: &Link,
    peer: Option<IpAddr>,
    frame: Result<&LoginFrame, &str>,
    text: &str,
    tx: &ControlTx,
) -> Result<LoggedIn, Refusal> {
    let started = Instant::now();
    let outcome = decide(link, peer, frame, text, tx).await;
    let code = outcome.as_ref().err().map_or(LoginCode::Ok, |r| r.code);
    metrics().login(code, started.elapsed().as_secs_f64());
    if let Some(probe) = &link.probe {
        probe.record(frame, code);
    }
    match (&outcome, frame) {
        (Ok(done), Ok(f)) => tracing::debug!(
            accid = %f.accid,
            client_id = %done.admitted.client_id,
            resumed = f.ticket.is_some(),
            bound = done.ticket.is_some(),
            mode = f.mode.as_str(),
            "login ok"
        ),
        (Err(r), _) => tracing::debug!(peer = ?peer, code = r.code.as_u16(), "login refused"),
        (Ok(_), Err(_)) => {}
    }
    outcome
}

async fn decide(
    link: &Link,
    peer: Option<IpAddr>,
    frame: Result<&LoginFrame, &str>,
    text: &str,
    tx: &ControlTx,
) -> Result<LoggedIn, Refusal> {
    // Admission pacing first: it costs no storage, so a herd beyond the
    // node's capacity is turned away before it reaches the database.
    if let Err(wait) = link.pacing.admit(Instant::now()) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        metrics().abuse_refusal(crate::metrics::AbuseLimit::Capacity);
        return Err(Refusal {
            retry_after_ms: Some(ms),
            ..LoginCode::RateLimited.into()
        });
    }
    let open_from_peer = peer.map_or(0, |ip| link.connections.open_from(ip));
    let accid = frame.ok().map(|f| f.accid.as_str());
    let gate = link
        .rate
        .check_login(peer, open_from_peer, accid, Instant::now())
        .await;
    match gate {
        Ok(()) => {}
        Err(Refused::RetryAfter(retry_after)) => {
            let ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX);
            tracing::info!(peer = ?peer, accid, retry_after_ms = ms, "login rate limited");
            return Err(Refusal {
                retry_after_ms: Some(ms),
                ..LoginCode::RateLimited.into()
            });
        }
        // Fail closed: a limit that cannot be checked is not skipped; 500
        // tells the client to retry.
        Err(Refused::Store(e)) => {
            tracing::error!(peer = ?peer, accid, error = %e, "login rate check failed on storage");
            return Err(LoginCode::ServerError.into());
        }
    }
    let Ok(f) = frame else {
        return Err(LoginCode::BadParameter.into());
    };
    if f.app_key != link.app_key {
        return Err(LoginCode::BadParameter.into());
    }
    // The decoder let through exactly one credential.
    let credential = f.credential().ok_or(LoginCode::BadParameter)?;
    let (token, binding, resumed) = match credential {
        Credential::Token { token, device_key } => {
            if device_key.is_some_and(|k| DeviceKey::parse(k).is_none()) {
                tracing::info!(accid = %f.accid, "deviceKey is not a P-256 point: refused");
                return Err(LoginCode::BadParameter.into());
            }
            (Some(token), device_key, None)
        }
        Credential::Ticket {
            ticket,
            ts,
            nonce,
            sig,
        } => {
            let proof = Proof {
                ticket,
                ts,
                nonce,
                sig,
            };
            (None, None, Some(check_resume(link, f, text, &proof).await?))
        }
    };
    let clock = &link.accounts.tickets().clock;
    for attempt in 0..MAX_STALE_RETRIES {
        let epoch = link.directory.epoch(&f.accid);
        // A retry reads the account afresh: the cached one was stale.
        let account = match (token, &resumed) {
            (Some(token), _) => {
                link.accounts
                    .credentials(&f.accid, token, attempt > 0)
                    .await?
            }
            (None, Some(ticket_hash)) => {
                if attempt > 0 {
                    // The account changed under the resume (a token change
                    // or a block revokes its tickets): check it again.
                    ticket_of(link, f, ticket_hash).await?;
                }
                link.accounts.resumed_account(&f.accid, attempt > 0).await?
            }
            (None, None) => return Err(LoginCode::BadParameter.into()),
        };
        let known_device = if f.mode == LoginMode::Auto && !f.force {
            link.accounts
                .is_known_device(&f.accid, f.client_type, &f.device_id)
                .await?
        } else {
            false
        };
        let now = now_ms();
        // The tickets' times and `serverTime` (from which clients take the
        // offset they sign `ts` with) are on the server's movable clock.
        let ticket_now = clock.now_ms();
        let admitted = link
            .directory
            .admit(Admission {
                accid: &f.accid,
                client_type: f.client_type,
                device_id: &f.device_id,
                custom_tag: f.custom_tag.as_deref(),
                mode: f.mode,
                force: f.force,
                known_device,
                epoch,
                token_hash: &account.token_hash,
                ticket_hash: resumed.as_deref(),
                now_ms: now,
                tx: tx.clone(),
            })
            .await;
        let admitted = match admitted {
            Ok(a) => a,
            Err(AdmitError::Stale) => continue,
            Err(AdmitError::Forbidden) => return Err(LoginCode::Forbidden.into()),
            Err(AdmitError::DevicePolicy) => return Err(LoginCode::DevicePolicy.into()),
            Err(AdmitError::Unavailable) => return Err(LoginCode::ServerError.into()),
        };
        let mut writes = vec![DeviceWrite::Login(LoginRecord {
            accid: f.accid.clone(),
            client_type: f.client_type,
            device_id: f.device_id.clone(),
            at_ms: now,
            day: utc_day(now),
        })];
        let mut ticket = None;
        if let Some(device_key) = binding {
            let Ok(new) = new_ticket() else {
                tracing::error!("no randomness for a resume ticket: login refused");
                link.directory.remove(&f.accid, &admitted.client_id);
                return Err(LoginCode::ServerError.into());
            };
            writes.push(DeviceWrite::BindTicket(TicketRecord {
                ticket_hash: hash_ticket(new.expose()),
                app_key: f.app_key.clone(),
                accid: f.accid.clone(),
                client_type: f.client_type,
                device_id: f.device_id.clone(),
                device_key: device_key.to_owned(),
                at_ms: ticket_now,
                expired_before_ms: link.accounts.tickets().live_since(ticket_now),
            }));
            ticket = Some(new);
        }
        if let Some(ticket_hash) = &resumed {
            writes.push(DeviceWrite::TouchTicket {
                accid: f.accid.clone(),
                ticket_hash: ticket_hash.clone(),
                at_ms: ticket_now,
            });
        }
        if !admitted.kicked_devices.is_empty() {
            writes.push(DeviceWrite::Forget {
                accid: f.accid.clone(),
                devices: Some(admitted.kicked_devices.clone()),
            });
        }
        if let Err(e) = link.accounts.record(writes).await {
            tracing::error!(error = %e, "login not recorded: refused");
            link.directory.remove(&f.accid, &admitted.client_id);
            return Err(LoginCode::ServerError.into());
        }
        return Ok(LoggedIn {
            admitted,
            ticket,
            server_time: ticket_now,
        });
    }
    Err(LoginCode::ServerError.into())
}

/// A resume's proof of holding the ticket's device key.
struct Proof<'a> {
    ticket: &'a str,
    ts: u64,
    nonce: &'a str,
    sig: &'a str,
}

/// The resume checks of docs/protocol.md ("Device-bound sessions"), in
/// order: the timestamp window, the ticket, the signature, the nonce; the
/// first failure is a 419 whose message tells the ticket from the proof
/// (the log says which check). Returns the ticket's hash.
async fn check_resume(
    link: &Link,
    f: &LoginFrame,
    text: &str,
    proof: &Proof<'_>,
) -> Result<String, Refusal> {
    let refuse = |check: &'static str, message| {
        tracing::info!(accid = %f.accid, device_id = %f.device_id, check, "resume refused");
        Err(Refusal::binding(message))
    };
    let now = link.accounts.tickets().clock.now_ms();
    if proof.ts.abs_diff(now) > RESUME_WINDOW_MS {
        return refuse("ts outside the window", PROOF_REFUSED);
    }
    let ticket_hash = hash_ticket(proof.ticket);
    let key = ticket_of(link, f, &ticket_hash).await?;
    // The signature covers the accid as the client sent it; the frame
    // holds it lower-cased.
    let Some(sent_accid) = sent_accid(text) else {
        return refuse("accid unreadable", PROOF_REFUSED);
    };
    let message = LoginFrame::resume_message(
        &f.app_key,
        &sent_accid,
        &f.device_id,
        proof.ticket,
        proof.ts,
        proof.nonce,
    );
    let verified =
        DeviceKey::parse(&key).is_some_and(|k| k.verifies(message.as_bytes(), proof.sig));
    if !verified {
        return refuse("signature", PROOF_REFUSED);
    }
    let nonce = format!("{RESUME_NONCE_PREFIX}{}", proof.nonce);
    match link.nonces.check_and_insert(&nonce, now_secs()).await {
        Ok(true) => Ok(ticket_hash),
        Ok(false) => refuse("nonce replayed", PROOF_REFUSED),
        Err(e) => {
            tracing::error!(error = %e, "resume nonce check failed on storage");
            Err(LoginCode::ServerError.into())
        }
    }
}

/// The bound key of the live ticket `ticket_hash` if it belongs to the
/// frame's app, account, clientType and device; 419 otherwise.
async fn ticket_of(link: &Link, f: &LoginFrame, ticket_hash: &str) -> Result<String, Refusal> {
    let settings = link.accounts.tickets();
    let ticket = link.accounts.ticket(ticket_hash).await?;
    let live_since = settings.live_since(settings.clock.now_ms());
    let refused = match &ticket {
        None => Some("ticket unknown or revoked"),
        Some(t) if t.last_used_at < live_since => Some("ticket expired"),
        Some(t)
            if t.app_key != f.app_key
                || t.accid != f.accid
                || t.client_type != Some(f.client_type)
                || t.device_id != f.device_id =>
        {
            Some("ticket bound to another device")
        }
        Some(_) => None,
    };
    match (refused, ticket) {
        (None, Some(t)) => Ok(t.device_key),
        (check, _) => {
            let check = check.unwrap_or("ticket unknown or revoked");
            tracing::info!(accid = %f.accid, device_id = %f.device_id, check, "resume refused");
            Err(Refusal::binding(TICKET_REFUSED))
        }
    }
}

/// The `accid` of a login frame's text exactly as sent (the frame was
/// decoded already, so it is there and a string).
fn sent_accid(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Sent {
        accid: String,
    }
    serde_json::from_str::<Sent>(text).ok().map(|s| s.accid)
}
