//! The tab group, scenario by scenario, on simulated tabs (`tests/tab_sim`):
//! one connection for all tabs, mirroring, forwarding, takeover, the
//! fall-back without Web Locks.
#![cfg(not(target_arch = "wasm32"))]

mod tab_sim;

use imlogin_core::protocol::{LoginCode, LoginMode};
use imlogin_core::tab_group::{Role, Sharing, Warning};
use imlogin_core::Status;
use tab_sim::*;

const PERSISTENCES: [Persistence; 3] =
    [Persistence::Local, Persistence::Session, Persistence::None];

/// Two tabs, the first the leader, both settled.
fn leader_and_follower(persistence: Persistence) -> Sim {
    let mut sim = Sim::new(1, persistence, Locks::Working);
    sim.open();
    sim.advance(500.0);
    sim.open();
    sim.advance(500.0);
    assert_eq!(sim.tab(0).unwrap().core.role(), Role::Leader);
    assert_eq!(sim.tab(1).unwrap().core.role(), Role::Follower);
    sim
}

fn assert_clean(sim: &Sim) {
    assert!(sim.violations.is_empty(), "{:#?}", sim.violations);
}

#[test]
fn a_login_in_a_follower_runs_in_the_leader_and_every_tab_shows_it() {
    let mut sim = leader_and_follower(Persistence::Local);
    let id = sim.call(1, CallKind::Login("alice")).unwrap();
    sim.advance(1_000.0);
    assert_eq!(sim.outcome(1, id), Some(Ok(true)));
    for i in [0, 1] {
        let core = &sim.tab(i).unwrap().core;
        assert_eq!(core.status(), Status::LoggedIn, "tab {i}");
        assert_eq!(core.accid(), Some("alice"));
    }
    assert!(sim.tab(0).unwrap().core.machine().connection().is_some());
    assert!(sim.tab(1).unwrap().core.machine().connection().is_none());
    assert_eq!(sim.server.logins.len(), 1, "one connection for both tabs");
    assert_eq!(
        sim.tab(1).unwrap().statuses,
        vec![Status::LoggedOut, Status::Connecting, Status::LoggedIn]
    );
    assert_clean(&sim);
}

#[test]
fn auto_login_in_a_follower_joins_the_group_session() {
    let mut sim = leader_and_follower(Persistence::None);
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    let id = sim.call(1, CallKind::AutoLogin).unwrap();
    sim.advance(1_000.0);
    assert_eq!(
        sim.outcome(1, id),
        Some(Ok(true)),
        "nothing stored, yet a session"
    );
    assert_eq!(sim.server.logins.len(), 1);
    assert_clean(&sim);
}

#[test]
fn a_logout_in_any_tab_ends_the_session_in_every_tab() {
    for logout_in in [0, 1, 2] {
        let mut sim = leader_and_follower(Persistence::Local);
        sim.open();
        sim.call(1, CallKind::Login("alice"));
        sim.advance(1_000.0);
        let id = sim.call(logout_in, CallKind::Logout).unwrap();
        sim.advance(1_000.0);
        assert_eq!(sim.outcome(logout_in, id), Some(Ok(true)));
        for i in 0..3 {
            let core = &sim.tab(i).unwrap().core;
            assert_eq!(core.status(), Status::LoggedOut, "tab {i}");
            assert_eq!(core.accid(), None);
        }
        assert!(sim.server.live.is_empty());
        assert_eq!(sim.local_record, None);
        assert_clean(&sim);
    }
}

