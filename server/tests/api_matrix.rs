//! The server API's bad-input matrix (docs/protocol.md#server-api-errors): headers, signatures,
//! clocks, nonces, bodies, content types and parameters, each sent raw to
//! the real server → HTTP 200 and the documented NIM code. The test prints
//! how many inputs it tried.

mod common;

use common::{fresh_nonce, now_secs, TestServer, APP_KEY, APP_SECRET, DEADLINE};
use imlogin_protocol::checksum::checksum;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

const CREATE: &str = "/nimserver/user/create.action";
const FORM: &str = "application/x-www-form-urlencoded";

/// A raw request: headers as given (bytes, so that non-ASCII ones can be
/// sent), body as given.
struct Raw {
    path: &'static str,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

/// Correct signature headers, with `edit` applied to (nonce, curtime) and
/// then to the finished list.
fn signed_with(
    nonce: String,
    cur_time: String,
    edit: impl FnOnce(&mut Vec<(&'static str, Vec<u8>)>),
) -> Vec<(&'static str, Vec<u8>)> {
    let sum = checksum(APP_SECRET, &nonce, &cur_time);
    let mut h = vec![
        ("AppKey", APP_KEY.as_bytes().to_vec()),
        ("Nonce", nonce.into_bytes()),
        ("CurTime", cur_time.into_bytes()),
        ("CheckSum", sum.into_bytes()),
        ("Content-Type", FORM.as_bytes().to_vec()),
    ];
    edit(&mut h);
    h
}

fn signed() -> Vec<(&'static str, Vec<u8>)> {
    signed_with(fresh_nonce(), now_secs().to_string(), |_| {})
}

fn without(name: &'static str) -> Vec<(&'static str, Vec<u8>)> {
    signed_with(fresh_nonce(), now_secs().to_string(), |h| {
        h.retain(|(k, _)| *k != name)
    })
}

fn replace(name: &'static str, value: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let value = value.to_vec();
    signed_with(fresh_nonce(), now_secs().to_string(), move |h| {
        for (k, v) in h.iter_mut() {
            if *k == name {
                *v = value.clone();
            }
        }
    })
}

/// Signed with CurTime `t` (the checksum matches it).
fn at_time(t: &str) -> Vec<(&'static str, Vec<u8>)> {
    signed_with(fresh_nonce(), t.to_owned(), |_| {})
}

fn with_nonce(nonce: &str) -> Vec<(&'static str, Vec<u8>)> {
    signed_with(nonce.to_owned(), now_secs().to_string(), |_| {})
}

fn create(accid: &str) -> Vec<u8> {
    format!("accid={accid}").into_bytes()
}

async fn send(s: &TestServer, r: Raw) -> Value {
    let mut req = s.http.post(format!("{}{}", s.base, r.path)).body(r.body);
    for (k, v) in r.headers {
        req = req.header(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(&v).unwrap(),
        );
    }
    let resp = tokio::time::timeout(DEADLINE, req.send())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200, "NIM answers HTTP 200");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn every_bad_server_api_request_gets_its_documented_code() {
    let s = TestServer::start(&[]).await;
    s.create("exists").await;
    let now = now_secs();
    let reused = fresh_nonce();
    let flipped = {
        let nonce = fresh_nonce();
        let t = now.to_string();
        let mut sum = checksum(APP_SECRET, &nonce, &t).into_bytes();
        sum[0] = if sum[0] == b'0' { b'1' } else { b'0' };
        signed_with(nonce, t, move |h| h[3].1 = sum)
    };
    let other_secret = {
        let nonce = fresh_nonce();
        let t = now.to_string();
        let sum = checksum("not-the-secret", &nonce, &t).into_bytes();
        signed_with(nonce, t, move |h| h[3].1 = sum)
    };
    let upper = {
        let nonce = fresh_nonce();
        let t = now.to_string();
        let sum = checksum(APP_SECRET, &nonce, &t).to_uppercase().into_bytes();
        signed_with(nonce, t, move |h| h[3].1 = sum)
    };
    let big_body = format!("accid=big&name={}", "n".repeat(70 * 1024)).into_bytes();
    // `now` is read once, before the matrix runs: the CurTime rows stay a
    // minute outside the 300 s window, so a slow run (seconds between
    // `now` and the request) cannot bring them inside it.
    #[rustfmt::skip]
    let matrix: Vec<(&str, Raw, u64)> = vec![
        ("no headers at all", Raw { path: CREATE, headers: vec![], body: create("a1") }, 403),
        ("no AppKey", Raw { path: CREATE, headers: without("AppKey"), body: create("a1") }, 403),
        ("no Nonce", Raw { path: CREATE, headers: without("Nonce"), body: create("a1") }, 403),
        ("no CurTime", Raw { path: CREATE, headers: without("CurTime"), body: create("a1") }, 403),
        ("no CheckSum", Raw { path: CREATE, headers: without("CheckSum"), body: create("a1") }, 403),
        ("unknown AppKey", Raw { path: CREATE, headers: replace("AppKey", b"someone-else"), body: create("a1") }, 403),
        ("AppKey not ASCII", Raw { path: CREATE, headers: replace("AppKey", b"\xffkey"), body: create("a1") }, 403),
        ("CheckSum one digit off", Raw { path: CREATE, headers: flipped, body: create("a1") }, 403),
        ("CheckSum of another secret", Raw { path: CREATE, headers: other_secret, body: create("a1") }, 403),
        ("CheckSum truncated", Raw { path: CREATE, headers: replace("CheckSum", b"abc"), body: create("a1") }, 403),
        ("CurTime +360 s", Raw { path: CREATE, headers: at_time(&(now + 360).to_string()), body: create("a1") }, 403),
        ("CurTime -360 s", Raw { path: CREATE, headers: at_time(&(now - 360).to_string()), body: create("a1") }, 403),
        ("CurTime not a number", Raw { path: CREATE, headers: at_time("soon"), body: create("a1") }, 403),
        ("CurTime negative", Raw { path: CREATE, headers: at_time(&format!("-{now}")), body: create("a1") }, 403),
        ("CurTime with a fraction", Raw { path: CREATE, headers: at_time(&format!("{now}.5")), body: create("a1") }, 403),
        ("CurTime with a sign", Raw { path: CREATE, headers: at_time(&format!("+{now}")), body: create("a1") }, 403),
        ("CurTime overflowing u64", Raw { path: CREATE, headers: at_time("99999999999999999999999"), body: create("a1") }, 403),
        ("CurTime empty", Raw { path: CREATE, headers: at_time(""), body: create("a1") }, 403),
        ("Nonce empty", Raw { path: CREATE, headers: with_nonce(""), body: create("a1") }, 403),
        ("Nonce of 129 chars", Raw { path: CREATE, headers: with_nonce(&"n".repeat(129)), body: create("a1") }, 403),
        ("first use of a nonce", Raw { path: CREATE, headers: with_nonce(&reused), body: create("r1") }, 200),
        ("reused nonce", Raw { path: CREATE, headers: with_nonce(&reused), body: create("r2") }, 403),
        ("body over 64 KiB", Raw { path: CREATE, headers: signed(), body: big_body }, 414),
        ("Content-Type JSON", Raw { path: CREATE, headers: replace("Content-Type", b"application/json"), body: br#"{"accid":"j1"}"#.to_vec() }, 414),
        ("Content-Type text/plain", Raw { path: CREATE, headers: replace("Content-Type", b"text/plain"), body: create("j2") }, 414),
        ("Content-Type multipart", Raw { path: CREATE, headers: replace("Content-Type", b"multipart/form-data; boundary=x"), body: create("j3") }, 414),
        ("accid missing", Raw { path: CREATE, headers: signed(), body: b"name=x".to_vec() }, 414),
        ("accid empty", Raw { path: CREATE, headers: signed(), body: create("") }, 414),
        ("accid of 33 chars", Raw { path: CREATE, headers: signed(), body: create(&"a".repeat(33)) }, 414),
        ("accid with a space", Raw { path: CREATE, headers: signed(), body: create("a%20b") }, 414),
        ("accid with a slash", Raw { path: CREATE, headers: signed(), body: create("a%2Fb") }, 414),
        ("accid with emoji", Raw { path: CREATE, headers: signed(), body: create("a%F0%9F%98%80") }, 414),
        ("accid not UTF-8", Raw { path: CREATE, headers: signed(), body: create("a%FF") }, 414),
        ("accid with a NUL", Raw { path: CREATE, headers: signed(), body: create("a%00") }, 414),
        ("token empty", Raw { path: CREATE, headers: signed(), body: b"accid=t1&token=".to_vec() }, 414),
        ("token of 129 chars", Raw { path: CREATE, headers: signed(), body: format!("accid=t2&token={}", "t".repeat(129)).into_bytes() }, 414),
        ("token with a tab", Raw { path: CREATE, headers: signed(), body: b"accid=t3&token=a%09b".to_vec() }, 414),
        ("name of 65 chars", Raw { path: CREATE, headers: signed(), body: format!("accid=t4&name={}", "n".repeat(65)).into_bytes() }, 414),
        ("accid already registered", Raw { path: CREATE, headers: signed(), body: create("exists") }, 414),
        ("update of an unknown accid", Raw { path: "/nimserver/user/update.action", headers: signed(), body: b"accid=ghost&token=x".to_vec() }, 414),
        ("needkick neither true nor false", Raw { path: "/nimserver/user/block.action", headers: signed(), body: b"accid=exists&needkick=1".to_vec() }, 414),
        ("ticket list of an unknown accid", Raw { path: "/nimserver/user/listDeviceTickets.action", headers: signed(), body: b"accid=ghost".to_vec() }, 414),
        ("ticket revocation of an unknown accid", Raw { path: "/nimserver/user/revokeDeviceTicket.action", headers: signed(), body: b"accid=ghost".to_vec() }, 414),
        ("ticket revocation of an empty deviceId", Raw { path: "/nimserver/user/revokeDeviceTicket.action", headers: signed(), body: b"accid=exists&deviceId=".to_vec() }, 414),
        ("ticket revocation of a deviceId with a newline", Raw { path: "/nimserver/user/revokeDeviceTicket.action", headers: signed(), body: b"accid=exists&deviceId=a%0Ab".to_vec() }, 414),
        ("ticket list of an account without tickets is fine", Raw { path: "/nimserver/user/listDeviceTickets.action", headers: signed(), body: b"accid=exists".to_vec() }, 200),
        ("dau of a day that does not exist", Raw { path: "/nimserver/stats/dau.action", headers: signed(), body: b"day=2024-02-30".to_vec() }, 414),
        ("upper-case CheckSum is fine", Raw { path: CREATE, headers: upper, body: create("u1") }, 200),
        ("Nonce of 128 chars is fine", Raw { path: CREATE, headers: with_nonce(&format!("{:n<128}", fresh_nonce())), body: create("u2") }, 200),
        ("CurTime 290 s away is fine", Raw { path: CREATE, headers: at_time(&(now_secs() - 290).to_string()), body: create("u3") }, 200),
        ("form with charset is fine", Raw { path: CREATE, headers: replace("Content-Type", b"application/x-www-form-urlencoded; charset=UTF-8"), body: create("u4") }, 200),
        ("no Content-Type is read as a form", Raw { path: CREATE, headers: without("Content-Type"), body: create("u5") }, 200),
    ];
    let total = matrix.len();
    for (name, raw, code) in matrix {
        let v = send(&s, raw).await;
        assert_eq!(v["code"], code, "{name}: {v}");
        if code != 200 {
            assert!(v["desc"].is_string(), "{name}: errors carry a desc: {v}");
        }
    }
    // Nothing that was refused was created.
    for accid in ["a1", "r2", "j1", "j2", "j3", "t1", "t2", "t3", "t4"] {
        let v = s
            .api(
                "/nimserver/user/update.action",
                &[("accid", accid), ("token", "x")],
            )
            .await;
        assert_eq!(v["code"], 414, "{accid} must not exist: {v}");
    }
    println!("server API bad-input matrix: {total} inputs, each answered with its documented code");
    assert!(total >= 20);
}
