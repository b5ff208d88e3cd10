//! The PostgreSQL [`Store`]: one database shared by any number of server
//! nodes, migrated from SQL embedded in the binary, queried with
//! runtime-checked `sqlx::query()`. Its semantics mirror the SQLite store
//! exactly; only the SQL dialect differs (BIGINT ms times, BOOLEAN flags).

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use imlogin_protocol::ClientType;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row, SqlSafeStr, Transaction};

use super::{
    to_i64, to_u64, Account, AccountSource, AccountSummary, Store, StoreError, StoreFuture,
};

mod app_users;

/// The embedded migrations, in order: the accounts and demo app (1), the
/// Nonce window and rate buckets the nodes share (2), the link nodes and
/// the session directory (3). A new migration takes the next version.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("postgres/migrations/0001_init.sql")),
    (
        2,
        "shared limits",
        include_str!("postgres/migrations/0002_shared_limits.sql"),
    ),
    (
        3,
        "cluster",
        include_str!("postgres/migrations/0003_cluster.sql"),
    ),
];

/// How many resumable devices are kept per account and clientType (as on
/// SQLite).
const MAX_RESUMABLE_DEVICES: i64 = 16;

/// The most connections one server process opens to PostgreSQL.
const MAX_CONNECTIONS: u32 = 16;

/// How long connecting (or waiting for a free pooled connection) may take
/// before the operation fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first key of the transaction-scoped advisory locks that serialize
/// one account's device writes ([`Store::record_login`],
/// [`Store::forget_devices`]); the second key is the accid's hash. The
/// two-key space never meets sqlx's own single-key migration lock.
const DEVICE_LOCK_CLASS: i32 = 0x1d_10;

