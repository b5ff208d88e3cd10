//! The link's bad-input matrix (docs/protocol.md#bad-input-on-the-link): each input, sent on its own
//! socket to the real server, gets the documented close code or `loginErr`
//! — and a logged-in session of the same account on another socket keeps
//! working after every one of them (it answers a ping, and is never
//! kicked). The test prints how many inputs it tried.

mod common;

use common::{login_frame, Got, Link, TestServer};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const ACCID: &str = "matrix";

/// One thing sent on the socket.
enum Send {
    Text(String),
    Json(Value),
    Binary(Vec<u8>),
    InvalidUtf8,
    /// WebSocket ping control frames.
    ControlPings(usize),
}

/// What must come back.
enum Expect {
    /// A close with this code, and no text frame before it.
    Close(u16),
    /// `loginErr` with this code, then close 1000 (1013 after a 416).
    LoginErr(u16),
    /// A `loginOk`: the input was acceptable.
    LoginOk,
    /// `kickResult` with this code; the socket stays open.
    KickResult(u16),
    /// This many pongs, in order; the socket stays open.
    Pongs(usize),
}

struct Case {
    name: &'static str,
    /// Log in (fresh device) before sending.
    logged_in: bool,
    send: Vec<Send>,
    expect: Expect,
}

fn case(name: &'static str, logged_in: bool, send: Vec<Send>, expect: Expect) -> Case {
    Case {
        name,
        logged_in,
        send,
        expect,
    }
}

/// A valid login of the matrix account from `device`, with `edit` applied.
fn login_with(token: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut v = login_frame(ACCID, token, "dev-x", "manual", false);
    if let Value::Object(m) = &mut v {
        edit(m);
    }
    v
}

fn text(s: impl Into<String>) -> Send {
    Send::Text(s.into())
}

