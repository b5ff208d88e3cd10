//! The one place where a login's outcome is decided and recorded. The
//! checks, in order: the abuse limits (416) → the fields (414) → the
//! appKey (414) → accid/token (302) → blocked (422) → the device rule (403)
//! → the session policy (417); then the session is admitted and the login
//! recorded (last device, DAU) — `loginOk` is sent only once that
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

use imlogin_protocol::{LoginCode, LoginFrame, LoginMode};

use super::Link;
use crate::backend::{DeviceWrite, LoginRecord, Refused};
use crate::clock::{now_ms, utc_day};
use crate::metrics::metrics;
use crate::sessions::{Admission, AdmitError, Admitted, ControlTx};

/// How many times a login is re-checked when the account changes under it
/// (token update, block) before it gives up with 500.
const MAX_STALE_RETRIES: usize = 3;

/// A refused login: its `loginErr` code, and for 416 when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The `loginErr` code.
    pub code: LoginCode,
    /// `retryAfterMs`, for a rate-limited login.
    pub retry_after_ms: Option<u64>,
}

impl From<LoginCode> for Refusal {
    fn from(code: LoginCode) -> Self {
        Refusal {
            code,
            retry_after_ms: None,
        }
    }
}

/// Decides a login frame from `peer` — decoded, or the raw text of one
/// whose fields were refused — and, if it passes, registers the session
/// with control channel `tx` and records the login.
pub async fn login(
    link: &Link,
    peer: Option<IpAddr>,
    frame: Result<&LoginFrame, &str>,
    tx: &ControlTx,
) -> Result<Admitted, Refusal> {
    let started = Instant::now();
    let outcome = decide(link, peer, frame, tx).await;
    let code = outcome.as_ref().err().map_or(LoginCode::Ok, |r| r.code);
    metrics().login(code, started.elapsed().as_secs_f64());
    if let Some(probe) = &link.probe {
        probe.record(frame, code);
    }
    match (&outcome, frame) {
        (Ok(admitted), Ok(f)) => tracing::debug!(
            accid = %f.accid,
            client_id = %admitted.client_id,
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
    tx: &ControlTx,
) -> Result<Admitted, Refusal> {
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
                code: LoginCode::RateLimited,
                retry_after_ms: Some(ms),
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
    let Some(token) = f.token.as_deref() else {
        return Err(LoginCode::DeviceBindingRefused.into());
    };
    for attempt in 0..MAX_STALE_RETRIES {
        let epoch = link.directory.epoch(&f.accid);
        // A retry reads the account afresh: the cached one was stale.
        let account = link
            .accounts
            .credentials(&f.accid, token, attempt > 0)
            .await?;
        let known_device = if f.mode == LoginMode::Auto && !f.force {
            link.accounts
                .is_known_device(&f.accid, f.client_type, &f.device_id)
                .await?
        } else {
            false
        };
        let now = now_ms();
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
        return Ok(admitted);
    }
    Err(LoginCode::ServerError.into())
}
