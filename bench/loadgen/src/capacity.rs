//! Server capacity: login throughput (fresh connection + login) against a
//! bare accept+echo WebSocket baseline in the same run, then sessions held
//! while ramping up, with the server's resident memory.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use std::sync::OnceLock;

use imlogin::device::ResumeFields;
use imlogin::protocol::{decode_server_frame, ClientFrame, LoginMode, ServerFrame};
use imlogin_native::DeviceKey;

use crate::args::{CapacityArgs, Credential, HoldArgs, Load, LoginsArgs};
use crate::http::{create_accounts, Account};
use crate::server::{self, Process};
use crate::ws::{self, CLIENT_TYPES};

/// One connection attempt (connect, handshake, one round trip) may take
/// this long before it counts as failed.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(5);

/// Accounts each throughput worker rotates through, so that a login never
/// meets the previous login's session still closing (which would turn it
/// into a `sameDevice` replacement and measure kicks instead).
const ACCOUNTS_PER_WORKER: usize = 8;

/// Throughput of one phase.
#[derive(Debug, Default)]
pub(crate) struct Rate {
    pub(crate) ok: usize,
    pub(crate) failed: usize,
    pub(crate) seconds: f64,
    /// CPU time the server process(es) used meanwhile, in ms.
    pub(crate) server_cpu_ms: Option<f64>,
}

impl Rate {
    pub(crate) fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// The server's CPU time per successful attempt, in µs: a figure the
    /// other load on the machine hardly moves.
    pub(crate) fn server_cpu_us_per_op(&self) -> Option<f64> {
        self.server_cpu_ms
            .filter(|_| self.ok > 0)
            .map(|ms| ms * 1000.0 / self.ok as f64)
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        json!({ "ok": self.ok, "failed": self.failed, "seconds": self.seconds,
                "perSecond": self.per_second(),
                "serverCpuUsPerOp": self.server_cpu_us_per_op() })
    }
}

/// Runs `run` and notes the CPU time processes `pids` used meanwhile.
pub(crate) async fn with_server_cpu(
    pids: &[u32],
    run: impl std::future::Future<Output = Result<Rate, String>>,
) -> Result<Rate, String> {
    let cpu = || pids.iter().map(|&p| server::cpu_ms(p)).sum::<Option<f64>>();
    let before = cpu();
    let mut rate = run.await?;
    rate.server_cpu_ms = cpu().zip(before).map(|(after, before)| after - before);
    Ok(rate)
}

/// `capacity`: see [`CapacityArgs`].
pub async fn run(args: &CapacityArgs) -> Result<(), String> {
    let Load {
        seconds,
        concurrency,
        sources,
    } = args.load;
    let (sessions, dir) = (args.sessions, args.server.dir.as_path());
    let extra = args.server.extra();

    // 1. The baseline: the same connection pattern against an echo server.
    eprintln!("capacity: echo baseline for {seconds} s");
    let echo_rate = echo_throughput(&args.load).await?;

    // 2. Logins per second against the real server.
    let db = dir.join(format!("imlogin-bench-capacity-{}.db", std::process::id()));
    server::remove_db(&db);
    let mut srv = server::start(
        &args.server.bin,
        &server::imlogin_args("127.0.0.1:0", &db, &extra),
    )
    .await?;
    eprintln!("capacity: logins for {seconds} s");
    let pid = srv.child.id().ok_or("server exited")?;
    let login_rate = with_server_cpu(
        &[pid],
        login_throughput(&srv.addr, &args.load, args.credential),
    )
    .await?;

    // 3. Sessions held, ramping to `sessions`.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server::rss_bytes(pid).unwrap_or(0);
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let hold = hold_sessions(&me, &srv, sessions, sources, args.hold_workers, dir).await?;
    let rss_after = server::rss_bytes(pid).unwrap_or(0);
    let _ = server::terminate(&mut srv, Duration::from_secs(15)).await;
    server::remove_db(&db);

    let ratio = login_rate.per_second() / echo_rate.per_second().max(1e-9);
    let out = json!({
        "echo": echo_rate.json(),
        "login": login_rate.json(),
        "loginToEchoRatio": ratio,
        "concurrency": concurrency,
        "sources": sources,
        "credential": format!("{:?}", args.credential).to_lowercase(),
        "hold": {
            "target": sessions,
            "held": hold.held,
            "failed": hold.failed,
            "rampSeconds": hold.ramp_seconds,
            "rssBeforeBytes": rss_before,
            "rssAfterBytes": rss_after,
            "rssPerSessionBytes": if hold.held > 0 { (rss_after.saturating_sub(rss_before)) as f64 / hold.held as f64 } else { 0.0 },
            "samples": hold.samples,
            "fdLimit": fd_limit(),
        },
        "serverArgs": extra,
    });
    println!("{out}");
    Ok(())
}

