//! The login contract (docs/behaviour.md), one test per behaviour, on a virtual clock.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use imlogin_core::protocol::{
    ClientFrame, ClientsChange, KickReason, LoginCode, LoginMode, ServerFrame,
};
use imlogin_core::{BackoffConfig, ClientsUpdate, Disconnect, Event, Output, Status};

// ----- starting a login -----

#[test]
fn manual_login_connects_becomes_connecting_and_wakes_at_the_connect_timeout() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.login("alice", "tok");
    assert_eq!(h.connects(), 1);
    assert_eq!(h.status(), Status::Connecting);
    assert_eq!(h.m.poll_timeout(), Some(10_000.0));
}

#[test]
fn manual_login_while_offline_rejects_415_without_any_traffic() {
    let mut h = Harness::new();
    h.offline();
    let id = h.login("alice", "tok");
    assert_eq!(h.rejected_code(id), 415);
    assert_eq!(h.connects(), 0);
    assert_eq!(h.status(), Status::LoggedOut);
}

#[test]
fn login_with_bad_arguments_rejects_414_before_any_traffic_and_keeps_the_session() {
    let mut h = Harness::logged_in_as("alice");
    let connects = h.connects();
    for (accid, token) in [
        ("", "t"),
        (&*"a".repeat(33), "t"),
        ("al ice", "t"),
        ("alice", ""),
        ("alice", &*"t".repeat(129)),
        ("alice", "😀"),
        ("😀", "t"),
    ] {
        let id = h.login(accid, token);
        assert_eq!(h.rejected_code(id), 414, "{accid:?}/{token:?}");
    }
    assert_eq!(h.connects(), connects);
    assert_eq!(h.status(), Status::LoggedIn);
    assert_eq!(h.m.accid(), Some("alice"));
}

#[test]
fn upper_case_accid_is_normalized_not_refused() {
    let mut h = Harness::new();
    let id = h.login("Alice", "tok");
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.last_login().accid, "alice");
}

#[test]
fn auto_login_with_nothing_persisted_resolves_false_at_once() {
    let mut h = Harness::new();
    assert_eq!(h.auto_login(None), None);
    assert_eq!(h.connects(), 0);
    assert_eq!(h.status(), Status::LoggedOut);
}

#[test]
fn auto_login_with_a_persisted_session_connects_in_auto_mode() {
    let mut h = Harness::new();
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.last_login().mode, LoginMode::Auto);
    assert!(!h.last_login().force);
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn forced_auto_login_sends_force() {
    let mut h = Harness::new();
    h.m.auto_login(h.now, Some(creds("alice", "tok")), true);
    h.pump();
    assert!(h.last_login().force);
}

#[test]
fn auto_login_while_offline_resolves_true_at_once_and_resumes_when_online() {
    let mut h = Harness::new();
    h.offline();
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    assert_eq!(
        h.outcome(id),
        Some(Ok(())),
        "settles at once: the session is kept and resumed by itself"
    );
    assert_eq!(h.status(), Status::Offline);
    assert_eq!(h.m.accid(), Some("alice"));
    h.advance(HOUR);
    assert_eq!(h.connects(), 0);
    h.online();
    assert_eq!(h.status(), Status::LoggedIn);
    assert!(is_auto(h.last_login()));
}

#[test]
fn auto_login_while_logged_in_as_the_same_account_resolves_at_once() {
    let mut h = Harness::logged_in_as("alice");
    let connects = h.connects();
    let id = h.auto_login(Some(creds("alice", "token-1"))).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.connects(), connects);
}

// ----- autoLogin settles on the first outcome, and joins what is pending -----

#[test]
fn auto_login_resolves_true_at_the_first_network_failure_and_keeps_retrying() {
    for first in [
        Reply::Refuse,
        Reply::Err(503, None),
        Reply::Err(416, Some(5_000)),
    ] {
        let mut h = Harness::new();
        h.replies.push_back(first.clone());
        let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
        assert_eq!(h.outcome(id), Some(Ok(())), "{first:?}");
        assert_eq!(h.status(), Status::Waiting, "{first:?}");
        h.advance(30_001.0);
        assert_eq!(h.status(), Status::LoggedIn, "{first:?}: resumed by itself");
        assert_eq!(h.connects(), 2);
    }
}

#[test]
fn auto_login_resolves_true_when_an_attempt_times_out() {
    let mut h = Harness::new();
    h.replies.push_back(Reply::Hang);
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    h.advance(9_999.0);
    assert_eq!(h.outcome(id), None, "the first attempt has no outcome yet");
    h.advance(1.0);
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.status(), Status::Waiting);
}

#[test]
fn auto_login_resolves_true_when_the_browser_goes_offline_during_the_attempt() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    h.offline();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.status(), Status::Offline);
}

#[test]
fn a_terminal_refusal_after_auto_login_resolved_is_reported_as_login_failed() {
    let mut h = Harness::new();
    h.persisted = Some(creds("alice", "tok"));
    h.replies.extend([Reply::Refuse, Reply::Err(302, None)]);
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())));
    h.advance(1_001.0);
    assert_eq!(h.status(), Status::LoggedOut);
    assert_eq!(h.persisted, None);
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, Event::LoginFailed(err) if err.code.as_u16() == 302)));
    assert_eq!(h.settled[&id].len(), 1, "settled once");
}

