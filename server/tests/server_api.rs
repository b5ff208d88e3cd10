//! The NIM-style server API: signing, parameters, responses; LBS; DAU; the
//! account test hook and its CORS.

mod common;

use common::{fresh_nonce, now_secs, Link, TestServer, APP_KEY, APP_SECRET};
use imlogin_protocol::checksum::checksum;
use serde_json::json;

const CREATE: &str = "/nimserver/user/create.action";

#[tokio::test]
async fn create_returns_info_and_normalizes_accid() {
    let s = TestServer::start(&[]).await;
    let v = s
        .api(
            CREATE,
            &[
                ("accid", "Mixed.Case@X"),
                ("token", "tok"),
                ("name", "名字"),
            ],
        )
        .await;
    assert_eq!(
        v,
        json!({"code":200,"info":{"accid":"mixed.case@x","token":"tok","name":"名字"}})
    );
    let v = s.api(CREATE, &[("accid", "MIXED.case@x")]).await;
    assert_eq!(v["code"], 414);
    assert_eq!(v["desc"], "already registered");
    // Without a token one is generated: 128 bits as 32 hex characters.
    let v = s.api(CREATE, &[("accid", "gen")]).await;
    let token = v["info"]["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn bad_params_get_414() {
    let s = TestServer::start(&[]).await;
    let long_name = "n".repeat(65);
    let long_token = "t".repeat(129);
    for (path, params) in [
        (CREATE, vec![]),
        (CREATE, vec![("accid", "")]),
        (CREATE, vec![("accid", "has space")]),
        (CREATE, vec![("accid", "ok1"), ("token", "")]),
        (
            CREATE,
            vec![("accid", "ok2"), ("token", long_token.as_str())],
        ),
        (CREATE, vec![("accid", "ok3"), ("name", long_name.as_str())]),
        (
            "/nimserver/user/update.action",
            vec![("accid", "ghost"), ("token", "x")],
        ),
        ("/nimserver/user/update.action", vec![("accid", "ghost")]),
        (
            "/nimserver/user/refreshToken.action",
            vec![("accid", "ghost")],
        ),
        ("/nimserver/user/block.action", vec![("accid", "ghost")]),
        ("/nimserver/user/unblock.action", vec![("accid", "ghost")]),
        ("/nimserver/stats/dau.action", vec![("day", "2024-13-01")]),
        ("/nimserver/stats/dau.action", vec![]),
    ] {
        let v = s.api(path, &params).await;
        assert_eq!(v["code"], 414, "{path} {params:?} → {v}");
    }
    s.create("real").await;
    let v = s
        .api(
            "/nimserver/user/block.action",
            &[("accid", "real"), ("needkick", "maybe")],
        )
        .await;
    assert_eq!(v["code"], 414);
    // A name of 64 characters (not bytes) is fine.
    let name = "é".repeat(64);
    let v = s.api(CREATE, &[("accid", "ok4"), ("name", &name)]).await;
    assert_eq!(v["code"], 200, "{v}");
}

#[tokio::test]
async fn body_over_64_kib_gets_414() {
    let s = TestServer::start(&[]).await;
    let big = "x".repeat(70 * 1024);
    let v = s.api(CREATE, &[("accid", "big"), ("pad", &big)]).await;
    assert_eq!(v["code"], 414);
}

#[tokio::test]
async fn signing_failures_get_403() {
    let s = TestServer::start(&[]).await;
    let params = [("accid", "signed")];
    let good = |nonce: &str, cur: &str| checksum(APP_SECRET, nonce, cur);
    let now = now_secs().to_string();

    // Missing each header in turn.
    for skip in 0..4 {
        let nonce = fresh_nonce();
        let sum = good(&nonce, &now);
        let all = [
            ("AppKey", APP_KEY),
            ("Nonce", nonce.as_str()),
            ("CurTime", now.as_str()),
            ("CheckSum", sum.as_str()),
        ];
        let headers: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, h)| *h)
            .collect();
        let v = s.api_with(CREATE, &params, &headers).await;
        assert_eq!(v["code"], 403, "missing header {skip}");
    }
    // Unknown AppKey.
    let nonce = fresh_nonce();
    let sum = good(&nonce, &now);
    let v = s
        .api_with(
            CREATE,
            &params,
            &[
                ("AppKey", "other"),
                ("Nonce", &nonce),
                ("CurTime", &now),
                ("CheckSum", &sum),
            ],
        )
        .await;
    assert_eq!(v["code"], 403);
    // Bad checksum.
    let nonce = fresh_nonce();
    let bad = checksum("wrong-secret", &nonce, &now);
    let v = s
        .api_with(
            CREATE,
            &params,
            &[
                ("AppKey", APP_KEY),
                ("Nonce", &nonce),
                ("CurTime", &now),
                ("CheckSum", &bad),
            ],
        )
        .await;
    assert_eq!(v["code"], 403);
    // Stale and future CurTime, and a non-numeric one.
    for cur in [
        (now_secs() - 301).to_string(),
        (now_secs() + 400).to_string(),
        "soon".to_owned(),
    ] {
        let nonce = fresh_nonce();
        let sum = good(&nonce, &cur);
        let v = s
            .api_with(
                CREATE,
                &params,
                &[
                    ("AppKey", APP_KEY),
                    ("Nonce", &nonce),
                    ("CurTime", &cur),
                    ("CheckSum", &sum),
                ],
            )
            .await;
        assert_eq!(v["code"], 403, "CurTime {cur}");
    }
    // A Nonce over 128 characters.
    let nonce = "n".repeat(129);
    let sum = good(&nonce, &now);
    let v = s
        .api_with(
            CREATE,
            &params,
            &[
                ("AppKey", APP_KEY),
                ("Nonce", &nonce),
                ("CurTime", &now),
                ("CheckSum", &sum),
            ],
        )
        .await;
    assert_eq!(v["code"], 403);
    // A replayed nonce: the first use works (upper-case hex too), the replay does not.
    let nonce = fresh_nonce();
    let sum = good(&nonce, &now).to_uppercase();
    let headers = [
        ("AppKey", APP_KEY),
        ("Nonce", nonce.as_str()),
        ("CurTime", now.as_str()),
        ("CheckSum", sum.as_str()),
    ];
    let v = s.api_with(CREATE, &params, &headers).await;
    assert_eq!(v["code"], 200, "{v}");
    let v = s.api_with(CREATE, &[("accid", "signed2")], &headers).await;
    assert_eq!(v["code"], 403);
}

