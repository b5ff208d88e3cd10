//! The SQLite [`Store`]: one file, created on first start, migrated from SQL
//! embedded in the binary, queried with runtime-checked `sqlx::query()`.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use imlogin_protocol::ClientType;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlSafeStr, SqlitePool};

use super::{
    to_i64, to_u64, Account, AccountSource, AccountSummary, Store, StoreError, StoreFuture,
};

mod app_users;

/// The embedded migrations, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "account source",
        include_str!("migrations/0002_account_source.sql"),
    ),
    (3, "demo app", include_str!("migrations/0003_demo_app.sql")),
];

/// How many resumable devices are kept per account and clientType.
const MAX_RESUMABLE_DEVICES: i64 = 16;

/// A [`Store`] on a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it;
    /// a locked database is waited for up to `busy_timeout` per statement.
    ///
    /// # Errors
    /// A bad URL, an unopenable file or a failed migration.
    pub async fn open(url: &str, busy_timeout: Duration) -> Result<Self, StoreError> {
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
        let pool = SqlitePoolOptions::new()
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
        Ok(SqliteStore { pool })
    }
}

impl Store for SqliteStore {
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
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?5) ON CONFLICT (accid) DO NOTHING",
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
            let rows = sqlx::query(
                "SELECT accid, name, blocked, created_at FROM accounts WHERE source = ?1 \
                 ORDER BY created_at DESC, accid LIMIT ?2",
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
                        blocked: row.try_get::<i64, _>("blocked")? != 0,
                        created_at: to_u64(row.try_get("created_at")?),
                    })
                })
                .collect()
        })
    }

    fn account<'a>(&'a self, accid: &'a str) -> StoreFuture<'a, Option<Account>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT accid, token_hash, name, blocked FROM accounts WHERE accid = ?1",
            )
            .bind(accid)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(Account {
                accid: row.try_get("accid")?,
                token_hash: row.try_get("token_hash")?,
                name: row.try_get("name")?,
                blocked: row.try_get::<i64, _>("blocked")? != 0,
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
                "UPDATE accounts SET token_hash = ?2, updated_at = ?3 WHERE accid = ?1",
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
                sqlx::query("UPDATE accounts SET blocked = ?2, updated_at = ?3 WHERE accid = ?1")
                    .bind(accid)
                    .bind(i64::from(blocked))
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
                   WHERE accid = ?1 AND client_type = ?2 AND device_id = ?3) \
                 OR EXISTS (SELECT 1 FROM resumable_devices \
                   WHERE accid = ?1 AND client_type = ?2 AND device_id = ?3) AS known",
            )
            .bind(accid)
            .bind(client_type.as_str())
            .bind(device_id)
            .fetch_one(&self.pool)
            .await?;
            Ok(row.try_get::<i64, _>("known")? != 0)
        })
    }

    fn forget_devices<'a>(
        &'a self,
        accid: &'a str,
        devices: Option<&'a [(ClientType, String)]>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            match devices {
                None => {
                    sqlx::query("DELETE FROM resumable_devices WHERE accid = ?1")
                        .bind(accid)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM last_devices WHERE accid = ?1")
                        .bind(accid)
                        .execute(&mut *tx)
                        .await?;
                }
                Some(list) => {
                    for (client_type, device_id) in list {
                        for sql in [
                            "DELETE FROM resumable_devices \
                             WHERE accid = ?1 AND client_type = ?2 AND device_id = ?3",
                            "DELETE FROM last_devices \
                             WHERE accid = ?1 AND client_type = ?2 AND device_id = ?3",
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
            sqlx::query(
                "INSERT INTO last_devices (accid, client_type, device_id, login_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (accid, client_type) \
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
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (accid, client_type, device_id) \
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
                "DELETE FROM resumable_devices WHERE accid = ?1 AND client_type = ?2 \
                 AND device_id NOT IN (SELECT device_id FROM resumable_devices \
                   WHERE accid = ?1 AND client_type = ?2 \
                   ORDER BY login_at DESC LIMIT ?3)",
            )
            .bind(accid)
            .bind(client_type.as_str())
            .bind(MAX_RESUMABLE_DEVICES)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO daily_logins (day, accid) VALUES (?1, ?2) \
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
            let row = sqlx::query("SELECT COUNT(*) AS n FROM daily_logins WHERE day = ?1")
                .bind(day)
                .fetch_one(&self.pool)
                .await?;
            let n: i64 = row.try_get("n")?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn app_credentials(&self) -> StoreFuture<'_, Option<(String, String)>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT app_key, app_secret FROM apps ORDER BY created_at, app_key LIMIT 1",
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
            sqlx::query("INSERT INTO apps (app_key, app_secret, created_at) VALUES (?1, ?2, ?3)")
                .bind(app_key)
                .bind(app_secret)
                .bind(to_i64(now_ms))
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}