#[test]
fn a_crashed_leader_is_replaced_and_the_session_comes_back_without_typing_whatever_the_persistence()
{
    for persistence in PERSISTENCES {
        let mut sim = leader_and_follower(persistence);
        sim.call(0, CallKind::Login("alice"));
        sim.advance(1_000.0);
        let device = sim.server.live[0].device.clone();
        sim.crash(0);
        sim.advance(2_000.0);
        let new = sim.tab(1).unwrap();
        assert_eq!(new.core.role(), Role::Leader, "{persistence:?}");
        assert_eq!(new.core.status(), Status::LoggedIn, "{persistence:?}");
        assert_eq!(new.core.accid(), Some("alice"));
        let resumed = sim.server.logins.last().unwrap();
        assert_eq!(resumed.mode, LoginMode::Auto, "{persistence:?}: no typing");
        assert_eq!(
            resumed.device_id, device,
            "{persistence:?}: the group's device"
        );
        assert!(
            sim.server.refusals.is_empty(),
            "{persistence:?}: {:?}",
            sim.server.refusals
        );
        assert_eq!(sim.server.kicked_others, 0, "{persistence:?}: no kick");
        // The status getter never changed without an event.
        assert_eq!(
            new.statuses,
            vec![
                Status::LoggedOut,
                Status::Connecting,
                Status::LoggedIn,
                Status::Connecting,
                Status::LoggedIn
            ],
            "{persistence:?}"
        );
        assert_clean(&sim);
    }
}

#[test]
fn a_closed_leader_hands_over_to_the_next_tab_without_logging_out() {
    for persistence in PERSISTENCES {
        let mut sim = leader_and_follower(persistence);
        sim.open();
        sim.call(2, CallKind::Login("alice"));
        sim.advance(1_000.0);
        sim.close(0);
        sim.advance(2_000.0);
        let leader = sim.leader().expect("one leader");
        assert_eq!(leader, 1, "the next in the lock's queue");
        for i in [1, 2] {
            assert_eq!(
                sim.tab(i).unwrap().core.status(),
                Status::LoggedIn,
                "{persistence:?}"
            );
        }
        assert_eq!(sim.server.live.len(), 1);
        assert!(sim.server.refusals.is_empty());
        assert_clean(&sim);
    }
}

#[test]
fn a_call_the_crashed_leader_carried_out_is_not_carried_out_again() {
    // The follower's kick reaches the leader, which sends it on and dies
    // before its reply and state reach anyone; the follower takes over.
    let mut sim = leader_and_follower(Persistence::Local);
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    let kick = sim.call(1, CallKind::Kick).unwrap();
    // Deliver the call and let the leader act, then crash it at once.
    while sim.carried.is_empty() || sim.carried.len() < 2 {
        sim.advance(1.0);
    }
    sim.crash(0);
    sim.advance(2_000.0);
    assert_eq!(sim.server.kick_frames.len(), 1, "the kick was sent once");
    let outcome = sim.outcome(1, kick).expect("settled");
    assert!(outcome.is_err(), "{outcome:?}");
    assert_clean(&sim);
}

#[test]
fn a_call_sent_to_a_leader_that_crashed_before_reading_it_is_carried_out_by_the_next() {
    let mut sim = leader_and_follower(Persistence::Local);
    sim.open();
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    let logout = sim.call(2, CallKind::Logout).unwrap();
    sim.crash(0); // before the call arrives
    sim.advance(2_000.0);
    assert_eq!(sim.outcome(2, logout), Some(Ok(true)));
    for i in [1, 2] {
        assert_eq!(sim.tab(i).unwrap().core.status(), Status::LoggedOut);
    }
    assert!(sim.server.live.is_empty());
    assert_clean(&sim);
}

#[test]
fn a_logout_just_before_the_leader_closes_is_not_undone_by_the_takeover() {
    let mut sim = leader_and_follower(Persistence::None);
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    sim.call(0, CallKind::Logout);
    sim.close(0); // the state saying "logged out" is still on its way
    sim.advance(2_000.0);
    let tab = sim.tab(1).unwrap();
    assert_eq!(tab.core.role(), Role::Leader);
    assert_eq!(tab.core.status(), Status::LoggedOut);
    assert!(sim.server.live.is_empty());
    assert_eq!(sim.server.logins.len(), 1, "nothing logged in again");
    assert_clean(&sim);
}

