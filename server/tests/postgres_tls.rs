//! TLS to PostgreSQL: a throwaway PostgreSQL started here with `ssl = on`,
//! a certificate signed by a CA made in the test, and a `pg_hba.conf` that
//! rejects every connection without TLS. The server starts on it with
//! `sslmode=verify-full&sslrootcert=CA` in the URL (as libpq reads them)
//! and serves a login; without TLS (`sslmode=disable`), or trusting
//! another CA, it cannot start.
//!
//! Runs in the postgres suite (`IMLOGIN_TEST_BACKEND=postgres`, see
//! scripts/test.sh), with Debian's PostgreSQL binaries (`PG_BIN`, or the
//! newest /usr/lib/postgresql/*/bin).

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::tls::TestCa;
use common::{login_frame, APP_SECRET, DEADLINE};
use imlogin_server::{serve, Config};

/// The directory of initdb and pg_ctl.
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (apt-get install postgresql)")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A PostgreSQL cluster in a temporary directory; stopped on drop.
struct TlsPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
    port: u16,
}

impl TlsPostgres {
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            // The server refuses to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn start(ca: &TestCa) -> TlsPostgres {
        let bin = pg_bin();
        let as_postgres = output(Command::new("id").arg("-u")) == "0";
        let dir = tempfile::Builder::new()
            .prefix("imlogin-pg-tls")
            .tempdir_in("/tmp")
            .unwrap();
        let leaf = ca.leaf(&["127.0.0.1", "localhost"]);
        let crt = dir.path().join("server.crt");
        let key = dir.path().join("server.key");
        std::fs::write(&crt, &leaf.cert_pem).unwrap();
        std::fs::write(&key, &leaf.key_pem).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        if as_postgres {
            let uid: u32 = output(Command::new("id").args(["-u", "postgres"]))
                .parse()
                .unwrap();
            let gid: u32 = output(Command::new("id").args(["-g", "postgres"]))
                .parse()
                .unwrap();
            for path in [dir.path(), &crt, &key] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut pg = TlsPostgres {
            bin,
            dir,
            as_postgres,
            port,
        };
        let data = pg.data();
        output(pg.command("initdb").args(["-D"]).arg(&data).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]));
        // TLS or nothing: a connection that did get in was encrypted.
        let mut hba = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(data.join("pg_hba.conf"))
            .unwrap();
        writeln!(hba, "hostssl all all 127.0.0.1/32 trust").unwrap();
        writeln!(hba, "hostnossl all all 127.0.0.1/32 reject").unwrap();
        drop(hba);
        let dir = pg.dir.path().to_owned();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={dir} \
             -c fsync=off -c ssl=on -c ssl_cert_file={crt} -c ssl_key_file={key}",
            dir = dir.display(),
            crt = crt.display(),
            key = key.display(),
        );
        let log = dir.join("server.log");
        let started = pg
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        if !started.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            pg.port = 0;
            panic!("PostgreSQL with ssl = on did not start:\n{log}");
        }
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["stop", "-m", "immediate"])
                .stdout(std::process::Stdio::null())
                .status();
        }
    }
}

fn config(db: &str) -> Config {
    common::config(db, &["--app-secret", APP_SECRET])
}

fn write_pem(dir: &Path, name: &str, pem: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_server_reaches_postgresql_over_tls_verified_against_the_url_ca() {
    if !common::on_postgres() {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: runs in the postgres suite (IMLOGIN_TEST_BACKEND=postgres)"
        );
        return;
    }
    let ca = TestCa::new("imlogin PostgreSQL test CA");
    let pg = TlsPostgres::start(&ca);
    let files = tempfile::tempdir().unwrap();
    let root = write_pem(files.path(), "root.crt", &ca.cert_pem());
    let stranger = write_pem(
        files.path(),
        "other.crt",
        &TestCa::new("another CA").cert_pem(),
    );

    // Verified TLS: starts, migrates, answers /readyz, serves a login.
    let url = pg.url(&format!("sslmode=verify-full&sslrootcert={root}"));
    let mut server =
        common::TestServer::start_with_database(tempfile::tempdir().unwrap(), &url, &[]).await;
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let created = server
        .api(
            "/nimserver/user/create.action",
            &[("accid", "over-tls"), ("token", "tls-token-2")],
        )
        .await;
    assert_eq!(created["code"], 200, "{created}");
    let mut link = common::Link::connect(&server.ws_url).await;
    link.send_json(login_frame(
        "over-tls",
        "tls-token-2",
        "device",
        "manual",
        false,
    ))
    .await;
    let first = link.recv().await;
    assert_eq!(first["t"], "loginOk", "{first}");
    drop(link);
    server.shutdown().await;

    // Encrypted without verification (libpq's `require`) also gets in.
    let server = serve(config(&pg.url("sslmode=require")))
        .await
        .expect("starts with sslmode=require");
    server.shutdown().await;

    // Without TLS the database turns the server away (so the connections
    // above were encrypted), and a certificate from a CA the URL does not
    // name is refused by the server itself.
    for query in [
        "sslmode=disable".to_owned(),
        format!("sslmode=verify-full&sslrootcert={stranger}"),
        format!("sslmode=verify-ca&sslrootcert={stranger}"),
    ] {
        let refused = tokio::time::timeout(DEADLINE * 3, serve(config(&pg.url(&query))))
            .await
            .expect("gives up in time");
        let err = refused.expect_err(&query).to_string();
        assert!(err.contains("PostgreSQL"), "{query}: {err}");
    }
}
