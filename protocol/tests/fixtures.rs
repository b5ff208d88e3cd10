//! Every link frame's exact JSON, pinned by one fixture file per frame kind.
//!
//! A fixture file holds the frame exactly as it travels: compact JSON on one
//! line (the trailing newline is not part of the frame). Each fixture is
//! checked in both directions: the typed frame serializes to exactly that
//! text (same fields, same order, same spelling), and decoding the text with
//! the validating decoder gives back the typed frame.

use std::collections::BTreeSet;
use std::path::PathBuf;

use imlogin_protocol::{
    decode_client_frame, decode_server_frame, decode_server_value, decode_server_variant, Client,
    ClientFrame, ClientType, ClientsChange, KickReason, LoginCode, LoginFrame, LoginMode,
    ResumeTicket, ServerFrame, CLIENT_TAGS, SERVER_TAGS,
};
use serde_json::Value;

const APP_KEY: &str = "45c6af3c98409b18a84451215d0bdd6e";
const TOKEN: &str = "tok-6f1c2e";

fn login(mode: LoginMode, force: bool, custom_tag: Option<&str>) -> ClientFrame {
    ClientFrame::Login(LoginFrame {
        app_key: APP_KEY.into(),
        accid: "alice_01".into(),
        token: Some(TOKEN.into()),
        device_id: "dev-7d3a9b".into(),
        client_type: ClientType::Web,
        mode,
        force,
        custom_tag: custom_tag.map(Into::into),
        sdk: "imlogin/0.1.0".into(),
        device_key: None,
        ticket: None,
        ts: None,
        nonce: None,
        sig: None,
    })
}

const DEVICE_KEY: &str =
    "BC1xFkK3JrBEAWJ8qfusMvXIUw-xkDzE2wIlhxeSGkiBofzkNjhU_4iM_0uOeHXWAMJoI5BBKoz3mzfQsRFIsPo";
const TICKET: &str = "FAaUKRUKvL8kTEwvssTEaknJPKlFcmPs2euxdt46WLs";

/// A manual login that binds a device key.
fn binding() -> ClientFrame {
    let ClientFrame::Login(frame) = login(LoginMode::Manual, false, None) else {
        unreachable!()
    };
    ClientFrame::Login(LoginFrame {
        device_key: Some(DEVICE_KEY.into()),
        ..frame
    })
}

/// An auto login with a resume ticket instead of the token.
fn resume() -> ClientFrame {
    let ClientFrame::Login(frame) = login(LoginMode::Auto, false, None) else {
        unreachable!()
    };
    ClientFrame::Login(LoginFrame {
        token: None,
        ticket: Some(TICKET.into()),
        ts: Some(1_764_277_200_000),
        nonce: Some("eDd7UldXtJRCf4kBT5fXmQ".into()),
        sig: Some("RUNJ5CLwUpcZHq0T4h09tSDlq-9SBV5JZLgvshP1k6EEOnGHdMVyvYolrb6xv81cAlauEc7Pn5w_kl0OUr6viQ".into()),
        ..frame
    })
}

fn desk(custom_tag: Option<&str>) -> Client {
    Client {
        client_id: "c-2b7f".into(),
        client_type: ClientType::Pc,
        device_id: "desk-1".into(),
        custom_tag: custom_tag.map(Into::into),
        login_at: 1_764_270_000_000,
    }
}

fn phone() -> Client {
    Client {
        client_id: "c-3c80".into(),
        client_type: ClientType::Ios,
        device_id: "phone-1".into(),
        custom_tag: None,
        login_at: 1_764_273_600_000,
    }
}

/// Every client frame kind, with its optional fields absent and present.
fn client_fixtures() -> Vec<(&'static str, ClientFrame)> {
    vec![
        ("client_login", login(LoginMode::Manual, false, None)),
        (
            "client_login_auto_forced_with_custom_tag",
            login(LoginMode::Auto, true, Some("office laptop")),
        ),
        ("client_login_binding", binding()),
        ("client_login_resume", resume()),
        ("client_ping", ClientFrame::Ping),
        ("client_logout", ClientFrame::Logout),
        (
            "client_kick",
            ClientFrame::Kick {
                client_id: "c-2b7f".into(),
            },
        ),
    ]
}

