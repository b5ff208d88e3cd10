//! The registry of live (logged-in) sessions: the session policy, kicks and
//! the `clients` frames that tell an account's sessions about each other.
//!
//! One mutex guards everything, held only for in-memory work (never across
//! an `.await`), so that an admission sees and changes a consistent picture
//! and every session receives its frames in the order the changes happened.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use imlogin_protocol::{Client, ClientType, ClientsChange, KickReason, LoginMode, ServerFrame};
use tokio::sync::mpsc;

use super::policy::{decide, Plan, Request};

/// An instruction to one socket task, from outside its own frame handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Send this frame.
    Send(ServerFrame),
    /// Send this `kicked` frame, then close with 1000. The session has
    /// already left the registry.
    Kicked(ServerFrame),
    /// Close the socket with this code (test-hook drop, shutdown: 1012).
    Close(u16),
}

/// The sending half of a socket task's control channel.
pub type ControlTx = mpsc::UnboundedSender<Control>;

/// What the registry knows about one live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Server-assigned session id.
    pub client_id: String,
    /// The session's device kind.
    pub client_type: ClientType,
    /// The session's device id.
    pub device_id: String,
    /// The app's tag for the session.
    pub custom_tag: Option<String>,
    /// Login time, ms since the Unix epoch.
    pub login_at: u64,
    /// The mode of the login that created the session.
    pub mode: LoginMode,
    /// Whether that login was forced.
    pub force: bool,
}

impl SessionInfo {
    /// The session as the account's other sessions see it (`clients`).
    pub(crate) fn as_client(&self) -> Client {
        Client {
            client_id: self.client_id.clone(),
            client_type: self.client_type,
            device_id: self.device_id.clone(),
            custom_tag: self.custom_tag.clone(),
            login_at: self.login_at,
        }
    }
}

struct Live {
    info: SessionInfo,
    tx: ControlTx,
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

/// A login that passed the credential checks and asks for a session.
#[derive(Debug)]
pub struct Admission<'a> {
    /// The account (lower case).
    pub accid: &'a str,
    /// The device kind.
    pub client_type: ClientType,
    /// The device id.
    pub device_id: &'a str,
    /// The app's tag.
    pub custom_tag: Option<&'a str>,
    /// Manual or auto.
    pub mode: LoginMode,
    /// Mandatory login: skips the device rule, may kick another device.
    pub force: bool,
    /// Whether the store knows `device_id` for this account and
    /// clientType (last successful login, or resumable); only consulted
    /// for an auto login without `force`.
    pub known_device: bool,
    /// The account's epoch read before the credential checks.
    pub epoch: u64,
    /// The token hash the credential check passed against (a cluster
    /// admission re-reads the account and refuses a changed one as stale).
    pub token_hash: &'a str,
    /// Now, ms since the Unix epoch.
    pub now_ms: u64,
    /// The new session's control channel.
    pub tx: ControlTx,
}

impl Admission<'_> {
    /// What the session policy needs to know of this login.
    pub fn request(&self) -> Request<'_> {
        Request {
            client_type: self.client_type,
            device_id: self.device_id,
            mode: self.mode,
            force: self.force,
            known_device: self.known_device,
        }
    }
}

/// Why an admission was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitError {
    /// The account changed since the credential checks: check again.
    Stale,
    /// 403: auto login from a device other than the last one.
    Forbidden,
    /// 417: an auto login would have to kick another device.
    DevicePolicy,
    /// The shared session directory cannot be reached (→ 500).
    Unavailable,
}

