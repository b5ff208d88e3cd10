//! The server's cost of device-bound sessions: its CPU time per login
//! with a token, per binding login (token + `deviceKey`: a ticket issued
//! and stored) and per resume (ticket + signature: a ticket read, an ECDSA
//! verification, a nonce recorded, the ticket's lifetime renewed), the
//! three measured in turn, round after round, against one server, so that
//! the ratios compare runs of the same machine at the same time.

use serde_json::json;

use crate::args::{BindingArgs, Credential};
use crate::capacity::{with_server_cpu, Logins, Rate};
use crate::server;

/// `binding`: see [`BindingArgs`].
pub async fn run(args: &BindingArgs) -> Result<(), String> {
    let extra = args.server.extra();
    let db = args
        .server
        .dir
        .join(format!("imlogin-bench-binding-{}.db", std::process::id()));
    server::remove_db(&db);
    let mut srv = server::start(
        &args.server.bin,
        &server::imlogin_args("127.0.0.1:0", &db, &extra),
    )
    .await?;
    let pid = srv.child.id().ok_or("server exited")?;
    let modes = [Credential::Token, Credential::Bind, Credential::Resume];
    let mut rounds: Vec<[Rate; 3]> = Vec::new();
    for round in 0..args.rounds.max(1) {
        let mut rates: Vec<Rate> = Vec::new();
        for mode in modes {
            eprintln!(
                "binding: round {} of {}, {mode:?} logins for {} s",
                round + 1,
                args.rounds,
                args.load.seconds
            );
            // Accounts and bindings are made before the measured run.
            let logins = Logins::prepare(&srv.addr, &args.load, mode).await?;
            rates.push(with_server_cpu(&[pid], async { Ok(logins.run(&args.load).await) }).await?);
        }
        let [token, bind, resume]: [Rate; 3] =
            rates.try_into().map_err(|_| "three runs per round")?;
        rounds.push([token, bind, resume]);
    }
    let _ = server::terminate(&mut srv, std::time::Duration::from_secs(15)).await;
    server::remove_db(&db);

    let cpu = |r: &Rate| r.server_cpu_us_per_op().unwrap_or(f64::NAN);
    let ratio = |i: usize| median(rounds.iter().map(|r| cpu(&r[i]) / cpu(&r[0])).collect());
    let rate_ratio = |i: usize| {
        median(
            rounds
                .iter()
                .map(|r| r[i].per_second() / r[0].per_second().max(1e-9))
                .collect(),
        )
    };
    let out = json!({
        "rounds": rounds.iter().map(|r| json!({
            "token": r[0].json(), "bind": r[1].json(), "resume": r[2].json(),
        })).collect::<Vec<_>>(),
        "serverCpuUsPerLogin": {
            "token": median(rounds.iter().map(|r| cpu(&r[0])).collect()),
            "bind": median(rounds.iter().map(|r| cpu(&r[1])).collect()),
            "resume": median(rounds.iter().map(|r| cpu(&r[2])).collect()),
        },
        "bindToTokenCpuRatio": ratio(1),
        "resumeToTokenCpuRatio": ratio(2),
        "bindToTokenRateRatio": rate_ratio(1),
        "resumeToTokenRateRatio": rate_ratio(2),
        "concurrency": args.load.concurrency,
        "serverArgs": extra,
    });
    println!("{out}");
    Ok(())
}

/// The median of `values` (NaN when empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
