//! The live sessions of one node, in its memory (SQLite: one node).
//!
//! One mutex guards everything, held only for in-memory work (never across
//! an `.await`), so that an admission sees and changes a consistent picture
//! and every session receives its frames in the order the changes happened.
//! The rules are [`crate::sessions::policy`]'s; this only keeps the lists
//! and hands the messages to the sockets' channels.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use imlogin_protocol::{ClientType, KickReason};

use crate::sessions::policy::{self, Change, Held};
use crate::sessions::{Admission, AdmitError, Admitted, ControlTx, SessionInfo};

struct Live {
    info: SessionInfo,
    tx: ControlTx,
}

impl Held for Live {
    fn info(&self) -> &SessionInfo {
        &self.info
    }
}

/// Hands every message of `change` to its socket and returns the sessions
/// that stay. A closed channel means the socket already ended: nothing to
/// tell.
fn deliver(change: Change<Live>) -> Vec<Live> {
    change.deliver(|live, control| {
        let _ = live.tx.send(control);
    })
}

#[derive(Default)]
struct Inner {
    /// accid → its live sessions, oldest first.
    accounts: HashMap<String, Vec<Live>>,
    /// accid → a counter bumped whenever its credentials or block state
    /// change, so that a login checked against the old state is retried.
    epochs: HashMap<String, u64>,
    next_id: u64,
}

/// The live sessions of every account. See the module docs.
pub struct Registry {
    inner: Mutex<Inner>,
    max_sessions: usize,
    id_prefix: String,
}

impl core::fmt::Debug for Registry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registry")
            .field("max_sessions", &self.max_sessions)
            .field("live", &self.live_count())
            .finish()
    }
}

impl Registry {
    /// An empty registry allowing `max_sessions` per account and clientType.
    /// `id_prefix` makes clientIds unique across server restarts.
    pub fn new(max_sessions: usize, id_prefix: String) -> Self {
        Registry {
            inner: Mutex::new(Inner::default()),
            max_sessions: max_sessions.max(1),
            id_prefix,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than refusing all service would.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account's current epoch (see [`Admission::epoch`]).
    pub fn epoch(&self, accid: &str) -> u64 {
        self.lock().epochs.get(accid).copied().unwrap_or(0)
    }

    /// Marks the account's credentials or block state as changed.
    pub fn bump_epoch(&self, accid: &str) {
        let mut inner = self.lock();
        *inner.epochs.entry(accid.to_owned()).or_insert(0) += 1;
    }

    /// Applies the device rule and the session policy and, if they allow
    /// it, registers the session (see [`policy::admit`]).
    ///
    /// # Errors
    /// [`AdmitError::Stale`] when the account changed since `a.epoch`, or
    /// the policy's refusal.
    pub fn admit(&self, a: Admission<'_>) -> Result<Admitted, AdmitError> {
        let mut inner = self.lock();
        if inner.epochs.get(a.accid).copied().unwrap_or(0) != a.epoch {
            return Err(AdmitError::Stale);
        }
        let empty = Vec::new();
        let live = inner.accounts.get(a.accid).unwrap_or(&empty);
        let plan = policy::decide(live, &a.request(), self.max_sessions)?;
        inner.next_id += 1;
        let client_id = format!("{}-{}", self.id_prefix, inner.next_id);
        let live = inner.accounts.remove(a.accid).unwrap_or_default();
        let new = Live {
            info: a.info(client_id.clone()),
            tx: a.tx.clone(),
        };
        let admit = policy::admit(live, new, &plan, a.client_type);
        let remaining = deliver(admit.change);
        inner.accounts.insert(a.accid.to_owned(), remaining);
        Ok(Admitted {
            client_id,
            others: admit.others,
            kicked_devices: admit.kicked_devices,
        })
    }

    /// Removes a session that ended (logout, disconnect); the account's
    /// other sessions get a `clients` frame. `false` if it was not live.
    pub fn remove(&self, accid: &str, client_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(mut live) = inner.accounts.remove(accid) else {
            return false;
        };
        let before = live.len();
        live.retain(|l| l.info.client_id != client_id);
        let removed = live.len() != before;
        let live = if removed {
            deliver(policy::left(live))
        } else {
            live
        };
        if !live.is_empty() {
            inner.accounts.insert(accid.to_owned(), live);
        }
        removed
    }

    /// `kick{clientId}` from `caller` (see [`policy::kick_by_client`]);
    /// the kicked session's device, or `None` (→ 404).
    pub fn kick_by_client(
        &self,
        accid: &str,
        caller: &str,
        target: &str,
    ) -> Option<(ClientType, String)> {
        let mut inner = self.lock();
        let live = inner.accounts.remove(accid)?;
        let (live, kicked) = match policy::kick_by_client(live, caller, target) {
            Ok(change) => {
                let device = change
                    .kicked
                    .first()
                    .map(|(s, _)| (s.info.client_type, s.info.device_id.clone()));
                (deliver(change), device)
            }
            Err(live) => (live, None),
        };
        inner.accounts.insert(accid.to_owned(), live);
        kicked
    }

    /// Ends every live session of the account with `kicked{reason}` and
    /// bumps its epoch. Returns how many sessions were ended.
    pub fn kick_account(&self, accid: &str, reason: KickReason) -> usize {
        let mut inner = self.lock();
        *inner.epochs.entry(accid.to_owned()).or_insert(0) += 1;
        let live = inner.accounts.remove(accid).unwrap_or_default();
        let n = live.len();
        deliver(policy::kick_all(live, reason));
        n
    }

    /// Ends the account's sessions on the devices `ends` picks with
    /// `kicked{reason}` and bumps its epoch (a login checked before is
    /// checked again); the other sessions are told. Returns the ended
    /// sessions' devices.
    pub fn kick_devices(
        &self,
        accid: &str,
        ends: &dyn Fn(&SessionInfo) -> bool,
        reason: KickReason,
    ) -> Vec<(ClientType, String)> {
        let mut inner = self.lock();
        *inner.epochs.entry(accid.to_owned()).or_insert(0) += 1;
        let live = inner.accounts.remove(accid).unwrap_or_default();
        let change = policy::kick_devices(live, ends, reason);
        let devices = change.kicked_devices();
        let remaining = deliver(change);
        if !remaining.is_empty() {
            inner.accounts.insert(accid.to_owned(), remaining);
        }
        devices
    }

    /// The live sessions of one account (or of all), oldest first.
    pub fn snapshot(&self, accid: Option<&str>) -> Vec<(String, SessionInfo)> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (acc, list) in &inner.accounts {
            if accid.is_some_and(|a| a != acc) {
                continue;
            }
            out.extend(list.iter().map(|l| (acc.clone(), l.info.clone())));
        }
        out
    }

    /// The number of live sessions.
    pub fn live_count(&self) -> usize {
        self.lock().accounts.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use imlogin_protocol::{LoginMode, ServerFrame};
    use tokio::sync::mpsc;

    use super::*;
    use crate::sessions::Control;

    fn admission<'a>(
        accid: &'a str,
        device: &'a str,
        mode: LoginMode,
        known: bool,
        tx: ControlTx,
    ) -> Admission<'a> {
        Admission {
            accid,
            client_type: ClientType::Web,
            device_id: device,
            custom_tag: None,
            mode,
            force: false,
            known_device: known,
            epoch: 0,
            token_hash: "h",
            ticket_hash: None,
            now_ms: 1,
            tx,
        }
    }

