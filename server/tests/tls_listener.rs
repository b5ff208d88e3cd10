//! The TLS listener (`--tls-cert`, `--tls-key`): one node serves https and
//! wss with a certificate signed by a CA made in the test. A client that
//! trusts that CA reaches `/healthz`, the signed server API and `/link` —
//! a raw WebSocket and the native client (`imlogin-native`) both log in —
//! and a client that does not trust it is refused at the handshake.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use common::tls::TestCa;
use common::{login_frame, APP_KEY, APP_SECRET, DEADLINE};
use futures_util::{SinkExt, StreamExt};
use imlogin::Status;
use imlogin_native::NativeClient;
use imlogin_protocol::checksum::checksum;
use imlogin_server::{serve, Config, ServerHandle};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

async fn start(dir: &std::path::Path, ca: &TestCa) -> ServerHandle {
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let db = common::fresh_database_url(dir).await;
    let config = common::config(
        &db,
        &[
            "--app-secret",
            APP_SECRET,
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    serve(config).await.expect("starts with TLS")
}

/// One HTTP/1.1 request over TLS; the whole response as text.
async fn https(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    request: &str,
) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = tokio::time::timeout(DEADLINE, connector.connect(name, tcp))
        .await
        .expect("handshake in time")?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response))
        .await
        .expect("answer in time")?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

#[tokio::test]
async fn https_and_wss_with_a_certificate_from_a_test_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("imlogin test CA");
    let server = start(dir.path(), &ca).await;
    let addr = server.local_addr();
    assert_eq!(server.url(), format!("https://{addr}"));
    let trusted = ca.client_config();

    let health = https(
        addr,
        Arc::clone(&trusted),
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("https answers");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok\n"), "{health}");

    // The signed server API over https.
    let nonce = common::fresh_nonce();
    let cur = common::now_secs().to_string();
    let body = "accid=tls-user&token=tls-token-1";
    let created = https(
        addr,
        Arc::clone(&trusted),
        &format!(
            "POST /nimserver/user/create.action HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             AppKey: {APP_KEY}\r\nNonce: {nonce}\r\nCurTime: {cur}\r\nCheckSum: {}\r\n\
             Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            checksum(APP_SECRET, &nonce, &cur),
            body.len()
        ),
    )
    .await
    .expect("https answers");
    assert!(created.contains("\"code\":200"), "{created}");

    // A raw wss login.
    let url = format!("wss://127.0.0.1:{}/link", addr.port());
    let (mut ws, _) = tokio::time::timeout(
        DEADLINE,
        tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            None,
            false,
            Some(Connector::Rustls(Arc::clone(&trusted))),
        ),
    )
    .await
    .expect("wss opens in time")
    .expect("wss opens");
    let frame = login_frame("tls-user", "tls-token-1", "raw-device", "manual", false);
    ws.send(Message::text(frame.to_string())).await.unwrap();
    let first = tokio::time::timeout(DEADLINE, ws.next())
        .await
        .expect("an answer in time")
        .expect("a frame")
        .expect("readable");
    let first: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(first["t"], "loginOk", "{first}");
    drop(ws);

    // The native client, trusting the same CA.
    let client = NativeClient::spawn_tls(
        imlogin::Config::new(APP_KEY, "native-device"),
        &url,
        5,
        Arc::clone(&trusted),
    );
    client
        .login("tls-user", "tls-token-1", false)
        .await
        .expect("native login over wss");
    assert_eq!(client.status(), Status::LoggedIn);
    client.logout().await;

    // A client trusting another CA is refused at the handshake.
    let stranger = TestCa::new("another CA").client_config();
    let refused = https(
        addr,
        stranger,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(refused.is_err(), "an untrusted certificate is refused");
    // The listener is not stuck after a failed handshake.
    let again = https(
        addr,
        trusted,
        "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("https still answers");
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_key_file_or_a_demo_app_with_tls_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_sqlite_url(dir.path());
    let ca = TestCa::new("imlogin test CA");
    let leaf = ca.leaf(&["localhost"]);
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, &leaf.cert_pem).unwrap();
    let missing = dir.path().join("missing.pem");
    let args = |extra: &[&str]| {
        let mut args = vec![
            "imlogin-server".to_owned(),
            "--bind".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--database-url".to_owned(),
            db.clone(),
            "--tls-cert".to_owned(),
            cert.to_str().unwrap().to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Config::try_parse_from(args).unwrap()
    };
    let err = serve(args(&["--tls-key", missing.to_str().unwrap()]))
        .await
        .expect_err("no key")
        .to_string();
    assert!(err.contains("--tls-key"), "{err}");
    let key = dir.path().join("key.pem");
    std::fs::write(&key, &leaf.key_pem).unwrap();
    let err = serve(args(&["--tls-key", key.to_str().unwrap(), "--demo-app"]))
        .await
        .expect_err("demo app refused")
        .to_string();
    assert!(err.contains("--demo-app"), "{err}");
    // --tls-cert alone is refused by the parser.
    assert!(Config::try_parse_from(["imlogin-server", "--tls-cert", "c.pem"]).is_err());
}
