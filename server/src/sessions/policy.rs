//! The device rule and the session policy as one pure decision over an
//! account's live sessions, and the changes that follow from a decision, a
//! `kick{clientId}`, an account kick or a session that left — which
//! sessions end with which `kicked` frame and which get which `clients`
//! list — computed once here for the single-node registry and the
//! PostgreSQL cluster alike. Each directory only delivers the result
//! ([`Change::deliver`]): through a channel, or through `NOTIFY`.

use imlogin_protocol::{Client, ClientType, ClientsChange, KickReason, LoginMode, ServerFrame};

use super::{AdmitError, Control, SessionInfo};

/// The login asking for a session, as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The device kind.
    pub client_type: ClientType,
    /// The device id.
    pub device_id: &'a str,
    /// Manual or auto.
    pub mode: LoginMode,
    /// Mandatory login: skips the device rule, may kick another device.
    pub force: bool,
    /// Whether the store knows `device_id` (last successful login, or
    /// resumable); only consulted for an auto login without `force`.
    pub known_device: bool,
}

/// A live session as a directory holds it.
pub trait Held {
    /// What the directory knows of it.
    fn info(&self) -> &SessionInfo;
}

impl Held for SessionInfo {
    fn info(&self) -> &SessionInfo {
        self
    }
}

/// The sessions an admitted login ends, by clientId.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sessions on the same device: always replaced (`sameDevice`).
    pub same_device: Vec<String>,
    /// The oldest other-device sessions beyond the limit (`exclusive`).
    pub exclusive: Vec<String>,
}

/// Decides a login against the account's live sessions (`sessions`, oldest
/// first, every clientType) with `max_sessions` allowed per clientType:
/// the device rule (an auto login without `force` from an unknown device
/// → [`AdmitError::Forbidden`]), then the session policy (an auto login
/// without `force` never kicks another device → [`AdmitError::DevicePolicy`]).
///
/// # Errors
/// [`AdmitError::Forbidden`] or [`AdmitError::DevicePolicy`], as above.
pub fn decide<S: Held>(
    sessions: &[S],
    r: &Request<'_>,
    max_sessions: usize,
) -> Result<Plan, AdmitError> {
    let same_type = || {
        sessions
            .iter()
            .map(Held::info)
            .filter(|s| s.client_type == r.client_type)
    };
    let gentle = r.mode == LoginMode::Auto && !r.force;

    if gentle {
        let known = r.known_device || same_type().any(|s| s.device_id == r.device_id);
        if !known {
            return Err(AdmitError::Forbidden);
        }
    }

    let other_devices: Vec<String> = same_type()
        .filter(|s| s.device_id != r.device_id)
        .map(|s| s.client_id.clone())
        .collect();
    let excess = (other_devices.len() + 1).saturating_sub(max_sessions.max(1));
    if excess > 0 && gentle {
        return Err(AdmitError::DevicePolicy);
    }
    Ok(Plan {
        same_device: same_type()
            .filter(|s| s.device_id == r.device_id)
            .map(|s| s.client_id.clone())
            .collect(),
        // Oldest first, so the first `excess` are the oldest.
        exclusive: other_devices.into_iter().take(excess).collect(),
    })
}

/// An account's sessions after a change, and what the change tells them.
#[derive(Debug)]
pub struct Change<S> {
    /// The sessions that stay, oldest first.
    pub remaining: Vec<S>,
    /// The sessions the change ended, each with its `kicked` frame.
    pub kicked: Vec<(S, ServerFrame)>,
    /// `clients` frames for sessions of `remaining`, by index.
    pub told: Vec<(usize, ServerFrame)>,
}

impl<S: Held> Change<S> {
    /// Hands every message to `send`, in order — the `kicked` frames
    /// first — and returns the sessions that stay.
    pub fn deliver(self, mut send: impl FnMut(&S, Control)) -> Vec<S> {
        for (s, frame) in &self.kicked {
            send(s, Control::Kicked(frame.clone()));
        }
        for (i, frame) in self.told {
            send(&self.remaining[i], Control::Send(frame));
        }
        self.remaining
    }

    /// The clientIds of the ended sessions.
    pub fn ended(&self) -> Vec<String> {
        self.kicked
            .iter()
            .map(|(s, _)| s.info().client_id.clone())
            .collect()
    }
}