#[test]
fn auto_login_twice_while_the_first_attempt_is_under_way_joins_it() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let first = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    let second = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    assert_eq!(h.outcome(first), None, "the first call is not cancelled");
    assert_eq!(h.connects(), 1, "no second connection");
    let conn = h.open.unwrap();
    h.m.handle_opened(h.now, conn);
    h.pump();
    assert_eq!(h.outcome(first), Some(Ok(())));
    assert_eq!(h.outcome(second), Some(Ok(())));
    assert_eq!(h.logins.len(), 1);
}

#[test]
fn auto_login_twice_while_reconnecting_joins_without_resetting_the_backoff() {
    let mut h = Harness::logged_in_as("alice");
    h.default_reply = Reply::Refuse;
    h.drop_connection(1006);
    for _ in 0..3 {
        h.advance(30_001.0);
    }
    let (failed_so_far, _) = *h.reconnect_delays().last().unwrap();
    assert!(failed_so_far >= 3);
    // The next attempt hangs: an attempt is under way when the app calls.
    h.default_reply = Reply::Hang;
    while h.status() != Status::Connecting {
        h.advance(100.0);
    }
    let connects = h.connects();
    let first = h.auto_login(Some(creds("alice", "token-1"))).unwrap();
    let second = h.auto_login(Some(creds("alice", "token-1"))).unwrap();
    assert_eq!(h.outcome(first), None, "not cancelled by the second call");
    assert_eq!(h.connects(), connects, "the attempt under way is kept");
    // The attempt times out: both calls resolve, and the backoff goes on.
    h.default_reply = Reply::Refuse;
    h.advance(10_000.0);
    assert_eq!(h.outcome(first), Some(Ok(())));
    assert_eq!(h.outcome(second), Some(Ok(())));
    let (attempt, _) = *h.reconnect_delays().last().unwrap();
    assert_eq!(attempt, failed_so_far + 1, "the backoff was not reset");
}

#[test]
fn auto_login_while_waiting_to_reconnect_resolves_true_at_once() {
    let mut h = Harness::logged_in_as("alice");
    h.default_reply = Reply::Refuse;
    h.drop_connection(1006);
    assert_eq!(h.status(), Status::Waiting);
    let connects = h.connects();
    let id = h.auto_login(Some(creds("alice", "token-1"))).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.connects(), connects, "no attempt out of turn");
    assert_eq!(h.status(), Status::Waiting);
}

#[test]
fn auto_login_while_a_manual_login_is_under_way_waits_for_it() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let login = h.login("alice", "tok");
    let auto = h.auto_login(Some(creds("alice", "old"))).unwrap();
    assert_eq!(h.outcome(login), None, "the manual login is not cancelled");
    assert_eq!(h.connects(), 1);
    let conn = h.open.unwrap();
    h.m.handle_opened(h.now, conn);
    h.pump();
    assert_eq!(h.outcome(login), Some(Ok(())));
    assert_eq!(h.outcome(auto), Some(Ok(())));
    assert_eq!(h.last_login().token.as_deref(), Some("tok"));
    assert_eq!(h.last_login().mode, LoginMode::Manual);
}

// ----- auto login with credentials the app server just issued -----

