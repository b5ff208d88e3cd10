//! Device-bound sessions on the virtual clock (docs/behaviour.md, "Device
//! binding"): a token login binds the device key and earns a ticket, the
//! record holds the ticket and never the token, a resume signs with the
//! device key, a refused binding (419) stops at once and clears the record,
//! and without a device key the app's choice decides what is persisted.

mod common;

use common::*;
use imlogin_core::device::ProofRequest;
use imlogin_core::protocol::{KickReason, LoginMode};
use imlogin_core::{Credentials, Event, Output, Status, StoredSession};

/// Logs in with a token on a binding harness; returns the saved record.
fn bound_login(h: &mut Harness) -> StoredSession {
    let id = h.login("alice", "secret-token");
    assert_eq!(h.outcome(id), Some(Ok(())));
    h.persisted.clone().expect("a record is saved")
}

#[test]
fn a_token_login_sends_the_device_key_and_saves_the_ticket_never_the_token() {
    let mut h = Harness::binding(false);
    h.server_offset = h.wall_offset + 2_500.0; // the server's clock is 2.5 s ahead
    let saved = bound_login(&mut h);

    assert_eq!(h.proof_requests, vec![ProofRequest::PublicKey]);
    let frame = h.last_login();
    assert_eq!(frame.token.as_deref(), Some("secret-token"));
    assert_eq!(frame.device_key.as_deref(), Some(KEY_A));
    assert_eq!(frame.ticket, None);

    let ticket = saved
        .credentials
        .ticket
        .as_ref()
        .expect("a ticket is saved");
    assert_eq!(ticket.ticket, common::ticket(1));
    assert_eq!(ticket.skew_ms, 2_500.0, "the clock offset is kept with it");
    let json = saved.to_json();
    assert!(!json.contains("secret-token"), "{json}");
    assert!(json.contains(&common::ticket(1)), "{json}");
}

#[test]
fn an_auto_login_with_a_ticket_resumes_signed_by_the_device_key() {
    let mut h = Harness::binding(false);
    let saved = bound_login(&mut h);

    // A reload: a new machine, the same device key and record.
    let mut reloaded = Harness::binding(false);
    reloaded.tickets = h.tickets.clone();
    reloaded.now = 60_000.0;
    let id = reloaded.auto_login(Some(saved.clone())).expect("a record");
    assert_eq!(reloaded.outcome(id), Some(Ok(())));
    assert_eq!(reloaded.status(), Status::LoggedIn);

    let frame = reloaded.last_login();
    assert_eq!(frame.token, None, "a resume never sends a token");
    assert_eq!(frame.ticket.as_deref(), Some(common::ticket(1).as_str()));
    assert_eq!(frame.mode, LoginMode::Auto);
    assert!(frame.ts.is_some() && frame.nonce.is_some() && frame.sig.is_some());
    assert_eq!(frame.device_key, None);
    match &reloaded.proof_requests[..] {
        [ProofRequest::Resume(fields)] => {
            assert_eq!(fields.accid, "alice");
            assert_eq!(fields.device_id, DEVICE);
            assert_eq!(fields.app_key, APP_KEY);
        }
        other => panic!("expected one resume request, got {other:?}"),
    }
    // The ticket lives on (the server issued no new one).
    let kept = reloaded.persisted.as_ref().unwrap();
    assert_eq!(kept.credentials.ticket, saved.credentials.ticket);
}

#[test]
fn reconnections_after_a_bound_login_resume_with_the_ticket() {
    let mut h = Harness::binding(false);
    bound_login(&mut h);
    h.drop_connection(1006);
    h.advance(35_000.0);
    assert_eq!(h.status(), Status::LoggedIn);
    let frame = h.last_login();
    assert_eq!(frame.token, None);
    assert_eq!(frame.ticket.as_deref(), Some(common::ticket(1).as_str()));
    assert_eq!(h.logins.len(), 2);
}

#[test]
fn a_refused_binding_419_stops_at_once_clears_the_record_and_never_loops() {
    let mut h = Harness::binding(false);
    let saved = bound_login(&mut h);

    // "Another profile": the same record, another device key.
    let mut other = Harness::binding(false);
    other.tickets = h.tickets.clone();
    other.device_key = Some("key-of-another-profile".into());
    other.persisted = Some(saved.clone());
    let id = other.auto_login(Some(saved)).expect("a record");
    assert_eq!(other.rejected_code(id), 419);
    assert_eq!(other.status(), Status::LoggedOut);
    assert_eq!(other.persisted, None, "the record is cleared");
    assert!(other
        .events()
        .iter()
        .any(|e| matches!(e, Event::LoginFailed(err) if err.code.as_u16() == 419)));
    other.advance(10.0 * HOUR);
    assert_eq!(other.connects(), 1, "419 is never retried");
}

#[test]
fn a_resume_without_a_usable_device_key_fails_419_without_sending_anything() {
    let mut h = Harness::binding(false);
    let saved = bound_login(&mut h);

    let mut keyless = Harness::binding(false);
    keyless.device_key = None;
    keyless.persisted = Some(saved.clone());
    let id = keyless.auto_login(Some(saved)).expect("a record");
    assert_eq!(keyless.rejected_code(id), 419);
    assert!(keyless.logins.is_empty(), "no frame without a signature");
    assert_eq!(keyless.persisted, None);
    keyless.advance(HOUR);
    assert_eq!(keyless.connects(), 1);
}

