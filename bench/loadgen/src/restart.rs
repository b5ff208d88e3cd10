//! How a benchmark takes a server down for a restart, and how long it keeps
//! it down: the `--stop term|kill` and `--down-ms` flags of `storm` and
//! `rolling`.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::ValueEnum;

use crate::server::{self, Process};

/// How long a server may take to exit after SIGTERM before it is killed
/// (and the step fails).
const TERM_DEADLINE: Duration = Duration::from_secs(20);

/// How the server goes down.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Stop {
    /// SIGTERM: a graceful shutdown, every session closed with 1012.
    Term,
    /// SIGKILL: a crash; the clients see their connections reset (1006).
    Kill,
}

impl Stop {
    /// The flag's spelling, for the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Term => "term",
            Stop::Kill => "kill",
        }
    }
}

/// Stops `p` the way `how` says and waits until it has exited; returns how
/// long that took.
pub async fn take_down(p: &mut Process, how: Stop) -> Result<Duration, String> {
    let began = Instant::now();
    match how {
        Stop::Term => server::terminate(p, TERM_DEADLINE).await?,
        Stop::Kill => p.child.kill().await.map_err(|e| format!("SIGKILL: {e}"))?,
    }
    Ok(began.elapsed())
}

/// Restarts `bin args…` after `down` has passed since the old process
/// exited, on the same address (the arguments bind it).
pub async fn start_after(bin: &Path, args: &[String], down: Duration) -> Result<Process, String> {
    tokio::time::sleep(down).await;
    server::start(bin, args).await
}