/// Round trips per second against a bare accept + echo server started
/// for the run: the same connection pattern and frame as a login.
pub(crate) async fn echo_throughput(load: &Load) -> Result<Rate, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let echo = server::start(&me, &["echo-server".to_owned()]).await?;
    let echo_addr: SocketAddr = echo.addr.parse().map_err(|_| "bad echo address")?;
    let pid = echo.child.id().ok_or("echo server exited")?;
    let sample = ws::login_frame(
        "bench_account_0000",
        "x".repeat(32).as_str(),
        CLIENT_TYPES[0],
        "lg-0",
    );
    let run = throughput(
        echo_addr,
        "/",
        load.seconds,
        load.concurrency,
        load.sources,
        move |_, _| (sample.clone(), None),
    );
    with_server_cpu(&[pid], async { Ok(run.await) }).await
}

/// `logins`: see [`LoginsArgs`]. Prints the rate, and with `--pid` the
/// server's CPU time per login beside this process's own.
pub async fn logins(args: &LoginsArgs) -> Result<(), String> {
    let me = std::process::id();
    let prepared = Logins::prepare(&args.addr.to_string(), &args.load, args.credential).await?;
    let before = (args.pid.and_then(server::cpu_ms), server::cpu_ms(me));
    let rate = prepared.run(&args.load).await;
    let after = (args.pid.and_then(server::cpu_ms), server::cpu_ms(me));
    let per_login = |b: Option<f64>, a: Option<f64>| match (b, a) {
        (Some(b), Some(a)) if rate.ok > 0 => Some((a - b) * 1000.0 / rate.ok as f64),
        _ => None,
    };
    let out = json!({
        "login": rate.json(),
        "serverCpuUsPerLogin": per_login(before.0, after.0),
        "loadgenCpuUsPerLogin": per_login(before.1, after.1),
        "credential": format!("{:?}", args.credential).to_lowercase(),
    });
    println!("{out}");
    Ok(())
}

/// This process's soft limit on open files (the server inherits it).
fn fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Logins per second against the imlogin-server at `addr` (`host:port`):
/// see [`Logins`].
pub(crate) async fn login_throughput(
    addr: &str,
    load: &Load,
    credential: Credential,
) -> Result<Rate, String> {
    Ok(Logins::prepare(addr, load, credential)
        .await?
        .run(load)
        .await)
}

/// A login-throughput run made ready: `concurrency` workers, each logging
/// in again and again through [`throughput`] with its own
/// [`ACCOUNTS_PER_WORKER`] fresh accounts (and devices) in turn, sending
/// what `credential` says. For resumes every account's device has bound
/// its key beforehand (not part of the run).
pub(crate) struct Logins {
    target: SocketAddr,
    accounts: Vec<Account>,
    credential: Credential,
    /// One device key per account and device (bind and resume).
    keys: Vec<DeviceKey>,
    /// The ticket each slot's device was bound with (resume).
    tickets: Vec<OnceLock<String>>,
}

impl Logins {
    /// Creates the accounts and, for resumes, binds every device.
    pub(crate) async fn prepare(
        addr: &str,
        load: &Load,
        credential: Credential,
    ) -> Result<Logins, String> {
        let target: SocketAddr = addr.parse().map_err(|_| "bad server address")?;
        let slots = load.concurrency * ACCOUNTS_PER_WORKER;
        let accounts = create_accounts(addr, slots, 8).await?;
        let keys = match credential {
            Credential::Token => Vec::new(),
            Credential::Bind | Credential::Resume => (0..slots).map(|_| DeviceKey::new()).collect(),
        };
        let logins = Logins {
            target,
            accounts,
            credential,
            keys,
            tickets: (0..slots).map(|_| OnceLock::new()).collect(),
        };
        if credential == Credential::Resume {
            logins.bind_all(load.sources).await?;
        }
        Ok(logins)
    }

