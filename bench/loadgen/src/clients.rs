//! Many native clients (the browser package's login machine on tokio)
//! logged in at once, a bounded number of logins in flight.

use std::sync::Arc;

use imlogin::Config;
use imlogin_native::NativeClient;
use tokio::sync::Semaphore;

use crate::http::Account;
use crate::ws::{APP_KEY, CLIENT_TYPES};

/// The config of client `i`: device `{prefix}-{i}`, the clientTypes taken
/// in turn, so that each account (five clients) holds one session per type.
pub fn config(prefix: &str, i: usize) -> Config {
    let mut config = Config::new(APP_KEY, format!("{prefix}-{i}"));
    config.client_type = CLIENT_TYPES[i % CLIENT_TYPES.len()];
    config
}

/// Spawns `sessions` clients with `spawn(i)` and logs client `i` in to
/// account `i / 5`, `in_flight` logins at a time; returns those that
/// logged in.
pub async fn log_in_all<F>(
    sessions: usize,
    in_flight: usize,
    accounts: Vec<Account>,
    spawn: F,
) -> Vec<NativeClient>
where
    F: Fn(usize) -> NativeClient + Send + Sync + 'static,
{
    let gate = Arc::new(Semaphore::new(in_flight));
    let accounts = Arc::new(accounts);
    let spawn = Arc::new(spawn);
    let mut logins = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let (gate, accounts, spawn) =
            (Arc::clone(&gate), Arc::clone(&accounts), Arc::clone(&spawn));
        logins.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            let client = spawn(i);
            let (accid, token) = accounts.get(i / CLIENT_TYPES.len())?;
            // A server that paces its admissions (`--login-capacity`)
            // answers a ramp faster than it with 416: try again after its
            // retryAfterMs, as an app would.
            for _ in 0..20 {
                match client.login(accid, token, false).await {
                    Ok(()) => return Some(client),
                    Err(e) if e.retryable() => {
                        let wait = e.retry_after_ms.unwrap_or(100).min(10_000);
                        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    }
                    Err(_) => return None,
                }
            }
            None
        }));
    }
    let mut clients = Vec::with_capacity(sessions);
    for l in logins {
        if let Ok(Some(c)) = l.await {
            clients.push(c);
        }
    }
    clients
}
