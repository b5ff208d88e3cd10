//! Every malformed input maps to its typed error and to the answer the
//! server gives it: a WebSocket close (1008 policy, 1009 too big) or, for a
//! well-formed login with a bad field, `loginErr` 414 naming the field.

use imlogin_protocol::limits::{Problem, MAX_FRAME_BYTES, MAX_SERVER_FRAME_BYTES};
use imlogin_protocol::{
    decode_client_frame, decode_server_frame, decode_server_variant, ClientFrame, DecodeError,
    FieldError, KickReason, LoginCode, ServerFrame,
};
use serde_json::{json, Value};

/// How the server answers a refused client frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Close the socket with this code.
    Close(u16),
    /// Send `loginErr` with code 414 and keep the protocol going (the server
    /// then closes with 1000, like after any `loginErr`).
    LoginErr414,
}

/// What the server does with a decode error, as the server code must do it.
fn answer(err: &DecodeError) -> Answer {
    match err.close_code() {
        Some(code) => Answer::Close(code),
        None => {
            assert!(matches!(err, DecodeError::BadLogin(_)), "{err:?}");
            assert_eq!(LoginCode::BadParameter.as_u16(), 414);
            Answer::LoginErr414
        }
    }
}

/// A valid login frame, as a JSON object to spoil one field of.
fn valid_login() -> Value {
    json!({
        "t": "login",
        "appKey": "45c6af3c98409b18a84451215d0bdd6e",
        "accid": "alice_01",
        "token": "tok-6f1c2e",
        "deviceId": "dev-7d3a9b",
        "clientType": "web",
        "mode": "manual",
        "force": false,
        "sdk": "imlogin/0.1.0"
    })
}

const DEVICE_KEY: &str =
    "BCy0YD0hO4XsF-p34f5V8SQ7WGTKXMwCu7Utg7CY2i8zoYzXwiRdwDqymiR9jsy9HoQL7GLqGLV9Phr5PUj9pKY";
const TICKET: &str = "cpd4aSoC_oMXwNUl1C3eSs1ldJIiyUVRbg8NFEjAQ7E";
const NONCE: &str = "eLuJgMO_Ce0ZRH5mGp8OWw";
const SIG: &str =
    "RUq-hZDLgF7lmIcq_T45KO9RsoSnlCyfWfq5WKnBE-d5eLQHMnYIP6ixSVLrK7S6lJFRN5Vg3MjWyrcFg7xMvw";

/// A valid resume: the valid login as an auto login with a ticket instead
/// of the token.
fn valid_resume() -> Value {
    let mut frame = valid_login();
    let object = frame.as_object_mut().unwrap();
    object.remove("token");
    object.insert("mode".into(), json!("auto"));
    object.insert("ticket".into(), json!(TICKET));
    object.insert("ts".into(), json!(1_764_277_200_000u64));
    object.insert("nonce".into(), json!(NONCE));
    object.insert("sig".into(), json!(SIG));
    frame
}

/// The valid resume with `field` set to `value`.
fn resume_with(field: &str, value: Value) -> String {
    let mut frame = valid_resume();
    frame[field] = value;
    frame.to_string()
}

/// The valid resume without `field`.
fn resume_without(field: &str) -> String {
    let mut frame = valid_resume();
    frame.as_object_mut().unwrap().remove(field);
    frame.to_string()
}

/// The valid login with `field` set to `value`.
fn login_with(field: &str, value: Value) -> String {
    let mut frame = valid_login();
    frame[field] = value;
    frame.to_string()
}

/// The valid login without `field`.
fn login_without(field: &str) -> String {
    let mut frame = valid_login();
    frame.as_object_mut().unwrap().remove(field);
    frame.to_string()
}

/// The valid login padded with an unknown field to exactly `len` bytes.
fn login_of_len(len: usize) -> String {
    let base = login_with("pad", json!("")).len();
    let text = login_with("pad", json!("x".repeat(len - base)));
    assert_eq!(text.len(), len);
    text
}

fn bad_login(field: &'static str, problem: Problem) -> DecodeError {
    DecodeError::BadLogin(FieldError::new(field, problem))
}

