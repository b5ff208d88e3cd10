//! The server binary as a child process (for kills and restarts on the same
//! address and database), with a small HTTP client for its test hooks.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{APP_KEY, APP_SECRET, DEADLINE};

pub struct Proc {
    pub child: Child,
    pub addr: String,
}

impl Proc {
    /// Starts `imlogin-server` on `bind` with the test app, test hooks, the
    /// database URL `db` (see [`super::fresh_database_url`]; a restart on
    /// the same URL finds the same data) and `extra` flags; waits for its
    /// address.
    pub async fn start(db: &str, bind: &str, extra: &[&str]) -> Proc {
        Self::spawn(db, bind, extra, "warn", Stdio::null()).await
    }

    /// Like [`Proc::start`], logging at `RUST_LOG=trace` into `log`.
    pub async fn start_traced(db: &str, extra: &[&str], log: &Path) -> Proc {
        let file = std::fs::File::create(log).expect("log file");
        Self::spawn(db, "127.0.0.1:0", extra, "trace", Stdio::from(file)).await
    }

    async fn spawn(db: &str, bind: &str, extra: &[&str], level: &str, stderr: Stdio) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imlogin-server"))
            .args([
                "--bind",
                bind,
                "--app-key",
                APP_KEY,
                "--app-secret",
                APP_SECRET,
            ])
            .arg("--test-hooks")
            .arg("--database-url")
            .arg(db)
            .args(extra)
            .env("RUST_LOG", level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("server binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .expect("server prints its address in time")
            .expect("stdout readable")
            .expect("a first line");
        let addr = line
            .strip_prefix("listening on http://")
            .expect("listening line")
            .to_owned();
        Proc { child, addr }
    }

    pub fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid()])
            .status()
            .await
            .expect("kill -TERM");
        assert!(status.success());
        let exit = tokio::time::timeout(DEADLINE * 3, self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("exit status");
        assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/link", self.addr)
    }

    pub async fn post(&self, path: &str) -> Value {
        reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// A correctly signed server API call.
    pub async fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        self.api_with_nonce(path, params, &super::fresh_nonce())
            .await
    }

    /// A correctly signed server API call with a chosen Nonce.
    pub async fn api_with_nonce(&self, path: &str, params: &[(&str, &str)], nonce: &str) -> Value {
        let cur = super::now_secs().to_string();
        let sum = imlogin_protocol::checksum::checksum(APP_SECRET, nonce, &cur);
        reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .header("AppKey", APP_KEY)
            .header("Nonce", nonce)
            .header("CurTime", cur)
            .header("CheckSum", sum)
            .form(params)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    pub async fn get(&self, path: &str) -> Value {
        reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }
}