/// A session admitted into the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The new session's id.
    pub client_id: String,
    /// The account's other live sessions, for `loginOk`.
    pub others: Vec<Client>,
    /// The devices kicked `exclusive` (to be forgotten by the store).
    pub kicked_devices: Vec<(ClientType, String)>,
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
    /// it, registers the session: sessions on the same device are replaced
    /// (`sameDevice`), the oldest other-device sessions beyond the limit are
    /// kicked (`exclusive`) for a manual or forced login, and the account's
    /// other sessions get a `clients` frame.
    pub fn admit(&self, a: Admission<'_>) -> Result<Admitted, AdmitError> {
        let mut inner = self.lock();
        if inner.epochs.get(a.accid).copied().unwrap_or(0) != a.epoch {
            return Err(AdmitError::Stale);
        }
        let live: Vec<SessionInfo> = inner
            .accounts
            .get(a.accid)
            .map(|list| list.iter().map(|l| l.info.clone()).collect())
            .unwrap_or_default();
        let Plan {
            same_device,
            exclusive,
        } = decide(&live, &a.request(), self.max_sessions)?;

        inner.next_id += 1;
        let client_id = format!("{}-{}", self.id_prefix, inner.next_id);
        let info = SessionInfo {
            client_id: client_id.clone(),
            client_type: a.client_type,
            device_id: a.device_id.to_owned(),
            custom_tag: a.custom_tag.map(str::to_owned),
            login_at: a.now_ms,
            mode: a.mode,
            force: a.force,
        };
        let list = inner.accounts.entry(a.accid.to_owned()).or_default();
        let mut kicked = Vec::new();
        let mut kicked_devices = Vec::new();
        list.retain(|l| {
            let reason = if same_device.contains(&l.info.client_id) {
                KickReason::SameDevice
            } else if exclusive.contains(&l.info.client_id) {
                kicked_devices.push((l.info.client_type, l.info.device_id.clone()));
                KickReason::Exclusive
            } else {
                return true;
            };
            kicked.push((l.tx.clone(), reason));
            false
        });
        for (tx, reason) in kicked {
            // A closed channel means the socket already ended: nothing to tell.
            let _ = tx.send(Control::Kicked(ServerFrame::Kicked {
                reason,
                client_type: Some(a.client_type),
            }));
        }
        let others = list.iter().map(|l| l.info.as_client()).collect();
        list.push(Live { info, tx: a.tx });
        broadcast(list, ClientsChange::Login, Some(&client_id));
        Ok(Admitted {
            client_id,
            others,
            kicked_devices,
        })
    }

    /// Removes a session that ended (logout, disconnect); the account's
    /// other sessions get a `clients` frame. `false` if it was not live.
    pub fn remove(&self, accid: &str, client_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(list) = inner.accounts.get_mut(accid) else {
            return false;
        };
        let before = list.len();
        list.retain(|l| l.info.client_id != client_id);
        let removed = list.len() != before;
        if removed {
            broadcast(list, ClientsChange::Logout, None);
        }
        if list.is_empty() {
            inner.accounts.remove(accid);
        }
        removed
    }

    /// `kick{clientId}` from `caller`: ends another live session of the same
    /// account (`kicked{reason:"byClient"}`). `false` (→ 404) for an unknown
    /// id or the caller itself. The remaining sessions, the caller included,
    /// get a `clients` frame. Returns the kicked session's device.
    pub fn kick_by_client(
        &self,
        accid: &str,
        caller: &str,
        target: &str,
    ) -> Option<(ClientType, String)> {
        if caller == target {
            return None;
        }
        let mut inner = self.lock();
        let list = inner.accounts.get_mut(accid)?;
        let caller_type = list
            .iter()
            .find(|l| l.info.client_id == caller)
            .map(|l| l.info.client_type)?;
        let pos = list.iter().position(|l| l.info.client_id == target)?;
        let gone = list.remove(pos);
        let _ = gone.tx.send(Control::Kicked(ServerFrame::Kicked {
            reason: KickReason::ByClient,
            client_type: Some(caller_type),
        }));
        broadcast(list, ClientsChange::Logout, None);
        Some((gone.info.client_type, gone.info.device_id))
    }

    /// Ends every live session of the account with `kicked{reason}` and
    /// bumps its epoch. Returns how many sessions were ended.
    pub fn kick_account(&self, accid: &str, reason: KickReason) -> usize {
        let mut inner = self.lock();
        *inner.epochs.entry(accid.to_owned()).or_insert(0) += 1;
        let Some(list) = inner.accounts.remove(accid) else {
            return 0;
        };
        for l in &list {
            let _ = l.tx.send(Control::Kicked(ServerFrame::Kicked {
                reason,
                client_type: None,
            }));
        }
        list.len()
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

/// Sends each session of `list` (except `skip`) the account's other
/// sessions after a change.
fn broadcast(list: &[Live], change: ClientsChange, skip: Option<&str>) {
    for l in list {
        if skip == Some(l.info.client_id.as_str()) {
            continue;
        }
        let clients = list
            .iter()
            .filter(|o| o.info.client_id != l.info.client_id)
            .map(|o| o.info.as_client())
            .collect();
        let _ =
            l.tx.send(Control::Send(ServerFrame::Clients { change, clients }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
