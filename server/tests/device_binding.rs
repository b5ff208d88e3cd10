//! Device-bound sessions (docs/protocol.md, "Device-bound sessions"): a
//! login that sends a P-256 `deviceKey` gets a resume ticket; an auto login
//! with the ticket, a fresh timestamp and nonce and the key's signature
//! logs in without the token. A copied ticket signed by another key, a
//! ticket from another device or account, a timestamp outside ±300 s, a
//! replayed frame and an expired ticket get 419; logout, the kicks that
//! forget a device, a token change and a block revoke; `sameDevice` does
//! not; the server API lists and revokes tickets; tickets survive a
//! restart and work on another node of a PostgreSQL cluster, whose nodes
//! share the nonces. Time passes on the server's clock (`/_test/clock`),
//! never by sleeping.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{login_frame, Link, TestServer, APP_KEY};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;
const TICKET_REFUSED: &str =
    "device binding refused: the resume ticket is unknown, revoked or expired";
const PROOF_REFUSED: &str =
    "device binding refused: the resume signature, timestamp or nonce does not check";

/// A device's key pair, as a browser profile keeps it.
struct DeviceKey(SigningKey);

impl DeviceKey {
    fn new() -> Self {
        loop {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).unwrap();
            if let Ok(key) = SigningKey::from_slice(&seed) {
                return DeviceKey(key);
            }
        }
    }

    /// `deviceKey`: base64url of the uncompressed point.
    fn public(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.verifying_key().to_sec1_point(false).as_bytes())
    }

    fn sign(&self, message: &str) -> Signature {
        self.0.sign(message.as_bytes())
    }
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The signed message of docs/protocol.md.
fn message(accid: &str, device: &str, ticket: &str, ts: u64, nonce: &str) -> String {
    format!("imlogin-resume-v1\n{APP_KEY}\n{accid}\n{device}\n{ticket}\n{ts}\n{nonce}")
}

/// A resume frame signed by `key`, with a fresh nonce.
fn resume_frame(key: &DeviceKey, accid: &str, device: &str, ticket: &str, ts: u64) -> Value {
    let nonce = nonce();
    let sig = key.sign(&message(accid, device, ticket, ts, &nonce));
    resume_frame_with(accid, device, ticket, ts, &nonce, &sig.to_bytes())
}

fn resume_frame_with(
    accid: &str,
    device: &str,
    ticket: &str,
    ts: u64,
    nonce: &str,
    sig: &[u8],
) -> Value {
    json!({
        "t": "login", "appKey": APP_KEY, "accid": accid, "deviceId": device,
        "clientType": "web", "mode": "auto", "force": false, "sdk": "imlogin/test",
        "ticket": ticket, "ts": ts, "nonce": nonce, "sig": URL_SAFE_NO_PAD.encode(sig),
    })
}

/// The server's clock of device-bound sessions, in ms.
async fn server_now(s: &TestServer) -> u64 {
    advance(s, 0).await
}

/// Moves the server's clock by `ms`; returns its new now.
async fn advance(s: &TestServer, ms: i64) -> u64 {
    let v = s.post_json(&format!("/_test/clock?advanceMs={ms}")).await;
    assert_eq!(v["code"], 200, "{v}");
    v["now"].as_u64().unwrap()
}

/// A manual login binding `key`; returns the link and the ticket.
async fn bind(
    s: &TestServer,
    accid: &str,
    token: &str,
    device: &str,
    key: &DeviceKey,
) -> (Link, String) {
    let mut frame = login_frame(accid, token, device, "manual", false);
    frame["deviceKey"] = json!(key.public());
    let mut link = s.connect().await;
    link.send_json(frame).await;
    let ok = link.recv().await;
    assert_eq!(ok["t"], "loginOk", "{ok}");
    let ticket = ok["ticket"].as_str().expect("a ticket").to_owned();
    (link, ticket)
}

/// Sends `frame` on a new socket; returns the link and the answer.
async fn send(s: &TestServer, frame: Value) -> (Link, Value) {
    let mut link = s.connect().await;
    link.send_json(frame).await;
    let first = link.recv().await;
    (link, first)
}