#[test]
fn auto_login_with_issued_credentials_logs_in_in_auto_mode_with_force_and_persists() {
    let mut h = Harness::new();
    let id = h.m.auto_login_with(h.now, "Alice", "fresh", true);
    h.pump();
    assert_eq!(h.outcome(id), Some(Ok(())));
    let frame = h.last_login();
    assert_eq!(frame.mode, LoginMode::Auto);
    assert!(frame.force, "force skips the device check");
    assert_eq!(frame.accid, "alice");
    assert_eq!(frame.token.as_deref(), Some("fresh"));
    let saved = h.persisted.as_ref().expect("persisted like any login");
    assert_eq!(saved.credentials.token, "fresh");
    // Reconnections after the success never force (they cannot kick).
    h.drop_connection(1006);
    h.advance(1_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert!(!h.last_login().force);
    assert!(is_auto(h.last_login()));
}

#[test]
fn auto_login_with_issued_credentials_retries_network_failures_for_ever() {
    let mut h = Harness::new();
    h.default_reply = Reply::Refuse;
    let id = h.m.auto_login_with(h.now, "alice", "fresh", true);
    h.pump();
    assert_eq!(h.outcome(id), Some(Ok(())), "settled at the first failure");
    for _ in 0..100 {
        h.advance(30_001.0);
    }
    assert!(h.connects() > 100);
    assert_eq!(h.status(), Status::Waiting);
    h.default_reply = Reply::Accept;
    h.advance(30_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert!(h.logins.iter().all(is_auto));
    assert!(h.last_login().force, "forced until the first success");
}

#[test]
fn auto_login_with_issued_credentials_stops_on_a_terminal_code_and_reports_it() {
    for code in [302, 403, 417, 422] {
        let mut h = Harness::new();
        h.persisted = Some(creds("alice", "old"));
        h.replies.extend([Reply::Refuse, Reply::Err(code, None)]);
        let id = h.m.auto_login_with(h.now, "alice", "fresh", true);
        h.pump();
        h.advance(HOUR);
        assert_eq!(
            h.outcome(id),
            Some(Ok(())),
            "{code}: settled at the first failure"
        );
        assert_eq!(h.status(), Status::LoggedOut, "{code}");
        assert_eq!(h.connects(), 2, "{code}: never retried");
        assert!(h
            .events()
            .iter()
            .any(|e| matches!(e, Event::LoginFailed(err) if err.code.as_u16() == code)));
        assert_eq!(h.persisted.is_none(), code != 417, "{code}");
        // Straight away, the refusal is the outcome.
        let mut h = Harness::new();
        h.replies.push_back(Reply::Err(code, None));
        let id = h.m.auto_login_with(h.now, "alice", "fresh", true);
        h.pump();
        assert_eq!(h.rejected_code(id), code);
    }
}

#[test]
fn auto_login_with_bad_credentials_rejects_414_before_any_traffic_and_keeps_the_session() {
    let mut h = Harness::logged_in_as("alice");
    let connects = h.connects();
    for (accid, token) in [("", "t"), ("al ice", "t"), ("alice", "")] {
        let id = h.m.auto_login_with(h.now, accid, token, true);
        h.pump();
        assert_eq!(h.rejected_code(id), 414, "{accid:?}/{token:?}");
    }
    assert_eq!(h.connects(), connects);
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn auto_login_with_issued_credentials_while_offline_resolves_true_and_waits() {
    let mut h = Harness::new();
    h.offline();
    let id = h.m.auto_login_with(h.now, "alice", "fresh", true);
    h.pump();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.status(), Status::Offline);
    assert_eq!(h.connects(), 0);
    h.online();
    assert_eq!(h.status(), Status::LoggedIn);
    assert!(h.last_login().force);
}

#[test]
fn auto_login_with_the_same_credentials_joins_and_other_credentials_replace() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let first = h.m.auto_login_with(h.now, "alice", "fresh", true);
    let again = h.m.auto_login_with(h.now, "alice", "fresh", true);
    h.pump();
    assert_eq!(h.outcome(first), None);
    assert_eq!(h.connects(), 1, "the same credentials join");
    let other = h.m.auto_login_with(h.now, "alice", "newer", true);
    h.pump();
    assert_eq!(h.rejected_code(first), 499, "new credentials replace");
    assert_eq!(h.rejected_code(again), 499);
    assert_eq!(h.connects(), 2);
    assert_eq!(h.outcome(other), None);
}

// ----- the handshake -----

#[test]
fn opened_connection_sends_the_login_frame_with_device_and_sdk() {
    let mut h = Harness::new();
    h.login("alice", "tok");
    let f = h.last_login();
    assert_eq!(f.app_key, APP_KEY);
    assert_eq!(f.device_id, DEVICE);
    assert_eq!(f.mode, LoginMode::Manual);
    assert!(f.sdk.starts_with("imlogin/"));
}

#[test]
fn login_ok_persists_arms_the_heartbeat_and_resolves() {
    let mut h = Harness::new();
    let id = h.login("alice", "tok");
    assert_eq!(h.outcome(id), Some(Ok(())));
    let stored = h.persisted.as_ref().expect("session persisted");
    assert_eq!(stored.credentials.accid, "alice");
    assert_eq!(stored.saved_at, 1_700_000_000_000);
    // The heartbeat is next: the connect timeout (10 s) is disarmed.
    assert_eq!(h.m.poll_timeout(), Some(30_000.0));
    assert_eq!(h.statuses(), vec![Status::Connecting, Status::LoggedIn]);
}

#[test]
fn each_terminal_code_stops_clears_the_session_and_rejects() {
    for code in [302, 403, 414, 422] {
        let mut h = Harness::new();
        h.persisted = Some(creds("alice", "old"));
        h.replies.push_back(Reply::Err(code, None));
        let id =
            h.m.auto_login(0.0, Some(creds("alice", "tok")), false)
                .unwrap();
        h.pump();
        assert_eq!(h.rejected_code(id), code);
        assert_eq!(h.persisted, None, "{code} clears the persisted session");
        assert_eq!(h.status(), Status::LoggedOut);
        assert_eq!(h.m.poll_timeout(), None);
        h.advance(HOUR);
        assert_eq!(h.connects(), 1, "{code} never retries");
        assert!(h
            .events()
            .iter()
            .any(|e| matches!(e, Event::LoginFailed(err) if err.code.as_u16() == code)));
    }
}

#[test]
fn code_417_stops_but_keeps_the_persisted_session() {
    let mut h = Harness::new();
    h.persisted = Some(creds("alice", "tok"));
    h.replies.push_back(Reply::Err(417, None));
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    assert_eq!(h.rejected_code(id), 417);
    assert!(h.persisted.is_some());
    h.advance(HOUR);
    assert_eq!(h.connects(), 1);
    assert_eq!(h.status(), Status::LoggedOut);
}

#[test]
fn retryable_failures_back_off_and_try_again() {
    for reply in [
        Reply::Err(416, None),
        Reply::Err(500, None),
        Reply::Err(503, None),
        Reply::Refuse,
    ] {
        let mut h = Harness::new();
        h.replies.push_back(reply.clone());
        let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
        assert_eq!(h.status(), Status::Waiting, "{reply:?}");
        assert_eq!(h.reconnect_delays().len(), 1);
        h.advance(1_001.0);
        assert_eq!(h.outcome(id), Some(Ok(())), "{reply:?}");
        assert_eq!(h.connects(), 2);
    }
}

#[test]
fn a_socket_error_is_retried_like_a_close() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.auto_login(Some(creds("alice", "tok")));
    let conn = h.open.take().unwrap();
    h.m.handle_error(h.now, conn);
    h.pump();
    assert_eq!(h.status(), Status::Waiting);
}

