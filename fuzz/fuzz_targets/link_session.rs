//! Up to three link sessions of one server, fed arbitrary sequences of
//! frames (raw text, near-valid logins — binding a device key or not —,
//! resumes with the last ticket issued or a made-up one, signed right or
//! with arbitrary bytes, at any timestamp, with nonces that repeat; pings,
//! kicks, logouts, binary, invalid UTF-8, oversize, control messages from
//! other sessions).
//!
//! Invariants: never a panic; a close is the last action and nothing
//! follows it; every session that believes it is logged in is in the
//! session directory and nothing else is (no lost and no leaked sessions); at most
//! one live web session per account (the default session policy).
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use imlogin_fuzz::{harness, ACCOUNTS, APP_KEY, TOKENS};
use imlogin_protocol::{LoginFrame, ServerFrame};
use imlogin_server::link::session::{Action, LinkSession};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use imlogin_server::sessions::Control;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Debug, Arbitrary)]
enum Step {
    /// Arbitrary bytes as one text frame (invalid UTF-8 → 1007 path).
    Raw(Vec<u8>),
    /// A login frame built from mostly valid parts.
    Login {
        account: u8,
        right_token: bool,
        device: u8,
        auto: bool,
        force: bool,
        client_type: u8,
        custom_tag: Option<String>,
        drop_field: Option<u8>,
        /// Binds the harness's device key.
        bind: bool,
    },
    /// A resume of `ACCOUNTS[account]` from `dev{device % 4}`.
    Resume {
        account: u8,
        device: u8,
        /// The last ticket a `loginOk` carried, else `ticket`.
        last_ticket: bool,
        ticket: String,
        /// `ts` is the server's clock plus this many seconds.
        skew_secs: i16,
        /// One of 256 nonces: they repeat.
        nonce: u8,
        /// Signed by the bound key, else `sig` as the signature's bytes.
        signed: bool,
        sig: Vec<u8>,
        /// Sends the accid upper-cased (signed as sent).
        upper: bool,
    },
    Ping,
    Logout,
    Kick(String),
    Binary,
    Oversize,
    CloseControl(u16),
}

#[derive(Debug, Arbitrary)]
struct Input {
    steps: Vec<(u8, Step)>,
}

const SESSIONS: usize = 3;
const FIELDS: [&str; 8] = [
    "appKey",
    "accid",
    "token",
    "deviceId",
    "clientType",
    "mode",
    "force",
    "sdk",
];
const TYPES: [&str; 6] = ["web", "pc", "mac", "android", "ios", "toaster"];

fn login_text(step: &Step) -> String {
    let Step::Login {
        account,
        right_token,
        device,
        auto,
        force,
        client_type,
        custom_tag,
        drop_field,
        bind,
    } = step
    else {
        unreachable!("only called for logins")
    };
    let i = usize::from(*account) % ACCOUNTS.len();
    let token = if *right_token { TOKENS[i] } else { "wrong" };
    let device = format!("dev{}", device % 4);
    let dropped = drop_field.map(|d| FIELDS[usize::from(d) % FIELDS.len()]);
    let mut frame = Map::new();
    frame.insert("t".into(), json!("login"));
    let fields: [(&str, Value); 8] = [
        ("appKey", json!(APP_KEY)),
        ("accid", json!(ACCOUNTS[i])),
        ("token", json!(token)),
        ("deviceId", json!(device)),
        ("clientType", json!(TYPES[usize::from(*client_type) % TYPES.len()])),
        ("mode", json!(if *auto { "auto" } else { "manual" })),
        ("force", json!(force)),
        ("sdk", json!("imlogin/fuzz")),
    ];
    for (k, v) in fields {
        if Some(k) != dropped {
            frame.insert(k.into(), v);
        }
    }
    if let Some(tag) = custom_tag {
        frame.insert("customTag".into(), json!(tag));
    }
    if *bind {
        let public = device_key().verifying_key().to_sec1_point(false);
        frame.insert(
            "deviceKey".into(),
            json!(URL_SAFE_NO_PAD.encode(public.as_bytes())),
        );
    }
    Value::Object(frame).to_string()
}

/// The one device key of the fuzzed clients.
fn device_key() -> SigningKey {
    SigningKey::from_slice(&[0x42; 32]).expect("a valid scalar")
}

