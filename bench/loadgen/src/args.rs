//! The command line (clap derive): one subcommand per benchmark step, each
//! flag with its default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::restart::Stop;

/// The native half of `npm run bench` (bench/README.md). Each subcommand
/// prints one JSON object on stdout; progress goes to stderr.
#[derive(Debug, Parser)]
#[command(name = "imlogin-loadgen", version)]
pub struct Cli {
    /// The benchmark step.
    #[command(subcommand)]
    pub command: Command,
}

/// The benchmark steps.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Login throughput against the accept + echo baseline of the same run,
    /// then sessions held while ramping to `--sessions`, with the server's
    /// memory.
    Capacity(CapacityArgs),
    /// Logins per second and the echo baseline, interleaved round by round,
    /// for one SQLite node, one PostgreSQL node and two PostgreSQL nodes;
    /// then the latency of a kick across nodes against one within a node.
    Cluster(ClusterArgs),
    /// Native clients logged in, the server restarted (gracefully, or
    /// killed and kept down for a while), arrivals counted per 100 ms until
    /// every client is back.
    Storm(StormArgs),
    /// Two nodes on one PostgreSQL database behind the LBS, restarted one
    /// after the other; each client's time without a session.
    Rolling(RollingArgs),
    /// Logins per second against a server that is already running (for
    /// profiling it), with the server's CPU time per login when `--pid` is
    /// given.
    Logins(LoginsArgs),
    /// The baseline server: a bare tokio-tungstenite accept + echo.
    EchoServer(EchoArgs),
    /// Internal: holds sessions for `capacity` (one process cannot hold
    /// 20 000 sockets under the 20 000-fd limit).
    Hold(HoldArgs),
    /// The server's CPU time per login with a token, per binding login
    /// (token + deviceKey) and per resume (ticket + signature), the three
    /// interleaved round by round against one server.
    Binding(BindingArgs),
}

/// What a throughput login sends (docs/protocol.md, "Device-bound
/// sessions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Credential {
    /// A manual login with the token (the default).
    Token,
    /// A manual login with the token and a `deviceKey` to bind: the server
    /// issues a ticket every time.
    Bind,
    /// An auto login with a ticket bound beforehand, a fresh timestamp and
    /// nonce and the device key's signature (made by the load generator).
    Resume,
}

/// Whether native clients bind a device key and resume with its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceBinding {
    /// Token logins and token reconnects (the default).
    Off,
    /// Binding logins, and reconnects that resume with the ticket.
    On,
}

/// `binding`.
#[derive(Debug, Args)]
pub struct BindingArgs {
    #[command(flatten)]
    pub server: Server,
    #[command(flatten)]
    pub load: Load,
    /// Rounds of (token, bind, resume); each ratio is the median of the
    /// rounds' ratios.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// How a login-throughput run is shaped.
#[derive(Debug, Clone, Copy, Args)]
pub struct Load {
    /// Seconds each throughput run lasts.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Connections in flight.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Loopback source addresses the connections rotate over (127.0.0.2 …).
    #[arg(long, default_value_t = 16)]
    pub sources: usize,
}

/// The server under test and where its files go.
#[derive(Debug, Clone, Args)]
pub struct Server {
    /// The imlogin-server binary.
    #[arg(long = "server")]
    pub bin: PathBuf,
    /// Directory for the SQLite databases.
    #[arg(long, default_value = "/tmp")]
    pub dir: PathBuf,
    /// Extra server flags, space-separated (e.g. raised abuse limits).
    #[arg(long = "server-args", default_value = "", allow_hyphen_values = true)]
    pub server_args: String,
}

impl Server {
    /// The extra server flags, one per element.
    pub fn extra(&self) -> Vec<String> {
        self.server_args
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// `capacity`.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub server: Server,
    #[command(flatten)]
    pub load: Load,
    /// Sessions to hold at the end.
    #[arg(long, default_value_t = 20_000)]
    pub sessions: usize,
    /// Worker processes that hold them.
    #[arg(long, default_value_t = 2)]
    pub hold_workers: usize,
    /// What the throughput logins send.
    #[arg(long, value_enum, default_value_t = Credential::Token)]
    pub credential: Credential,
}

/// `cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub server: Server,
    #[command(flatten)]
    pub load: Load,
    /// An empty PostgreSQL database for the nodes.
    #[arg(long)]
    pub database_url: String,
    /// Rounds of (echo, SQLite, one PostgreSQL node, two nodes); each
    /// figure is the median of its rounds, each ratio the median of the
    /// rounds' ratios.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Kick trials each way.
    #[arg(long, default_value_t = 100)]
    pub trials: usize,
}

/// Whether the clients' reconnect delays are jittered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Jitter {
    /// Full jitter (the default of the login machine).
    On,
    /// Every delay exactly its ceiling (only for this comparison).
    Off,
}