/// An admission: the change, the account's other sessions for `loginOk`,
/// and the devices kicked `exclusive` (to be forgotten by the store).
#[derive(Debug)]
pub struct Admit<S> {
    /// The change; the new session is the last of `remaining`.
    pub change: Change<S>,
    /// The sessions the new one sees in its `loginOk`.
    pub others: Vec<Client>,
    /// The devices kicked `exclusive`.
    pub kicked_devices: Vec<(ClientType, String)>,
}

/// Applies `plan` (see [`decide`]) to `live` for the new session `new` of
/// clientType `by`: sessions on the same device are replaced
/// (`sameDevice`), the planned other-device sessions kicked (`exclusive`),
/// and every other session told the new list.
pub fn admit<S: Held>(live: Vec<S>, new: S, plan: &Plan, by: ClientType) -> Admit<S> {
    let mut remaining = Vec::with_capacity(live.len() + 1);
    let mut kicked = Vec::new();
    let mut kicked_devices = Vec::new();
    for s in live {
        let id = &s.info().client_id;
        let reason = if plan.same_device.contains(id) {
            KickReason::SameDevice
        } else if plan.exclusive.contains(id) {
            kicked_devices.push((s.info().client_type, s.info().device_id.clone()));
            KickReason::Exclusive
        } else {
            remaining.push(s);
            continue;
        };
        kicked.push((s, kicked_frame(reason, Some(by))));
    }
    let others = remaining.iter().map(|s| s.info().as_client()).collect();
    let new_id = new.info().client_id.clone();
    remaining.push(new);
    let told = tell_lists(&remaining, ClientsChange::Login, Some(&new_id));
    Admit {
        change: Change {
            remaining,
            kicked,
            told,
        },
        others,
        kicked_devices,
    }
}

/// `kick{clientId}` from `caller`: ends `target` (`kicked{reason:
/// "byClient"}` naming the caller's clientType) and tells the remaining
/// sessions, the caller included. `Err(live)` unchanged (→ 404) for an
/// unknown target, an unknown caller or the caller itself.
///
/// # Errors
/// As above: the sessions, given back.
pub fn kick_by_client<S: Held>(
    live: Vec<S>,
    caller: &str,
    target: &str,
) -> Result<Change<S>, Vec<S>> {
    let caller_type = live
        .iter()
        .map(Held::info)
        .find(|s| s.client_id == caller)
        .map(|s| s.client_type);
    let pos = live.iter().position(|s| s.info().client_id == target);
    let (Some(caller_type), Some(pos)) = (caller_type, pos) else {
        return Err(live);
    };
    if caller == target {
        return Err(live);
    }
    let mut remaining = live;
    let gone = remaining.remove(pos);
    let told = tell_lists(&remaining, ClientsChange::Logout, None);
    Ok(Change {
        remaining,
        kicked: vec![(gone, kicked_frame(KickReason::ByClient, Some(caller_type)))],
        told,
    })
}

/// Ends every session of `live` with `kicked{reason}` (token change,
/// block); nothing remains to be told.
pub fn kick_all<S: Held>(live: Vec<S>, reason: KickReason) -> Change<S> {
    Change {
        remaining: Vec::new(),
        kicked: live
            .into_iter()
            .map(|s| (s, kicked_frame(reason, None)))
            .collect(),
        told: Vec::new(),
    }
}

/// Ends the sessions of `live` on the devices `ends` picks with
/// `kicked{reason}` (a revoked resume ticket); the others are told the new
/// list if any ended.
pub fn kick_devices<S: Held>(
    live: Vec<S>,
    ends: &dyn Fn(&SessionInfo) -> bool,
    reason: KickReason,
) -> Change<S> {
    let (kicked, remaining): (Vec<S>, Vec<S>) = live.into_iter().partition(|s| ends(s.info()));
    let told = if kicked.is_empty() {
        Vec::new()
    } else {
        tell_lists(&remaining, ClientsChange::Logout, None)
    };
    Change {
        remaining,
        kicked: kicked
            .into_iter()
            .map(|s| (s, kicked_frame(reason, None)))
            .collect(),
        told,
    }
}

/// Sessions left on their own (logout, disconnect, a dead node): each of
/// the `remaining` is told the new list.
pub fn left<S: Held>(remaining: Vec<S>) -> Change<S> {
    let told = tell_lists(&remaining, ClientsChange::Logout, None);
    Change {
        remaining,
        kicked: Vec::new(),
        told,
    }
}

fn kicked_frame(reason: KickReason, client_type: Option<ClientType>) -> ServerFrame {
    ServerFrame::Kicked {
        reason,
        client_type,
    }
}