fn resume_text(step: &Step, last: Option<&str>, now_ms: u64) -> String {
    let Step::Resume {
        account,
        device,
        last_ticket,
        ticket,
        skew_secs,
        nonce,
        signed,
        sig,
        upper,
    } = step
    else {
        unreachable!("only called for resumes")
    };
    let i = usize::from(*account) % ACCOUNTS.len();
    let accid = if *upper {
        ACCOUNTS[i].to_ascii_uppercase()
    } else {
        ACCOUNTS[i].to_owned()
    };
    let device = format!("dev{}", device % 4);
    let ticket = match (last_ticket, last) {
        (true, Some(t)) => t.to_owned(),
        _ => ticket.clone(),
    };
    let ts = now_ms.saturating_add_signed(i64::from(*skew_secs) * 1000);
    let nonce = URL_SAFE_NO_PAD.encode([*nonce; 16]);
    let sig = if *signed {
        let message = LoginFrame::resume_message(APP_KEY, &accid, &device, &ticket, ts, &nonce);
        let sig: Signature = device_key().sign(message.as_bytes());
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    } else {
        URL_SAFE_NO_PAD.encode(sig)
    };
    json!({
        "t": "login", "appKey": APP_KEY, "accid": accid, "deviceId": device,
        "clientType": "web", "mode": "auto", "force": false, "sdk": "imlogin/fuzz",
        "ticket": ticket, "ts": ts, "nonce": nonce, "sig": sig,
    })
    .to_string()
}

struct Slot {
    session: LinkSession,
    control: UnboundedReceiver<Control>,
}

fn check(actions: &[Action], session: &LinkSession) {
    if let Some(i) = actions.iter().position(|a| matches!(a, Action::Close(_))) {
        assert_eq!(
            i,
            actions.len() - 1,
            "a close is the last action: {actions:?}"
        );
        assert!(session.is_closed(), "closed after a close action");
    }
}

fuzz_target!(|input: Input| {
    let h = harness();
    h.rt.block_on(async {
        let mut slots: Vec<Slot> = (0..SESSIONS)
            .map(|_| {
                let (session, control) = LinkSession::new(h.state.link().clone(), None);
                Slot { session, control }
            })
            .collect();
        let mut last_ticket: Option<String> = None;
        for (which, step) in input.steps.iter().take(64) {
            let slot = &mut slots[usize::from(*which) % SESSIONS];
            let was_closed = slot.session.is_closed();
            let actions = match step {
                Step::Raw(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => slot.session.handle_text(text).await,
                    Err(_) => slot.session.handle_invalid_utf8(),
                },
                Step::Login { .. } => slot.session.handle_text(&login_text(step)).await,
                Step::Resume { .. } => {
                    let now = h.state.link().accounts.tickets().clock.now_ms();
                    let text = resume_text(step, last_ticket.as_deref(), now);
                    slot.session.handle_text(&text).await
                }
                Step::Ping => slot.session.handle_text(r#"{"t":"ping"}"#).await,
                Step::Logout => slot.session.handle_text(r#"{"t":"logout"}"#).await,
                Step::Kick(id) => {
                    let text = json!({ "t": "kick", "clientId": id }).to_string();
                    slot.session.handle_text(&text).await
                }
                Step::Binary => slot.session.handle_binary(),
                Step::Oversize => slot.session.handle_oversize(),
                Step::CloseControl(code) => slot.session.handle_control(Control::Close(*code)),
            };
            if was_closed {
                assert!(
                    actions.is_empty(),
                    "a closed session stays silent: {actions:?}"
                );
            }
            check(&actions, &slot.session);
            for action in &actions {
                if let Action::Send(ServerFrame::LoginOk {
                    ticket: Some(t), ..
                }) = action
                {
                    last_ticket = Some(t.as_str().to_owned());
                }
            }
            // Deliver what the directory told the sessions (kicks, clients).
            for slot in &mut slots {
                while let Ok(c) = slot.control.try_recv() {
                    let actions = slot.session.handle_control(c);
                    check(&actions, &slot.session);
                }
            }
            let logged_in = slots.iter().filter(|s| s.session.is_logged_in()).count();
            assert_eq!(
                logged_in,
                h.state.link().directory.live_here(),
                "every logged-in session is registered, and only those"
            );
            for accid in ACCOUNTS {
                let web = h
                    .state
                    .link()
                    .directory
                    .snapshot(Some(accid))
                    .await
                    .expect("the in-process directory never fails")
                    .iter()
                    .filter(|(_, s)| s.client_type == imlogin_protocol::ClientType::Web)
                    .count();
                assert!(web <= 1, "at most one web session of {accid}");
            }
        }
        for slot in &mut slots {
            slot.session.end();
        }
        assert_eq!(h.state.link().directory.live_here(), 0, "no session leaks");
    });
});