/// The table: (what is wrong, the input, the error, the answer).
#[rustfmt::skip] // one row per line reads as a table
fn malformed_client_frames() -> Vec<(&'static str, String, DecodeError, Answer)> {
    use Answer::{Close, LoginErr414};
    use Problem::*;
    vec![
        // Not a frame at all: close 1008.
        ("bad JSON", r#"{"t":"login","#.into(), DecodeError::NotJson, Close(1008)),
        ("plain text", "hello".into(), DecodeError::NotJson, Close(1008)),
        ("empty payload", "".into(), DecodeError::NotJson, Close(1008)),
        ("nesting past the parser's limit", "[".repeat(1000), DecodeError::NotJson, Close(1008)),
        ("JSON array", "[1,2]".into(), DecodeError::NoTag, Close(1008)),
        ("JSON string", r#""login""#.into(), DecodeError::NoTag, Close(1008)),
        ("object without t", r#"{"accid":"a"}"#.into(), DecodeError::NoTag, Close(1008)),
        ("numeric t", r#"{"t":1}"#.into(), DecodeError::NoTag, Close(1008)),
        ("unknown tag", r#"{"t":"subscribe"}"#.into(), DecodeError::UnknownTag, Close(1008)),
        ("server tag from a client", r#"{"t":"pong"}"#.into(), DecodeError::UnknownTag, Close(1008)),
        ("tag in the wrong case", r#"{"t":"Login"}"#.into(), DecodeError::UnknownTag, Close(1008)),
        ("kick without clientId", r#"{"t":"kick"}"#.into(), DecodeError::BadFrame, Close(1008)),
        ("kick with a numeric clientId", r#"{"t":"kick","clientId":7}"#.into(), DecodeError::BadFrame, Close(1008)),
        ("kick with a null clientId", r#"{"t":"kick","clientId":null}"#.into(), DecodeError::BadFrame, Close(1008)),
        ("JSON null", "null".into(), DecodeError::NoTag, Close(1008)),
        ("null t", r#"{"t":null}"#.into(), DecodeError::NoTag, Close(1008)),
        // Too big: close 1009, whatever the payload holds.
        ("over 4096 bytes", login_of_len(MAX_FRAME_BYTES + 1), DecodeError::TooLarge { len: 4097 }, Close(1009)),
        ("over 4096 bytes of garbage", "{".repeat(5000), DecodeError::TooLarge { len: 5000 }, Close(1009)),
        // A login frame with a bad field: loginErr 414 naming the field.
        ("missing appKey", login_without("appKey"), bad_login("appKey", Missing), LoginErr414),
        ("missing accid", login_without("accid"), bad_login("accid", Missing), LoginErr414),
        ("missing token", login_without("token"), bad_login("token", Missing), LoginErr414),
        ("missing deviceId", login_without("deviceId"), bad_login("deviceId", Missing), LoginErr414),
        ("missing clientType", login_without("clientType"), bad_login("clientType", Missing), LoginErr414),
        ("missing mode", login_without("mode"), bad_login("mode", Missing), LoginErr414),
        ("missing force", login_without("force"), bad_login("force", Missing), LoginErr414),
        ("missing sdk", login_without("sdk"), bad_login("sdk", Missing), LoginErr414),
        ("null token", login_with("token", Value::Null), bad_login("token", Missing), LoginErr414),
        ("null force", login_with("force", Value::Null), bad_login("force", Missing), LoginErr414),
        ("null clientType", login_with("clientType", Value::Null), bad_login("clientType", Missing), LoginErr414),
        ("object appKey", login_with("appKey", json!({"k": "v"})), bad_login("appKey", WrongType), LoginErr414),
        ("numeric mode", login_with("mode", json!(1)), bad_login("mode", WrongType), LoginErr414),
        ("mode in the wrong case", login_with("mode", json!("Manual")), bad_login("mode", WrongType), LoginErr414),
        ("numeric accid", login_with("accid", json!(42)), bad_login("accid", WrongType), LoginErr414),
        ("string force", login_with("force", json!("false")), bad_login("force", WrongType), LoginErr414),
        ("array deviceId", login_with("deviceId", json!(["d"])), bad_login("deviceId", WrongType), LoginErr414),
        ("unknown clientType", login_with("clientType", json!("tv")), bad_login("clientType", WrongType), LoginErr414),
        ("unknown mode", login_with("mode", json!("silent")), bad_login("mode", WrongType), LoginErr414),
        ("numeric customTag", login_with("customTag", json!(1)), bad_login("customTag", WrongType), LoginErr414),
        ("empty appKey", login_with("appKey", json!("")), bad_login("appKey", TooShort), LoginErr414),
        ("empty accid", login_with("accid", json!("")), bad_login("accid", TooShort), LoginErr414),
        ("accid with a space", login_with("accid", json!("alice 01")), bad_login("accid", BadChars), LoginErr414),
        ("accid with a hash", login_with("accid", json!("alice#01")), bad_login("accid", BadChars), LoginErr414),
        ("accid with a non-ASCII letter", login_with("accid", json!("ålice")), bad_login("accid", BadChars), LoginErr414),
        ("33-char accid", login_with("accid", json!("a".repeat(33))), bad_login("accid", TooLong), LoginErr414),
        ("empty token", login_with("token", json!("")), bad_login("token", TooShort), LoginErr414),
        ("129-char token", login_with("token", json!("t".repeat(129))), bad_login("token", TooLong), LoginErr414),
        ("token with a control character", login_with("token", json!("tok\n")), bad_login("token", BadChars), LoginErr414),
        ("empty deviceId", login_with("deviceId", json!("")), bad_login("deviceId", TooShort), LoginErr414),
        ("65-char deviceId", login_with("deviceId", json!("d".repeat(65))), bad_login("deviceId", TooLong), LoginErr414),
        ("33-char customTag", login_with("customTag", json!("c".repeat(33))), bad_login("customTag", TooLong), LoginErr414),
        ("empty sdk", login_with("sdk", json!("")), bad_login("sdk", TooShort), LoginErr414),
        ("65-char sdk", login_with("sdk", json!("s".repeat(65))), bad_login("sdk", TooLong), LoginErr414),
        // Device binding: exactly one credential, each field in its form.
        ("token and ticket", resume_with("token", json!("tok")), bad_login("ticket", NotAllowed), LoginErr414),
        ("neither token nor ticket", resume_without("ticket"), bad_login("token", Missing), LoginErr414),
        ("null ticket and no token", resume_with("ticket", Value::Null), bad_login("token", Missing), LoginErr414),
        ("ticket in a manual login", resume_with("mode", json!("manual")), bad_login("ticket", NotAllowed), LoginErr414),
        ("deviceKey with a ticket", resume_with("deviceKey", json!(DEVICE_KEY)), bad_login("deviceKey", NotAllowed), LoginErr414),
        ("ticket without ts", resume_without("ts"), bad_login("ts", Missing), LoginErr414),
        ("ticket without nonce", resume_without("nonce"), bad_login("nonce", Missing), LoginErr414),
        ("ticket without sig", resume_without("sig"), bad_login("sig", Missing), LoginErr414),
        ("ts with a token", login_with("ts", json!(1)), bad_login("ts", NotAllowed), LoginErr414),
        ("nonce with a token", login_with("nonce", json!(NONCE)), bad_login("nonce", NotAllowed), LoginErr414),
        ("sig with a token", login_with("sig", json!(SIG)), bad_login("sig", NotAllowed), LoginErr414),
        ("string ts", resume_with("ts", json!("1764277200000")), bad_login("ts", WrongType), LoginErr414),
        ("negative ts", resume_with("ts", json!(-1)), bad_login("ts", WrongType), LoginErr414),
        ("fractional ts", resume_with("ts", json!(1.5)), bad_login("ts", WrongType), LoginErr414),
        ("ts past u64", resume_with("ts", json!(1e30)), bad_login("ts", WrongType), LoginErr414),
        ("ts past u64 as an integer", r#"{"t":"login","appKey":"k","accid":"a","deviceId":"d","clientType":"web","mode":"auto","force":false,"sdk":"s","ticket":"cpd4aSoC_oMXwNUl1C3eSs1ldJIiyUVRbg8NFEjAQ7E","ts":18446744073709551616,"nonce":"eLuJgMO_Ce0ZRH5mGp8OWw","sig":"x"}"#.into(), bad_login("ts", WrongType), LoginErr414),
        ("numeric ticket", resume_with("ticket", json!(7)), bad_login("ticket", WrongType), LoginErr414),
        ("short ticket", resume_with("ticket", json!(&TICKET[1..])), bad_login("ticket", TooShort), LoginErr414),
        ("long ticket", resume_with("ticket", json!(format!("{TICKET}A"))), bad_login("ticket", TooLong), LoginErr414),
        ("padded ticket", resume_with("ticket", json!(format!("{}=", &TICKET[1..]))), bad_login("ticket", BadChars), LoginErr414),
        ("base64 (not url) ticket", resume_with("ticket", json!(format!("+{}", &TICKET[1..]))), bad_login("ticket", BadChars), LoginErr414),
        ("non-canonical ticket", resume_with("ticket", json!(format!("{}F", &TICKET[..42]))), bad_login("ticket", BadChars), LoginErr414),
        ("short nonce", resume_with("nonce", json!("abc")), bad_login("nonce", TooShort), LoginErr414),
        ("nonce with a dot", resume_with("nonce", json!(format!(".{}", &NONCE[1..]))), bad_login("nonce", BadChars), LoginErr414),
        ("short sig", resume_with("sig", json!(&SIG[2..])), bad_login("sig", TooShort), LoginErr414),
        ("long sig", resume_with("sig", json!(format!("{SIG}AAAA"))), bad_login("sig", TooLong), LoginErr414),
        ("sig with a non-ASCII character", resume_with("sig", json!(format!("é{}", &SIG[1..]))), bad_login("sig", BadChars), LoginErr414),
        ("short deviceKey", login_with("deviceKey", json!(&DEVICE_KEY[1..])), bad_login("deviceKey", TooShort), LoginErr414),
        ("deviceKey with a slash", login_with("deviceKey", json!(format!("/{}", &DEVICE_KEY[1..]))), bad_login("deviceKey", BadChars), LoginErr414),
        ("numeric deviceKey", login_with("deviceKey", json!(65)), bad_login("deviceKey", WrongType), LoginErr414),
    ]
}

#[test]
fn the_valid_login_the_table_spoils_is_accepted() {
    assert!(matches!(
        decode_client_frame(&valid_login().to_string()),
        Ok(ClientFrame::Login(_))
    ));
}

#[test]
fn every_malformed_client_frame_maps_to_its_error_and_answer() {
    for (what, input, error, expected) in malformed_client_frames() {
        let got = decode_client_frame(&input);
        assert_eq!(got, Err(error.clone()), "{what}");
        assert_eq!(answer(&error), expected, "{what}: answer");
    }
}

#[test]
fn a_bad_login_field_is_named_in_the_error_message() {
    let err = decode_client_frame(&login_with("accid", json!("a".repeat(33)))).unwrap_err();
    assert_eq!(err.to_string(), "accid is too long");
    let err = decode_client_frame(&login_without("token")).unwrap_err();
    assert_eq!(err.to_string(), "token is required");
}

#[test]
fn upper_case_accid_is_normalized_not_refused() {
    let decoded = decode_client_frame(&login_with("accid", json!("Alice_01@Example.COM")));
    let Ok(ClientFrame::Login(frame)) = decoded else {
        panic!("refused: {decoded:?}");
    };
    assert_eq!(frame.accid, "alice_01@example.com");
}

#[test]
fn only_accid_is_normalized_other_fields_keep_their_case() {
    let mut input = valid_login();
    input["token"] = json!("ToKeN");
    input["deviceId"] = json!("Dev-A");
    let Ok(ClientFrame::Login(frame)) = decode_client_frame(&input.to_string()) else {
        panic!("refused");
    };
    assert_eq!(
        (frame.token.as_deref(), frame.device_id.as_str()),
        (Some("ToKeN"), "Dev-A")
    );
}

#[test]
fn fields_at_their_exact_limits_are_accepted() {
    for (field, value) in [
        ("accid", "a".repeat(32)),
        ("accid", "a".into()),
        ("token", "t".repeat(128)),
        ("token", "t".into()),
        ("deviceId", "d".repeat(64)),
        ("customTag", "c".repeat(32)),
        ("customTag", String::new()),
        ("sdk", "s".repeat(64)),
        ("accid", "A_z-0.9@x".into()),
        ("token", " !~printable ASCII~! ".into()),
    ] {
        let input = login_with(field, json!(value));
        assert!(decode_client_frame(&input).is_ok(), "{field} = {value:?}");
    }
}

#[test]
fn a_login_with_its_tag_last_and_fields_in_any_order_is_accepted() {
    let text = r#"{"sdk":"imlogin/0.1.0","force":true,"mode":"auto","clientType":"ios","deviceId":"d","token":"t","accid":"Bob","appKey":"k","t":"login"}"#;
    let Ok(ClientFrame::Login(frame)) = decode_client_frame(text) else {
        panic!("refused: {text}");
    };
    assert_eq!((frame.accid.as_str(), frame.force), ("bob", true));
}

#[test]
fn a_type_error_is_reported_before_a_limit_error() {
    // Every field is read (and typed) before any limit is checked.
    let mut input = valid_login();
    input["accid"] = json!("a".repeat(33));
    input["force"] = json!("yes");
    assert_eq!(
        decode_client_frame(&input.to_string()),
        Err(bad_login("force", Problem::WrongType))
    );
}

#[test]
fn a_binding_and_a_resume_are_accepted_with_their_credential() {
    use imlogin_protocol::Credential;
    let Ok(ClientFrame::Login(frame)) =
        decode_client_frame(&login_with("deviceKey", json!(DEVICE_KEY)))
    else {
        panic!("binding refused");
    };
    assert_eq!(
        frame.credential(),
        Some(Credential::Token {
            token: "tok-6f1c2e",
            device_key: Some(DEVICE_KEY)
        })
    );
    let resume = valid_resume();
    let Ok(ClientFrame::Login(frame)) = decode_client_frame(&resume.to_string()) else {
        panic!("resume refused");
    };
    assert_eq!(
        frame.credential(),
        Some(Credential::Ticket {
            ticket: TICKET,
            ts: 1_764_277_200_000,
            nonce: NONCE,
            sig: SIG
        })
    );
    // The largest ts is a number like any other: the server's window
    // refuses it, not the decoder.
    assert!(decode_client_frame(&resume_with("ts", json!(u64::MAX))).is_ok());
    let debug = format!("{frame:?} {:?}", frame.credential());
    assert!(!debug.contains(TICKET), "{debug}");
}

#[test]
fn the_resume_message_is_the_documented_text() {
    assert_eq!(
        imlogin_protocol::LoginFrame::resume_message("k", "Alice", "d1", "T", 17, "N"),
        "imlogin-resume-v1\nk\nAlice\nd1\nT\n17\nN"
    );
}

#[test]
fn a_frame_of_exactly_4096_bytes_is_accepted() {
    assert!(decode_client_frame(&login_of_len(MAX_FRAME_BYTES)).is_ok());
}

#[test]
fn unknown_extra_fields_are_ignored() {
    assert_eq!(
        decode_client_frame(r#"{"t":"ping","since":"v2"}"#),
        Ok(ClientFrame::Ping)
    );
    assert!(decode_client_frame(&login_with("newField", json!({"x": 1}))).is_ok());
}

#[test]
fn an_absent_or_null_custom_tag_is_none() {
    for input in [
        valid_login().to_string(),
        login_with("customTag", Value::Null),
    ] {
        let Ok(ClientFrame::Login(frame)) = decode_client_frame(&input) else {
            panic!("refused: {input}");
        };
        assert_eq!(frame.custom_tag, None);
    }
}

#[test]
fn malformed_server_frames_are_refused_with_a_typed_error() {
    let too_big = format!(
        r#"{{"t":"pong","pad":"{}"}}"#,
        "x".repeat(MAX_SERVER_FRAME_BYTES)
    );
    let cases: Vec<(&str, String, DecodeError)> = vec![
        ("bad JSON", r#"{"t":"pong""#.into(), DecodeError::NotJson),
        ("plain text", "pong".into(), DecodeError::NotJson),
        (
            "loginErr without code",
            r#"{"t":"loginErr","message":"x"}"#.into(),
            DecodeError::BadFrame,
        ),
        (
            "loginOk with a string serverTime",
            r#"{"t":"loginOk","clientId":"c","serverTime":"1","heartbeatMs":1,"clients":[]}"#
                .into(),
            DecodeError::BadFrame,
        ),
        (
            "loginOk with a client of an unknown clientType",
            r#"{"t":"loginOk","clientId":"c","serverTime":1,"heartbeatMs":1,"clients":[{"clientId":"d","clientType":"tv","deviceId":"x","loginAt":1}]}"#
                .into(),
            DecodeError::BadFrame,
        ),
        (
            "code out of range",
            r#"{"t":"loginErr","code":70000,"message":"x"}"#.into(),
            DecodeError::BadFrame,
        ),
        (
            "clients with an unknown change",
            r#"{"t":"clients","change":"moved","clients":[]}"#.into(),
            DecodeError::BadFrame,
        ),
        (
            "over 256 KiB",
            too_big.clone(),
            DecodeError::TooLarge { len: too_big.len() },
        ),
    ];
    for (what, input, error) in cases {
        assert_eq!(decode_server_frame(&input), Err(error.clone()), "{what}");
        // The browser's way refuses every one that parses as well (the size
        // limit is checked on the text, before either).
        if matches!(error, DecodeError::TooLarge { .. }) {
            continue;
        }
        if let Ok(value) = serde_json::from_str::<Value>(&input) {
            if let Some(tag) = value["t"].as_str() {
                let wrapped = json!({ tag: value });
                assert_eq!(
                    decode_server_variant(wrapped),
                    Err(DecodeError::BadFrame),
                    "{what}, by tag"
                );
            }
        }
    }
}

#[test]
fn a_server_frame_with_a_missing_or_foreign_tag_is_refused() {
    // The client drops the connection whichever tag error it is, so only
    // the class is pinned: a refused frame, not a size or JSON error.
    for (what, tag) in [
        ("unknown tag", "hello"),
        ("client tag", "ping"),
        ("case", "Pong"),
    ] {
        let wrapped = json!({ tag: { "t": tag } });
        assert_eq!(
            decode_server_variant(wrapped),
            Err(DecodeError::BadFrame),
            "{what}, by tag"
        );
    }
    for (what, input) in [
        ("unknown tag", r#"{"t":"hello"}"#),
        ("client tag from a server", r#"{"t":"ping"}"#),
        ("no tag", r#"{"code":200}"#),
        ("numeric tag", r#"{"t":7}"#),
        ("JSON array", "[]"),
    ] {
        let err = decode_server_frame(input).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::NoTag | DecodeError::UnknownTag | DecodeError::BadFrame
            ),
            "{what}: {err:?}"
        );
    }
}

#[test]
fn a_server_frame_with_an_unknown_code_or_kick_reason_is_still_understood() {
    assert_eq!(
        decode_server_frame(r#"{"t":"loginErr","code":509,"message":"x"}"#),
        Ok(ServerFrame::LoginErr {
            code: LoginCode::Other(509),
            message: "x".into(),
            retry_after_ms: None,
        })
    );
    assert_eq!(
        decode_server_frame(r#"{"t":"kicked","reason":"maintenance"}"#),
        Ok(ServerFrame::Kicked {
            reason: KickReason::Unknown,
            client_type: None,
        })
    );
    assert_eq!(
        decode_server_variant(json!({"kicked": {"t": "kicked", "reason": "maintenance"}})),
        Ok(ServerFrame::Kicked {
            reason: KickReason::Unknown,
            client_type: None,
        })
    );
}