/// For each of `sessions` (but `skip`), the `clients` frame listing the
/// others after `change`.
fn tell_lists<S: Held>(
    sessions: &[S],
    change: ClientsChange,
    skip: Option<&str>,
) -> Vec<(usize, ServerFrame)> {
    sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| skip != Some(s.info().client_id.as_str()))
        .map(|(i, s)| {
            let me = &s.info().client_id;
            let clients = sessions
                .iter()
                .map(Held::info)
                .filter(|o| &o.client_id != me)
                .map(SessionInfo::as_client)
                .collect();
            (i, ServerFrame::Clients { change, clients })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, device: &str) -> SessionInfo {
        SessionInfo {
            client_id: id.to_owned(),
            client_type: ClientType::Web,
            device_id: device.to_owned(),
            custom_tag: None,
            login_at: 1,
            mode: LoginMode::Manual,
            force: false,
        }
    }

    fn request(device: &str, mode: LoginMode, force: bool, known: bool) -> Request<'_> {
        Request {
            client_type: ClientType::Web,
            device_id: device,
            mode,
            force,
            known_device: known,
        }
    }

    #[test]
    fn manual_login_kicks_the_oldest_other_device_beyond_the_limit() {
        let live = [session("a", "d1"), session("b", "d2"), session("c", "d3")];
        let plan = decide(&live, &request("d4", LoginMode::Manual, false, false), 2).unwrap();
        assert_eq!(plan.exclusive, ["a", "b"]);
        assert!(plan.same_device.is_empty());
    }

    #[test]
    fn auto_login_from_an_unknown_device_is_forbidden_unless_forced() {
        let live = [session("a", "d1")];
        let r = request("d2", LoginMode::Auto, false, false);
        assert_eq!(decide(&live, &r, 1), Err(AdmitError::Forbidden));
        let forced = request("d2", LoginMode::Auto, true, false);
        assert_eq!(decide(&live, &forced, 1).unwrap().exclusive, ["a"]);
    }

    #[test]
    fn auto_login_never_kicks_another_device_but_replaces_its_own() {
        let live = [session("a", "d1"), session("b", "d2")];
        let r = request("d2", LoginMode::Auto, false, true);
        assert_eq!(decide(&live, &r, 1), Err(AdmitError::DevicePolicy));
        let plan = decide(&live, &r, 2).unwrap();
        assert_eq!(plan.same_device, ["b"]);
        assert!(plan.exclusive.is_empty());
    }

    #[test]
    fn other_client_types_do_not_count() {
        let mut pc = session("a", "d1");
        pc.client_type = ClientType::Pc;
        let plan = decide(&[pc], &request("d2", LoginMode::Auto, false, true), 1).unwrap();
        assert_eq!(plan, Plan::default());
    }

    #[test]
    fn an_admission_kicks_first_then_tells_the_others_but_not_the_new_session() {
        let live = vec![session("a", "d1"), session("b", "d2"), session("c", "d3")];
        let plan = Plan {
            same_device: vec!["a".into()],
            exclusive: vec!["b".into()],
        };
        let admit = admit(live, session("n", "d1"), &plan, ClientType::Web);
        assert_eq!(admit.kicked_devices, [(ClientType::Web, "d2".to_owned())]);
        assert_eq!(admit.others.len(), 1, "only c is left for loginOk");
        let mut sent = Vec::new();
        let remaining = admit
            .change
            .deliver(|s, c| sent.push((s.client_id.clone(), c)));
        let ids: Vec<_> = remaining.iter().map(|s| s.client_id.as_str()).collect();
        assert_eq!(ids, ["c", "n"]);
        let to: Vec<_> = sent.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(to, ["a", "b", "c"]);
        assert!(matches!(
            &sent[2].1,
            Control::Send(ServerFrame::Clients { clients, .. }) if clients.len() == 1
        ));
    }

    #[test]
    fn a_kick_by_client_needs_a_known_caller_and_another_target() {
        let live = vec![session("a", "d1"), session("b", "d2")];
        let live = kick_by_client(live, "a", "a").unwrap_err();
        let live = kick_by_client(live, "x", "b").unwrap_err();
        let live = kick_by_client(live, "a", "x").unwrap_err();
        let change = kick_by_client(live, "a", "b").unwrap();
        assert_eq!(change.ended(), ["b"]);
        assert_eq!(change.told.len(), 1, "the caller gets the new list");
    }
}