    /// The frame of slot `slot` (an account and its device), as the login
    /// machine sends it with device binding: a token login carrying the
    /// device's public key, or a resume signed by it.
    fn frame(&self, w: usize, slot: usize) -> String {
        let (accid, token) = &self.accounts[slot];
        let device = format!("lg-{w}-{}", slot % ACCOUNTS_PER_WORKER);
        let mut login = ws::login(accid, token, CLIENT_TYPES[0], &device);
        match (self.credential, self.tickets[slot].get()) {
            (Credential::Token, _) => {}
            (Credential::Resume, Some(ticket)) => {
                let fields = ResumeFields {
                    app_key: login.app_key.clone(),
                    accid: login.accid.clone(),
                    device_id: login.device_id.clone(),
                    ticket: ticket.clone(),
                    skew_ms: 0.0,
                };
                let proof = self.keys[slot].sign_resume(&fields);
                login.mode = LoginMode::Auto;
                login.token = None;
                login.ticket = Some(ticket.clone());
                login.ts = Some(proof.ts);
                login.nonce = Some(proof.nonce);
                login.sig = Some(proof.sig);
            }
            (Credential::Bind | Credential::Resume, _) => {
                login.device_key = Some(self.keys[slot].public_key().to_owned());
            }
        }
        ClientFrame::Login(login).to_json()
    }

    /// Binds every slot's device once, keeping its ticket.
    async fn bind_all(&self, sources: usize) -> Result<(), String> {
        for slot in 0..self.accounts.len() {
            let w = slot / ACCOUNTS_PER_WORKER;
            let text = self.frame(w, slot);
            let mut c = ws::connect(self.target, ws::source(slot, sources), "/link").await?;
            let reply = ws::reply_to(&mut c, text).await?;
            let _ = c.close(None).await;
            match decode_server_frame(&reply) {
                Ok(ServerFrame::LoginOk {
                    ticket: Some(ticket),
                    ..
                }) => {
                    let _ = self.tickets[slot].set(ticket.0);
                }
                _ => return Err(format!("binding login got no ticket: {reply}")),
            }
        }
        Ok(())
    }

    /// Runs the logins for `load.seconds`.
    pub(crate) async fn run(self, load: &Load) -> Rate {
        let target = self.target;
        let logins = Arc::new(self);
        throughput(
            target,
            "/link",
            load.seconds,
            load.concurrency,
            load.sources,
            move |w, n| {
                let slot = w * ACCOUNTS_PER_WORKER + n % ACCOUNTS_PER_WORKER;
                (logins.frame(w, slot), Some("loginOk"))
            },
        )
        .await
    }
}