#[test]
fn manual_login_timeout_rejects_408() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let id = h.login("alice", "tok");
    h.advance(29_999.0);
    assert_eq!(h.outcome(id), None);
    h.advance(1.0);
    assert_eq!(h.rejected_code(id), 408);
    assert_eq!(h.status(), Status::LoggedOut);
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn connect_timeout_closes_and_retries() {
    let mut h = Harness::new();
    h.replies.push_back(Reply::Hang);
    h.auto_login(Some(creds("alice", "tok")));
    h.advance(10_000.0);
    assert!(h
        .log
        .iter()
        .any(|(t, o)| *t == 10_000.0 && matches!(o, Output::Close(..))));
    assert!(matches!(h.status(), Status::Waiting | Status::LoggedIn));
    h.advance(1_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn offline_during_a_manual_login_that_never_succeeded_rejects_415() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let id = h.login("alice", "tok");
    h.offline();
    assert_eq!(h.rejected_code(id), 415);
    assert_eq!(h.status(), Status::LoggedOut);
    assert!(h.open.is_none());
}

// ----- logged in -----

#[test]
fn heartbeat_sends_ping_and_arms_the_pong_timeout() {
    let mut h = Harness::logged_in_as("alice");
    h.answers_ping = false;
    h.advance(30_000.0);
    assert!(h
        .log
        .iter()
        .any(|(_, o)| matches!(o, Output::Send(_, ClientFrame::Ping))));
    // Next: the pong timeout, one heartbeat after the ping.
    assert_eq!(h.m.poll_timeout(), Some(60_000.0));
    h.advance(30_000.0);
    assert_ne!(h.status(), Status::LoggedIn, "no pong: connection dropped");
}

#[test]
fn pong_cancels_the_pong_timeout_and_rearms_the_heartbeat() {
    let mut h = Harness::logged_in_as("alice");
    h.advance(30_000.0);
    // Next: the following heartbeat (no pong timeout is left armed).
    assert_eq!(h.m.poll_timeout(), Some(60_000.0));
    h.advance(10.0 * 30_000.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert_eq!(h.connects(), 1);
}

#[test]
fn heartbeat_interval_follows_the_server_suggestion() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.login("alice", "tok");
    let conn = h.open.unwrap();
    h.m.handle_opened(h.now, conn);
    h.m.handle_frame(
        h.now,
        conn,
        ServerFrame::LoginOk {
            client_id: "c".into(),
            server_time: 1,
            heartbeat_ms: 5_000,
            clients: vec![],
            ticket: None,
        },
    );
    h.pump();
    assert_eq!(h.m.poll_timeout(), Some(5_000.0));
}

#[test]
fn pong_timeout_closes_and_reconnects_in_auto_mode() {
    let mut h = Harness::logged_in_as("alice");
    h.answers_ping = false;
    h.advance(60_000.0);
    assert_ne!(h.status(), Status::LoggedIn, "dead connection detected");
    h.answers_ping = true;
    h.advance(1_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert_eq!(h.logins.len(), 2);
    assert!(
        is_auto(h.last_login()),
        "reconnects after a success are auto logins"
    );
}

#[test]
fn a_closed_connection_after_login_reconnects_in_auto_mode() {
    let mut h = Harness::logged_in_as("alice");
    h.drop_connection(1006);
    assert_eq!(h.status(), Status::Waiting);
    h.advance(1_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert!(is_auto(h.last_login()));
}

#[test]
fn server_restart_1012_is_retried_with_jitter() {
    let mut h = Harness::logged_in_as("alice");
    h.drop_connection(1012);
    let delays = h.reconnect_delays();
    assert_eq!(delays.len(), 1);
    assert!((0.0..=1_000.0).contains(&delays[0].1));
}

#[test]
fn kicked_stops_and_never_reconnects() {
    for reason in [
        KickReason::Exclusive,
        KickReason::SameDevice,
        KickReason::ByClient,
        KickReason::Server,
    ] {
        let mut h = Harness::logged_in_as("alice");
        h.server_sends(kicked(reason));
        assert_eq!(h.status(), Status::LoggedOut);
        assert!(h
            .events()
            .iter()
            .any(|e| matches!(e, Event::Kicked { reason: r, .. } if *r == reason)));
        assert!(
            h.persisted.is_some(),
            "{reason:?} keeps the persisted session"
        );
        assert_eq!(h.m.poll_timeout(), None);
        h.advance(HOUR);
        assert_eq!(h.connects(), 1);
    }
}

#[test]
fn kicked_for_blocked_or_token_changed_clears_the_persisted_session() {
    for reason in [KickReason::Blocked, KickReason::TokenChanged] {
        let mut h = Harness::logged_in_as("alice");
        h.server_sends(kicked(reason));
        assert_eq!(h.persisted, None, "{reason:?}");
        assert_eq!(h.status(), Status::LoggedOut);
    }
}

#[test]
fn clients_frames_update_the_list_and_emit() {
    let mut h = Harness::logged_in_as("alice");
    let list = vec![client("c9", "device-b")];
    h.server_sends(ServerFrame::Clients {
        change: imlogin_core::protocol::ClientsChange::Login,
        clients: list.clone(),
    });
    assert_eq!(h.m.clients(), &list[..]);
    let update = ClientsUpdate {
        clients: list.clone(),
        change: Some(ClientsChange::Login),
        client: Some(list[0].clone()),
    };
    assert!(
        h.events().contains(&Event::Clients(update)),
        "{:?}",
        h.events()
    );
    h.server_sends(ServerFrame::Clients {
        change: ClientsChange::Logout,
        clients: vec![],
    });
    let gone = ClientsUpdate {
        clients: vec![],
        change: Some(ClientsChange::Logout),
        client: Some(list[0].clone()),
    };
    assert!(
        h.events().contains(&Event::Clients(gone)),
        "which client left"
    );
}

#[test]
fn kick_client_settles_with_the_kick_result() {
    let mut h = Harness::logged_in_as("alice");
    let ok = h.m.kick_client(h.now, "c9");
    let missing = h.m.kick_client(h.now, "nope");
    h.pump();
    assert!(h.log.iter().any(
        |(_, o)| matches!(o, Output::Send(_, ClientFrame::Kick { client_id }) if client_id == "c9")
    ));
    h.server_sends(ServerFrame::KickResult {
        client_id: "nope".into(),
        code: 404.into(),
    });
    h.server_sends(ServerFrame::KickResult {
        client_id: "c9".into(),
        code: 200.into(),
    });
    assert_eq!(h.outcome(ok), Some(Ok(())));
    assert_eq!(h.rejected_code(missing), 404);
}

#[test]
fn kick_client_when_not_connected_rejects_at_once() {
    let mut h = Harness::new();
    let id = h.m.kick_client(0.0, "c9");
    h.pump();
    assert_eq!(h.rejected_code(id), 415);
}

#[test]
fn a_pending_kick_is_rejected_when_the_connection_drops() {
    let mut h = Harness::logged_in_as("alice");
    let id = h.m.kick_client(h.now, "c9");
    h.pump();
    h.drop_connection(1006);
    assert_eq!(h.rejected_code(id), 415);
}

// ----- waiting, offline, visibility -----

#[test]
fn reconnect_timer_connects_in_auto_mode() {
    let mut h = Harness::logged_in_as("alice");
    h.replies.push_back(Reply::Refuse);
    h.drop_connection(1006);
    h.advance(1_001.0);
    h.advance(2_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert!(h.logins[1..].iter().all(is_auto));
}

#[test]
fn page_visible_while_waiting_attempts_at_once() {
    let mut h = Harness::logged_in_as("alice");
    h.drop_connection(1006);
    assert_eq!(h.status(), Status::Waiting);
    let before = h.connects();
    h.m.handle_visible(h.now);
    h.pump();
    assert_eq!(h.connects(), before + 1);
    assert_eq!(h.status(), Status::LoggedIn);
    // The backoff timer is gone: next is the new session's heartbeat.
    assert_eq!(h.next_wake_in(), Some(30_000.0));
}

#[test]
fn offline_with_a_session_closes_and_waits_in_offline() {
    // from loggedIn
    let mut h = Harness::logged_in_as("alice");
    h.offline();
    assert_eq!(h.status(), Status::Offline);
    assert!(h.open.is_none());
    assert_eq!(h.m.poll_timeout(), None);
    // from waiting
    let mut h = Harness::logged_in_as("alice");
    h.drop_connection(1006);
    h.offline();
    assert_eq!(h.status(), Status::Offline);
    assert_eq!(h.m.poll_timeout(), None);
    // from connecting (auto login)
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.auto_login(Some(creds("alice", "tok")));
    h.offline();
    assert_eq!(h.status(), Status::Offline);
    assert!(h.open.is_none());
}

#[test]
fn no_connect_is_made_while_offline_for_any_length_of_time() {
    let mut h = Harness::logged_in_as("alice");
    h.drop_connection(1006);
    h.offline();
    let connects = h.connects();
    for _ in 0..24 {
        h.advance(HOUR);
    }
    assert_eq!(h.connects(), connects);
    assert_eq!(h.status(), Status::Offline);
}

#[test]
fn online_connects_at_the_same_instant_with_the_attempt_counter_reset() {
    let mut h = Harness::logged_in_as("alice");
    h.default_reply = Reply::Refuse;
    h.drop_connection(1006);
    for _ in 0..5 {
        h.advance(40_000.0);
    }
    h.offline();
    h.advance(5_000.0);
    let t = h.now;
    h.default_reply = Reply::Refuse;
    h.online();
    assert_eq!(*h.connect_times().last().unwrap(), t);
    let (attempt, _) = *h.reconnect_delays().last().unwrap();
    assert_eq!(attempt, 1, "backoff restarts after coming back online");
}

// ----- manual vs auto -----

#[test]
fn manual_auth_failure_stops_with_no_further_connect_for_an_hour() {
    let mut h = Harness::new();
    h.default_reply = Reply::Err(302, None);
    let id = h.login("alice", "wrong");
    assert_eq!(h.rejected_code(id), 302);
    h.advance(HOUR);
    assert_eq!(h.connects(), 1);
    assert_eq!(h.status(), Status::LoggedOut);
}

#[test]
fn manual_network_failure_makes_exactly_retry_count_attempts_then_rejects() {
    for retry_count in [1, 3, 5] {
        let mut config = config();
        config.retry_count = retry_count;
        config.login_timeout_ms = HOUR;
        let mut h = Harness::with_config(config, 3);
        h.default_reply = Reply::Refuse;
        let id = h.login("alice", "tok");
        h.advance(HOUR);
        assert_eq!(h.connects(), retry_count as usize);
        let err = match h.outcome(id) {
            Some(Err(e)) => e,
            other => panic!("{other:?}"),
        };
        assert!(err.retryable());
        assert_eq!(h.status(), Status::LoggedOut);
    }
}

#[test]
fn auto_login_retries_without_limit_and_every_delay_lies_within_the_backoff_bound() {
    let mut h = Harness::new();
    h.default_reply = Reply::Refuse;
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())), "settled at the first failure");
    for _ in 0..200 {
        h.advance(30_001.0);
    }
    assert_eq!(h.status(), Status::Waiting);
    let delays = h.reconnect_delays();
    assert!(delays.len() >= 200, "{}", delays.len());
    for (attempt, delay) in &delays {
        let bound = (1_000.0 * 2f64.powi(*attempt as i32 - 1)).min(30_000.0);
        assert!(
            (0.0..=bound).contains(delay),
            "attempt {attempt}: {delay} > {bound}"
        );
    }
    // Full jitter really spreads: late delays are not all at the cap.
    let late: Vec<f64> = delays.iter().skip(10).map(|d| d.1).collect();
    assert!(late.iter().any(|d| *d < 15_000.0) && late.iter().any(|d| *d > 15_000.0));
    h.default_reply = Reply::Accept;
    h.advance(30_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn after_a_successful_login_it_reconnects_by_itself_forever() {
    let mut h = Harness::logged_in_as("alice");
    h.default_reply = Reply::Refuse;
    h.drop_connection(1006);
    for _ in 0..48 {
        h.advance(HOUR / 2.0);
    }
    assert_eq!(h.status(), Status::Waiting);
    h.default_reply = Reply::Accept;
    h.advance(30_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn rate_limit_retry_after_is_honoured() {
    let mut h = Harness::new();
    h.replies.push_back(Reply::Err(416, Some(12_345)));
    h.auto_login(Some(creds("alice", "tok")));
    let (_, delay) = h.reconnect_delays()[0];
    assert!(delay >= 12_345.0);
    h.advance(12_344.0);
    assert_eq!(h.connects(), 1);
    h.advance(delay - 12_344.0);
    assert_eq!(h.connects(), 2);
}

#[test]
fn reconnect_delay_hook_overrides_the_default_but_not_the_server_floor() {
    let mut config = config();
    config.delay_hook = true;
    let mut h = Harness::with_config(config, 7);
    h.delay_answers
        .extend([Some(77.0), Some(f64::NAN), Some(0.0)]);
    h.replies
        .extend([Reply::Refuse, Reply::Refuse, Reply::Err(416, Some(5_000))]);
    h.auto_login(Some(creds("alice", "tok")));
    h.advance(77.0);
    h.advance(2_000.0);
    h.advance(5_000.0);
    let delays: Vec<f64> = h.reconnect_delays().iter().map(|d| d.1).collect();
    assert_eq!(delays[0], 77.0);
    assert!(
        delays[1] <= 2_000.0 && delays[1] == h.delay_questions[1].1,
        "a NaN answer keeps the default: {delays:?} {:?}",
        h.delay_questions
    );
    assert_eq!(delays[2], 5_000.0, "retryAfterMs is a floor");
    assert_eq!(
        h.delay_questions.iter().map(|q| q.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn the_app_is_asked_for_the_delay_by_an_output_and_its_answer_comes_back_as_an_input() {
    // The machine never calls app code: it asks, waits in `waiting` with
    // its own delay armed, and announces `reconnecting` with the answer.
    let mut config = config();
    config.delay_hook = true;
    let mut h = Harness::with_config(config, 7);
    let id = h.login("alice", "tok");
    assert_eq!(h.outcome(id), Some(Ok(())));
    h.m.handle_closed(h.now, h.open.take().unwrap(), 1012);
    let asked = h.m.poll_output();
    let Some(Output::Emit(Event::Status(Status::Waiting))) = asked else {
        panic!("{asked:?}");
    };
    let Some(Output::ChooseDelay {
        conn,
        attempt: 1,
        default_ms,
    }) = h.m.poll_output()
    else {
        panic!("the machine asks for the delay");
    };
    assert!(
        h.m.poll_output().is_none(),
        "no reconnecting event before the answer"
    );
    assert_eq!(
        h.m.poll_timeout(),
        Some(h.now + default_ms),
        "its own delay meanwhile"
    );
    h.m.handle_delay(h.now, conn, Some(4_321.0));
    assert_eq!(h.m.poll_timeout(), Some(h.now + 4_321.0));
    h.pump();
    assert_eq!(
        h.reconnect_reasons(),
        vec![Disconnect::Closed(1012)],
        "the event carries why"
    );
    assert_eq!(h.reconnect_delays(), vec![(1, 4_321.0)]);
    // A late answer for the same attempt changes nothing.
    h.m.handle_delay(h.now, conn, Some(1.0));
    assert_eq!(h.m.poll_timeout(), Some(h.now + 4_321.0));
    h.advance(4_321.0);
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn without_an_answer_the_retry_goes_ahead_with_the_machines_delay_and_is_announced() {
    let mut config = config();
    config.delay_hook = true;
    let mut h = Harness::with_config(config, 7);
    h.login("alice", "tok");
    let conn = h.open.take().unwrap();
    h.m.handle_closed(h.now, conn, 1006);
    while h.m.poll_output().is_some() {} // the driver never answers
    h.advance(30_000.0);
    let delays = h.reconnect_delays();
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert_eq!(h.connects(), 2);
}

#[test]
fn every_reconnecting_event_says_why_the_connection_was_lost() {
    let mut h = Harness::logged_in_as("alice");
    h.drop_connection(1012);
    h.replies.extend([
        Reply::Refuse,
        Reply::Hang,
        Reply::Err(503, None),
        Reply::Accept,
    ]);
    h.advance(120_000.0);
    assert_eq!(
        h.reconnect_reasons(),
        vec![
            Disconnect::Closed(1012),
            Disconnect::Unreachable,
            Disconnect::Timeout,
            Disconnect::Refused(LoginCode::Unavailable),
        ]
    );
    h.answers_ping = false;
    h.advance(120_000.0);
    assert_eq!(h.reconnect_reasons()[4], Disconnect::NoPong);
}

#[test]
fn backoff_settings_bound_the_delays() {
    let mut config = config();
    config.backoff = BackoffConfig {
        initial_ms: 100.0,
        max_ms: 400.0,
    };
    let mut h = Harness::with_config(config, 11);
    h.default_reply = Reply::Refuse;
    h.auto_login(Some(creds("alice", "tok")));
    h.advance(HOUR);
    assert!(h.reconnect_delays().iter().all(|(_, d)| *d <= 400.0));
}

#[test]
fn without_jitter_every_delay_is_its_ceiling() {
    let mut config = config();
    config.backoff = BackoffConfig {
        initial_ms: 100.0,
        max_ms: 400.0,
    };
    config.backoff_jitter = false;
    let mut h = Harness::with_config(config, 11);
    h.default_reply = Reply::Refuse;
    h.auto_login(Some(creds("alice", "tok")));
    h.advance(HOUR);
    let delays: Vec<f64> = h
        .reconnect_delays()
        .iter()
        .map(|(_, d)| *d)
        .take(5)
        .collect();
    assert_eq!(delays, vec![100.0, 200.0, 400.0, 400.0, 400.0]);
}

// ----- logout and replacement -----

#[test]
fn logout_in_each_status_leaves_no_timer_armed_and_clears_the_session() {
    let setups: Vec<Box<dyn Fn() -> Harness>> = vec![
        Box::new(Harness::new),
        Box::new(|| {
            let mut h = Harness::new();
            h.default_reply = Reply::Hang;
            h.login("alice", "tok");
            h
        }),
        Box::new(|| Harness::logged_in_as("alice")),
        Box::new(|| {
            let mut h = Harness::logged_in_as("alice");
            h.drop_connection(1006);
            h
        }),
        Box::new(|| {
            let mut h = Harness::logged_in_as("alice");
            h.offline();
            h
        }),
    ];
    for setup in setups {
        let mut h = setup();
        let before = h.status();
        h.logout();
        assert_eq!(h.m.poll_timeout(), None, "from {before:?}");
        assert!(h.open.is_none());
        assert_eq!(h.persisted, None);
        assert_eq!(h.status(), Status::LoggedOut);
        h.advance(HOUR);
        assert_eq!(h.m.poll_timeout(), None);
    }
}

#[test]
fn logout_when_logged_in_tells_the_server() {
    let mut h = Harness::logged_in_as("alice");
    h.logout();
    assert!(h
        .log
        .iter()
        .any(|(_, o)| matches!(o, Output::Send(_, ClientFrame::Logout))));
}

#[test]
fn logout_cancels_a_pending_login_with_499() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let id = h.login("alice", "tok");
    h.logout();
    assert_eq!(h.rejected_code(id), 499);
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::LoginFailed(_))),
        "a cancellation is no failure"
    );
}

#[test]
fn abort_of_a_pending_manual_login_rejects_498_and_stops_the_attempt() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.persisted = Some(creds("bob", "old"));
    let id = h.login("alice", "tok");
    assert_eq!(h.status(), Status::Connecting);
    h.m.abort(h.now, id);
    h.pump();
    assert_eq!(h.rejected_code(id), 498);
    assert_eq!(h.status(), Status::LoggedOut);
    assert_eq!(h.open, None, "the connection attempt is closed");
    assert_eq!(h.m.poll_timeout(), None, "no timer stays armed");
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::LoginFailed(_))),
        "an abort is no failure"
    );
    assert_eq!(
        h.persisted.as_ref().map(|s| s.credentials.accid.as_str()),
        Some("bob"),
        "the persisted session is kept"
    );
    h.advance(60_000.0);
    assert_eq!(h.connects(), 1, "nothing reconnects");
}

#[test]
fn abort_of_a_pending_auto_login_stops_it_and_keeps_the_saved_session() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.persisted = Some(creds("alice", "tok"));
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    h.m.abort(h.now, id);
    h.pump();
    assert_eq!(h.rejected_code(id), 498);
    assert_eq!(h.status(), Status::LoggedOut);
    assert!(h.persisted.is_some());
    h.advance(120_000.0);
    assert_eq!(h.connects(), 1);
}

