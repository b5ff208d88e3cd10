//! `rolling`: a rolling restart of two imlogin-server nodes on one
//! PostgreSQL database. Native clients (the browser package's login
//! machine) find their link through the LBS, half of them asking node A's
//! `/lbs` and falling back to node B's link, the other half the reverse,
//! as behind a load balancer; then node A is restarted, and once every
//! client is logged in again, node B. Every client's time without a
//! session is recorded, from the status that ended its `loggedIn` to its
//! next `loggedIn`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imlogin::{Event, Status};
use imlogin_native::NativeClient;
use serde_json::json;

use crate::args::RollingArgs;
use crate::clients;
use crate::cluster::summary;
use crate::http::create_accounts;
use crate::restart;
use crate::server;
use crate::ws::CLIENT_TYPES;

/// How often a watcher looks whether the run is over.
const POLL: Duration = Duration::from_millis(50);

/// After every client is back, the next node waits this long, as an
/// operator's health check would.
const SETTLE: Duration = Duration::from_secs(1);

/// What one client went through.
struct Timeline {
    /// Each time without a session, in ms.
    gaps: Vec<f64>,
    /// Whether a `loginFailed` or `kicked` event arrived.
    failed: bool,
    /// Its status at the end.
    status: Status,
}

/// `rolling`: see the module docs and [`RollingArgs`].
pub async fn run(args: &RollingArgs) -> Result<(), String> {
    let bin = &args.server.bin;
    let url = &args.database_url;
    let sessions = args.sessions;
    let stop = args.stop;
    let down = Duration::from_millis(args.down_ms);
    let deadline = Duration::from_secs(args.deadline_s);
    let login_concurrency = args.login_concurrency;
    let extra = args.server.extra();

    let mut nodes = Vec::new();
    for _ in 0..2 {
        let p = server::start(bin, &server::imlogin_args_url("127.0.0.1:0", url, &extra)).await?;
        nodes.push(p);
    }
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    let accounts = create_accounts(&addrs[0], sessions.div_ceil(CLIENT_TYPES.len()), 8).await?;

    eprintln!("rolling: logging in {sessions} native clients through the LBS of two nodes");
    let addrs_for_clients = addrs.clone();
    let clients = clients::log_in_all(sessions, login_concurrency, accounts, move |i| {
        let lbs = format!("http://{}/lbs", addrs_for_clients[i % 2]);
        let fallback = format!("ws://{}/link", addrs_for_clients[(i + 1) % 2]);
        NativeClient::spawn_with_lbs(
            clients::config("rolling", i),
            &lbs,
            &fallback,
            0x0011_0000 + i as u64,
        )
    })
    .await;
    let logged_in = clients.len();
    eprintln!("rolling: {logged_in} logged in; restarting node A, then node B");

    let start = Instant::now();
    let ms = move || start.elapsed().as_secs_f64() * 1000.0;
    let in_session = Arc::new(AtomicUsize::new(logged_in));
    // When the last client to come back did (f64 bits, ms).
    let all_back_at = Arc::new(AtomicU64::new(0));
    let over = Arc::new(AtomicBool::new(false));
    let give_up = tokio::time::Instant::now() + deadline * 3;
    let mut watchers = Vec::with_capacity(logged_in);
    for mut c in clients {
        c.drain_events();
        let (in_session, all_back_at, over) = (
            Arc::clone(&in_session),
            Arc::clone(&all_back_at),
            Arc::clone(&over),
        );
        watchers.push(tokio::spawn(async move {
            let mut t = Timeline {
                gaps: Vec::new(),
                failed: false,
                status: Status::LoggedIn,
            };
            let mut lost_at: Option<f64> = None;
            while !over.load(Ordering::Relaxed) && tokio::time::Instant::now() < give_up {
                match c.next_event(POLL).await {
                    Some(Event::Status(Status::LoggedIn)) => {
                        if let Some(at) = lost_at.take() {
                            let now = ms();
                            t.gaps.push(now - at);
                            if in_session.fetch_add(1, Ordering::SeqCst) + 1 == logged_in {
                                all_back_at.store(now.to_bits(), Ordering::SeqCst);
                            }
                        }
                    }
                    Some(Event::Status(_)) if lost_at.is_none() => {
                        lost_at = Some(ms());
                        in_session.fetch_sub(1, Ordering::SeqCst);
                    }
                    Some(Event::LoginFailed(_) | Event::Kicked { .. }) => t.failed = true,
                    _ => {}
                }
            }
            t.status = c.status();
            t
        }));
    }

    let mut steps = Vec::new();
    for (name, i) in [("A", 0), ("B", 1)] {
        let stopped_at = ms();
        let took = restart::take_down(&mut nodes[i], stop).await?;
        let node_args = server::imlogin_args_url(&addrs[i], url, &extra);
        nodes[i] = restart::start_after(bin, &node_args, down).await?;
        let up_at = ms();
        eprintln!(
            "rolling: node {name} down after {:.0} ms, listening again at {up_at:.0} ms",
            took.as_secs_f64() * 1000.0
        );
        // Every client logged in again (through either node), bounded.
        let until = Instant::now() + deadline;
        while in_session.load(Ordering::SeqCst) < logged_in && Instant::now() < until {
            tokio::time::sleep(POLL).await;
        }
        let back_at = f64::from_bits(all_back_at.load(Ordering::SeqCst));
        let all_back = (in_session.load(Ordering::SeqCst) == logged_in && back_at > stopped_at)
            .then_some(back_at);
        steps.push(json!({
            "node": name,
            "stoppedAtMs": stopped_at,
            "stopMs": took.as_secs_f64() * 1000.0,
            "upAtMs": up_at,
            "allBackAtMs": all_back,
        }));
        tokio::time::sleep(SETTLE).await;
    }
    over.store(true, Ordering::Relaxed);

    let mut timelines = Vec::with_capacity(logged_in);
    for w in watchers {
        if let Ok(t) = w.await {
            timelines.push(t);
        }
    }
    for mut n in nodes {
        let _ = server::terminate(&mut n, Duration::from_secs(15)).await;
    }

    let mut gaps: Vec<f64> = timelines
        .iter()
        .flat_map(|t| t.gaps.iter().copied())
        .collect();
    let mut per_client: Vec<f64> = timelines.iter().map(|t| t.gaps.iter().sum()).collect();
    let out = json!({
        "sessions": sessions,
        "loggedIn": logged_in,
        "stop": stop.name(),
        "downForMs": down.as_secs_f64() * 1000.0,
        "steps": steps,
        "gapMs": summary(&mut gaps),
        "perClientMs": summary(&mut per_client),
        "clientsThatLostTheirSession": timelines.iter().filter(|t| !t.gaps.is_empty()).count(),
        "notBack": timelines.iter().filter(|t| t.status != Status::LoggedIn).count(),
        "endedLoggedOut": timelines.iter().filter(|t| t.status == Status::LoggedOut).count(),
        "failedEvents": timelines.iter().filter(|t| t.failed).count(),
        "serverArgs": extra,
    });
    println!("{out}");
    Ok(())
}
