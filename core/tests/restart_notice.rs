//! The client's side of a server restart, on the virtual clock: the
//! restart notice's window (docs/protocol.md#server-restart), the backoff
//! without a notice, and the jitter on top of a 416's `retryAfterMs`
//! (docs/behaviour.md#server-restart, #backoff).

mod common;

use common::*;
use imlogin_core::protocol::ServerFrame;
use imlogin_core::{BackoffConfig, Disconnect, Status};

fn notice(retry_in_ms: u64, spread_ms: u64) -> ServerFrame {
    ServerFrame::Restart {
        retry_in_ms,
        spread_ms,
    }
}

/// A logged-in machine (seeded `seed`) that receives the notice at 1 000 ms;
/// returns it and the time of its next connection attempt.
fn noticed(seed: u64, retry_in_ms: u64, spread_ms: u64) -> (Harness, f64) {
    let mut h = Harness::with_config(config(), seed);
    h.login("alice", "tok");
    assert_eq!(h.status(), Status::LoggedIn);
    h.advance(1_000.0);
    h.server_sends(notice(retry_in_ms, spread_ms));
    assert_eq!(h.status(), Status::Waiting);
    assert_eq!(h.connects(), 1, "no attempt on the notice itself");
    h.advance(retry_in_ms as f64 + spread_ms as f64 + 1.0);
    let times = h.connect_times();
    assert_eq!(times.len(), 2, "exactly one attempt by the window's end");
    (h, times[1])
}

#[test]
fn the_client_comes_back_at_a_uniform_moment_of_the_notice_window_and_never_before() {
    let mut moments = Vec::new();
    for seed in 0..200 {
        let (h, at) = noticed(seed, 2_000, 1_000);
        let after = at - 1_000.0;
        assert!(
            (2_000.0..=3_000.0).contains(&after),
            "seed {seed}: attempt {after} ms after the notice"
        );
        assert_eq!(h.status(), Status::LoggedIn);
        moments.push(after);
    }
    // Uniform over the window: every tenth of it is drawn, none by more
    // than three times its share.
    let mut tenths = [0usize; 10];
    for m in &moments {
        tenths[(((m - 2_000.0) / 100.0) as usize).min(9)] += 1;
    }
    assert!(
        tenths.iter().all(|n| (1..=60).contains(n)),
        "not spread over the window: {tenths:?}"
    );
}

#[test]
fn the_notice_is_announced_as_a_1012_close_with_its_delay() {
    let mut h = Harness::logged_in_as("alice");
    h.server_sends(notice(2_000, 500));
    let delays = h.reconnect_delays();
    assert_eq!(delays.len(), 1);
    assert!((2_000.0..=2_500.0).contains(&delays[0].1), "{delays:?}");
    assert_eq!(h.reconnect_reasons(), vec![Disconnect::Closed(1012)]);
    assert!(h.open.is_none(), "the client closed the socket itself");
}

#[test]
fn visibility_and_the_network_coming_back_make_no_attempt_inside_the_window() {
    let mut h = Harness::logged_in_as("alice");
    h.server_sends(notice(5_000, 0));
    h.advance(1_000.0);
    h.m.handle_visible(h.now);
    h.pump();
    assert_eq!(h.connects(), 1, "visible inside the window");
    h.offline();
    h.advance(1_000.0);
    h.online();
    assert_eq!(h.connects(), 1, "online inside the window");
    assert_eq!(h.status(), Status::Waiting);
    h.advance(2_999.0);
    assert_eq!(h.connects(), 1, "1 ms before the moment");
    h.advance(1.0);
    assert_eq!(h.connects(), 2, "at the moment");
    assert_eq!(h.status(), Status::LoggedIn);
}

