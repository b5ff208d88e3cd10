//! `cluster`: two imlogin-server nodes on one PostgreSQL database against
//! one node, in the same run: login throughput (fresh connection + login,
//! the `capacity` loop) with one SQLite node, one PostgreSQL node and two
//! PostgreSQL nodes sharing the load; then the latency of a kick that
//! crosses nodes (a manual login on node B ending a session on node A,
//! from sending the login to the `kicked` frame arriving) against the same
//! kick on one node, interleaved trial by trial.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Args;
use crate::capacity::{login_throughput, Rate};
use crate::http::{create_accounts, Account};
use crate::server::{self, Process};
use crate::ws::{self, CLIENT_TYPES};

/// How long one kick trial may take before it counts as failed.
const TRIAL_DEADLINE: Duration = Duration::from_secs(10);

/// `cluster`: see the module docs. Flags: `--server BIN` and
/// `--database-url postgres://…` (an empty database) required; `--dir DIR`
/// for the SQLite baseline (default /tmp), `--seconds 8`,
/// `--concurrency 32`, `--sources 16`, `--trials 100`, `--server-args "…"`.
pub async fn run(args: &Args) -> Result<(), String> {
    let bin = args.required("server")?;
    let url = args.required("database-url")?;
    let dir = args.str("dir").unwrap_or("/tmp");
    let seconds: f64 = args.get("seconds", 8.0)?;
    let concurrency: usize = args.get("concurrency", 32)?;
    let sources: usize = args.get("sources", 16)?;
    let trials: usize = args.get("trials", 100)?;
    let extra = server::extra_args(args);

    // 1. One SQLite node: the single-node figure of `capacity`.
    let db = format!("{dir}/imlogin-bench-cluster-{}.db", std::process::id());
    let sqlite = {
        let node = server::start(bin, &server::imlogin_args("127.0.0.1:0", &db, &extra)).await?;
        eprintln!("cluster: one SQLite node, logins for {seconds} s");
        let rate = logins(&[&node], seconds, concurrency, sources).await?;
        eprintln!("cluster: {trials} kick trials on the SQLite node");
        let addr: SocketAddr = node.addr.parse().map_err(|_| "bad address")?;
        let accounts = create_accounts(&node.addr, trials, 8).await?;
        let mut kicks = Vec::new();
        for (i, account) in accounts.iter().enumerate() {
            if let Ok(ms) = kick_latency(account, addr, addr, ws::source(i, sources)).await {
                kicks.push(ms);
            }
        }
        drop(node);
        (rate, kicks)
    };
    let (sqlite, mut sqlite_kicks) = sqlite;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db}{suffix}"));
    }

    // 2. One PostgreSQL node.
    let args_pg = server::imlogin_args_url("127.0.0.1:0", url, &extra);
    let mut a = server::start(bin, &args_pg).await?;
    eprintln!("cluster: one PostgreSQL node, logins for {seconds} s");
    let one = logins(&[&a], seconds, concurrency, sources).await?;

    // 3. Two PostgreSQL nodes, the workers split between them.
    let mut b = server::start(bin, &args_pg).await?;
    eprintln!("cluster: two PostgreSQL nodes, logins for {seconds} s");
    let two = logins(&[&a, &b], seconds, concurrency, sources).await?;

    // 4. Kick latency, cross-node and same-node, interleaved.
    eprintln!("cluster: {trials} kick trials each way");
    let accounts = create_accounts(&a.addr, trials * 2, 8).await?;
    let a_addr: SocketAddr = a.addr.parse().map_err(|_| "bad address")?;
    let b_addr: SocketAddr = b.addr.parse().map_err(|_| "bad address")?;
    let (mut cross, mut same, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for (i, pair) in accounts.chunks(2).enumerate() {
        let src = ws::source(i, sources);
        match kick_latency(&pair[0], a_addr, b_addr, src).await {
            Ok(ms) => cross.push(ms),
            Err(e) => {
                failed += 1;
                eprintln!("cluster: cross-node trial failed: {e}");
            }
        }
        match kick_latency(&pair[1], a_addr, a_addr, src).await {
            Ok(ms) => same.push(ms),
            Err(e) => {
                failed += 1;
                eprintln!("cluster: same-node trial failed: {e}");
            }
        }
    }
    let _ = server::terminate(&mut b, Duration::from_secs(15)).await;
    let _ = server::terminate(&mut a, Duration::from_secs(15)).await;

    let out = json!({
        "sqliteOneNode": sqlite.json(),
        "postgresOneNode": one.json(),
        "postgresTwoNodes": two.json(),
        "twoNodesToOneRatio": two.per_second() / one.per_second().max(1e-9),
        "kick": {
            "trials": trials,
            "failed": failed,
            "crossNodeMs": summary(&mut cross),
            "sameNodeMs": summary(&mut same),
            "sqliteNodeMs": summary(&mut sqlite_kicks),
        },
        "concurrency": concurrency,
        "serverArgs": extra,
    });
    println!("{out}");
    Ok(())
}

/// Logins per second with the workers spread evenly over `nodes`.
async fn logins(
    nodes: &[&Process],
    seconds: f64,
    concurrency: usize,
    sources: usize,
) -> Result<Rate, String> {
    let per_node = (concurrency / nodes.len()).max(1);
    let mut runs = Vec::new();
    for node in nodes {
        let addr = node.addr.clone();
        runs.push(tokio::spawn(async move {
            login_throughput(&addr, seconds, per_node, sources).await
        }));
    }
    let mut total = Rate {
        ok: 0,
        failed: 0,
        seconds: 0.0,
    };
    for run in runs {
        let r = run.await.map_err(|e| e.to_string())??;
        total.ok += r.ok;
        total.failed += r.failed;
        total.seconds = total.seconds.max(r.seconds);
    }
    Ok(total)
}

/// One trial: a session on `first`, then a manual login from another
/// device on `second`; the time from sending that login to the first
/// session's `kicked` frame, in ms.
async fn kick_latency(
    (accid, token): &Account,
    first: SocketAddr,
    second: SocketAddr,
    src: std::net::IpAddr,
) -> Result<f64, String> {
    let trial = async {
        let mut held = ws::connect(first, src, "/link").await?;
        let login = ws::login_frame(accid, token, CLIENT_TYPES[0], "kick-held");
        ws::round_trip(&mut held, login, Some("loginOk")).await?;
        let mut kicker = ws::connect(second, src, "/link").await?;
        let login = ws::login_frame(accid, token, CLIENT_TYPES[0], "kick-new");
        let sent = Instant::now();
        kicker
            .send(Message::text(login))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            match held.next().await {
                Some(Ok(Message::Text(t))) if t.contains("\"kicked\"") => break,
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => {}
                other => return Err(format!("no kicked frame: {other:?}")),
            }
        }
        let ms = sent.elapsed().as_secs_f64() * 1000.0;
        let _ = kicker.close(None).await;
        Ok::<_, String>(ms)
    };
    tokio::time::timeout(TRIAL_DEADLINE, trial)
        .await
        .map_err(|_| "timed out".to_owned())?
}

/// p50/p95/max of `ms`, sorted in place.
pub(crate) fn summary(ms: &mut [f64]) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ms.is_empty() {
            return 0.0;
        }
        let i = ((ms.len() as f64 - 1.0) * q).round() as usize;
        ms[i.min(ms.len() - 1)]
    };
    json!({ "n": ms.len(), "p50": at(0.5), "p95": at(0.95), "max": at(1.0) })
}