    #[test]
    fn auto_login_never_kicks_another_device() {
        let reg = Registry::new(1, "t".into());
        let (tx, mut rx) = mpsc::unbounded_channel();
        reg.admit(admission("a", "d1", LoginMode::Manual, false, tx))
            .unwrap();
        let (tx2, _rx2) = mpsc::unbounded_channel();
        let err = reg
            .admit(admission("a", "d2", LoginMode::Auto, true, tx2))
            .unwrap_err();
        assert_eq!(err, AdmitError::DevicePolicy);
        assert!(rx.try_recv().is_err());
        assert_eq!(reg.live_count(), 1, "the refused login changed nothing");
    }

    #[test]
    fn same_device_is_replaced_and_told() {
        let reg = Registry::new(1, "t".into());
        let (tx, mut rx) = mpsc::unbounded_channel();
        reg.admit(admission("a", "d1", LoginMode::Manual, false, tx))
            .unwrap();
        let (tx2, _rx2) = mpsc::unbounded_channel();
        let ok = reg
            .admit(admission("a", "d1", LoginMode::Auto, false, tx2))
            .unwrap();
        assert!(ok.others.is_empty());
        assert!(matches!(
            rx.try_recv(),
            Ok(Control::Kicked(ServerFrame::Kicked {
                reason: KickReason::SameDevice,
                ..
            }))
        ));
        assert_eq!(reg.live_count(), 1);
    }

    #[test]
    fn stale_epoch_is_refused() {
        let reg = Registry::new(1, "t".into());
        reg.bump_epoch("a");
        let (tx, _rx) = mpsc::unbounded_channel();
        let err = reg
            .admit(admission("a", "d1", LoginMode::Manual, false, tx))
            .unwrap_err();
        assert_eq!(err, AdmitError::Stale);
    }
}