/// Runs `concurrency` workers for `seconds`: each repeatedly opens a
/// fresh connection from a rotating source address, sends the frame that
/// `frame(worker, n)` returns, waits for the reply, and closes.
async fn throughput<F>(
    addr: SocketAddr,
    path: &'static str,
    seconds: f64,
    concurrency: usize,
    sources: usize,
    frame: F,
) -> Rate
where
    F: Fn(usize, usize) -> (String, Option<&'static str>) + Send + Sync + 'static,
{
    let frame = Arc::new(frame);
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (frame, ok, failed) = (Arc::clone(&frame), Arc::clone(&ok), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < end {
                let src = ws::source(w + n * concurrency, sources);
                let (text, expect) = frame(w, n);
                let attempt = async {
                    let mut c = ws::connect(addr, src, path).await?;
                    ws::round_trip(&mut c, text, expect).await?;
                    let _ = c.close(None).await;
                    Ok::<_, String>(())
                };
                match tokio::time::timeout(ATTEMPT_DEADLINE, attempt).await {
                    Ok(Ok(())) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                n += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Rate {
        ok: ok.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
        server_cpu_ms: None,
    }
}

/// What the hold phase achieved.
struct Hold {
    held: usize,
    failed: usize,
    ramp_seconds: f64,
    samples: Vec<serde_json::Value>,
}

/// Spreads `sessions` over `workers` child processes (`hold`), samples the
/// server's RSS while they ramp, and returns once every worker is done.
async fn hold_sessions(
    me: &std::path::Path,
    srv: &Process,
    sessions: usize,
    sources: usize,
    workers: usize,
    dir: &std::path::Path,
) -> Result<Hold, String> {
    let pid = srv.child.id().ok_or("server exited")?;
    let accounts = create_accounts(&srv.addr, sessions.div_ceil(CLIENT_TYPES.len()), 8).await?;
    let file = dir.join(format!("imlogin-bench-accounts-{}.txt", std::process::id()));
    let text: String = accounts.iter().map(|(a, t)| format!("{a} {t}\n")).collect();
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    eprintln!("capacity: ramping to {sessions} held sessions");
    let start = Instant::now();
    let per = sessions.div_ceil(workers.max(1));
    let mut children = Vec::new();
    let counts = Arc::new(std::sync::Mutex::new(vec![
        (0usize, 0usize, false);
        workers
    ]));
    for k in 0..workers {
        let from = k * per;
        let count = per.min(sessions.saturating_sub(from));
        let mut child = Command::new(me)
            .args(["hold", "--addr", &srv.addr, "--accounts"])
            .arg(&file)
            .args(["--from", &from.to_string(), "--count", &count.to_string()])
            .args(["--sources", &sources.to_string()])
            .stdout(std::process::Stdio::piped())
            .stdin(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let counts = Arc::clone(&counts);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut it = line.split_whitespace();
                let (kind, held, failed) = (it.next(), it.next(), it.next());
                if let (Some(kind), Some(h), Some(f)) = (kind, held, failed) {
                    let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
                    c[k] = (
                        h.parse().unwrap_or(0),
                        f.parse().unwrap_or(0),
                        kind == "done",
                    );
                }
            }
        });
        children.push(child);
    }
    let mut samples = Vec::new();
    // Bounded: each connection attempt has a deadline, so a worker is done
    // within sessions / in-flight × deadline; two minutes is far beyond.
    let give_up = start + Duration::from_secs(120);
    let (held, failed) = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (held, failed, all_done) = {
            let c = counts.lock().unwrap_or_else(|e| e.into_inner());
            c.iter().fold((0, 0, true), |(h, f, d), &(h2, f2, d2)| {
                (h + h2, f + f2, d && d2)
            })
        };
        samples.push(json!({ "t": start.elapsed().as_secs_f64(), "held": held,
                             "rssBytes": server::rss_bytes(pid).unwrap_or(0) }));
        if all_done || Instant::now() > give_up {
            break (held, failed);
        }
    };
    let ramp_seconds = start.elapsed().as_secs_f64();
    // Let the server settle with everything held, then read RSS once more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(children);
    let _ = std::fs::remove_file(&file);
    Ok(Hold {
        held,
        failed,
        ramp_seconds,
        samples,
    })
}

/// `hold` (internal): logs in sessions `--from`..`--from + --count` of the
/// accounts file (five per account, one per clientType) from rotating
/// source addresses, keeps them open, and reports `held N failed M` lines
/// and a final `done N M`; exits when its stdin closes (the parent is done)
/// or after two minutes.
pub async fn hold(args: &HoldArgs) -> Result<(), String> {
    let addr = args.addr;
    let accounts: Vec<Account> = std::fs::read_to_string(&args.accounts)
        .map_err(|e| e.to_string())?
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, t)| (a.to_owned(), t.to_owned())))
        .collect();
    let (from, count, sources) = (args.from, args.count, args.sources);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(128));
    let held = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let accounts = Arc::new(accounts);
    let reporter = {
        let (held, failed) = (Arc::clone(&held), Arc::clone(&failed));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                println!(
                    "held {} {}",
                    held.load(Ordering::Relaxed),
                    failed.load(Ordering::Relaxed)
                );
            }
        })
    };
    let mut tasks = Vec::with_capacity(count);
    for i in from..from + count {
        let permit = Arc::clone(&in_flight)
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (accounts, held, failed) = (
            Arc::clone(&accounts),
            Arc::clone(&held),
            Arc::clone(&failed),
        );
        tasks.push(tokio::spawn(async move {
            let Some((accid, token)) = accounts.get(i / CLIENT_TYPES.len()) else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let frame = ws::login_frame(
                accid,
                token,
                CLIENT_TYPES[i % CLIENT_TYPES.len()],
                &format!("hold-{i}"),
            );
            let attempt = async {
                let mut c = ws::connect(addr, ws::source(i, sources), "/link").await?;
                ws::round_trip(&mut c, frame, Some("loginOk")).await?;
                Ok::<_, String>(c)
            };
            let ws = match tokio::time::timeout(ATTEMPT_DEADLINE, attempt).await {
                Ok(Ok(ws)) => ws,
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            held.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            // Keep reading: tungstenite answers the server's pings.
            use futures_util::StreamExt;
            let mut ws = ws;
            let _ = tokio::time::timeout(Duration::from_secs(120), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        }));
    }
    // Wait until every attempt has either succeeded or failed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while held.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < count
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "done {} {}",
        held.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    reporter.abort();
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(120), stdin.read_line(&mut line)).await;
    drop(tasks);
    Ok(())
}
