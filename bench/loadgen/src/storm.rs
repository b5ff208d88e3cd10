//! Reconnect storm: native clients running the browser package's login
//! machine, all logged in; the server restarted (gracefully, or killed, and
//! kept down for a while); arrivals counted per 100 ms until every client
//! is back.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use imlogin::{Event, Status};
use imlogin_native::NativeClient;
use serde_json::json;

use crate::args::{DeviceBinding, Jitter, StormArgs};
use crate::clients;
use crate::http::create_accounts;
use crate::restart;
use crate::server;
use crate::ws::CLIENT_TYPES;

/// Width of one arrival bucket.
const BUCKET_MS: f64 = 100.0;

/// How often a watcher looks whether the new server is up yet.
const POLL: Duration = Duration::from_millis(50);

/// What one client saw after the restart.
struct Outcome {
    /// When it was logged in again, in ms after the restart began.
    back_ms: Option<f64>,
    /// Failed connection attempts (`reconnecting` events) on the way.
    retries: u32,
    /// When each connection attempt began (`connecting`), in ms.
    attempts: Vec<f64>,
    /// Whether a `loginFailed` or `kicked` event arrived.
    failed: bool,
    /// Its status at the end.
    status: Status,
}

/// `storm`: see [`StormArgs`].
pub async fn run(args: &StormArgs) -> Result<(), String> {
    let bin = &args.server.bin;
    let sessions = args.sessions;
    let jitter = args.jitter == Jitter::On;
    let deadline = Duration::from_secs(args.deadline_s);
    let login_concurrency = args.login_concurrency;
    let extra = args.server.extra();
    let stop = args.stop;
    let down = Duration::from_millis(args.down_ms);
    let device_binding = args.device_binding == DeviceBinding::On;

    let db = args.server.dir.join(format!(
        "imlogin-bench-storm-{}-{jitter}.db",
        std::process::id()
    ));
    let mut srv = server::start(bin, &server::imlogin_args("127.0.0.1:0", &db, &extra)).await?;
    let addr = srv.addr.clone();
    let url = format!("ws://{addr}/link");
    let accounts = create_accounts(&addr, sessions.div_ceil(CLIENT_TYPES.len()), 8).await?;

    eprintln!(
        "storm (jitter {}, device binding {}): logging in {sessions} native clients",
        if jitter { "on" } else { "off" },
        if device_binding { "on" } else { "off" }
    );
    let login_start = Instant::now();
    let clients = clients::log_in_all(sessions, login_concurrency, accounts, move |i| {
        let mut config = clients::config("storm", i);
        config.backoff_jitter = jitter;
        let options = imlogin_native::Options {
            device_binding,
            ..Default::default()
        };
        NativeClient::spawn_with_options(config, &url, 0x5eed_0000 + i as u64, options)
    })
    .await;
    let login_seconds = login_start.elapsed().as_secs_f64();
    let logged_in = clients.len();
    eprintln!("storm: {logged_in} logged in after {login_seconds:.1} s; restarting the server");

    // Watch every client from here on. A client is back at its first
    // `loggedIn` after the new server listens: a login to the old server
    // while it shuts down does not count (that session dies with it).
    let start = Instant::now();
    let up_at: Arc<OnceLock<f64>> = Arc::new(OnceLock::new());
    let give_up = tokio::time::Instant::now() + deadline;
    let mut watchers = Vec::with_capacity(logged_in);
    for mut c in clients {
        c.drain_events();
        let up_at = Arc::clone(&up_at);
        watchers.push(tokio::spawn(async move {
            let mut out = Outcome {
                back_ms: None,
                retries: 0,
                attempts: Vec::new(),
                failed: false,
                status: Status::LoggedIn,
            };
            let (mut logged_in, mut last_in) = (true, f64::NEG_INFINITY);
            loop {
                if let Some(&up) = up_at.get() {
                    if logged_in && last_in >= up {
                        out.back_ms = Some(last_in);
                        break;
                    }
                }
                let left_over = give_up.saturating_duration_since(tokio::time::Instant::now());
                if left_over.is_zero() {
                    break;
                }
                match c.next_event(left_over.min(POLL)).await {
                    None => {}
                    Some(Event::Status(Status::LoggedIn)) => {
                        logged_in = true;
                        last_in = start.elapsed().as_secs_f64() * 1000.0;
                    }
                    Some(Event::Status(s)) => {
                        logged_in = false;
                        if s == Status::Connecting {
                            out.attempts.push(start.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                    Some(Event::Reconnecting { .. }) => out.retries += 1,
                    Some(Event::LoginFailed(_) | Event::Kicked { .. }) => {
                        out.failed = true;
                        break;
                    }
                    Some(_) => {}
                }
            }
            out.status = c.status();
            out
        }));
    }

    restart::take_down(&mut srv, stop).await?;
    let down_ms = start.elapsed().as_secs_f64() * 1000.0;
    let _srv = restart::start_after(bin, &server::imlogin_args(&addr, &db, &extra), down).await?;
    let up_ms = start.elapsed().as_secs_f64() * 1000.0;
    let _ = up_at.set(up_ms);
    eprintln!("storm: server stopped after {down_ms:.0} ms, listening again at {up_ms:.0} ms");

    let mut outcomes = Vec::with_capacity(logged_in);
    for w in watchers {
        if let Ok(o) = w.await {
            outcomes.push(o);
        }
    }
    server::remove_db(&db);

    let mut arrivals: Vec<f64> = outcomes.iter().filter_map(|o| o.back_ms).collect();
    arrivals.sort_by(f64::total_cmp);
    let back = arrivals.len();
    let last = arrivals.last().copied().unwrap_or(0.0);
    let arrived = Histogram::of(&arrivals);
    let attempted = Histogram::of(
        &outcomes
            .iter()
            .flat_map(|o| o.attempts.iter().copied())
            .collect::<Vec<_>>(),
    );
    let pct = |q: f64| -> f64 {
        if arrivals.is_empty() {
            return 0.0;
        }
        arrivals[((q * (back - 1) as f64).round() as usize).min(back - 1)]
    };
    let out = json!({
        "jitter": jitter,
        "deviceBinding": device_binding,
        "stop": stop.name(),
        "downForMs": down.as_secs_f64() * 1000.0,
        "sessions": sessions,
        "loggedIn": logged_in,
        "loginSeconds": login_seconds,
        "serverDownMs": down_ms,
        "serverUpMs": up_ms,
        "back": back,
        "allBackMs": last,
        "allBackAfterUpMs": last - up_ms,
        "p50BackMs": pct(0.5),
        "p95BackMs": pct(0.95),
        "peakPerBucket": arrived.peak,
        "meanPerBucket": arrived.mean,
        "peakToMean": arrived.peak_to_mean(),
        "bucketMs": BUCKET_MS,
        "buckets": arrived.buckets,
        "attempts": attempted.total,
        "attemptPeakPerBucket": attempted.peak,
        "attemptMeanPerBucket": attempted.mean,
        "attemptPeakToMean": attempted.peak_to_mean(),
        "attemptBuckets": attempted.buckets,
        "retries": outcomes.iter().map(|o| u64::from(o.retries)).sum::<u64>(),
        "failedEvents": outcomes.iter().filter(|o| o.failed).count(),
        "endedLoggedOut": outcomes.iter().filter(|o| o.status == Status::LoggedOut).count(),
        "notBack": logged_in - back,
    });
    println!("{out}");
    Ok(())
}

/// Counts per [`BUCKET_MS`] from the restart, with the peak and the mean
/// over the buckets from the first event to the last.
struct Histogram {
    buckets: Vec<usize>,
    total: usize,
    peak: usize,
    mean: f64,
}

impl Histogram {
    fn of(times_ms: &[f64]) -> Histogram {
        let bucket = |t: f64| (t.max(0.0) / BUCKET_MS).floor() as usize;
        let (Some(first), Some(last)) = (
            times_ms.iter().copied().reduce(f64::min),
            times_ms.iter().copied().reduce(f64::max),
        ) else {
            return Histogram {
                buckets: Vec::new(),
                total: 0,
                peak: 0,
                mean: 0.0,
            };
        };
        let mut buckets = vec![0usize; bucket(last) + 1];
        for &t in times_ms {
            buckets[bucket(t)] += 1;
        }
        let active = bucket(last) - bucket(first) + 1;
        Histogram {
            peak: buckets.iter().copied().max().unwrap_or(0),
            total: times_ms.len(),
            mean: times_ms.len() as f64 / active as f64,
            buckets,
        }
    }

    fn peak_to_mean(&self) -> f64 {
        if self.mean > 0.0 {
            self.peak as f64 / self.mean
        } else {
            0.0
        }
    }
}
