//! `imlogin-loadgen`: the native half of `npm run bench` (see
//! bench/README.md and `imlogin-loadgen --help`).
//!
//! Every loop is bounded by a count or a deadline; nothing waits forever.

mod args;
mod binding;
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

use args::{Cli, Command};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Command::Capacity(a) => ("capacity", capacity::run(&a).await),
        Command::Cluster(a) => ("cluster", cluster::run(&a).await),
        Command::Storm(a) => ("storm", storm::run(&a).await),
        Command::Rolling(a) => ("rolling", rolling::run(&a).await),
        Command::Logins(a) => ("logins", capacity::logins(&a).await),
        Command::EchoServer(a) => ("echo-server", echo::serve(&a).await),
        Command::Hold(a) => ("hold", capacity::hold(&a).await),
        Command::Binding(a) => ("binding", binding::run(&a).await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imlogin-loadgen {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