#[test]
fn after_the_window_a_refused_attempt_falls_back_to_the_backoff_from_its_first_step() {
    for seed in 0..50 {
        let mut h = Harness::with_config(config(), seed);
        h.login("alice", "tok");
        // Climb the backoff first: the notice must reset it.
        h.default_reply = Reply::Refuse;
        h.drop_connection(1006);
        h.advance(5_000.0);
        h.default_reply = Reply::Accept;
        h.advance(20_000.0);
        assert_eq!(h.status(), Status::LoggedIn);
        let before = h.reconnect_delays().len();
        h.replies
            .extend([Reply::Refuse, Reply::Refuse, Reply::Refuse]);
        h.server_sends(notice(1_000, 1_000));
        h.advance(60_000.0);
        assert_eq!(h.status(), Status::LoggedIn);
        let after: Vec<(u32, f64)> = h.reconnect_delays()[before..].to_vec();
        assert_eq!(after.len(), 4, "the notice and three refusals: {after:?}");
        let initial = BackoffConfig::default().initial_ms;
        for (i, (attempt, delay)) in after[1..].iter().enumerate() {
            assert_eq!(*attempt as usize, i + 1, "counted from 1 again");
            let bound = initial * 2f64.powi(i as i32);
            assert!(
                *delay <= bound,
                "seed {seed}: step {attempt}: {delay} > {bound}"
            );
        }
    }
}

#[test]
fn a_manual_login_still_counts_its_attempts_through_a_notice() {
    let mut h = Harness::new();
    h.replies.push_back(Reply::Hang);
    let id = h.login("alice", "tok");
    assert_eq!(h.status(), Status::Connecting);
    h.server_sends(notice(100, 0));
    assert_eq!(h.status(), Status::Waiting);
    assert_eq!(h.outcome(id), None, "the manual login goes on");
    h.advance(100.0);
    assert_eq!(h.connects(), 2);
    assert_eq!(h.outcome(id), Some(Ok(())));
}

#[test]
fn without_a_notice_the_first_steps_beat_socket_io() {
    // socket.io: 1 s doubling to 5 s, ±50 %: its first retry comes 500 ms
    // at the earliest, its second 1 000 ms after that. imlogin's first
    // three ceilings are 250, 500 and 1 000 ms, full jitter.
    for code in [1006, 1012] {
        for seed in 0..100 {
            let mut h = Harness::with_config(config(), seed);
            h.login("alice", "tok");
            h.default_reply = Reply::Refuse;
            h.drop_connection(code);
            h.advance(1_750.0);
            let delays = h.reconnect_delays();
            assert!(delays.len() >= 3, "{code}, seed {seed}: {delays:?}");
            for (attempt, delay) in &delays[..3] {
                let bound = 250.0 * 2f64.powi(*attempt as i32 - 1);
                assert!(
                    (0.0..=bound).contains(delay),
                    "{code}, seed {seed}: attempt {attempt}: {delay} > {bound}"
                );
            }
        }
    }
}

#[test]
fn clients_refused_with_the_same_retry_after_come_back_spread_over_a_first_step() {
    let mut delays = Vec::new();
    for seed in 0..100 {
        let mut h = Harness::with_config(config(), seed);
        h.replies.push_back(Reply::Err(416, Some(3_000)));
        h.auto_login(Some(creds("alice", "tok")));
        let (_, delay) = h.reconnect_delays()[0];
        assert!(
            (3_000.0..=3_250.0).contains(&delay),
            "seed {seed}: {delay} outside [retryAfterMs, retryAfterMs + initialMs]"
        );
        h.advance(2_999.0);
        assert_eq!(h.connects(), 1, "seed {seed}: before retryAfterMs");
        h.advance(delay - 2_999.0);
        assert_eq!(h.connects(), 2, "seed {seed}: at its delay");
        assert_eq!(h.status(), Status::LoggedIn);
        delays.push(delay);
    }
    let spread = delays.iter().cloned().fold(f64::MIN, f64::max)
        - delays.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 150.0, "not spread: {spread} ms");
}