/// A resume that must be admitted.
async fn resume_ok(
    s: &TestServer,
    key: &DeviceKey,
    accid: &str,
    device: &str,
    ticket: &str,
) -> Link {
    let ts = server_now(s).await;
    let (link, ok) = send(s, resume_frame(key, accid, device, ticket, ts)).await;
    assert_eq!(ok["t"], "loginOk", "{ok}");
    assert!(
        ok.get("ticket").is_none(),
        "a resume keeps its ticket: {ok}"
    );
    link
}

/// A frame that must get 419 with `message`.
async fn refused(s: &TestServer, frame: Value, message: &str) {
    let (mut link, err) = send(s, frame).await;
    assert_eq!(err["message"], message, "{err}");
    Link::expect_login_err(err, &mut link, 419).await;
}

/// A resume that must get 419 with `message`.
async fn resume_refused(
    s: &TestServer,
    key: &DeviceKey,
    accid: &str,
    device: &str,
    ticket: &str,
    message: &str,
) {
    let ts = server_now(s).await;
    refused(s, resume_frame(key, accid, device, ticket, ts), message).await;
}

/// A frame that must get 414 (`what` names the case).
async fn bad_param(s: &TestServer, frame: Value, what: &str) {
    let (mut link, err) = send(s, frame).await;
    assert_eq!(err["code"], 414, "{what}: {err}");
    Link::expect_login_err(err, &mut link, 414).await;
}

