//! Drives one `LinkSession` directly, without a socket: the shape a fuzz
//! harness uses (raw text in, actions out), plus a small random-input run.

mod common;

use clap::Parser;
use imlogin_protocol::{close, LoginCode, ServerFrame};
use imlogin_server::link::session::{Action, LinkSession};
use imlogin_server::{serve, Config};

async fn server() -> imlogin_server::ServerHandle {
    // No file needed: in memory on SQLite, a fresh database on PostgreSQL.
    let db = if common::on_postgres() {
        common::fresh_pg_database_url().await
    } else {
        "sqlite::memory:".to_owned()
    };
    let config = Config::parse_from([
        "imlogin-server",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--app-key",
        "k",
        "--app-secret",
        "s",
    ]);
    serve(config).await.unwrap()
}

#[tokio::test]
async fn session_turns_raw_frames_into_actions() {
    let h = server().await;
    let (mut s, _control) = LinkSession::new(h.state().link().clone(), None);
    assert_eq!(
        s.handle_text(r#"{"t":"ping"}"#).await,
        vec![Action::Close(close::POLICY_VIOLATION)]
    );
    assert!(s.is_closed());
    assert!(s.handle_text(r#"{"t":"ping"}"#).await.is_empty());

    let (mut s, _control) = LinkSession::new(h.state().link().clone(), None);
    let login = r#"{"t":"login","appKey":"k","accid":"nobody","token":"t","deviceId":"d",
                   "clientType":"web","mode":"manual","force":false,"sdk":"x"}"#;
    assert_eq!(
        s.handle_text(login).await,
        vec![
            Action::Send(ServerFrame::LoginErr {
                code: LoginCode::TokenMismatch,
                message: LoginCode::TokenMismatch.description().to_owned(),
                retry_after_ms: None,
            }),
            Action::Close(close::NORMAL),
        ]
    );
    h.shutdown().await;
}

#[tokio::test]
async fn random_input_never_panics_and_always_ends_or_answers() {
    let h = server().await;
    // A small deterministic generator: no extra dependency needed.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "{",
        "}",
        "\"t\"",
        ":",
        "\"login\"",
        "\"ping\"",
        "\"kick\"",
        ",",
        "\"clientId\"",
        "1",
        "null",
        "[",
        "]",
        "\"accid\"",
        "\"appKey\"",
        "\"k\"",
        "\u{0}",
        "é",
        "\"force\"",
        "true",
    ];
    for _ in 0..2000 {
        let (mut s, _control) = LinkSession::new(h.state().link().clone(), None);
        let n = next() % 12;
        let text: String = (0..n)
            .map(|_| pieces[usize::try_from(next() % pieces.len() as u64).unwrap()])
            .collect();
        let actions = s.handle_text(&text).await;
        assert!(!actions.is_empty(), "{text:?} got no answer");
    }
    h.shutdown().await;
}

/// Found by the `link_session` fuzz target: a binary, invalid UTF-8 or
/// oversize message after the close was decided produced a second close.
#[tokio::test]
async fn nothing_follows_a_close_whatever_arrives_next() {
    let h = server().await;
    let (mut s, _control) = LinkSession::new(h.state().link().clone(), None);
    assert_eq!(
        s.handle_binary(),
        vec![Action::Close(close::UNSUPPORTED_DATA)]
    );
    assert!(s.handle_binary().is_empty());
    assert!(s.handle_invalid_utf8().is_empty());
    assert!(s.handle_oversize().is_empty());
    assert!(s.handle_text(r#"{"t":"ping"}"#).await.is_empty());
    h.shutdown().await;
}