/// Every server frame kind, with its optional fields absent and present.
fn server_fixtures() -> Vec<(&'static str, ServerFrame)> {
    vec![
        (
            "server_login_ok",
            ServerFrame::LoginOk {
                client_id: "c-9a01".into(),
                server_time: 1_764_277_200_000,
                heartbeat_ms: 30_000,
                clients: vec![desk(Some("office")), phone()],
                ticket: None,
            },
        ),
        (
            "server_login_ok_alone",
            ServerFrame::LoginOk {
                client_id: "c-9a01".into(),
                server_time: 1_764_277_200_000,
                heartbeat_ms: 30_000,
                clients: vec![],
                ticket: None,
            },
        ),
        (
            "server_login_ok_with_ticket",
            ServerFrame::LoginOk {
                client_id: "c-9a01".into(),
                server_time: 1_764_277_200_000,
                heartbeat_ms: 30_000,
                clients: vec![],
                ticket: Some(ResumeTicket(TICKET.into())),
            },
        ),
        (
            "server_login_err",
            ServerFrame::LoginErr {
                code: LoginCode::TokenMismatch,
                message: "accid and token do not match".into(),
                retry_after_ms: None,
            },
        ),
        (
            "server_login_err_rate_limited",
            ServerFrame::LoginErr {
                code: LoginCode::RateLimited,
                message: "too many attempts, retry later".into(),
                retry_after_ms: Some(5_000),
            },
        ),
        (
            "server_kicked",
            ServerFrame::Kicked {
                reason: KickReason::Exclusive,
                client_type: Some(ClientType::Pc),
            },
        ),
        (
            "server_kicked_token_changed",
            ServerFrame::Kicked {
                reason: KickReason::TokenChanged,
                client_type: None,
            },
        ),
        (
            "server_kicked_revoked",
            ServerFrame::Kicked {
                reason: KickReason::Revoked,
                client_type: None,
            },
        ),
        (
            "server_clients",
            ServerFrame::Clients {
                change: ClientsChange::Login,
                clients: vec![desk(None)],
            },
        ),
        (
            "server_clients_logout",
            ServerFrame::Clients {
                change: ClientsChange::Logout,
                clients: vec![],
            },
        ),
        (
            "server_kick_result",
            ServerFrame::KickResult {
                client_id: "c-2b7f".into(),
                code: LoginCode::Ok,
            },
        ),
        (
            "server_kick_result_not_found",
            ServerFrame::KickResult {
                client_id: "c-0000".into(),
                code: LoginCode::NotFound,
            },
        ),
        ("server_pong", ServerFrame::Pong),
    ]
}

// The frame kinds a fixture table must cover are the crate's CLIENT_TAGS and
// SERVER_TAGS (the decoder's list of known tags). The exhaustive matches
// below stop compiling when a variant is added: add its fixture, then its
// tag to the crate's list.

fn client_tag(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Login(_) => "login",
        ClientFrame::Ping => "ping",
        ClientFrame::Logout => "logout",
        ClientFrame::Kick { .. } => "kick",
    }
}

fn server_tag(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::LoginOk { .. } => "loginOk",
        ServerFrame::LoginErr { .. } => "loginErr",
        ServerFrame::Kicked { .. } => "kicked",
        ServerFrame::Clients { .. } => "clients",
        ServerFrame::KickResult { .. } => "kickResult",
        ServerFrame::Pong => "pong",
    }
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The frame text of a fixture: its one line, without the final newline.
fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let frame = text
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{name}.json must end with one newline"));
    assert!(
        !frame.contains('\n'),
        "{name}.json must hold one frame on one line, as it travels"
    );
    frame.to_owned()
}

fn snake_case(tag: &str) -> String {
    let mut out = String::new();
    for c in tag.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_client_frame_serializes_to_exactly_its_fixture_text() {
    for (name, frame) in client_fixtures() {
        let text = fixture(name);
        assert_eq!(
            frame.to_json(),
            text,
            "{name}: compact text and field order"
        );
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap(),
            "{name}: JSON value"
        );
    }
}