/// A [`Store`] on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://` or `postgresql://`,
    /// libpq style; a password may also come from `PGPASSWORD` or
    /// `~/.pgpass`) and migrates it. A statement waiting for a row lock
    /// held by another connection gives up after `lock_timeout`.
    ///
    /// # Errors
    /// A bad URL, an unreachable server (after 10 s) or a failed migration.
    pub async fn open(url: &str, lock_timeout: Duration) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)?;
        // Named without user or password: the URL may carry a secret.
        let target = format!(
            "{}:{}/{}",
            opts.get_host(),
            opts.get_port(),
            opts.get_database().unwrap_or("")
        );
        let lock_ms = lock_timeout.as_millis().max(1);
        let opts = opts
            .options([("lock_timeout", lock_ms.to_string())])
            .application_name("imlogin-server");
        // One direct connection first: its failure says why (refused,
        // no such database, bad password), where a pool would only say
        // that it timed out.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts))
            .await
            .map_err(|_| {
                StoreError(
                    format!(
                        "cannot connect to PostgreSQL at {target}: no answer within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    )
                    .into(),
                )
            })?
            .map_err(|e| {
                StoreError(format!("cannot connect to PostgreSQL at {target}: {e}").into())
            })?;
        // Only a probe: a failed goodbye changes nothing.
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT)
            .idle_timeout(Some(Duration::from_secs(600)))
            .connect_lazy_with(opts);
        let migrations = MIGRATIONS
            .iter()
            .map(|&(version, desc, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(desc),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        Migrator::with_migrations(migrations).run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The connection pool, for the parts of the server that keep shared
    /// state beside the store (nonce window, rate buckets, cluster).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Takes the account's device lock for the rest of `tx`, so that
/// concurrent logins, logouts and kicks of one account apply one after
/// another (as SQLite's single writer does) and can never deadlock.
async fn lock_account_devices(
    tx: &mut Transaction<'_, Postgres>,
    accid: &str,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(DEVICE_LOCK_CLASS)
        .bind(accid)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store for PgStore {
    fn create_account<'a>(
        &'a self,
        accid: &'a str,
        token_hash: &'a str,
        name: &'a str,
        source: AccountSource,
        now_ms: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let r = sqlx::query(
                "INSERT INTO accounts \
                   (accid, token_hash, name, blocked, source, created_at, updated_at) \
                 VALUES ($1, $2, $3, FALSE, $4, $5, $5) ON CONFLICT (accid) DO NOTHING",
            )
            .bind(accid)
            .bind(token_hash)
            .bind(name)
            .bind(source.as_str())
            .bind(to_i64(now_ms))
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    fn list_accounts(
        &self,
        source: AccountSource,
        limit: u32,
    ) -> StoreFuture<'_, Vec<AccountSummary>> {
        Box::pin(async move {
            // COLLATE "C": byte order, as SQLite sorts, whatever the
            // database's locale.
            let rows = sqlx::query(
                "SELECT accid, name, blocked, created_at FROM accounts WHERE source = $1 \
                 ORDER BY created_at DESC, accid COLLATE \"C\" LIMIT $2",
            )
            .bind(source.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(AccountSummary {
                        accid: row.try_get("accid")?,
                        name: row.try_get("name")?,
                        blocked: row.try_get("blocked")?,
                        created_at: to_u64(row.try_get("created_at")?),
                    })
                })
                .collect()
        })
    }

    fn account<'a>(&'a self, accid: &'a str) -> StoreFuture<'a, Option<Account>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT accid, token_hash, name, blocked FROM accounts WHERE accid = $1",
            )
            .bind(accid)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(Account {
                accid: row.try_get("accid")?,
                token_hash: row.try_get("token_hash")?,
                name: row.try_get("name")?,
                blocked: row.try_get("blocked")?,
            }))
        })
    }

    fn set_token<'a>(
        &'a self,
        accid: &'a str,
        token_hash: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE accounts SET token_hash = $2, updated_at = $3 WHERE accid = $1",
            )
            .bind(accid)
            .bind(token_hash)
            .bind(to_i64(now_ms))
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    fn set_blocked<'a>(
        &'a self,
        accid: &'a str,
        blocked: bool,
        now_ms: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let r =
                sqlx::query("UPDATE accounts SET blocked = $2, updated_at = $3 WHERE accid = $1")
                    .bind(accid)
                    .bind(blocked)
                    .bind(to_i64(now_ms))
                    .execute(&self.pool)
                    .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    fn is_known_device<'a>(
        &'a self,
        accid: &'a str,
        client_type: ClientType,
        device_id: &'a str,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM last_devices \
                   WHERE accid = $1 AND client_type = $2 AND device_id = $3) \
                 OR EXISTS (SELECT 1 FROM resumable_devices \
                   WHERE accid = $1 AND client_type = $2 AND device_id = $3) AS known",
            )
            .bind(accid)
            .bind(client_type.as_str())
            .bind(device_id)
            .fetch_one(&self.pool)
            .await?;
            Ok(row.try_get("known")?)
        })
    }

    fn forget_devices<'a>(
        &'a self,
        accid: &'a str,
        devices: Option<&'a [(ClientType, String)]>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            lock_account_devices(&mut tx, accid).await?;
            match devices {
                None => {
                    sqlx::query("DELETE FROM last_devices WHERE accid = $1")
                        .bind(accid)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM resumable_devices WHERE accid = $1")
                        .bind(accid)
                        .execute(&mut *tx)
                        .await?;
                }
                Some(list) => {
                    for (client_type, device_id) in list {
                        for sql in [
                            "DELETE FROM last_devices \
                             WHERE accid = $1 AND client_type = $2 AND device_id = $3",
                            "DELETE FROM resumable_devices \
                             WHERE accid = $1 AND client_type = $2 AND device_id = $3",
                        ] {
                            sqlx::query(sql)
                                .bind(accid)
                                .bind(client_type.as_str())
                                .bind(device_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn record_login<'a>(
        &'a self,
        accid: &'a str,
        client_type: ClientType,
        device_id: &'a str,
        now_ms: u64,
        day: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            lock_account_devices(&mut tx, accid).await?;
            sqlx::query(
                "INSERT INTO last_devices (accid, client_type, device_id, login_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (accid, client_type) \
                 DO UPDATE SET device_id = excluded.device_id, login_at = excluded.login_at",
            )
            .bind(accid)
            .bind(client_type.as_str())
            .bind(device_id)
            .bind(to_i64(now_ms))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO resumable_devices (accid, client_type, device_id, login_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (accid, client_type, device_id) \
                 DO UPDATE SET login_at = excluded.login_at",
            )
            .bind(accid)
            .bind(client_type.as_str())
            .bind(device_id)
            .bind(to_i64(now_ms))
            .execute(&mut *tx)
            .await?;
            // Keep the most recent few: a device that never returns must not
            // stay resumable forever.
            sqlx::query(
                "DELETE FROM resumable_devices WHERE accid = $1 AND client_type = $2 \
                 AND device_id NOT IN (SELECT device_id FROM resumable_devices \
                   WHERE accid = $1 AND client_type = $2 \
                   ORDER BY login_at DESC LIMIT $3)",
            )
            .bind(accid)
            .bind(client_type.as_str())
            .bind(MAX_RESUMABLE_DEVICES)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO daily_logins (day, accid) VALUES ($1, $2) \
                 ON CONFLICT (day, accid) DO NOTHING",
            )
            .bind(day)
            .bind(accid)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn daily_active<'a>(&'a self, day: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM daily_logins WHERE day = $1")
                .bind(day)
                .fetch_one(&self.pool)
                .await?;
            let n: i64 = row.try_get("n")?;
            Ok(to_u64(n))
        })
    }

    fn app_credentials(&self) -> StoreFuture<'_, Option<(String, String)>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT app_key, app_secret FROM apps \
                 ORDER BY created_at, app_key COLLATE \"C\" LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some(row) => Ok(Some((row.try_get("app_key")?, row.try_get("app_secret")?))),
                None => Ok(None),
            }
        })
    }

    fn save_app_credentials<'a>(
        &'a self,
        app_key: &'a str,
        app_secret: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query("INSERT INTO apps (app_key, app_secret, created_at) VALUES ($1, $2, $3)")
                .bind(app_key)
                .bind(app_secret)
                .bind(to_i64(now_ms))
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}
