//! `imlogin-server`: parses the configuration, serves until SIGTERM or
//! Ctrl-C, then closes every link session with 1012 and exits.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use imlogin_server::config::LogFormat;
use imlogin_server::{serve, shutdown_signal, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    // Logs go to stderr: stdout carries only the `listening on` line.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
    let server = match serve(config).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return ExitCode::FAILURE;
        }
    };
    // Installed before the `listening on` line: whoever reads it may signal
    // at once.
    let stop = shutdown_signal();
    if server.generated_credentials() {
        eprintln!(
            "generated a demo app (stored in the database):\n  AppKey    {}\n  AppSecret {}",
            server.app_key(),
            server.app_secret().expose()
        );
    }
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    stop.await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
