//! The console (`/console`): its page, and its API guarded by the
//! AppSecret like the server API; it lists only the test accounts it
//! created.

mod common;

use common::{fresh_nonce, now_secs, TestServer, APP_KEY, APP_SECRET, DEADLINE};
use imlogin_protocol::checksum::checksum;
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use serde_json::Value;

async fn console_get(s: &TestServer, path: &str) -> Value {
    let nonce = fresh_nonce();
    let cur = now_secs().to_string();
    let req = s
        .http
        .get(format!("{}{path}", s.base))
        .header("AppKey", APP_KEY)
        .header("Nonce", &nonce)
        .header("CurTime", &cur)
        .header("CheckSum", checksum(APP_SECRET, &nonce, &cur));
    tokio::time::timeout(DEADLINE, req.send())
        .await
        .unwrap()
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn listed(v: &Value) -> Vec<String> {
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["accid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn console_api_refuses_unsigned_requests() {
    let s = TestServer::start(&[]).await;
    let v = s.get_json("/console/api/accounts").await;
    assert_eq!(v["code"], 403);
    let v = s
        .api_with("/console/api/accounts", &[], &[("AppKey", APP_KEY)])
        .await;
    assert_eq!(v["code"], 403);
}

#[tokio::test]
async fn console_lists_its_test_accounts_but_never_server_api_ones() {
    let s = TestServer::start(&[]).await;
    s.create("fromapi").await;
    let made = s
        .api(
            "/console/api/accounts",
            &[("accid", "Console1"), ("name", "Tester")],
        )
        .await;
    assert_eq!(made["code"], 200, "{made}");
    assert_eq!(made["info"]["accid"], "console1");
    let token = made["info"]["token"].as_str().unwrap().to_owned();
    let random = s.api("/console/api/accounts", &[]).await;
    let random = random["info"]["accid"].as_str().unwrap().to_owned();
    assert!(random.starts_with("test"), "{random}");

    let v = console_get(&s, "/console/api/accounts").await;
    assert_eq!(v["code"], 200, "{v}");
    let list = listed(&v);
    assert!(list.contains(&"console1".to_owned()) && list.contains(&random));
    assert!(!list.contains(&"fromapi".to_owned()), "{list:?}");
    let row = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["accid"] == "console1")
        .unwrap();
    assert_eq!(row["name"], "Tester");
    assert_eq!(row["blocked"], false);
    assert!(row["createdAt"].as_u64().unwrap() > 0);
    assert!(row.get("token").is_none() && row.get("tokenHash").is_none());

    // A console account is a real IM account.
    s.login_ok("console1", &token, "dev-c", "manual").await;
    let dup = s
        .api("/console/api/accounts", &[("accid", "fromapi")])
        .await;
    assert_eq!(dup["desc"], "already registered");
}

#[tokio::test]
async fn console_block_kicks_live_sessions_and_unblock_lets_them_back() {
    let s = TestServer::start(&[]).await;
    let made = s
        .api("/console/api/accounts", &[("accid", "blockme")])
        .await;
    let token = made["info"]["token"].as_str().unwrap().to_owned();
    let (mut link, _) = s.login_ok("blockme", &token, "dev-b", "manual").await;

    let v = s.api("/console/api/block", &[("accid", "blockme")]).await;
    assert_eq!(v["code"], 200, "{v}");
    link.expect_kicked("blocked").await;
    let (mut link, first) = s.login("blockme", &token, "dev-b", "manual", false).await;
    common::Link::expect_login_err(first, &mut link, 422).await;
    let list = console_get(&s, "/console/api/accounts").await;
    assert_eq!(list["accounts"][0]["blocked"], true);

    let v = s.api("/console/api/unblock", &[("accid", "blockme")]).await;
    assert_eq!(v["code"], 200);
    s.login_ok("blockme", &token, "dev-b", "manual").await;
    let v = s.api("/console/api/block", &[("accid", "nosuch")]).await;
    assert_eq!(v["desc"], "not registered");
}

#[tokio::test]
async fn pages_get_a_csp_that_allows_wasm_and_the_link() {
    let s = TestServer::start(&[]).await;
    let resp = s
        .http
        .get(format!("{}/console", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let csp = resp.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    let link_origin = s.ws_url.trim_end_matches("/link");
    assert!(
        csp.contains(&format!("connect-src 'self' {link_origin}")),
        "{csp}"
    );
    // JSON answers carry no page policy.
    let resp = s
        .http
        .get(format!("{}/lbs?appKey={APP_KEY}", s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get(CONTENT_SECURITY_POLICY).is_none());
}

#[tokio::test]
async fn pkg_dir_is_served_under_pkg_with_the_wasm_mime_type() {
    let pkg = tempfile::tempdir().unwrap();
    std::fs::write(pkg.path().join("imlogin_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let dir = pkg.path().to_str().unwrap().to_owned();
    let s = TestServer::start(&["--pkg-dir", &dir]).await;
    let resp = s
        .http
        .get(format!("{}/pkg/imlogin_bg.wasm", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/wasm");
}
