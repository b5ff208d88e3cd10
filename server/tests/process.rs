//! The real binary: the `listening on` line, SIGTERM → 1012 and a clean
//! exit, and data that survives a restart on the same database.

mod common;

use std::process::Stdio;

use common::{Link, DEADLINE};
use imlogin_protocol::checksum::checksum;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

struct Proc {
    child: Child,
    addr: String,
    stderr: tokio::task::JoinHandle<String>,
}

async fn start(db: &str) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imlogin-server"))
        .args(["--bind", "127.0.0.1:0", "--database-url"])
        .arg(db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(!addr.ends_with(":0"), "the real port is printed");
    Proc {
        child,
        addr,
        stderr,
    }
}

/// SIGTERM, then the exit status and everything written to stderr.
async fn stop(mut p: Proc) -> (std::process::ExitStatus, String) {
    let pid = p.child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(DEADLINE, p.child.wait())
        .await
        .unwrap()
        .unwrap();
    (status, p.stderr.await.unwrap())
}

fn credentials(stderr: &str) -> Option<(String, String)> {
    let find = |label: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
    };
    Some((find("AppKey")?, find("AppSecret")?))
}

async fn api(addr: &str, key: &str, secret: &str, path: &str, params: &[(&str, &str)]) -> Value {
    let nonce = common::fresh_nonce();
    let cur = common::now_secs().to_string();
    reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("AppKey", key)
        .header("Nonce", &nonce)
        .header("CurTime", &cur)
        .header("CheckSum", checksum(secret, &nonce, &cur))
        .form(params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn login(key: &str, accid: &str, token: &str, mode: &str) -> Value {
    let mut f = common::login_frame(accid, token, "dev-1", mode, false);
    f["appKey"] = Value::from(key);
    f
}

#[tokio::test]
async fn sigterm_closes_sessions_with_1012_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_database_url(dir.path()).await;

    // First start: the demo pair is generated, stored and printed on
    // stderr (read once the process has exited).
    let p = start(&db).await;
    let (status, stderr) = stop(p).await;
    assert!(status.success(), "clean exit: {status:?}");
    let (key, secret) = credentials(&stderr).expect("demo credentials printed on first start");

    // Second start on the same database: the same pair, not printed again.
    let p = start(&db).await;
    let v = api(
        &p.addr,
        &key,
        &secret,
        "/nimserver/user/create.action",
        &[("accid", "Keeper")],
    )
    .await;
    assert_eq!(v["code"], 200, "{v}");
    let token = v["info"]["token"].as_str().unwrap().to_owned();
    let mut l = Link::connect(&format!("ws://{}/link", p.addr)).await;
    l.send_json(login(&key, "keeper", &token, "manual")).await;
    assert_eq!(l.recv().await["t"], "loginOk");
    let closing = tokio::spawn(async move {
        // The restart notice first (docs/protocol.md#server-restart).
        assert_eq!(l.recv().await["t"], "restart");
        l.expect_close().await
    });
    let (status, stderr) = stop(p).await;
    assert_eq!(
        closing.await.unwrap(),
        Some(1012),
        "SIGTERM closes sessions with 1012"
    );
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        credentials(&stderr).is_none(),
        "the pair is printed only once"
    );

    // Third start: the account, its token and its last device survive, so
    // the dropped session resumes with an auto login.
    let p = start(&db).await;
    let mut l = Link::connect(&format!("ws://{}/link", p.addr)).await;
    l.send_json(login(&key, "keeper", &token, "auto")).await;
    let v = l.recv().await;
    assert_eq!(v["t"], "loginOk", "{v}");
    let v = api(
        &p.addr,
        &key,
        &secret,
        "/nimserver/user/create.action",
        &[("accid", "keeper")],
    )
    .await;
    assert_eq!(v["desc"], "already registered");
    let (status, _) = stop(p).await;
    assert!(status.success());
}
