//! The one connection pool of the server — SQLite or PostgreSQL — and the
//! few places where the two dialects differ: connecting, the migrations,
//! how the statements of one write travel, and PostgreSQL's advisory
//! locks and notifications. Everything else runs the same SQL on both,
//! through [`on_pool!`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{
    AssertSqlSafe, Connection, PgConnection, PgPool, Postgres, Sqlite, SqlitePool, Transaction,
};

use super::journal::LoginRecord;
use super::legacy;
use super::store::{to_i64, LOGIN_ROWS_POSTGRES, LOGIN_ROWS_SQLITE, LOGIN_ROWS_TABLE};
use super::StoreError;

/// SQLite's migrations, versions 1–3 and 8 (`server/migrations/sqlite`).
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
/// PostgreSQL's migrations (`server/migrations/postgres`): the same
/// numbers as SQLite's for the same tables (1–3, 8), and the shared state
/// only a cluster keeps (4–7). A number is never used for two different
/// things (server/migrations/README.md).
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The most connections one server process opens to PostgreSQL.
const PG_MAX_CONNECTIONS: u32 = 16;

/// How long connecting to PostgreSQL (or waiting for a free pooled
/// connection) may take before the operation fails.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first key of the transaction-scoped advisory locks that serialize
/// one account's device writes across nodes; the second key is a hash of
/// the accid. The two-key space never meets sqlx's own single-key
/// migration lock.
pub(crate) const DEVICE_LOCK_CLASS: i32 = 0x1d_10;

/// The database: its pool and so its dialect.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// A SQLite file (one node).
    Sqlite(SqlitePool),
    /// A PostgreSQL database, shared by every node on it.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds: the SQL
/// text and its binds are written once and compiled for both databases.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::backend::db::Db::Sqlite($pool) => $body,
            $crate::backend::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Db {
    /// Opens the database a URL names and migrates it: `sqlite://PATH` or
    /// `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
    ///
    /// # Errors
    /// An unsupported URL, an unreachable database or a failed migration.
    pub(crate) async fn open(url: &str, busy_timeout: Duration) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            open_sqlite(url, busy_timeout).await.map(Db::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            open_postgres(url, busy_timeout).await.map(Db::Postgres)
        } else {
            Err(StoreError::msg(
                "unsupported database URL: use sqlite://PATH, sqlite::memory: or \
                 postgres://USER@HOST/DB (postgresql:// also works)",
            ))
        }
    }

    /// The statements of one write as one round trip: on SQLite one
    /// multi-statement query (its statements bind `$N` by number), on
    /// PostgreSQL one statement of data-modifying CTEs (all see the same
    /// snapshot, so no statement may depend on another's rows).
    pub(crate) fn one_trip(&self, statements: &[&str]) -> Arc<str> {
        let sql = match self {
            Db::Sqlite(_) => statements.join(";\n"),
            Db::Postgres(_) => format!("WITH {} SELECT 1", ctes(statements)),
        };
        sql.into()
    }

    /// [`Db::one_trip`] for statements that read rows `login_rows`
    /// ([`LOGIN_ROWS_POSTGRES`], [`LOGIN_ROWS_SQLITE`]): on SQLite the
    /// connection's temporary table is emptied and filled first, on
    /// PostgreSQL `login_rows` is the first CTE.
    pub(crate) fn rows_trip(&self, statements: &[&str]) -> Arc<str> {
        match self {
            Db::Sqlite(_) => format!(
                "DELETE FROM login_rows;\n{LOGIN_ROWS_SQLITE};\n{}",
                statements.join(";\n")
            )
            .into(),
            Db::Postgres(_) => format!(
                "WITH login_rows AS ({LOGIN_ROWS_POSTGRES}), {} SELECT 1",
                ctes(statements)
            )
            .into(),
        }
    }
}

/// `statements` as PostgreSQL CTEs `w0 AS (…), w1 AS (…), …`.
fn ctes(statements: &[&str]) -> String {
    let ctes: Vec<String> = statements
        .iter()
        .enumerate()
        .map(|(i, s)| format!("w{i} AS ({s})"))
        .collect();
    ctes.join(", ")
}

/// The dialect's pieces of a transaction that writes device records.
pub(crate) trait DeviceWrites {
    /// The database.
    type Db: sqlx::Database;

    /// Begins the transaction and takes what it needs to write the device
    /// records of `accids` safely.
    async fn begin_devices(
        &self,
        accids: &[&str],
    ) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;

    /// Records `logins` (no two of one account and clientType) with
    /// `record_logins`, the statements of [`Db::rows_trip`], in one trip.
    async fn record_logins(
        &self,
        tx: &mut Transaction<'static, Self::Db>,
        record_logins: &Arc<str>,
        logins: &[&LoginRecord],
    ) -> Result<(), sqlx::Error>;
}

impl DeviceWrites for SqlitePool {
    type Db = Sqlite;