fn cases(token: &str) -> Vec<Case> {
    use Expect::*;
    let set = |k: &'static str, v: Value| {
        let token = token.to_owned();
        Send::Json(login_with(&token, move |m| {
            m.insert(k.to_owned(), v);
        }))
    };
    let drop_field = |k: &'static str| {
        Send::Json(login_with(token, move |m| {
            m.remove(k);
        }))
    };
    let login = login_with(token, |_| {}).to_string();
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let deep_field = format!(
        r#"{{"t":"login","appKey":{}1{}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let padded_ping = |total: usize| {
        let frame = r#"{"t":"ping","pad":""}"#;
        let pad = "x".repeat(total - frame.len());
        format!(r#"{{"t":"ping","pad":"{pad}"}}"#)
    };
    vec![
        // Not a frame at all.
        case("empty text", false, vec![text("")], Close(1008)),
        case("not JSON", false, vec![text("hello")], Close(1008)),
        case(
            "truncated login",
            false,
            vec![text(&login[..login.len() / 2])],
            Close(1008),
        ),
        case(
            "truncated by one byte",
            false,
            vec![text(&login[..login.len() - 1])],
            Close(1008),
        ),
        case("JSON array", false, vec![text("[1,2]")], Close(1008)),
        case("JSON string", false, vec![text(r#""login""#)], Close(1008)),
        case("JSON number", false, vec![text("42")], Close(1008)),
        case("JSON null", false, vec![text("null")], Close(1008)),
        case("object without tag", false, vec![text("{}")], Close(1008)),
        case(
            "tag of wrong type",
            false,
            vec![text(r#"{"t":5}"#)],
            Close(1008),
        ),
        case(
            "unknown tag",
            false,
            vec![text(r#"{"t":"dance"}"#)],
            Close(1008),
        ),
        case(
            "tag in other case",
            false,
            vec![text(r#"{"t":"LOGIN"}"#)],
            Close(1008),
        ),
        case(
            "duplicate tag, last is ping",
            false,
            vec![text(r#"{"t":"login","t":"ping"}"#)],
            Close(1008),
        ),
        case(
            "lone surrogate escape",
            false,
            vec![text(r#"{"t":"login","accid":"\ud800"}"#)],
            Close(1008),
        ),
        case(
            "byte order mark",
            false,
            vec![text(format!("\u{feff}{login}"))],
            Close(1008),
        ),
        case("deep nesting", false, vec![text(deep)], Close(1008)),
        case(
            "deep nesting in a field",
            false,
            vec![text(deep_field)],
            Close(1008),
        ),
        // Frames before login.
        case(
            "ping before login",
            false,
            vec![Send::Json(json!({"t":"ping"}))],
            Close(1008),
        ),
        case(
            "logout before login",
            false,
            vec![Send::Json(json!({"t":"logout"}))],
            Close(1008),
        ),
        case(
            "kick before login",
            false,
            vec![Send::Json(json!({"t":"kick","clientId":"x"}))],
            Close(1008),
        ),
        // Transport-level.
        case(
            "binary frame",
            false,
            vec![Send::Binary(b"{\"t\":\"ping\"}".to_vec())],
            Close(1003),
        ),
        case(
            "empty binary frame",
            false,
            vec![Send::Binary(Vec::new())],
            Close(1003),
        ),
        case("invalid UTF-8", false, vec![Send::InvalidUtf8], Close(1007)),
        case(
            "4097 bytes",
            false,
            vec![text(padded_ping(4097))],
            Close(1009),
        ),
        case(
            "200 KB",
            false,
            vec![text("y".repeat(200_000))],
            Close(1009),
        ),
        // Logins with bad fields: loginErr 414.
        case(
            "login without fields",
            false,
            vec![Send::Json(json!({"t":"login"}))],
            LoginErr(414),
        ),
        case(
            "login without token",
            false,
            vec![drop_field("token")],
            LoginErr(414),
        ),
        case(
            "login without force",
            false,
            vec![drop_field("force")],
            LoginErr(414),
        ),
        case(
            "login without sdk",
            false,
            vec![drop_field("sdk")],
            LoginErr(414),
        ),
        case(
            "accid of 33 chars",
            false,
            vec![set("accid", json!("a".repeat(33)))],
            LoginErr(414),
        ),
        case(
            "accid with a space",
            false,
            vec![set("accid", json!("mat rix"))],
            LoginErr(414),
        ),
        case(
            "accid with emoji",
            false,
            vec![set("accid", json!("matrix😀"))],
            LoginErr(414),
        ),
        case(
            "accid a number",
            false,
            vec![set("accid", json!(7))],
            LoginErr(414),
        ),
        case(
            "token of 129 chars",
            false,
            vec![set("token", json!("t".repeat(129)))],
            LoginErr(414),
        ),
        case(
            "token with emoji",
            false,
            vec![set("token", json!("tok😀"))],
            LoginErr(414),
        ),
        case(
            "token an array",
            false,
            vec![set("token", json!([token]))],
            LoginErr(414),
        ),
        case(
            "deviceId with NUL",
            false,
            vec![set("deviceId", json!("d\u{0}"))],
            LoginErr(414),
        ),
        case(
            "deviceId of 65 chars",
            false,
            vec![set("deviceId", json!("d".repeat(65)))],
            LoginErr(414),
        ),
        case(
            "force a string",
            false,
            vec![set("force", json!("yes"))],
            LoginErr(414),
        ),
        case(
            "unknown clientType",
            false,
            vec![set("clientType", json!("fridge"))],
            LoginErr(414),
        ),
        case(
            "unknown mode",
            false,
            vec![set("mode", json!("sometimes"))],
            LoginErr(414),
        ),
        case(
            "customTag of 33 chars",
            false,
            vec![set("customTag", json!("c".repeat(33)))],
            LoginErr(414),
        ),
        case(
            "unknown appKey",
            false,
            vec![set("appKey", json!("not-our-app"))],
            LoginErr(414),
        ),
        // Logins that are well-formed but refused.
        case(
            "wrong token",
            false,
            vec![set("token", json!("wrong"))],
            LoginErr(302),
        ),
        case(
            "unknown accid",
            false,
            vec![set("accid", json!("nobody"))],
            LoginErr(302),
        ),
        case(
            "auto login from an unknown device",
            false,
            vec![set("mode", json!("auto"))],
            LoginErr(403),
        ),
        // Acceptable oddities.
        case(
            "unknown extra fields",
            false,
            vec![set("future", json!({"x":[1,2]}))],
            LoginOk,
        ),
        case(
            "accid in upper case",
            false,
            vec![set("accid", json!("MATRIX"))],
            LoginOk,
        ),
        // After login.
        case(
            "second login",
            true,
            vec![Send::Json(login_with(token, |_| {}))],
            Close(1008),
        ),
        case(
            "kick without clientId",
            true,
            vec![Send::Json(json!({"t":"kick"}))],
            Close(1008),
        ),
        case(
            "kick with a numeric clientId",
            true,
            vec![Send::Json(json!({"t":"kick","clientId":7}))],
            Close(1008),
        ),
        case(
            "kick of an unknown clientId",
            true,
            vec![Send::Json(json!({"t":"kick","clientId":"nope"}))],
            KickResult(404),
        ),
        case(
            "unknown tag after login",
            true,
            vec![text(r#"{"t":"dance"}"#)],
            Close(1008),
        ),
        case("garbage after login", true, vec![text("}{")], Close(1008)),
        case(
            "binary after login",
            true,
            vec![Send::Binary(vec![0, 1, 2])],
            Close(1003),
        ),
        case(
            "invalid UTF-8 after login",
            true,
            vec![Send::InvalidUtf8],
            Close(1007),
        ),
        case(
            "4097 bytes after login",
            true,
            vec![text(padded_ping(4097))],
            Close(1009),
        ),
        case(
            "exactly 4096 bytes",
            true,
            vec![text(padded_ping(4096))],
            Pongs(1),
        ),
        case(
            "ping flood",
            true,
            (0..1000).map(|_| text(r#"{"t":"ping"}"#)).collect(),
            Pongs(1000),
        ),
        case(
            "ping control flood",
            true,
            vec![Send::ControlPings(1000), text(r#"{"t":"ping"}"#)],
            Pongs(1),
        ),
        case(
            "logout",
            true,
            vec![Send::Json(json!({"t":"logout"}))],
            Close(1000),
        ),
    ]
}

async fn send(link: &mut Link, what: Send) {
    match what {
        Send::Text(s) => link.send_text(&s).await,
        Send::Json(v) => link.send_json(v).await,
        Send::Binary(b) => link.send_binary(&b).await,
        Send::InvalidUtf8 => link.send_invalid_utf8().await,
        Send::ControlPings(n) => {
            for _ in 0..n {
                link.ws
                    .feed(Message::Ping(Default::default()))
                    .await
                    .unwrap();
            }
            link.ws.flush().await.unwrap();
        }
    }
}

/// The next frame of a case's link. A logged-in link may get a `clients`
/// frame at any moment (a session of the account came or went; with
/// PostgreSQL that news travels through `NOTIFY` and may arrive late, after
/// the case's input), so on a logged-in link those are skipped; on any
/// other link every frame counts.
async fn next_answer(link: &mut Link, logged_in: bool) -> Got {
    loop {
        match link.next().await {
            Got::Text(v) if logged_in && v["t"] == "clients" => continue,
            other => return other,
        }
    }
}

/// The next text frame (see [`next_answer`]); panics on a close.
async fn recv_answer(link: &mut Link, logged_in: bool, name: &str) -> Value {
    match next_answer(link, logged_in).await {
        Got::Text(v) => v,
        Got::Closed(c) => panic!("{name}: expected a frame, got close {c:?}"),
    }
}

/// The close code (see [`next_answer`]); panics on a text frame.
async fn close_answer(link: &mut Link, logged_in: bool, name: &str) -> Option<u16> {
    match next_answer(link, logged_in).await {
        Got::Closed(c) => c,
        Got::Text(v) => panic!("{name}: expected a close, got {v}"),
    }
}

/// Sends ping and expects pong next (`clients` frames aside, the link
/// being logged in).
async fn pong_answer(link: &mut Link, name: &str) {
    link.send_json(json!({"t":"ping"})).await;
    let v = recv_answer(link, true, name).await;
    assert_eq!(v["t"], "pong", "{name}: {v}");
}

/// Checks the answer to a case's input; `logged_in` says whether the link
/// was logged in before it.
async fn check(link: &mut Link, expect: &Expect, name: &str, logged_in: bool) {
    match expect {
        Expect::Close(code) => {
            assert_eq!(
                close_answer(link, logged_in, name).await,
                Some(*code),
                "{name}"
            )
        }
        Expect::LoginErr(code) => {
            let v = recv_answer(link, logged_in, name).await;
            assert_eq!(v["t"], "loginErr", "{name}: {v}");
            assert_eq!(v["code"], *code, "{name}: {v}");
            assert_eq!(
                close_answer(link, logged_in, name).await,
                Some(1000),
                "{name}"
            );
        }
        Expect::LoginOk => {
            let v = recv_answer(link, logged_in, name).await;
            assert_eq!(v["t"], "loginOk", "{name}: {v}");
            pong_answer(link, name).await;
        }
        Expect::KickResult(code) => {
            let v = recv_answer(link, logged_in, name).await;
            assert_eq!(v["t"], "kickResult", "{name}: {v}");
            assert_eq!(v["code"], *code, "{name}: {v}");
            pong_answer(link, name).await;
        }
        Expect::Pongs(n) => {
            for i in 0..*n {
                let v = recv_answer(link, logged_in, name).await;
                assert_eq!(v["t"], "pong", "{name}: answer {i} was {v}");
            }
            if logged_in {
                pong_answer(link, name).await;
            } else {
                link.ping_pong().await;
            }
        }
    }
}

#[tokio::test]
async fn every_bad_link_input_gets_its_documented_answer_and_hurts_no_other_session() {
    // Many sessions of one account may be live: each case that logs in
    // uses a device of its own, and the bystander is never the oldest.
    let s = TestServer::start(&["--max-sessions", "1000"]).await;
    let token = s.create(ACCID).await;
    let (mut bystander, _) = s.login_ok(ACCID, &token, "bystander", "manual").await;
    let cases = cases(&token);
    let total = cases.len();
    for (i, c) in cases.into_iter().enumerate() {
        let mut link = if c.logged_in {
            let device = format!("dev-{i}");
            let (link, _) = s.login_ok(ACCID, &token, &device, "manual").await;
            link
        } else {
            s.connect().await
        };
        for what in c.send {
            send(&mut link, what).await;
        }
        check(&mut link, &c.expect, c.name, c.logged_in).await;
        drop(link);
        // Only `clients` frames may precede the pong: never a kick.
        bystander.alive().await;
    }
    println!("link bad-input matrix: {total} inputs, each answered as documented");
    assert!(total >= 30, "the matrix covers at least 30 kinds of input");
}
