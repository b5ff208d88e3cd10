//! Dynamic tokens (the JS `tokenProvider`): a fresh token before every
//! attempt, its failure retryable, on a virtual clock.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use imlogin_core::protocol::ClientFrame;
use imlogin_core::{Output, Status};

fn dynamic() -> Harness {
    let mut c = config();
    c.dynamic_token = true;
    Harness::with_config(c, 5)
}

fn login_frames_sent(h: &Harness) -> usize {
    h.log
        .iter()
        .filter(|(_, o)| matches!(o, Output::Send(_, ClientFrame::Login(_))))
        .count()
}

#[test]
fn a_token_is_fetched_before_every_attempt_and_sent_in_the_login_frame() {
    let mut h = dynamic();
    h.replies.extend([Reply::Refuse, Reply::Refuse]);
    let id = h.login("alice", "");
    h.advance(10_000.0);
    assert_eq!(h.outcome(id), Some(Ok(())));
    assert_eq!(h.connects(), 3);
    assert_eq!(
        h.token_requests,
        vec!["alice"; 3],
        "one provider call per attempt"
    );
    assert_eq!(h.last_login().token.as_deref(), Some("dyn-3"));
    assert_eq!(
        h.persisted.as_ref().unwrap().credentials.token,
        "dyn-3",
        "the record keeps the token that worked"
    );
}

#[test]
fn reconnections_fetch_a_new_token_too() {
    let mut h = dynamic();
    h.login("alice", "");
    h.drop_connection(1006);
    h.advance(1_001.0);
    assert_eq!(h.status(), Status::LoggedIn);
    assert_eq!(h.token_requests.len(), 2);
    assert_eq!(h.last_login().token.as_deref(), Some("dyn-2"));
}

#[test]
fn a_failing_token_provider_is_retried_like_a_network_failure() {
    let mut h = dynamic();
    h.token_answers
        .extend([None, Some(String::new()), Some("x".repeat(200))]);
    let id = h.auto_login(Some(creds("alice", "old"))).unwrap();
    assert_eq!(h.status(), Status::Waiting, "no token, no login frame");
    assert!(h.logins.is_empty());
    assert_eq!(
        h.outcome(id),
        Some(Ok(())),
        "a failed attempt settles an auto login (the session is kept)"
    );
    for _ in 0..4 {
        h.advance(8_001.0);
    }
    assert_eq!(h.status(), Status::LoggedIn, "auto login keeps retrying");
    assert_eq!(h.logins.len(), 1, "only a valid token reaches the server");
    assert_eq!(h.token_requests.len(), 4);
}

#[test]
fn the_login_frame_waits_for_a_token_that_comes_after_the_socket_opened() {
    let mut h = dynamic();
    h.defer_tokens = true;
    let id = h.login("alice", "");
    assert!(h.open.is_some(), "the socket opened");
    assert_eq!(login_frames_sent(&h), 0, "no token yet, no login frame");
    let conn = h.deferred_tokens.pop().unwrap();
    h.m.handle_token(h.now, conn, Some("late-token"));
    h.pump();
    assert_eq!(h.last_login().token.as_deref(), Some("late-token"));
    assert_eq!(h.outcome(id), Some(Ok(())));
}

#[test]
fn the_login_frame_waits_for_the_socket_when_the_token_came_first() {
    let mut h = dynamic();
    h.default_reply = Reply::Hang;
    h.login("alice", "");
    assert_eq!(h.token_requests.len(), 1, "the token was fetched at once");
    assert_eq!(login_frames_sent(&h), 0, "the socket is not open yet");
    let conn = h.open.unwrap();
    h.m.handle_opened(h.now, conn);
    h.pump();
    assert_eq!(login_frames_sent(&h), 1);
    assert_eq!(h.last_login().token.as_deref(), Some("dyn-1"));
}

#[test]
fn a_token_for_an_abandoned_attempt_is_ignored() {
    let mut h = dynamic();
    h.defer_tokens = true;
    h.default_reply = Reply::Hang;
    h.login("alice", "");
    let first = h.deferred_tokens.pop().unwrap();
    h.advance(10_000.0); // connect timeout abandons the first attempt
    h.m.handle_token(h.now, first, Some("stale"));
    h.pump();
    assert_eq!(login_frames_sent(&h), 0);
}

#[test]
fn an_empty_token_is_refused_with_414_without_dynamic_tokens() {
    let mut h = Harness::new();
    let id = h.login("alice", "");
    assert_eq!(h.rejected_code(id), 414);
}