#[tokio::test]
async fn lbs_lists_link_urls_with_cors_and_refuses_unknown_app_keys() {
    let s = TestServer::start(&[]).await;
    let resp = s
        .http
        .get(format!("{}/lbs?appKey={APP_KEY}", s.base))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v, json!({"code":200,"links":[s.ws_url]}));
    let v = s.get_json("/lbs?appKey=nope").await;
    assert_eq!(v["code"], 414);
}

#[tokio::test]
async fn lbs_announces_configured_link_urls() {
    let s = TestServer::start(&[
        "--link-url",
        "wss://a.example/link",
        "--link-url",
        "wss://b.example/link",
    ])
    .await;
    let v = s.get_json(&format!("/lbs?appKey={APP_KEY}")).await;
    assert_eq!(
        v["links"],
        json!(["wss://a.example/link", "wss://b.example/link"])
    );
}

#[tokio::test]
async fn dau_counts_each_account_once_after_manual_and_auto_logins() {
    let s = TestServer::start(&["--max-sessions", "3"]).await;
    let t1 = s.create("dau1").await;
    let t2 = s.create("dau2").await;
    s.create("dau3").await; // never logs in
    let (a, _) = s.login_ok("dau1", &t1, "d1", "manual").await;
    drop(a);
    s.login_ok("dau1", &t1, "d1", "auto").await;
    s.login_ok("dau1", &t1, "d2", "manual").await;
    s.login_ok("dau2", &t2, "d1", "manual").await;
    let day = imlogin_server::clock::utc_day(imlogin_server::clock::now_ms());
    let v = s.api("/nimserver/stats/dau.action", &[("day", &day)]).await;
    assert_eq!(v, json!({"code":200,"dau":2}));
    let v = s
        .api("/nimserver/stats/dau.action", &[("day", "2001-01-01")])
        .await;
    assert_eq!(v, json!({"code":200,"dau":0}));
}

#[tokio::test]
async fn account_hook_creates_accounts_with_cors_preflight() {
    let s = TestServer::start(&[]).await;
    let resp = s
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/_test/accounts", s.base),
        )
        .header("Origin", "http://127.0.0.1:9")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9"
    );
    let v = s.post_json("/_test/accounts").await;
    assert_eq!(v["code"], 200);
    let accid = v["accid"].as_str().unwrap().to_owned();
    let token = v["token"].as_str().unwrap().to_owned();
    s.login_ok(&accid, &token, "d", "manual").await;
    let v = s.post_json("/_test/accounts?accid=Hooked&token=tk").await;
    assert_eq!(v, json!({"code":200,"accid":"hooked","token":"tk"}));
}

#[tokio::test]
async fn token_hook_replaces_the_token_like_update_action() {
    let s = TestServer::start(&[]).await;
    let v = s
        .post_json("/_test/accounts?accid=tina&token=old-token")
        .await;
    assert_eq!(v["code"], 200);
    let (mut a, _) = s.login_ok("tina", "old-token", "dev-a", "manual").await;
    let v = s.post_json("/_test/token?accid=TINA&token=new-token").await;
    assert_eq!(v, json!({"code":200}));
    a.expect_kicked("tokenChanged").await;
    let (mut l, v) = s.login("tina", "old-token", "dev-a", "auto", false).await;
    Link::expect_login_err(v, &mut l, 302).await;
    s.login_ok("tina", "new-token", "dev-a", "manual").await;
    // Same errors as update.action: unknown account, missing or bad token.
    let v = s.post_json("/_test/token?accid=ghost&token=t").await;
    assert_eq!(v["code"], 414, "{v}");
    let v = s.post_json("/_test/token?accid=tina").await;
    assert_eq!(v["code"], 414, "{v}");
    let long = "x".repeat(129);
    let v = s
        .post_json(&format!("/_test/token?accid=tina&token={long}"))
        .await;
    assert_eq!(v["code"], 414, "{v}");
}

#[tokio::test]
async fn hooks_are_absent_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let config = <imlogin_server::Config as clap::Parser>::parse_from([
        "imlogin-server",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &db,
    ]);
    let h = imlogin_server::serve(config).await.unwrap();
    assert!(h.generated_credentials());
    let resp = reqwest::Client::new()
        .post(format!("http://{}/_test/accounts", h.local_addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    h.shutdown().await;
}

#[tokio::test]
async fn static_dir_is_served_at_the_root() {
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<h1>demo</h1>").unwrap();
    let dir = www.path().to_str().unwrap().to_owned();
    let s = TestServer::start(&["--static-dir", &dir]).await;
    let body = s
        .http
        .get(format!("{}/index.html", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "<h1>demo</h1>");
    // API routes still win over the static fallback.
    let v = s.get_json(&format!("/lbs?appKey={APP_KEY}")).await;
    assert_eq!(v["code"], 200);
}