#[test]
fn a_login_under_way_when_the_leader_crashed_is_finished_by_the_next_and_settled_once() {
    let mut sim = leader_and_follower(Persistence::Session);
    sim.max_delay_ms = 50.0;
    let login = sim.call(1, CallKind::Login("alice")).unwrap();
    while sim.tab(0).unwrap().core.machine().connection().is_none() {
        sim.advance(1.0);
    }
    sim.crash(0);
    sim.advance(2_000.0);
    assert_eq!(sim.outcome(1, login), Some(Ok(true)));
    assert_eq!(sim.tab(1).unwrap().core.status(), Status::LoggedIn);
    assert_clean(&sim);
}

#[test]
fn a_tab_opened_during_a_takeover_follows_the_new_leader() {
    let mut sim = leader_and_follower(Persistence::Local);
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    sim.crash(0);
    sim.advance(30.0);
    let late = sim.open();
    sim.advance(2_000.0);
    assert_eq!(sim.tab(late).unwrap().core.role(), Role::Follower);
    assert_eq!(sim.tab(late).unwrap().core.status(), Status::LoggedIn);
    assert_eq!(sim.server.live.len(), 1);
    assert_clean(&sim);
}

#[test]
fn a_refused_web_lock_falls_back_to_per_tab_at_once_and_warns_once() {
    let mut sim = Sim::new(3, Persistence::Local, Locks::Refusing);
    sim.open();
    let login = sim.call(0, CallKind::Login("alice")).unwrap();
    sim.advance(1_000.0);
    let tab = sim.tab(0).unwrap();
    assert_eq!(tab.core.role(), Role::Solo);
    assert_eq!(tab.warnings, vec![Warning::PerTabFallback]);
    assert_eq!(sim.outcome(0, login), Some(Ok(true)));
    sim.advance(60_000.0);
    assert_eq!(sim.tab(0).unwrap().warnings.len(), 1);
    assert_clean(&sim);
}

#[test]
fn a_web_lock_that_never_answers_falls_back_within_the_election_timeout() {
    let mut sim = Sim::new(4, Persistence::Local, Locks::Silent);
    sim.open();
    let login = sim.call(0, CallKind::Login("alice")).unwrap();
    sim.advance(1_999.0);
    assert_eq!(sim.outcome(0, login), None, "waits for the election");
    sim.advance(1_000.0);
    let tab = sim.tab(0).unwrap();
    assert_eq!(tab.core.role(), Role::Solo);
    assert_eq!(tab.warnings, vec![Warning::PerTabFallback]);
    assert_eq!(sim.outcome(0, login), Some(Ok(true)));
    assert_eq!(tab.core.status(), Status::LoggedIn);
    assert_clean(&sim);
}

#[test]
fn per_tab_managers_log_out_together_through_the_storage_event() {
    let mut sim = Sim::new(5, Persistence::Local, Locks::Working);
    sim.sharing = Sharing::PerTab;
    sim.open();
    sim.open();
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    // Each tab has its own session (and, with one session per account,
    // they replace each other at the server: why tabs share by default).
    sim.call(1, CallKind::AutoLogin);
    sim.advance(1_000.0);
    assert_eq!(sim.tab(1).unwrap().core.accid(), Some("alice"));
    sim.call(0, CallKind::Logout);
    sim.advance(1_000.0);
    for i in [0, 1] {
        assert_eq!(
            sim.tab(i).unwrap().core.status(),
            Status::LoggedOut,
            "tab {i}"
        );
    }
    assert!(
        sim.tab(1).unwrap().warnings.is_empty(),
        "perTab is no fall-back"
    );
}

