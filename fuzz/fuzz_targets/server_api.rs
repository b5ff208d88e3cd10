//! The server API (`/nimserver/...`) through the real router: arbitrary
//! headers (present, missing, wrong, correctly signed), content types,
//! paths and bodies. Every answer is HTTP 200 with a documented NIM code;
//! anything not correctly signed is 403; storage never fails (500).
#![no_main]

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{HeaderValue, Request};
use imlogin_fuzz::{fresh_nonce, harness, now_secs, APP_KEY, APP_SECRET};
use imlogin_protocol::checksum::checksum;
use imlogin_server::api::form::Params;
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 8] = [
    "/nimserver/user/create.action",
    "/nimserver/user/update.action",
    "/nimserver/user/refreshToken.action",
    "/nimserver/user/block.action",
    "/nimserver/user/unblock.action",
    "/nimserver/user/listDeviceTickets.action",
    "/nimserver/user/revokeDeviceTicket.action",
    "/nimserver/stats/dau.action",
];

#[derive(Debug, Arbitrary)]
enum Field {
    Right,
    Missing,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Time {
    Now(i16),
    Missing,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Sum {
    Right,
    RightUpper,
    Missing,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Payload {
    Form(Vec<(String, String)>),
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    path: u8,
    app_key: Field,
    nonce: Field,
    time: Time,
    sum: Sum,
    content_type: Option<String>,
    payload: Payload,
}

fn header(req: &mut Request<Body>, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        req.headers_mut().insert(name, v);
    }
}

fuzz_target!(|input: Input| {
    let h = harness();
    let body = match &input.payload {
        Payload::Form(pairs) => {
            let mut s = String::new();
            for (k, v) in pairs {
                if !s.is_empty() {
                    s.push('&');
                }
                s.push_str(&encode(k));
                s.push('=');
                s.push_str(&encode(v));
            }
            s.into_bytes()
        }
        Payload::Raw(b) => b.clone(),
    };
    // The form parser alone, on the raw bytes.
    let _ = Params::parse(&body);

    let path = PATHS[usize::from(input.path) % PATHS.len()];
    let mut req = Request::post(path)
        .body(Body::from(body))
        .expect("a valid request");
    if let Some(ct) = &input.content_type {
        header(&mut req, "content-type", ct);
    }
    let app_key = match &input.app_key {
        Field::Right => Some(APP_KEY.to_owned()),
        Field::Missing => None,
        Field::Raw(s) => Some(s.clone()),
    };
    let nonce = match &input.nonce {
        Field::Right => Some(fresh_nonce()),
        Field::Missing => None,
        Field::Raw(s) => Some(s.clone()),
    };
    let cur_time = match &input.time {
        Time::Now(skew) => Some(
            now_secs()
                .saturating_add_signed(i64::from(*skew))
                .to_string(),
        ),
        Time::Missing => None,
        Time::Raw(s) => Some(s.clone()),
    };
    let sum = match (&input.sum, &nonce, &cur_time) {
        (Sum::Right, Some(n), Some(t)) => Some(checksum(APP_SECRET, n, t)),
        (Sum::RightUpper, Some(n), Some(t)) => Some(checksum(APP_SECRET, n, t).to_uppercase()),
        (Sum::Raw(s), _, _) => Some(s.clone()),
        _ => None,
    };
    for (name, value) in [
        ("AppKey", &app_key),
        ("Nonce", &nonce),
        ("CurTime", &cur_time),
        ("CheckSum", &sum),
    ] {
        if let Some(v) = value {
            header(&mut req, name, v);
        }
    }
    let (status, text) = h.rt.block_on(h.call(req));
    assert_eq!(status, 200, "NIM answers HTTP 200: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("a JSON body");
    let code = v["code"].as_u64().expect("a numeric code");
    assert!(
        matches!(code, 200 | 403 | 414),
        "undocumented or server-error code {code}: {text} for {input:?}"
    );
    // A CurTime right at the edge may cross it while the request runs.
    if matches!(input.time, Time::Now(s) if (299..=301).contains(&s.unsigned_abs())) {
        return;
    }
    let signed_right = app_key.as_deref() == Some(APP_KEY)
        && matches!(input.nonce, Field::Right)
        && matches!(input.time, Time::Now(s) if s.unsigned_abs() <= 300)
        && matches!(input.sum, Sum::Right | Sum::RightUpper);
    if code == 200 {
        assert!(
            signed_right
                || matches!(input.nonce, Field::Raw(_))
                || matches!(input.time, Time::Raw(_))
                || matches!(input.sum, Sum::Raw(_)),
            "an unsigned request succeeded: {input:?}"
        );
    }
    if !signed_right && code != 403 {
        // Only a raw header the fuzzer happened to get right may pass.
        assert!(
            matches!(input.nonce, Field::Raw(_))
                || matches!(input.time, Time::Raw(_))
                || matches!(input.sum, Sum::Raw(_))
                || matches!(&input.app_key, Field::Raw(k) if k == APP_KEY),
            "a badly signed request was not refused with 403: {text} for {input:?}"
        );
    }
});

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