#[test]
fn the_login_frame_waits_for_the_device_key_and_a_late_answer_is_ignored() {
    let mut h = Harness::binding(false);
    h.defer_proofs = true;
    h.login("alice", "secret-token");
    assert!(
        h.logins.is_empty(),
        "the socket opened, the key has not answered"
    );
    assert_eq!(h.status(), Status::Connecting);
    h.answer_proof(0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert_eq!(h.last_login().device_key.as_deref(), Some(KEY_A));

    // Attempts abandoned before their key answered (the connect timeout
    // ends each): their answers are dropped.
    h.drop_connection(1006);
    h.advance(35_000.0);
    assert!(!h.deferred_proofs.is_empty());
    h.logout();
    while !h.deferred_proofs.is_empty() {
        h.answer_proof(0);
    }
    assert_eq!(h.status(), Status::LoggedOut);
    assert_eq!(h.logins.len(), 1);
}

#[test]
fn device_mode_without_a_key_logs_in_but_persists_nothing_and_removes_an_old_token_record() {
    let mut h = Harness::binding(false);
    h.device_key = None;
    h.persisted = Some(creds("alice", "old-token"));
    let id = h.login("alice", "secret-token");
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.last_login().device_key, None);
    assert_eq!(h.persisted, None);
}

#[test]
fn token_mode_without_a_key_falls_back_to_the_token_record() {
    let mut h = Harness::binding(true);
    h.device_key = None;
    let saved = bound_login(&mut h);
    assert_eq!(saved.credentials.token, "secret-token");
    assert_eq!(saved.credentials.ticket, None);
}

#[test]
fn an_old_token_record_is_upgraded_to_a_ticket_at_its_next_login() {
    let mut h = Harness::binding(false);
    let id = h.auto_login(Some(creds("alice", "old-token"))).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())));
    let frame = h.last_login();
    assert_eq!(frame.token.as_deref(), Some("old-token"));
    assert_eq!(frame.device_key.as_deref(), Some(KEY_A));
    let saved = h.persisted.as_ref().unwrap();
    assert!(saved.credentials.ticket.is_some());
    assert!(!saved.to_json().contains("old-token"));
}

#[test]
fn a_kick_for_revocation_clears_the_record() {
    let mut h = Harness::binding(false);
    bound_login(&mut h);
    h.server_sends(kicked(KickReason::Revoked));
    assert_eq!(h.status(), Status::LoggedOut);
    assert_eq!(h.persisted, None);
    h.advance(HOUR);
    assert_eq!(h.connects(), 1);
}

#[test]
fn without_binding_nothing_asks_the_device_key() {
    let mut h = Harness::new();
    let id = h.login("alice", "tok");
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert!(h.proof_requests.is_empty());
    assert_eq!(h.last_login().device_key, None);
    assert!(!h.log.iter().any(|(_, o)| matches!(o, Output::Prove(..))));
}

#[test]
fn a_resume_never_goes_out_as_a_manual_login() {
    // A ticket-only record as a reloaded page reads it.
    let record = StoredSession {
        credentials: Credentials::resumed("alice", &common::ticket(9), 0.0).unwrap(),
        saved_at: 1,
    };
    let mut h = Harness::binding(false);
    h.tickets.insert(common::ticket(9), KEY_A.into());
    let id = h.auto_login(Some(record)).unwrap();
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert!(is_auto(h.last_login()));
}

#[test]
fn with_dynamic_tokens_every_attempt_asks_the_provider_binds_and_saves_only_the_ticket() {
    let dynamic = || {
        let mut config = config();
        config.device_binding = true;
        config.persist_token = false;
        config.dynamic_token = true;
        config
    };
    let mut h = Harness::with_config(dynamic(), 7);
    let id = h.login("alice", "");
    assert_eq!(h.outcome(id), Some(Ok(())));
    h.drop_connection(1006);
    h.advance(35_000.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert_eq!(
        h.token_requests.len(),
        2,
        "the provider is asked every attempt"
    );
    for frame in &h.logins {
        assert!(frame.token.is_some() && frame.device_key.is_some() && frame.ticket.is_none());
    }
    let saved = h.persisted.clone().expect("a record");
    assert!(saved.credentials.ticket.is_some());
    assert!(!saved.to_json().contains("dyn-"), "{}", saved.to_json());

    // After a reload the provider is asked again; the ticket record only
    // names the account.
    let mut reloaded = Harness::with_config(dynamic(), 7);
    let id = reloaded.auto_login(Some(saved)).unwrap();
    assert_eq!(reloaded.outcome(id), Some(Ok(())));
    assert_eq!(reloaded.token_requests, vec!["alice"]);
    assert!(reloaded.last_login().token.is_some());
}

#[test]
fn a_ticket_for_a_login_that_sent_no_device_key_of_this_machine_is_not_kept() {
    // A driver that binds on its own (the native client) adds a deviceKey
    // the machine never saw: the ticket the server answers is the driver's.
    use imlogin_core::protocol::ServerFrame;
    use imlogin_core::LoginMachine;
    let mut m = LoginMachine::new(config(), 1);
    m.login(0.0, "alice", "tok", false);
    let conn = m.connection().unwrap();
    m.handle_opened(0.0, conn);
    m.handle_frame(
        1.0,
        conn,
        ServerFrame::LoginOk {
            client_id: "c".into(),
            server_time: 1,
            heartbeat_ms: 30_000,
            clients: vec![],
            ticket: Some(common::ticket(3).into()),
        },
    );
    let mut saved = None;
    while let Some(output) = m.poll_output() {
        if let Output::Persist(s) = output {
            saved = Some(s);
        }
    }
    let saved = saved.expect("the token record");
    assert_eq!(saved.credentials.ticket, None);
    assert_eq!(saved.credentials.token, "tok");
}
