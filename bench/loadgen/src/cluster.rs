//! `cluster`: login throughput (fresh connection + login, the `capacity`
//! loop) with one SQLite node, one PostgreSQL node and two PostgreSQL nodes
//! on one database sharing the load, each beside the bare accept + echo
//! baseline, in interleaved rounds so that all four see the same machine;
//! then the latency of a kick that crosses nodes (a manual login on node B
//! ending a session on node A, from sending the login to the `kicked`
//! frame arriving) against the same kick on one node, trial by trial.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Credential;
use crate::args::{ClusterArgs, Load};
use crate::capacity::{echo_throughput, login_throughput, with_server_cpu, Rate};
use crate::http::{create_accounts, Account};
use crate::server::{self, Process};
use crate::ws::{self, CLIENT_TYPES};

/// How long one kick trial may take before it counts as failed.
const TRIAL_DEADLINE: Duration = Duration::from_secs(10);

/// The rates of one setup, round by round.
#[derive(Default)]
struct Series(Vec<Rate>);

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl Series {
    fn per_second(&self) -> f64 {
        median(self.0.iter().map(Rate::per_second).collect())
    }

    /// The median round by round of this series ÷ `base`: each round is
    /// compared with the other setup's measurement of the same round.
    fn ratio_to(&self, base: &Series) -> f64 {
        median(
            self.0
                .iter()
                .zip(&base.0)
                .map(|(a, b)| a.per_second() / b.per_second().max(1e-9))
                .collect(),
        )
    }

    fn json(&self) -> serde_json::Value {
        let cpu: Vec<f64> = self
            .0
            .iter()
            .filter_map(Rate::server_cpu_us_per_op)
            .collect();
        json!({
            "perSecond": self.per_second(),
            "rounds": self.0.iter().map(Rate::per_second).collect::<Vec<_>>(),
            "ok": self.0.iter().map(|r| r.ok).sum::<usize>(),
            "failed": self.0.iter().map(|r| r.failed).sum::<usize>(),
            "seconds": self.0.iter().map(|r| r.seconds).sum::<f64>(),
            "serverCpuUsPerOp": (!cpu.is_empty()).then(|| median(cpu)),
        })
    }
}

/// `cluster`: see the module docs and [`ClusterArgs`].
pub async fn run(args: &ClusterArgs) -> Result<(), String> {
    let load = args.load;
    let (bin, trials) = (&args.server.bin, args.trials);
    let extra = args.server.extra();

    let db = args
        .server
        .dir
        .join(format!("imlogin-bench-cluster-{}.db", std::process::id()));
    server::remove_db(&db);
    let sqlite = server::start(bin, &server::imlogin_args("127.0.0.1:0", &db, &extra)).await?;
    let args_pg = server::imlogin_args_url("127.0.0.1:0", &args.database_url, &extra);
    let mut a = server::start(bin, &args_pg).await?;
    let mut b = server::start(bin, &args_pg).await?;

    let (mut echo, mut one_sqlite, mut one_pg, mut two_pg) = Default::default();
    for round in 1..=args.rounds.max(1) {
        let s = load.seconds;
        eprintln!("cluster: round {round}: echo baseline for {s} s");
        push(&mut echo, echo_throughput(&load).await?);
        eprintln!("cluster: round {round}: one SQLite node, logins for {s} s");
        push(&mut one_sqlite, logins(&[&sqlite], &load).await?);
        eprintln!("cluster: round {round}: one PostgreSQL node, logins for {s} s");
        push(&mut one_pg, logins(&[&a], &load).await?);
        eprintln!("cluster: round {round}: two PostgreSQL nodes, logins for {s} s");
        push(&mut two_pg, logins(&[&a, &b], &load).await?);
    }

    eprintln!("cluster: {trials} kick trials on the SQLite node");
    let sqlite_addr: SocketAddr = sqlite.addr.parse().map_err(|_| "bad address")?;
    let accounts = create_accounts(&sqlite.addr, trials, 8).await?;
    let mut sqlite_kicks = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let src = ws::source(i, load.sources);
        if let Ok(ms) = kick_latency(account, sqlite_addr, sqlite_addr, src).await {
            sqlite_kicks.push(ms);
        }
    }
    drop(sqlite);
    server::remove_db(&db);

    // Kick latency, cross-node and same-node, interleaved.
    eprintln!("cluster: {trials} kick trials each way");
    let accounts = create_accounts(&a.addr, trials * 2, 8).await?;
    let a_addr: SocketAddr = a.addr.parse().map_err(|_| "bad address")?;
    let b_addr: SocketAddr = b.addr.parse().map_err(|_| "bad address")?;
    let (mut cross, mut same, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for (i, pair) in accounts.chunks(2).enumerate() {
        let src = ws::source(i, load.sources);
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
        "echo": echo.json(),
        "sqliteOneNode": one_sqlite.json(),
        "postgresOneNode": one_pg.json(),
        "postgresTwoNodes": two_pg.json(),
        "sqliteToEchoRatio": one_sqlite.ratio_to(&echo),
        "postgresOneNodeToEchoRatio": one_pg.ratio_to(&echo),
        "postgresTwoNodesToEchoRatio": two_pg.ratio_to(&echo),
        "twoNodesToOneRatio": two_pg.ratio_to(&one_pg),
        "rounds": args.rounds.max(1),
        "kick": {
            "trials": trials,
            "failed": failed,
            "crossNodeMs": summary(&mut cross),
            "sameNodeMs": summary(&mut same),
            "sqliteNodeMs": summary(&mut sqlite_kicks),
        },
        "concurrency": load.concurrency,
        "serverArgs": extra,
    });
    println!("{out}");
    Ok(())
}

fn push(series: &mut Series, rate: Rate) {
    eprintln!(
        "cluster:   {:.0}/s ({} ok, {} failed)",
        rate.per_second(),
        rate.ok,
        rate.failed
    );
    series.0.push(rate);
}

/// Logins per second with the workers spread evenly over `nodes`.
async fn logins(nodes: &[&Process], load: &Load) -> Result<Rate, String> {
    let pids: Vec<u32> = nodes.iter().filter_map(|n| n.child.id()).collect();
    with_server_cpu(&pids, spread_logins(nodes, load)).await
}

async fn spread_logins(nodes: &[&Process], load: &Load) -> Result<Rate, String> {
    let per_node = (load.concurrency / nodes.len()).max(1);
    let load = Load {
        concurrency: per_node,
        ..*load
    };
    let mut runs = Vec::new();
    for node in nodes {
        let addr = node.addr.clone();
        runs.push(tokio::spawn(async move {
            login_throughput(&addr, &load, Credential::Token).await
        }));
    }
    let mut total = Rate::default();
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
