//! What an operator relies on: `/healthz` and `/readyz` without
//! credentials (and `/readyz` saying `draining` once shutdown began), the
//! AppSecret read from a file, and `--help` naming every flag with its
//! environment variable.

mod common;

use std::time::Duration;

use clap::Parser;
use common::{TestServer, APP_KEY, APP_SECRET, DEADLINE};
use imlogin_protocol::checksum::checksum;
use imlogin_server::{serve, Config};

async fn get(http: &reqwest::Client, url: &str) -> (u16, String, Option<String>) {
    let resp = tokio::time::timeout(DEADLINE, http.get(url).send())
        .await
        .expect("answers in time")
        .expect("answers");
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, resp.text().await.unwrap(), cache)
}

#[tokio::test]
async fn healthz_and_readyz_answer_without_credentials_and_say_one_word() {
    let mut server = TestServer::start(&[]).await;
    let (status, body, cache) = get(&server.http, &format!("{}/healthz", server.base)).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert_eq!(cache.as_deref(), Some("no-store"));
    let (status, body, _) = get(&server.http, &format!("{}/readyz", server.base)).await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    server.shutdown().await;
}

#[tokio::test]
async fn readyz_says_draining_as_soon_as_shutdown_begins() {
    let mut server = TestServer::start(&[]).await;
    let base = server.base.clone();
    let http = server.http.clone();
    // A link socket that never answers the server's close: shutdown then
    // waits for it (the close grace), and the node is draining meanwhile.
    let (silent, _) = tokio_tungstenite::connect_async(server.ws_url.as_str())
        .await
        .expect("link opens");
    let handle = server.handle.take().expect("running");
    let stopping = tokio::spawn(handle.shutdown());
    let until = tokio::time::Instant::now() + DEADLINE;
    let answer = loop {
        let (status, body, _) = get(&http, &format!("{base}/readyz")).await;
        if status != 200 {
            break (status, body);
        }
        assert!(
            tokio::time::Instant::now() < until,
            "/readyz still says ready after shutdown began"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(answer, (503, "draining\n".to_owned()));
    // /healthz still answers while the node drains: the process is alive.
    let (status, _, _) = get(&http, &format!("{base}/healthz")).await;
    assert_eq!(status, 200);
    drop(silent);
    tokio::time::timeout(DEADLINE, stopping)
        .await
        .expect("shutdown finishes")
        .unwrap();
}

#[tokio::test]
async fn the_app_secret_comes_from_a_file_and_signs_the_server_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app-secret");
    std::fs::write(&file, format!("{APP_SECRET}\n")).unwrap();
    let db = common::fresh_database_url(dir.path()).await;
    let from_file = |path: &std::path::Path| {
        common::config(&db, &["--app-secret-file", path.to_str().unwrap()])
    };
    let server = serve(from_file(&file)).await.expect("starts");
    assert_eq!(server.app_secret().expose(), APP_SECRET, "newline dropped");
    assert!(!server.generated_credentials());
    let nonce = common::fresh_nonce();
    let cur = common::now_secs().to_string();
    let resp = reqwest::Client::new()
        .post(format!(
            "http://{}/nimserver/user/create.action",
            server.local_addr()
        ))
        .header("AppKey", APP_KEY)
        .header("Nonce", &nonce)
        .header("CurTime", &cur)
        .header("CheckSum", checksum(APP_SECRET, &nonce, &cur))
        .form(&[("accid", "from-file")])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["code"], 200, "{v}");
    server.shutdown().await;

    // A missing or empty file stops the start with a message naming it.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    for path in [dir.path().join("missing"), empty] {
        let err = serve(from_file(&path))
            .await
            .expect_err("refused")
            .to_string();
        assert!(err.contains("--app-secret-file"), "{err}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
    // Both a secret and a secret file: refused by the parser.
    assert!(Config::try_parse_from([
        "imlogin-server",
        "--app-key",
        APP_KEY,
        "--app-secret",
        APP_SECRET,
        "--app-secret-file",
        file.to_str().unwrap(),
    ])
    .is_err());
}

#[tokio::test]
async fn help_names_every_operations_flag_with_its_environment_variable() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_imlogin-server"))
        .arg("--help")
        .output()
        .await
        .expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, env) in [
        ("--metrics-bind", "IMLOGIN_METRICS_BIND"),
        ("--log-format", "IMLOGIN_LOG_FORMAT"),
        ("--app-secret-file", "IMLOGIN_APP_SECRET_FILE"),
        ("--app-secret", "IMLOGIN_APP_SECRET"),
        ("--tls-cert", "IMLOGIN_TLS_CERT"),
        ("--tls-key", "IMLOGIN_TLS_KEY"),
        ("--database-url", "IMLOGIN_DATABASE_URL"),
    ] {
        assert!(help.contains(flag), "--help names {flag}");
        assert!(help.contains(&format!("env: {env}")), "--help names {env}");
    }
    assert!(
        help.contains("ps"),
        "--help says where a secret given as a flag shows"
    );
}