#[test]
fn every_server_frame_serializes_to_exactly_its_fixture_text() {
    for (name, frame) in server_fixtures() {
        let text = fixture(name);
        assert_eq!(
            frame.to_json(),
            text,
            "{name}: compact text and field order"
        );
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap(),
            "{name}: JSON value"
        );
    }
}

#[test]
fn every_client_fixture_decodes_to_its_frame() {
    for (name, frame) in client_fixtures() {
        let text = fixture(name);
        assert_eq!(decode_client_frame(&text), Ok(frame.clone()), "{name}");
        assert_eq!(
            serde_json::from_str::<ClientFrame>(&text).unwrap(),
            frame,
            "{name}: plain serde"
        );
    }
}

#[test]
fn every_server_fixture_decodes_to_its_frame() {
    for (name, frame) in server_fixtures() {
        let text = fixture(name);
        assert_eq!(decode_server_frame(&text), Ok(frame.clone()), "{name}");
    }
}

/// `{"<t>": frame}`: how the browser hands a parsed frame to
/// `decode_server_variant` after looking its tag up.
fn by_tag(value: &Value) -> Value {
    let tag = value["t"].as_str().expect("a string t").to_owned();
    serde_json::json!({ tag: value })
}

#[test]
fn every_server_fixture_decodes_alike_by_its_tag() {
    for (name, frame) in server_fixtures() {
        let value: Value = serde_json::from_str(&fixture(name)).unwrap();
        assert_eq!(decode_server_value(&value), Ok(frame.clone()), "{name}");
        assert_eq!(decode_server_variant(by_tag(&value)), Ok(frame), "{name}");
    }
}

#[test]
fn every_frame_kind_has_a_fixture_named_after_its_tag() {
    let client: BTreeSet<&str> = client_fixtures()
        .iter()
        .map(|(name, frame)| {
            let tag = client_tag(frame);
            let stem = format!("client_{}", snake_case(tag));
            assert!(name.starts_with(&stem), "{name} holds a {tag} frame");
            tag
        })
        .collect();
    assert_eq!(client, CLIENT_TAGS.into_iter().collect());

    let server: BTreeSet<&str> = server_fixtures()
        .iter()
        .map(|(name, frame)| {
            let tag = server_tag(frame);
            let stem = format!("server_{}", snake_case(tag));
            assert!(name.starts_with(&stem), "{name} holds a {tag} frame");
            tag
        })
        .collect();
    assert_eq!(server, SERVER_TAGS.into_iter().collect());
}

#[test]
fn every_fixture_file_is_checked_by_a_test() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    let checked: BTreeSet<String> = client_fixtures()
        .iter()
        .map(|(name, _)| *name)
        .chain(server_fixtures().iter().map(|(name, _)| *name))
        .map(|name| format!("{name}.json"))
        .collect();
    assert_eq!(on_disk, checked);
}

#[test]
fn the_tag_comes_first_in_every_frame() {
    let texts = client_fixtures()
        .into_iter()
        .map(|(_, f)| f.to_json())
        .chain(server_fixtures().into_iter().map(|(_, f)| f.to_json()));
    for text in texts {
        assert!(text.starts_with(r#"{"t":""#), "{text}");
    }
}

#[test]
fn login_frame_debug_redacts_the_token() {
    let ClientFrame::Login(frame) = login(LoginMode::Manual, false, None) else {
        unreachable!()
    };
    for shown in [
        format!("{frame:?}"),
        format!("{frame:#?}"),
        format!("{:?}", ClientFrame::Login(frame.clone())),
    ] {
        assert!(!shown.contains(TOKEN), "token leaked: {shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(shown.contains("alice_01"), "other fields stay visible");
    }
}

#[test]
fn sdk_name_is_imlogin_slash_version() {
    let version = imlogin_protocol::SDK_NAME
        .strip_prefix("imlogin/")
        .expect("starts with imlogin/");
    assert_eq!(version.split('.').count(), 3, "{version}");
}