/// `storm`.
#[derive(Debug, Args)]
pub struct StormArgs {
    #[command(flatten)]
    pub server: Server,
    /// Native clients.
    #[arg(long, default_value_t = 10_000)]
    pub sessions: usize,
    /// Reconnect jitter.
    #[arg(long, value_enum, default_value_t = Jitter::On)]
    pub jitter: Jitter,
    /// Seconds to wait for every client to be back.
    #[arg(long = "deadline-s", default_value_t = 90)]
    pub deadline_s: u64,
    /// First logins in flight.
    #[arg(long, default_value_t = 200)]
    pub login_concurrency: usize,
    /// How the server goes down: SIGTERM (close 1012) or SIGKILL (a crash).
    #[arg(long, value_enum, default_value_t = Stop::Term)]
    pub stop: Stop,
    /// Milliseconds the server stays down once it has exited.
    #[arg(long = "down-ms", default_value_t = 0)]
    pub down_ms: u64,
    /// Device-bound sessions: the clients reconnect with resume tickets.
    #[arg(long = "device-binding", value_enum, default_value_t = DeviceBinding::Off)]
    pub device_binding: DeviceBinding,
}

/// `rolling`.
#[derive(Debug, Args)]
pub struct RollingArgs {
    #[command(flatten)]
    pub server: Server,
    /// An empty PostgreSQL database for the two nodes.
    #[arg(long)]
    pub database_url: String,
    /// Native clients, half finding their link through each node's LBS.
    #[arg(long, default_value_t = 1_000)]
    pub sessions: usize,
    /// How each node goes down: SIGTERM (close 1012) or SIGKILL (a crash).
    #[arg(long, value_enum, default_value_t = Stop::Term)]
    pub stop: Stop,
    /// Milliseconds each node stays down once it has exited.
    #[arg(long = "down-ms", default_value_t = 2_000)]
    pub down_ms: u64,
    /// Seconds, per node, for every client to be back.
    #[arg(long = "deadline-s", default_value_t = 60)]
    pub deadline_s: u64,
    /// First logins in flight.
    #[arg(long, default_value_t = 200)]
    pub login_concurrency: usize,
}

/// `logins`.
#[derive(Debug, Args)]
pub struct LoginsArgs {
    /// The running server (`host:port`, test hooks on).
    #[arg(long)]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub load: Load,
    /// The server's process id, to read its CPU time from `/proc`.
    #[arg(long)]
    pub pid: Option<u32>,
    /// What the logins send.
    #[arg(long, value_enum, default_value_t = Credential::Token)]
    pub credential: Credential,
}

/// `echo-server`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
}

/// `hold`.
#[derive(Debug, Args)]
pub struct HoldArgs {
    /// The server.
    #[arg(long)]
    pub addr: SocketAddr,
    /// A file of `accid token` lines.
    #[arg(long)]
    pub accounts: PathBuf,
    /// The first session (five per account, one per clientType).
    #[arg(long, default_value_t = 0)]
    pub from: usize,
    /// How many sessions.
    #[arg(long, default_value_t = 0)]
    pub count: usize,
    /// Loopback source addresses.
    #[arg(long, default_value_t = 16)]
    pub sources: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_sh_flags_parse() {
        let cli = Cli::try_parse_from([
            "imlogin-loadgen",
            "cluster",
            "--server",
            "bin",
            "--database-url",
            "postgres://x/y",
            "--server-args",
            "--max-sessions-per-ip 10 --login-rate-per-ip 5",
        ])
        .unwrap();
        let Command::Cluster(a) = cli.command else {
            panic!("cluster")
        };
        assert_eq!(a.server.extra().len(), 4);
        assert_eq!(a.rounds, 3);
        assert!(Cli::try_parse_from([
            "imlogin-loadgen",
            "storm",
            "--server",
            "b",
            "--jitter",
            "off",
            "--stop",
            "kill",
            "--down-ms",
            "3000"
        ])
        .is_ok());
        let cli = Cli::try_parse_from([
            "imlogin-loadgen",
            "rolling",
            "--server",
            "b",
            "--database-url",
            "postgres://x/y",
            "--stop",
            "kill",
        ])
        .unwrap();
        let Command::Rolling(a) = cli.command else {
            panic!("rolling")
        };
        assert_eq!((a.stop, a.down_ms, a.sessions), (Stop::Kill, 2_000, 1_000));
        assert!(Cli::try_parse_from(["imlogin-loadgen", "capacity", "--seconds", "x"]).is_err());
    }
}
