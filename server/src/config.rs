//! The server's configuration: command-line flags, each with an environment
//! fallback (clap derive).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::secret::Secret;

/// Everything the server needs to start; see `imlogin-server --help`.
///
/// Tests build one with [`Config::parse_from`], e.g.
/// `Config::parse_from(["imlogin-server", "--bind", "127.0.0.1:0"])`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "imlogin-server",
    version,
    about = "imlogin reference server: link login over WebSocket, NIM-compatible server API",
    long_about = None
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the real one is
    /// printed as `listening on http://ADDR`).
    #[arg(long, env = "IMLOGIN_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Database URL: `sqlite://PATH` (the file is created on first start),
    /// `sqlite::memory:`, or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`
    /// (`postgresql://` too; the database must exist, its tables are
    /// created on first start; a password may also come from `PGPASSWORD`
    /// or `~/.pgpass`). Several servers may share one PostgreSQL database.
    #[arg(
        long,
        env = "IMLOGIN_DATABASE_URL",
        default_value = "sqlite://imlogin.db"
    )]
    pub database_url: String,

    /// How long a database statement waits for a lock held by another
    /// connection before failing (the request then gets a retryable 500).
    #[arg(long, env = "IMLOGIN_DB_BUSY_TIMEOUT_MS", default_value_t = 10_000)]
    pub db_busy_timeout_ms: u64,

    /// The app's AppKey. Without it (and an AppSecret) a demo pair is
    /// generated on first start, stored in the database and printed.
    #[arg(long, env = "IMLOGIN_APP_KEY")]
    pub app_key: Option<String>,

    /// The app's AppSecret, used to verify the server API's CheckSum. As a
    /// flag it shows in the process list (`ps`, /proc/PID/cmdline) to every
    /// user of the machine, and as an environment variable in
    /// /proc/PID/environ to the same user and root: prefer
    /// --app-secret-file.
    #[arg(
        long,
        env = "IMLOGIN_APP_SECRET",
        requires = "app_key",
        conflicts_with = "app_secret_file",
        hide_env_values = true
    )]
    pub app_secret: Option<Secret>,

    /// A file holding the app's AppSecret (its first line; a trailing
    /// newline is ignored), e.g. a systemd credential or a mounted
    /// secret. Read once at start.
    #[arg(long, env = "IMLOGIN_APP_SECRET_FILE", requires = "app_key")]
    pub app_secret_file: Option<PathBuf>,

    /// Public link URL announced by `/lbs` (repeatable, or comma-separated
    /// in the environment). Default: the public URL with `ws`/`wss` and path `/link`.
    #[arg(long = "link-url", env = "IMLOGIN_LINK_URL", value_delimiter = ',')]
    pub link_urls: Vec<String>,

    /// The server's public origin, e.g. `https://im.example.com`; `/link`
    /// accepts browser handshakes from it. Default: `http://` + the bound
    /// address.
    #[arg(long, env = "IMLOGIN_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Heartbeat interval suggested to clients in `loginOk`, in ms; the
    /// server also sends WebSocket pings at this interval and drops a
    /// client silent for two of them.
    #[arg(long, env = "IMLOGIN_HEARTBEAT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub heartbeat_ms: u64,

    /// How long a device-bound session's resume ticket lives after it was
    /// issued or last used, in days (docs/protocol.md, "Device-bound
    /// sessions"); every resume starts it again.
    #[arg(long, env = "IMLOGIN_TICKET_TTL_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub ticket_ttl_days: u32,

    /// Live sessions allowed per account and clientType.
    #[arg(long, env = "IMLOGIN_MAX_SESSIONS", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_sessions: u32,

    /// Extra origin allowed to open `/link` from a browser (repeatable, or
    /// comma-separated in the environment); `*` allows every origin.
    /// Handshakes without an Origin header (non-browser clients) are always
    /// allowed.
    #[arg(
        long = "allow-origin",
        env = "IMLOGIN_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    pub allow_origins: Vec<String>,

    /// Abuse limit: link login attempts per account per minute (a token
    /// bucket of this size refilling over a minute); beyond it a login gets
    /// `loginErr` 416 with `retryAfterMs` and close 1013.
    #[arg(long, env = "IMLOGIN_LOGIN_RATE_PER_ACCOUNT", default_value_t = 600,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_rate_per_account: u32,

    /// Abuse limit: link login attempts per client IP per minute (token
    /// bucket, as above; 416 and close 1013 beyond it).
    #[arg(long, env = "IMLOGIN_LOGIN_RATE_PER_IP", default_value_t = 6_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_rate_per_ip: u32,

    /// Abuse limit: open link sockets per client IP, logged in or not; a
    /// login on a socket beyond it gets 416 (retry after 5 s) and close 1013.
    #[arg(long, env = "IMLOGIN_MAX_SESSIONS_PER_IP", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions_per_ip: u32,

    /// Abuse limit: correctly signed server API calls per AppKey per minute
    /// (token bucket); beyond it `{"code":416}`.
    #[arg(long, env = "IMLOGIN_API_RATE_PER_APP_KEY", default_value_t = 60_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_per_app_key: u32,

    /// Directory served at `/` (the demo page, `www/`). HTML pages get a
    /// Content-Security-Policy (see the README).
    #[arg(long, env = "IMLOGIN_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Directory served at `/pkg/` (the built npm package, `pkg/`, which the
    /// demo page imports as `./pkg/imlogin.js`).
    #[arg(long, env = "IMLOGIN_PKG_DIR")]
    pub pkg_dir: Option<PathBuf>,

    /// Enable the demo app server: `/app/*` (sign-up and sign-in with a
    /// password, IM accounts created on first use through the server API).
    /// Anyone can register: for demos and tests, not production.
    #[arg(long, env = "IMLOGIN_DEMO_APP")]
    pub demo_app: bool,

    /// Serve `/metrics` (Prometheus text format) on this address, e.g.
    /// `127.0.0.1:9100`; off when not given. The metrics are never served
    /// on --bind. They carry no accid, token or IP address.
    #[arg(long, env = "IMLOGIN_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Log format on stderr: `text` (human-readable) or `json` (one JSON
    /// object per line). The level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "IMLOGIN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// A PEM file with the certificate chain for serving https and wss on
    /// --bind (with --tls-key); the public URL then defaults to https.
    /// Without it the server speaks plain http (put a TLS proxy in front).
    #[arg(long, env = "IMLOGIN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM file with the private key of --tls-cert (PKCS#8, PKCS#1 or
    /// SEC1).
    #[arg(long, env = "IMLOGIN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Enable the `/_test/*` endpoints (no authentication, permissive
    /// CORS). Never in production.
    #[arg(long, env = "IMLOGIN_TEST_HOOKS")]
    pub test_hooks: bool,
}

/// How the binary writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, the
    /// event's fields, `message`).
    Json,
}

/// The `scheme://host[:port]` part of a URL, lower case, or `None` when
/// `url` has no `scheme://`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if scheme.is_empty() || host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origin_strips_path_and_lowercases() {
        assert_eq!(
            origin_of("HTTPS://Im.Example.com:8443/x?y").as_deref(),
            Some("https://im.example.com:8443")
        );
        assert_eq!(origin_of("nope"), None);
    }
}