#[test]
fn abort_of_one_of_two_calls_on_a_login_leaves_the_login_to_the_other() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let login = h.login("alice", "tok");
    let joined = h.auto_login(None).unwrap();
    h.m.abort(h.now, joined);
    h.pump();
    assert_eq!(h.rejected_code(joined), 498);
    assert_eq!(h.outcome(login), None);
    assert_eq!(h.status(), Status::Connecting);
    h.m.abort(h.now, login);
    h.pump();
    assert_eq!(h.rejected_code(login), 498);
    assert_eq!(h.status(), Status::LoggedOut);
}

#[test]
fn abort_after_the_call_settled_changes_nothing() {
    let mut h = Harness::new();
    let id = h.login("alice", "tok");
    assert_eq!(h.outcome(id), Some(Ok(())));
    h.m.abort(h.now, id);
    h.pump();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn abort_of_a_call_that_joined_a_reconnecting_session_keeps_the_session() {
    let mut h = Harness::logged_in_as("alice");
    h.default_reply = Reply::Hang;
    h.drop_connection(1006);
    h.advance(h.next_wake_in().unwrap());
    assert_eq!(h.status(), Status::Connecting);
    let id = h.auto_login(Some(creds("alice", "tok"))).unwrap();
    h.m.abort(h.now, id);
    h.pump();
    assert_eq!(h.rejected_code(id), 498);
    assert_eq!(h.status(), Status::Connecting, "the session reconnects on");
    assert_eq!(h.m.accid(), Some("alice"));
}

#[test]
fn a_refusal_carries_the_servers_retry_after() {
    let mut config = config();
    config.retry_count = 1;
    let mut h = Harness::with_config(config, 1);
    h.replies.push_back(Reply::Err(416, Some(12_345)));
    let id = h.login("alice", "tok");
    match h.outcome(id) {
        Some(Err(e)) => {
            assert_eq!(e.code.as_u16(), 416);
            assert_eq!(e.retry_after_ms, Some(12_345));
        }
        other => panic!("expected a 416 rejection, got {other:?}"),
    }
}

#[test]
fn a_newer_login_cancels_the_pending_one_with_499() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    let first = h.login("alice", "tok");
    h.default_reply = Reply::Accept;
    let second = h.m.login(h.now, "bob", "tok", false);
    h.pump();
    assert_eq!(h.rejected_code(first), 499);
    assert_eq!(h.outcome(second), Some(Ok(())));
    assert_eq!(h.m.accid(), Some("bob"));
}

#[test]
fn events_of_an_abandoned_connection_are_ignored() {
    let mut h = Harness::new();
    h.default_reply = Reply::Hang;
    h.login("alice", "tok");
    let old = h.open.unwrap();
    h.advance(10_000.0); // the connect timeout abandons the first socket
    assert_ne!(h.open, Some(old));
    h.m.handle_opened(h.now, old);
    h.m.handle_frame(
        h.now,
        old,
        ServerFrame::LoginOk {
            client_id: "x".into(),
            server_time: 1,
            heartbeat_ms: 1,
            clients: vec![],
            ticket: None,
        },
    );
    h.m.handle_closed(h.now, old, 1000);
    h.pump();
    assert_ne!(h.status(), Status::LoggedIn);
    assert!(
        h.logins.is_empty(),
        "no login frame on the abandoned socket"
    );
}

#[test]
fn an_undecodable_server_frame_is_treated_as_a_broken_connection() {
    let mut h = Harness::logged_in_as("alice");
    let conn = h.open.unwrap();
    h.m.handle_text(h.now, conn, "{not json");
    h.pump();
    assert_eq!(h.status(), Status::Waiting);
    assert!(h.open.is_none());
}