/// A server with account `alice` whose device `dev-a` has bound a key
/// (its session since closed): the server, the token, the key, the ticket.
async fn bound(extra: &[&str]) -> (TestServer, String, DeviceKey, String) {
    let s = TestServer::start(extra).await;
    let token = s.create("alice").await;
    let key = DeviceKey::new();
    let (link, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    drop(link);
    (s, token, key, ticket)
}

async fn logout(mut link: Link) {
    link.send_json(json!({"t": "logout"})).await;
    assert_eq!(link.expect_close().await, Some(1000));
}

#[tokio::test]
async fn a_binding_login_gets_a_ticket_and_a_plain_login_none() {
    let s = TestServer::start(&[]).await;
    let token = s.create("alice").await;
    let key = DeviceKey::new();
    let (_link, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    assert_eq!(ticket.len(), 43, "{ticket}");
    assert!(imlogin_protocol::limits::check_ticket(&ticket).is_ok());
    let (_plain, ok) = s.login_ok("alice", &token, "dev-b", "manual").await;
    assert!(ok.get("ticket").is_none(), "{ok}");
    // A new binding of the same device replaces its ticket.
    let (_again, second) = bind(&s, "alice", &token, "dev-a", &key).await;
    assert_ne!(second, ticket);
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
    resume_ok(&s, &key, "alice", "dev-a", &second).await;
}

#[tokio::test]
async fn a_resume_logs_in_without_the_token_as_an_auto_login() {
    let (s, _, key, ticket) = bound(&[]).await;
    let mut resumed = resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
    resumed.ping_pong().await;
    let v = s.get_json("/_test/sessions?accid=alice").await;
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{v}");
    assert_eq!(sessions[0]["mode"], "auto", "{v}");
    assert_eq!(sessions[0]["deviceId"], "dev-a", "{v}");
    // The signature covers the accid as sent; the server reads it lower-cased.
    drop(resumed);
    resume_ok(&s, &key, "ALICE", "dev-a", &ticket).await;
    // A ticket resumes again and again, each time with a fresh nonce.
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
}

#[tokio::test]
async fn a_copied_ticket_signed_by_another_key_is_refused_and_the_original_still_works() {
    let (s, _, key, ticket) = bound(&[]).await;
    // The attacker has the stored record (accid, ticket, deviceId) but not
    // the non-extractable key: a key of their own does not verify.
    let thief = DeviceKey::new();
    resume_refused(&s, &thief, "alice", "dev-a", &ticket, PROOF_REFUSED).await;
    // Nor does the right key signing something else (another ts).
    let ts = server_now(&s).await;
    let n = nonce();
    let sig = key.sign(&message("alice", "dev-a", &ticket, ts - 1, &n));
    refused(
        &s,
        resume_frame_with("alice", "dev-a", &ticket, ts, &n, &sig.to_bytes()),
        PROOF_REFUSED,
    )
    .await;
    // Garbage signatures: zero, all ones, r‖s beyond the group order.
    for bad in [[0u8; 64], [0xff; 64]] {
        let frame = resume_frame_with("alice", "dev-a", &ticket, ts, &nonce(), &bad);
        refused(&s, frame, PROOF_REFUSED).await;
    }
    // The original device still resumes.
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
}

#[tokio::test]
async fn a_high_s_signature_verifies_as_webcrypto_may_make_one() {
    let (s, _, key, ticket) = bound(&[]).await;
    // A signature in its low-S form and one in its high-S form (r, n − s),
    // each over its own nonce so that neither is a replay: WebCrypto may
    // produce either.
    for high in [false, true] {
        let ts = server_now(&s).await;
        let n = nonce();
        let low = key
            .sign(&message("alice", "dev-a", &ticket, ts, &n))
            .normalize_s();
        let sig = if high {
            let (r, sv) = low.split_scalars();
            Signature::from_scalars(r, -*sv).unwrap()
        } else {
            low
        };
        assert_eq!(sig.normalize_s() != sig, high);
        let frame = resume_frame_with("alice", "dev-a", &ticket, ts, &n, &sig.to_bytes());
        let (_link, ok) = send(&s, frame).await;
        assert_eq!(ok["t"], "loginOk", "high-S {high}: {ok}");
    }
}

#[tokio::test]
async fn a_ticket_from_another_device_or_account_is_refused() {
    let s = TestServer::start(&[]).await;
    let token = s.create("alice").await;
    s.create("bob").await;
    let key = DeviceKey::new();
    let (link, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    drop(link);
    // Signed correctly by the bound key, but for another device or account.
    resume_refused(&s, &key, "alice", "dev-b", &ticket, TICKET_REFUSED).await;
    resume_refused(&s, &key, "bob", "dev-a", &ticket, TICKET_REFUSED).await;
    resume_refused(&s, &key, "nobody", "dev-a", &ticket, TICKET_REFUSED).await;
    // Another clientType.
    let ts = server_now(&s).await;
    let mut frame = resume_frame(&key, "alice", "dev-a", &ticket, ts);
    frame["clientType"] = json!("pc");
    refused(&s, frame, TICKET_REFUSED).await;
    // A ticket never issued.
    let unknown = URL_SAFE_NO_PAD.encode([7u8; 32]);
    resume_refused(&s, &key, "alice", "dev-a", &unknown, TICKET_REFUSED).await;
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
}

#[tokio::test]
async fn a_timestamp_outside_300_seconds_is_refused() {
    let (s, _, key, ticket) = bound(&[]).await;
    let now = server_now(&s).await;
    // 30 s outside the window: a loaded run takes seconds between reading
    // the server's clock and the last frame.
    for ts in [now - 330_000, now + 330_000, 0, u64::MAX] {
        refused(
            &s,
            resume_frame(&key, "alice", "dev-a", &ticket, ts),
            PROOF_REFUSED,
        )
        .await;
    }
    // Inside the window, either side.
    for ts in [now - 290_000, now + 290_000] {
        let (_link, ok) = send(&s, resume_frame(&key, "alice", "dev-a", &ticket, ts)).await;
        assert_eq!(ok["t"], "loginOk", "{ok}");
    }
}

#[tokio::test]
async fn a_replayed_resume_frame_is_refused() {
    let (s, _, key, ticket) = bound(&[]).await;
    let frame = resume_frame(&key, "alice", "dev-a", &ticket, server_now(&s).await);
    let (link, ok) = send(&s, frame.clone()).await;
    assert_eq!(ok["t"], "loginOk", "{ok}");
    drop(link);
    refused(&s, frame.clone(), PROOF_REFUSED).await;
    // Still refused near the end of the ts window: the nonce outlives it.
    advance(&s, 290_000).await;
    refused(&s, frame, PROOF_REFUSED).await;
}

#[tokio::test]
async fn a_ticket_expires_30_days_after_its_last_use_on_the_servers_clock() {
    let (s, _, key, ticket) = bound(&[]).await;
    // Every resume starts the 30 days again.
    advance(&s, 29 * DAY_MS).await;
    drop(resume_ok(&s, &key, "alice", "dev-a", &ticket).await);
    advance(&s, 29 * DAY_MS).await;
    drop(resume_ok(&s, &key, "alice", "dev-a", &ticket).await);
    let listed = s
        .api(
            "/nimserver/user/listDeviceTickets.action",
            &[("accid", "alice")],
        )
        .await;
    assert_eq!(listed["tickets"].as_array().unwrap().len(), 1, "{listed}");
    advance(&s, 30 * DAY_MS + 1_000).await;
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
    let listed = s
        .api(
            "/nimserver/user/listDeviceTickets.action",
            &[("accid", "alice")],
        )
        .await;
    assert_eq!(
        listed["tickets"],
        json!([]),
        "an expired ticket is not listed"
    );
}

#[tokio::test]
async fn a_shorter_ticket_ttl_is_a_server_setting() {
    let (s, _, key, ticket) = bound(&["--ticket-ttl-days", "1"]).await;
    advance(&s, DAY_MS + 1_000).await;
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
}

#[tokio::test]
async fn logout_revokes_the_devices_ticket() {
    let s = TestServer::start(&[]).await;
    let token = s.create("alice").await;
    let key = DeviceKey::new();
    let (link, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    logout(link).await;
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
    // A resumed session's logout revokes it too.
    let (link, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    drop(link);
    let resumed = resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
    logout(resumed).await;
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
}

#[tokio::test]
async fn kicks_that_forget_a_device_revoke_its_ticket_and_same_device_does_not() {
    let s = TestServer::start(&[]).await;
    let token = s.create("alice").await;
    let key = DeviceKey::new();

    // sameDevice: the same device logs in again (a reload): its ticket lives.
    let (mut old, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    let (_new, _) = s.login_ok("alice", &token, "dev-a", "manual").await;
    old.expect_kicked_after_clients("sameDevice").await;
    drop(_new);
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;

    // exclusive: a manual login elsewhere takes the only slot.
    let (mut a, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    let (b, _) = s.login_ok("alice", &token, "dev-b", "manual").await;
    a.expect_kicked_after_clients("exclusive").await;
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
    drop(b);

    // byClient: another session of the account kicks it.
    let s = TestServer::start(&["--max-sessions", "2"]).await;
    let token = s.create("alice").await;
    let (mut a, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    let (mut b, ok) = s.login_ok("alice", &token, "dev-b", "manual").await;
    let _ = a.recv().await; // clients: dev-b joined
    let target = ok["clients"][0]["clientId"].as_str().unwrap().to_owned();
    b.send_json(json!({"t": "kick", "clientId": target})).await;
    a.expect_kicked_after_clients("byClient").await;
    resume_refused(&s, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
}

#[tokio::test]
async fn a_token_change_and_a_block_revoke_every_ticket_of_the_account() {
    let s = TestServer::start(&["--max-sessions", "2"]).await;
    let token = s.create("alice").await;
    let (ka, kb) = (DeviceKey::new(), DeviceKey::new());
    let (mut a, ta) = bind(&s, "alice", &token, "dev-a", &ka).await;
    let (mut b, tb) = bind(&s, "alice", &token, "dev-b", &kb).await;
    let v = s
        .api("/nimserver/user/refreshToken.action", &[("accid", "alice")])
        .await;
    assert_eq!(v["code"], 200, "{v}");
    a.expect_kicked_after_clients("tokenChanged").await;
    b.expect_kicked_after_clients("tokenChanged").await;
    resume_refused(&s, &ka, "alice", "dev-a", &ta, TICKET_REFUSED).await;
    resume_refused(&s, &kb, "alice", "dev-b", &tb, TICKET_REFUSED).await;

    // A block, even without needkick (live sessions carry on).
    let token = v["info"]["token"].as_str().unwrap().to_owned();
    let (a, ta) = bind(&s, "alice", &token, "dev-a", &ka).await;
    drop(a);
    let v = s
        .api("/nimserver/user/block.action", &[("accid", "alice")])
        .await;
    assert_eq!(v["code"], 200, "{v}");
    let v = s
        .api("/nimserver/user/unblock.action", &[("accid", "alice")])
        .await;
    assert_eq!(v["code"], 200, "{v}");
    resume_refused(&s, &ka, "alice", "dev-a", &ta, TICKET_REFUSED).await;

    // While blocked, a resume with a live ticket gets 422 like a token login.
    let (a, ta) = bind(&s, "alice", &token, "dev-a", &ka).await;
    drop(a);
    s.api(
        "/nimserver/user/block.action",
        &[("accid", "alice"), ("needkick", "true")],
    )
    .await;
    let ts = server_now(&s).await;
    let (mut link, err) = send(&s, resume_frame(&ka, "alice", "dev-a", &ta, ts)).await;
    // The block revoked the ticket first: 419, never a session.
    assert_eq!(err["code"], 419, "{err}");
    Link::expect_login_err(err, &mut link, 419).await;
}

#[tokio::test]
async fn the_server_api_lists_and_revokes_tickets_and_kicks_with_revoked() {
    let s = TestServer::start(&["--max-sessions", "3"]).await;
    let token = s.create("alice").await;
    let (ka, kb) = (DeviceKey::new(), DeviceKey::new());
    let before = server_now(&s).await;
    let (mut a, ta) = bind(&s, "alice", &token, "dev-a", &ka).await;
    let (mut b, tb) = bind(&s, "alice", &token, "dev-b", &kb).await;
    let (mut plain, _) = s.login_ok("alice", &token, "dev-c", "manual").await;
    let list = s
        .api(
            "/nimserver/user/listDeviceTickets.action",
            &[("accid", "Alice")],
        )
        .await;
    assert_eq!(list["code"], 200, "{list}");
    let tickets = list["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{list}");
    assert_eq!(tickets[0]["deviceId"], "dev-a", "oldest first: {list}");
    assert_eq!(tickets[1]["deviceId"], "dev-b", "{list}");
    for t in tickets {
        assert_eq!(t["clientType"], "web", "{list}");
        let created = t["createdAt"].as_u64().unwrap();
        assert!(created >= before, "{list}");
        assert_eq!(t["lastUsedAt"], t["createdAt"], "{list}");
        assert!(!t.to_string().contains(&ta) && !t.to_string().contains(&tb));
    }

    // One device: its ticket is revoked and its session kicked `revoked`.
    let v = s
        .api(
            "/nimserver/user/revokeDeviceTicket.action",
            &[("accid", "alice"), ("deviceId", "dev-a")],
        )
        .await;
    assert_eq!(v, json!({"code": 200, "revoked": 1}));
    a.expect_kicked_after_clients("revoked").await;
    resume_refused(&s, &ka, "alice", "dev-a", &ta, TICKET_REFUSED).await;
    b.alive().await;
    plain.alive().await;

    // Every ticket: dev-b's session ends, dev-c (no ticket) stays.
    let v = s
        .api(
            "/nimserver/user/revokeDeviceTicket.action",
            &[("accid", "alice")],
        )
        .await;
    assert_eq!(v, json!({"code": 200, "revoked": 1}));
    b.expect_kicked_after_clients("revoked").await;
    resume_refused(&s, &kb, "alice", "dev-b", &tb, TICKET_REFUSED).await;
    plain.alive().await;
    let v = s
        .api(
            "/nimserver/user/revokeDeviceTicket.action",
            &[("accid", "alice")],
        )
        .await;
    assert_eq!(v, json!({"code": 200, "revoked": 0}));
    let list = s
        .api(
            "/nimserver/user/listDeviceTickets.action",
            &[("accid", "alice")],
        )
        .await;
    assert_eq!(list, json!({"code": 200, "tickets": []}));

    // Unknown accounts, bad parameters, bad signatures.
    for path in [
        "/nimserver/user/listDeviceTickets.action",
        "/nimserver/user/revokeDeviceTicket.action",
    ] {
        let v = s.api(path, &[("accid", "nobody")]).await;
        assert_eq!(v, json!({"code": 414, "desc": "not registered"}), "{path}");
        let v = s.api(path, &[]).await;
        assert_eq!(v["code"], 414, "{path}: {v}");
        let v = s.api(path, &[("accid", "a b")]).await;
        assert_eq!(v["code"], 414, "{path}: {v}");
        let v = s
            .api_with(
                path,
                &[("accid", "alice")],
                &[
                    ("AppKey", APP_KEY),
                    ("Nonce", &common::fresh_nonce()),
                    ("CurTime", &common::now_secs().to_string()),
                    ("CheckSum", &"0".repeat(40)),
                ],
            )
            .await;
        assert_eq!(v, json!({"code": 403, "desc": "unauthorized"}), "{path}");
    }
    let v = s
        .api(
            "/nimserver/user/revokeDeviceTicket.action",
            &[("accid", "alice"), ("deviceId", &"d".repeat(65))],
        )
        .await;
    assert_eq!(
        v,
        json!({"code": 414, "desc": "parameter deviceId is too long"})
    );
}

#[tokio::test]
async fn malformed_or_misplaced_binding_fields_are_414() {
    let (s, token, key, ticket) = bound(&[]).await;
    let ts = server_now(&s).await;
    let resume = resume_frame(&key, "alice", "dev-a", &ticket, ts);

    let mut both = resume.clone();
    both["token"] = json!(token);
    bad_param(&s, both, "ticket with token").await;
    let mut neither = resume.clone();
    neither.as_object_mut().unwrap().remove("ticket");
    bad_param(&s, neither, "no credential").await;
    let mut manual = resume.clone();
    manual["mode"] = json!("manual");
    bad_param(&s, manual, "ticket in a manual login").await;
    let mut keyed = resume.clone();
    keyed["deviceKey"] = json!(key.public());
    bad_param(&s, keyed, "deviceKey with a ticket").await;
    for (field, value) in [
        ("ts", json!("1764277200000")),
        ("ts", json!(-1)),
        ("ts", json!(1e300)),
        ("nonce", json!("short")),
        ("sig", json!("!".repeat(86))),
        ("sig", json!(format!("{}B", "A".repeat(85)))),
        ("ticket", json!(format!("{ticket}="))),
    ] {
        let mut bad = resume.clone();
        bad[field] = value;
        bad_param(&s, bad, field).await;
    }
    // A deviceKey that is base64url of 65 bytes but no point of P-256, or
    // the compressed form: refused before any ticket is issued.
    let mut off_curve = vec![4u8];
    off_curve.extend([1u8; 64]);
    let compressed = key.0.verifying_key().to_sec1_point(true);
    for bad_key in [
        URL_SAFE_NO_PAD.encode(&off_curve),
        URL_SAFE_NO_PAD.encode([0u8; 65]),
        format!("{}A", URL_SAFE_NO_PAD.encode(compressed.as_bytes())),
        "x".repeat(86),
    ] {
        let mut frame = login_frame("alice", &token, "dev-a", "manual", false);
        frame["deviceKey"] = json!(bad_key);
        bad_param(&s, frame, "deviceKey").await;
    }
    // The session and its ticket are unharmed by all of it.
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
}

#[tokio::test]
async fn a_ticket_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let mut s = TestServer::start_with_database(dir, &db, &[]).await;
    let token = s.create("alice").await;
    let key = DeviceKey::new();
    let (link, ticket) = bind(&s, "alice", &token, "dev-a", &key).await;
    drop(link);
    s.shutdown().await;
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let s = TestServer::start_with_database(dir, &db, &[]).await;
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
}

#[tokio::test]
async fn on_postgresql_a_ticket_resumes_on_another_node_and_a_replay_is_refused_on_both() {
    let Some(url) = common::pg_database_url_or_skip().await else {
        return;
    };
    let a = TestServer::start_with_database(tempfile::tempdir().unwrap(), &url, &[]).await;
    let b = TestServer::start_with_database(tempfile::tempdir().unwrap(), &url, &[]).await;
    let token = a.create("alice").await;
    let key = DeviceKey::new();
    let (link, ticket) = bind(&a, "alice", &token, "dev-a", &key).await;
    drop(link);
    // Node B has never seen the ticket, only the shared database has.
    let frame = resume_frame(&key, "alice", "dev-a", &ticket, server_now(&b).await);
    let (link, ok) = send(&b, frame.clone()).await;
    assert_eq!(ok["t"], "loginOk", "{ok}");
    drop(link);
    // The same frame replayed to either node: the nonces are shared.
    refused(&a, frame.clone(), PROOF_REFUSED).await;
    refused(&b, frame, PROOF_REFUSED).await;
    // A revocation on one node holds on the other.
    let (mut on_b, _) = {
        let ts = server_now(&b).await;
        send(&b, resume_frame(&key, "alice", "dev-a", &ticket, ts)).await
    };
    let v = a
        .api(
            "/nimserver/user/revokeDeviceTicket.action",
            &[("accid", "alice"), ("deviceId", "dev-a")],
        )
        .await;
    assert_eq!(v, json!({"code": 200, "revoked": 1}));
    on_b.expect_kicked_after_clients("revoked").await;
    resume_refused(&b, &key, "alice", "dev-a", &ticket, TICKET_REFUSED).await;
    // And a ticket survives both nodes restarting.
    let mut a = a;
    let mut b = b;
    let (link, ticket) = bind(&a, "alice", &token, "dev-a", &key).await;
    drop(link);
    a.shutdown().await;
    b.shutdown().await;
    let c = TestServer::start_with_database(tempfile::tempdir().unwrap(), &url, &[]).await;
    resume_ok(&c, &key, "alice", "dev-a", &ticket).await;
}

#[tokio::test]
async fn the_test_hooks_list_and_revoke_tickets_without_a_signature() {
    let (s, token, key, ticket) = bound(&[]).await;
    let v = s.get_json("/_test/tickets?accid=ALICE").await;
    assert_eq!(v["code"], 200, "{v}");
    assert_eq!(v["tickets"][0]["deviceId"], "dev-a", "{v}");
    let (mut link, _) = bind(&s, "alice", &token, "dev-b", &DeviceKey::new()).await;
    let v = s
        .post_json("/_test/revoke?accid=alice&deviceId=dev-b")
        .await;
    assert_eq!(v, json!({"code": 200, "revoked": 1}));
    // On PostgreSQL dev-a's dropped session may leave the list (a `clients`
    // frame) just before the kick.
    link.expect_kicked_after_clients("revoked").await;
    resume_ok(&s, &key, "alice", "dev-a", &ticket).await;
    let v = s.post_json("/_test/revoke?accid=alice").await;
    assert_eq!(v["revoked"], 1, "{v}");
    let v = s.get_json("/_test/tickets?accid=nobody").await;
    assert_eq!(v["code"], 414, "{v}");
}

/// The race a cluster has and one node has not: a resume checks its ticket,
/// then `revokeDeviceTicket` (on any node) deletes it and finds no session
/// of the device to kick, then the resume reaches the admission. The
/// admission (under the account's lock, in the transaction that inserts
/// the session) re-reads the ticket and refuses the resume as stale, so
/// the login's re-check answers 419; a ticket still there is admitted.
#[tokio::test]
async fn a_cluster_admission_refuses_a_resume_whose_ticket_was_revoked_after_its_check() {
    use imlogin_protocol::{ClientType, LoginMode};
    use imlogin_server::backend::journal::DeviceWrite;
    use imlogin_server::backend::store::AccountSource;
    use imlogin_server::backend::tickets::TicketRecord;
    use imlogin_server::backend::{Backend, NodeSettings};
    use imlogin_server::sessions::{Admission, AdmitError};

    let Some(url) = common::pg_database_url_or_skip().await else {
        return;
    };
    let node = NodeSettings {
        link_urls: vec!["ws://127.0.0.1:9/link".into()],
        heartbeat_ms: 30_000,
        max_sessions: 4,
    };
    let backend = Backend::open(&url, std::time::Duration::from_secs(5), node)
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(backend
        .store
        .create_account("alice", "token-hash", "", AccountSource::Api, now)
        .await
        .unwrap());
    let bind = |hash: &str, device: &str| {
        DeviceWrite::BindTicket(TicketRecord {
            ticket_hash: hash.into(),
            app_key: APP_KEY.into(),
            accid: "alice".into(),
            client_type: ClientType::Web,
            device_id: device.into(),
            device_key: "unused-by-the-admission".into(),
            at_ms: now,
            expired_before_ms: 0,
        })
    };
    backend
        .journal
        .write(vec![bind("hash-a", "dev-a"), bind("hash-b", "dev-b")])
        .await
        .unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let resume = |device: &'static str, ticket: &'static str| Admission {
        accid: "alice",
        client_type: ClientType::Web,
        device_id: device,
        custom_tag: None,
        mode: LoginMode::Auto,
        force: false,
        known_device: true,
        epoch: 0,
        token_hash: "token-hash",
        ticket_hash: Some(ticket),
        now_ms: now,
        tx: tx.clone(),
    };
    // dev-b's ticket is revoked between its check and its admission.
    let revoked = backend
        .store
        .revoke_tickets(APP_KEY, "alice", Some("dev-b"), 0)
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        backend
            .directory
            .admit(resume("dev-b", "hash-b"))
            .await
            .err(),
        Some(AdmitError::Stale)
    );
    // A ticket never stored is stale as well; dev-a's, still there, is
    // admitted.
    assert_eq!(
        backend
            .directory
            .admit(resume("dev-a", "hash-x"))
            .await
            .err(),
        Some(AdmitError::Stale)
    );
    assert!(backend
        .directory
        .admit(resume("dev-a", "hash-a"))
        .await
        .is_ok());
}
