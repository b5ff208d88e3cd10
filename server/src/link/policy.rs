//! The device rule and the session policy of DESIGN §3 as one pure
//! decision over an account's live sessions, shared by the single-node
//! registry and the PostgreSQL cluster directory so that both decide alike.

use imlogin_protocol::{ClientType, LoginMode};

use super::registry::{AdmitError, SessionInfo};

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
pub fn decide(
    sessions: &[SessionInfo],
    r: &Request<'_>,
    max_sessions: usize,
) -> Result<Plan, AdmitError> {
    let same_type = || sessions.iter().filter(|s| s.client_type == r.client_type);
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
}