    /// SQLite takes its write lock at once (waiting up to the busy
    /// timeout), so that the transaction never fails half-way on a lock
    /// it could have waited for; one writer at a time is all it allows.
    async fn begin_devices(&self, _: &[&str]) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }

    async fn record_logins(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        record_logins: &Arc<str>,
        logins: &[&LoginRecord],
    ) -> Result<(), sqlx::Error> {
        let rows: Vec<serde_json::Value> = logins
            .iter()
            .map(|r| {
                serde_json::json!([
                    r.accid,
                    r.client_type.as_str(),
                    r.device_id,
                    to_i64(r.at_ms),
                    r.day,
                ])
            })
            .collect();
        sqlx::query(built(record_logins))
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

impl DeviceWrites for PgPool {
    type Db = Postgres;

    /// PostgreSQL takes the accounts' device locks: several nodes write.
    async fn begin_devices(
        &self,
        accids: &[&str],
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.begin().await?;
        lock_devices(&mut tx, accids).await?;
        Ok(tx)
    }

    async fn record_logins(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        record_logins: &Arc<str>,
        logins: &[&LoginRecord],
    ) -> Result<(), sqlx::Error> {
        let column = |f: fn(&LoginRecord) -> &str| logins.iter().map(|r| f(r)).collect::<Vec<_>>();
        sqlx::query(built(record_logins))
            .bind(column(|r| &r.accid))
            .bind(column(|r| r.client_type.as_str()))
            .bind(column(|r| &r.device_id))
            .bind(logins.iter().map(|r| to_i64(r.at_ms)).collect::<Vec<_>>())
            .bind(column(|r| &r.day))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Takes the device locks of `accids` for the rest of `tx`, in one
/// order on every node, so that two nodes writing the same accounts' device
/// records apply one after the other and can never deadlock.
async fn lock_devices(
    tx: &mut Transaction<'static, Postgres>,
    accids: &[&str],
) -> Result<(), sqlx::Error> {
    let mut keys: Vec<i32> = accids.iter().map(|a| device_lock_key(a)).collect();
    keys.sort_unstable();
    keys.dedup();
    sqlx::query("SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int[]) AS k")
        .bind(DEVICE_LOCK_CLASS)
        .bind(keys)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The second key of an account's device lock: FNV-1a of the accid, the
/// same on every node.
fn device_lock_key(accid: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in accid.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// A SQLite file in WAL mode with `synchronous = NORMAL`: a commit is in
/// the operating system's hands when it returns, so it survives the
/// process being killed (only a power loss or kernel crash may take the
/// last commits); the file is never corrupted either way.
async fn open_sqlite(url: &str, busy_timeout: Duration) -> Result<SqlitePool, StoreError> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .busy_timeout(busy_timeout)
        .foreign_keys(true);
    let opts = if in_memory {
        opts
    } else {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    // Each connection to `:memory:` is its own database: keep one.
    let max = if in_memory { 1 } else { 4 };
    // No ping before each use (sqlx's default): one more round trip to the
    // connection's worker per statement; a broken connection fails the
    // statement instead, which is answered as any storage failure.
    let pool = SqlitePoolOptions::new()
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("PRAGMA temp_store = MEMORY")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(LOGIN_ROWS_TABLE).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .test_before_acquire(false)
        .max_connections(max)
        .min_connections(if in_memory { 1 } else { 0 })
        .idle_timeout(if in_memory {
            None
        } else {
            Some(Duration::from_secs(600))
        })
        .max_lifetime(None)
        .connect_with(opts)
        .await?;
    SQLITE_MIGRATIONS.run(&pool).await?;
    Ok(pool)
}

/// A pool on a PostgreSQL database (libpq-style URL; a password may also
/// come from `PGPASSWORD` or `~/.pgpass`). A statement waiting for a lock
/// held by another connection gives up after `lock_timeout`.
async fn open_postgres(url: &str, lock_timeout: Duration) -> Result<PgPool, StoreError> {
    let opts = PgConnectOptions::from_str(url)?;
    // Named without user or password: the URL may carry a secret.
    let target = format!(
        "{}:{}/{}",
        opts.get_host(),
        opts.get_port(),
        opts.get_database().unwrap_or("")
    );
    let lock_ms = lock_timeout.as_millis().max(1);
    // Generic plans: the server's statements are few and run with every
    // login; planning one again for each run (PostgreSQL's choice for those
    // that take arrays) cost more than running it.
    let opts = opts
        .options([
            ("lock_timeout", lock_ms.to_string()),
            ("plan_cache_mode", "force_generic_plan".to_owned()),
        ])
        .application_name("imlogin-server");
    // One direct connection first: its failure says why (refused, no such
    // database, bad password), where a pool would only say that it timed
    // out. It then carries the migrations.
    let mut first = tokio::time::timeout(PG_CONNECT_TIMEOUT, PgConnection::connect_with(&opts))
        .await
        .map_err(|_| {
            StoreError::msg(format!(
                "cannot connect to PostgreSQL at {target}: no answer within {} s",
                PG_CONNECT_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| StoreError::msg(format!("cannot connect to PostgreSQL at {target}: {e}")))?;
    legacy::translate_postgres_history(&mut first).await?;
    POSTGRES_MIGRATIONS
        .run_direct(None, &mut first, false)
        .await?;
    // Done with it: a failed goodbye changes nothing.
    let _ = first.close().await;
    // No ping before each use (sqlx's default): a round trip per statement
    // (see open_sqlite).
    Ok(PgPoolOptions::new()
        .test_before_acquire(false)
        .max_connections(PG_MAX_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(PG_CONNECT_TIMEOUT)
        .idle_timeout(Some(Duration::from_secs(600)))
        .connect_lazy_with(opts))
}

/// `sql` as a query text sqlx accepts, for statements built once at start
/// from constant pieces (never from input).
pub(crate) fn built(sql: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(sql))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lock_keys_are_stable_and_spread() {
        assert_eq!(device_lock_key("amy"), device_lock_key("amy"));
        assert_ne!(device_lock_key("amy"), device_lock_key("bob"));
    }
}