#[test]
fn a_terminal_refusal_reaches_every_tab_and_rejects_the_forwarded_call() {
    let mut sim = leader_and_follower(Persistence::Local);
    // The account's device was forgotten (kicked): an auto login from it
    // without force is refused with 403.
    sim.local_record = Some(imlogin_core::StoredSession {
        credentials: imlogin_core::Credentials::new("alice", "token-alice").unwrap(),
        saved_at: 1,
    });
    let id = sim.call(1, CallKind::AutoLogin).unwrap();
    sim.advance(1_000.0);
    match sim.outcome(1, id) {
        Some(Err(e)) => assert_eq!(e.code, LoginCode::Forbidden),
        other => panic!("{other:?}"),
    }
    for i in [0, 1] {
        let tab = sim.tab(i).unwrap();
        assert_eq!(tab.core.status(), Status::LoggedOut);
        assert!(
            tab.events
                .iter()
                .any(|e| matches!(e, imlogin_core::Event::LoginFailed(_))),
            "tab {i} was told"
        );
    }
    assert_eq!(sim.local_record, None, "the refused record is cleared");
    assert_clean(&sim);
}

#[test]
fn a_followers_older_record_does_not_replace_the_group_session() {
    // With sessionStorage each tab keeps the record of the last login it
    // carried out itself, which may be older than the group's session.
    let mut sim = leader_and_follower(Persistence::Session);
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    sim.tabs[1].as_mut().unwrap().session_record = Some(imlogin_core::StoredSession {
        credentials: imlogin_core::Credentials::new("bob", "token-bob").unwrap(),
        saved_at: 1,
    });
    let id = sim.call(1, CallKind::AutoLogin).unwrap();
    sim.advance(1_000.0);
    assert_eq!(sim.outcome(1, id), Some(Ok(true)));
    for i in [0, 1] {
        assert_eq!(sim.tab(i).unwrap().core.accid(), Some("alice"), "tab {i}");
    }
    assert_eq!(sim.server.logins.len(), 1, "the session went on untouched");
    assert_clean(&sim);
}

#[test]
fn a_tab_that_fell_back_gives_back_a_lock_granted_later() {
    use imlogin_core::tab_group::{TabConfig, TabGroup, TabId, TabOutput};
    use imlogin_core::{Config, LoginMachine};
    let machine = LoginMachine::new(Config::new(APP_KEY, "device"), 1);
    let mut tab = TabGroup::new(
        machine,
        TabId("t".into()),
        Sharing::Shared,
        TabConfig::default(),
        0.0,
    );
    // Queued behind a leader that is never heard from (a frozen tab).
    tab.handle_lock_held_elsewhere(0.0);
    let deadline = tab.poll_timeout().expect("waits for a leader");
    tab.handle_timeout(deadline);
    assert_eq!(tab.role(), Role::Solo);
    while tab.poll_output().is_some() {}
    // The queue's grant comes later: this tab works on its own now, and
    // holding the lock would keep the group from its next leader.
    tab.handle_lock_granted(deadline + 10_000.0);
    assert_eq!(tab.role(), Role::Solo);
    assert_eq!(tab.poll_output(), Some(TabOutput::ReleaseLock));
}

#[test]
fn an_aborted_login_settles_498_and_is_cancelled_in_the_leader_whichever_tab_made_it() {
    for caller in [0, 1] {
        let mut sim = leader_and_follower(Persistence::Local);
        let id = sim.call(caller, CallKind::Login("alice")).unwrap();
        sim.abort(caller, id);
        match sim.outcome(caller, id) {
            Some(Err(e)) => assert_eq!(e.code, LoginCode::Aborted, "tab {caller}"),
            other => panic!("tab {caller}: expected 498 at once, got {other:?}"),
        }
        sim.advance(5_000.0);
        for i in [0, 1] {
            let core = &sim.tab(i).unwrap().core;
            assert_eq!(core.status(), Status::LoggedOut, "caller {caller}, tab {i}");
            assert_eq!(core.accid(), None);
        }
        assert!(
            sim.server.live.is_empty(),
            "caller {caller}: no session left"
        );
        assert_eq!(sim.local_record, None);
        assert_eq!(
            sim.tab(caller).unwrap().calls[&id.0].settled.len(),
            1,
            "settled once"
        );
        assert_clean(&sim);
    }
}

