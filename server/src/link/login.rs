//! The login checks of DESIGN §3, after the rate check and field
//! validation: 414 (unknown appKey) → 302 (accid/token) → 422 (blocked) →
//! 403 (device rule) → 417 (session policy), then the session is admitted
//! and the login recorded (last device, DAU).

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
        let epoch = state.registry.epoch(&f.accid);
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
        let last_device = if f.mode == LoginMode::Auto && !f.force {
            match state.store.last_device(&f.accid, f.client_type).await {
                Ok(d) => d,
                Err(e) => return Err(store_failed(&e)),
            }
        } else {
            None
        };
        let now = now_ms();
        let admitted = state.registry.admit(Admission {
            accid: &f.accid,
            client_type: f.client_type,
            device_id: &f.device_id,
            custom_tag: f.custom_tag.as_deref(),
            mode: f.mode,
            force: f.force,
            last_device: last_device.as_deref(),
            epoch,
            now_ms: now,
            tx: tx.clone(),
        });
        match admitted {
            Ok(a) => {
                let day = utc_day(now);
                let recorded = state
                    .store
                    .record_login(&f.accid, f.client_type, &f.device_id, now, &day)
                    .await;
                if let Err(e) = recorded {
                    state.registry.remove(&f.accid, &a.client_id);
                    return Err(store_failed(&e));
                }
                return Ok(a);
            }
            Err(AdmitError::Stale) => continue,
            Err(AdmitError::Forbidden) => return Err(LoginCode::Forbidden),
            Err(AdmitError::DevicePolicy) => return Err(LoginCode::DevicePolicy),
        }
    }
    Err(LoginCode::ServerError)
}

fn store_failed(e: &crate::store::StoreError) -> LoginCode {
    tracing::error!(error = %e, "login failed on storage");
    LoginCode::ServerError
}
