//! The login checks of DESIGN §3, after the rate check and field
//! validation: 414 (unknown appKey) → 302 (accid/token) → 422 (blocked) →
//! 403 (device rule) → 417 (session policy), then the session is admitted
//! and the login recorded (last device, DAU).
//!
//! The device rule's record: the device of the last successful login per
//! account and clientType, the devices of the live sessions, and devices
//! whose session ended without a logout or kick (network loss, a server
//! restart) so that every device of a multi-session account can resume
//! after a restart. A logout or kick forgets the device: it then gets 403,
//! so it can never kick back the device that replaced it.

use imlogin_protocol::{LoginCode, LoginFrame, LoginMode};

use super::registry::{Admission, AdmitError, Admitted, ControlTx};
use crate::clock::{now_ms, utc_day};
use crate::secret::token_matches;
use crate::state::AppState;

/// How many times a login is re-checked when the account changes under it
/// (token update, block) before it gives up with 500.
const MAX_STALE_RETRIES: usize = 3;

/// Checks a validated login frame and, if it passes, registers the session
/// with control channel `tx`. The error is the `loginErr` code.
pub async fn check_login(
    state: &AppState,
    f: &LoginFrame,
    tx: &ControlTx,
) -> Result<Admitted, LoginCode> {
    if f.app_key != state.app_key {
        return Err(LoginCode::BadParameter);
    }
    for _ in 0..MAX_STALE_RETRIES {
        let epoch = state.sessions.epoch(&f.accid);
        let account = match state.store.account(&f.accid).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(LoginCode::TokenMismatch),
            Err(e) => return Err(store_failed(&e)),
        };
        if !token_matches(&f.token, &account.token_hash) {
            return Err(LoginCode::TokenMismatch);
        }
        if account.blocked {
            return Err(LoginCode::Blocked);
        }
        let known_device = if f.mode == LoginMode::Auto && !f.force {
            match state
                .store
                .is_known_device(&f.accid, f.client_type, &f.device_id)
                .await
            {
                Ok(known) => known,
                Err(e) => return Err(store_failed(&e)),
            }
        } else {
            false
        };
        let now = now_ms();
        let admitted = state
            .sessions
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
        match admitted {
            Ok(a) => {
                let day = utc_day(now);
                let recorded = state
                    .store
                    .record_login(&f.accid, f.client_type, &f.device_id, now, &day)
                    .await;
                if let Err(e) = recorded {
                    state.sessions.remove(&f.accid, &a.client_id);
                    return Err(store_failed(&e));
                }
                if !a.kicked_devices.is_empty() {
                    forget(state, &f.accid, &a.kicked_devices).await;
                }
                return Ok(a);
            }
            Err(AdmitError::Stale) => continue,
            Err(AdmitError::Forbidden) => return Err(LoginCode::Forbidden),
            Err(AdmitError::DevicePolicy) => return Err(LoginCode::DevicePolicy),
            Err(AdmitError::Unavailable) => return Err(LoginCode::ServerError),
        }
    }
    Err(LoginCode::ServerError)
}

/// Forgets devices whose sessions a logout or kick ended. A failure is
/// logged only: the session is already gone, and at worst the device may
/// resume later as if it had lost its network.
pub async fn forget(
    state: &AppState,
    accid: &str,
    devices: &[(imlogin_protocol::ClientType, String)],
) {
    if let Err(e) = state.store.forget_devices(accid, Some(devices)).await {
        tracing::error!(error = %e, "cannot forget ended devices");
    }
}

fn store_failed(e: &crate::store::StoreError) -> LoginCode {
    tracing::error!(error = %e, "login failed on storage");
    LoginCode::ServerError
}
