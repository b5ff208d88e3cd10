//! A rough logins/s figure (ignored by default; run with
//! `cargo test -p imlogin-server --release --test throughput -- --ignored --nocapture`).

mod common;

use std::time::Instant;

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn logins_per_second() {
    let s = std::sync::Arc::new(TestServer::start(&["--max-sessions", "1000"]).await);
    let token = s.create("bench").await;
    let per_task = 250;
    let tasks = 8;
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let s = s.clone();
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                let device = format!("d{t}-{i}");
                let (l, _) = s.login_ok("bench", &token, &device, "manual").await;
                drop(l);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let n = per_task * tasks;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} logins (connect + login + loginOk) in {secs:.2} s: {:.0} logins/s",
        f64::from(n) / secs
    );
}
