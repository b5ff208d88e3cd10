//! Starting, stopping and measuring server processes (imlogin-server or
//! the echo baseline), each printing `listening on http://ADDR` first.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a server may take to print its address.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running server process.
pub struct Process {
    /// The child; killed when dropped.
    pub child: Child,
    /// `host:port` it listens on.
    pub addr: String,
}

/// Runs `program args…` and waits for its `listening on http://ADDR` line.
pub async fn start(program: &std::path::Path, args: &[String]) -> Result<Process, String> {
    let shown = program.display();
    let mut child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(START_DEADLINE, lines.next_line())
        .await
        .map_err(|_| format!("{shown} did not print its address in time"))?
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{shown} exited before listening"))?;
    let addr = line
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("unexpected first line: {line}"))?
        .to_owned();
    // Keep draining stdout so that the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Process { child, addr })
}

/// The arguments that start imlogin-server on `bind` with the SQLite
/// database file `db`, test hooks on, plus `extra` (e.g. raised abuse
/// limits).
pub fn imlogin_args(bind: &str, db: &std::path::Path, extra: &[String]) -> Vec<String> {
    imlogin_args_url(bind, &format!("sqlite://{}", db.display()), extra)
}

/// Deletes a SQLite database and its WAL files.
pub fn remove_db(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
}

/// The CPU time (user + system) process `pid` has used, in ms (Linux
/// `/proc`, 100 ticks per second).
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

/// Like [`imlogin_args`] with any database URL (`postgres://…` for the
/// cluster bench).
pub fn imlogin_args_url(bind: &str, database_url: &str, extra: &[String]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--bind",
        bind,
        "--database-url",
        database_url,
        "--app-key",
        crate::ws::APP_KEY,
        "--app-secret",
        "bench-secret",
        "--test-hooks",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().cloned());
    v
}

/// Sends SIGTERM and waits (bounded) for the process to exit.
pub async fn terminate(p: &mut Process, deadline: Duration) -> Result<(), String> {
    let pid = p.child.id().ok_or("already exited")?;
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("kill -TERM failed".into());
    }
    match tokio::time::timeout(deadline, p.child.wait()).await {
        Ok(_) => Ok(()),
        Err(_) => {
            let _ = p.child.kill().await;
            Err("did not exit after SIGTERM in time; killed".into())
        }
    }
}

/// The resident set size of process `pid`, in bytes (Linux `/proc`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