/// Two bound tabs of one profile, the first the leader.
fn bound_pair(persistence: Persistence) -> Sim {
    let mut sim = Sim::new(1, persistence, Locks::Working);
    sim.binding = true;
    sim.open();
    sim.advance(500.0);
    sim.open();
    sim.advance(500.0);
    sim
}

#[test]
fn with_device_binding_only_the_leader_signs_and_a_new_leader_binds_again_with_the_token_it_was_handed(
) {
    for persistence in PERSISTENCES {
        let mut sim = bound_pair(persistence);
        // A login made in the follower runs in the leader: the leader's
        // driver answers the device key's request.
        sim.call(1, CallKind::Login("alice"));
        sim.advance(1_000.0);
        assert_eq!(sim.signers, vec![0], "{persistence:?}");
        let first = sim.server.logins.last().unwrap();
        assert!(first.token.is_some() && first.device_key.is_some());
        if persistence == Persistence::Local {
            let record = sim.local_record.as_ref().expect("a record");
            assert!(
                record.credentials.ticket.is_some(),
                "the record holds the ticket"
            );
            assert!(!record.to_json().contains("\"token\""));
        }

        // The leader crashes: the follower carries the session on with the
        // token the group handed it, binding its key again (with
        // `persistence: "none"` each manager has a key of its own).
        sim.crash(0);
        sim.advance(2_000.0);
        let new = sim.tab(1).unwrap();
        assert_eq!(new.core.role(), Role::Leader, "{persistence:?}");
        assert_eq!(new.core.status(), Status::LoggedIn, "{persistence:?}");
        assert_eq!(sim.signers, vec![0, 1], "{persistence:?}");
        let again = sim.server.logins.last().unwrap();
        assert_eq!(again.mode, LoginMode::Auto);
        assert!(again.token.is_some() && again.device_key.is_some());
        assert!(sim.server.refusals.is_empty(), "{:?}", sim.server.refusals);
        assert_clean(&sim);
    }
}

#[test]
fn a_session_resumed_from_a_ticket_is_taken_over_with_the_ticket_signed_by_the_profiles_key() {
    let mut sim = bound_pair(Persistence::Local);
    // Log in once and reload: the record holds only the ticket.
    sim.call(0, CallKind::Login("alice"));
    sim.advance(1_000.0);
    let saved = sim.local_record.clone().expect("a record");
    sim.crash(0);
    sim.crash(1);
    sim.advance(2_000.0);
    sim.local_record = Some(saved);
    let a = sim.open();
    sim.advance(500.0);
    let b = sim.open();
    sim.advance(500.0);
    sim.call(b, CallKind::AutoLogin);
    sim.advance(1_000.0);
    let resumed = sim.server.logins.last().unwrap();
    assert_eq!(resumed.token, None, "resumed with the ticket");
    assert!(resumed.ticket.is_some() && resumed.sig.is_some());

    sim.crash(a);
    sim.advance(2_000.0);
    let new = sim.tab(b).unwrap();
    assert_eq!(new.core.role(), Role::Leader);
    assert_eq!(new.core.status(), Status::LoggedIn);
    let again = sim.server.logins.last().unwrap();
    for l in &sim.server.logins {
        eprintln!(
            "{:?} token {:?} ticket {:?}",
            l.mode,
            l.token,
            l.ticket.is_some()
        );
    }
    assert_eq!(again.token, None, "no token to hand over: the ticket again");
    assert!(again.ticket.is_some() && again.sig.is_some());
    assert_eq!(sim.signers.last(), Some(&b));
    assert!(sim.server.refusals.is_empty(), "{:?}", sim.server.refusals);
    assert_clean(&sim);
}
