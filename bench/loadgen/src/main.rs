//! `imlogin-loadgen`: the native half of `npm run bench` (see bench/README.md).
//!
//! Subcommands, each printing one JSON object on stdout (progress goes to
//! stderr):
//!
//! - `capacity --server BIN`: login throughput (fresh connection + login)
//!   against a bare WebSocket accept+echo baseline measured in the same run,
//!   then sessions held while ramping to `--sessions`, with the server's RSS.
//! - `storm --server BIN`: `--sessions` native clients (the browser
//!   package's own login machine) logged in; the server restarted
//!   (`--stop term`: SIGTERM → 1012, or `--stop kill`: SIGKILL; kept down
//!   for `--down-ms`; started on the same port and database); arrivals per
//!   100 ms until every client is back.
//! - `cluster --server BIN --database-url postgres://…`: logins per second
//!   with one SQLite node, one PostgreSQL node and two PostgreSQL nodes,
//!   then the latency of a kick across nodes against one within a node.
//! - `rolling --server BIN --database-url postgres://…`: two nodes behind
//!   the LBS restarted one after the other; each client's time without a
//!   session.
//! - `echo-server --bind ADDR`: the baseline server (tokio-tungstenite
//!   accept + echo), run as its own process like the real server.
//! - `hold`: an internal worker that holds sessions for `capacity` (one
//!   process cannot hold 20 000 sockets under the 20 000-fd hard limit).
//!
//! Every loop is bounded by a count or a deadline; nothing waits forever.

mod args;
mod capacity;
mod clients;
mod cluster;
mod echo;
mod http;
mod restart;
mod rolling;
mod server;
mod storm;
mod ws;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(command) = argv.next() else {
        eprintln!(
            "usage: imlogin-loadgen capacity|cluster|storm|rolling|echo-server|hold [--flag value]..."
        );
        return ExitCode::from(2);
    };
    let args = match args::Args::parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("imlogin-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "capacity" => capacity::run(&args).await,
        "cluster" => cluster::run(&args).await,
        "storm" => storm::run(&args).await,
        "rolling" => rolling::run(&args).await,
        "echo-server" => echo::serve(&args).await,
        "hold" => capacity::hold(&args).await,
        other => Err(format!("unknown subcommand {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imlogin-loadgen {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
