//! What the server keeps across restarts — accounts, the device rule's
//! records, daily logins, the generated app credentials and the demo app's
//! users — as one SQL implementation that runs unchanged on SQLite and on
//! PostgreSQL (`$N` placeholders, `ON CONFLICT` upserts and `RETURNING`
//! mean the same on both). Reads of an account go through the
//! [`AccountCache`]; the device records are written in batches by the
//! [`super::journal::Journal`]. The resume tickets' reads are in
//! [`super::tickets`].

use core::fmt;
use std::sync::Arc;

use imlogin_protocol::ClientType;
use sqlx::FromRow;

use super::cache::AccountCache;
use super::db::{on_pool, Db};
use super::tickets::{BIND_TICKET, REVOKE_ACCOUNT_TICKETS, REVOKE_DEVICE_TICKET, TOUCH_TICKET};
use super::StoreError;
use crate::secret::Secret;

/// A stored ms time (i64) from a `u64`, saturating.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `u64` from a stored i64; a negative value reads as 0.
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// What a token change or a block changes.
#[derive(Debug, Clone, Copy)]
enum Change<'a> {
    Token(&'a str),
    Blocked(bool),
}

/// The PostgreSQL channel on which a node announces that an account's token
/// or block state changed, so that every node drops it from its cache.
pub(crate) const ACCOUNT_CHANGES: &str = "imlogin_accounts";

/// An IM account as stored.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct Account {
    /// The account id, lower case.
    pub accid: String,
    /// SHA-256 hex of the token (see [`crate::secret::hash_token`]).
    pub token_hash: String,
    /// Display name (may be empty).
    pub name: String,
    /// Whether logins are refused with 422.
    pub blocked: bool,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("accid", &self.accid)
            .field("token_hash", &"<redacted>")
            .field("name", &self.name)
            .field("blocked", &self.blocked)
            .finish()
    }
}

/// Where an account was created. The console lists only its own
/// ([`AccountSource::Console`]); accounts an app server made through the
/// server API never appear there (the CommsEase console rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSource {
    /// `create.action` or the test hooks.
    Api,
    /// A test account created in `/console`.
    Console,
}

impl AccountSource {
    /// The stored name: `api` or `console`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountSource::Api => "api",
            AccountSource::Console => "console",
        }
    }
}

/// One row of an account list (no token hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// The account id, lower case.
    pub accid: String,
    /// Display name (may be empty).
    pub name: String,
    /// Whether logins are refused with 422.
    pub blocked: bool,
    /// When it was created, in ms since the Unix epoch.
    pub created_at: u64,
}

#[derive(FromRow)]
struct SummaryRow {
    accid: String,
    name: String,
    blocked: bool,
    created_at: i64,
}

/// A user of the demo app, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AppUser {
    /// The app's own user id.
    pub uid: i64,
    /// The sign-in name, lower case.
    pub username: String,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// The IM account made on the user's first IM use: `(accid, token)`.
    pub im: Option<(String, Secret)>,
}

impl fmt::Debug for AppUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppUser")
            .field("uid", &self.uid)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("accid", &self.im.as_ref().map(|(a, _)| a))
            .finish()
    }
}

#[derive(FromRow)]
struct AppUserRow {
    uid: i64,
    username: String,
    password_hash: String,
    accid: Option<String>,
    im_token: Option<String>,
}

impl From<AppUserRow> for AppUser {
    fn from(r: AppUserRow) -> Self {
        AppUser {
            uid: r.uid,
            username: r.username,
            password_hash: r.password_hash,
            im: r.accid.zip(r.im_token).map(|(a, t)| (a, Secret::new(t))),
        }
    }
}

/// How many resumable devices are kept per account and clientType: the
/// trim of [`RECORD_LOGINS`] keeps this one and the 15 most recent others.
pub const MAX_RESUMABLE_DEVICES: usize = 16;

/// The statements that record a run of logins, read from the rows
/// `login_rows` (accid, client_type, device_id, login_at, day) — one row
/// per login, no two of one account and clientType (see
/// [`Db::rows_trip`]). Each stands on its own (PostgreSQL runs them on one
/// snapshot): the trim keeps, for each login, its device and the most
/// recent others, reaching the rows of the run's accounts only (by the
/// primary key's first column). Its `LIMIT` is a literal, not a parameter:
/// SQLite compiles a statement again whenever a parameter of its `LIMIT` is
/// bound, which cost a login more than the rest of its record. (`WHERE
/// true` lets SQLite read `ON CONFLICT` as the upsert's, not a join's.)
const RECORD_LOGINS: [&str; 4] = [
    "INSERT INTO last_devices (accid, client_type, device_id, login_at) \
     SELECT accid, client_type, device_id, login_at FROM login_rows WHERE true \
     ON CONFLICT (accid, client_type) \
     DO UPDATE SET device_id = excluded.device_id, login_at = excluded.login_at",
    "INSERT INTO resumable_devices (accid, client_type, device_id, login_at) \
     SELECT accid, client_type, device_id, login_at FROM login_rows WHERE true \
     ON CONFLICT (accid, client_type, device_id) DO UPDATE SET login_at = excluded.login_at",
    // A device that never returns must not stay resumable forever.
    "DELETE FROM resumable_devices AS d WHERE d.accid IN (SELECT accid FROM login_rows) \
     AND EXISTS (SELECT 1 FROM login_rows AS r \
       WHERE r.accid = d.accid AND r.client_type = d.client_type AND r.device_id <> d.device_id) \
     AND d.device_id NOT IN (SELECT o.device_id FROM resumable_devices AS o \
       WHERE o.accid = d.accid AND o.client_type = d.client_type AND o.device_id NOT IN \
         (SELECT r.device_id FROM login_rows AS r \
          WHERE r.accid = d.accid AND r.client_type = d.client_type) \
       ORDER BY o.login_at DESC LIMIT 15)",
    "INSERT INTO daily_logins (day, accid) SELECT DISTINCT day, accid FROM login_rows WHERE true \
     ON CONFLICT (day, accid) DO NOTHING",
];

/// Where `login_rows` of [`RECORD_LOGINS`] come from, per dialect:
/// PostgreSQL unnests five arrays (`$1`–`$5`) in a CTE; SQLite, which has
/// no arrays, fills a temporary table of each connection
/// ([`LOGIN_ROWS_TABLE`]) from one JSON array (`$1`) of `[accid,
/// clientType, deviceId, ms, day]` arrays, read once.
pub(crate) const LOGIN_ROWS_POSTGRES: &str = "SELECT * FROM unnest($1::text[], $2::text[], \
     $3::text[], $4::bigint[], $5::text[]) AS r(accid, client_type, device_id, login_at, day)";
/// See [`LOGIN_ROWS_POSTGRES`].
pub(crate) const LOGIN_ROWS_SQLITE: &str = "INSERT INTO login_rows \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each($1)";
/// The temporary table SQLite's login rows pass through (created on each
/// connection).
pub(crate) const LOGIN_ROWS_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS login_rows \
     (accid TEXT, client_type TEXT, device_id TEXT, login_at INTEGER, day TEXT)";

/// Forgets one device (`$1` accid, `$2` clientType, `$3` deviceId) and
/// revokes its resume ticket.
const FORGET_DEVICE: [&str; 3] = [
    "DELETE FROM resumable_devices WHERE accid = $1 AND client_type = $2 AND device_id = $3",
    "DELETE FROM last_devices WHERE accid = $1 AND client_type = $2 AND device_id = $3",
    REVOKE_DEVICE_TICKET,
];

/// Forgets every device of account `$1` and revokes its resume tickets.
const FORGET_ACCOUNT: [&str; 3] = [
    "DELETE FROM resumable_devices WHERE accid = $1",
    "DELETE FROM last_devices WHERE accid = $1",
    REVOKE_ACCOUNT_TICKETS,
];

/// The device writes, each as one round trip (see [`Db::one_trip`] and
/// [`Db::rows_trip`]).
#[derive(Debug)]
pub(crate) struct DeviceSql {
    pub(crate) record_logins: Arc<str>,
    pub(crate) forget_device: Arc<str>,
    pub(crate) forget_account: Arc<str>,
    pub(crate) bind_ticket: Arc<str>,
    pub(crate) touch_ticket: Arc<str>,
    pub(crate) revoke_account_tickets: Arc<str>,
}

/// The server's persistent data. Cheap to clone; safe to use from any
/// number of tasks: every method is one atomic operation.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) db: Db,
    pub(crate) cache: Arc<AccountCache>,
    pub(crate) devices: Arc<DeviceSql>,
}

impl Store {
    pub(crate) fn new(db: Db, cache: Arc<AccountCache>) -> Self {
        let devices = Arc::new(DeviceSql {
            record_logins: db.rows_trip(&RECORD_LOGINS),
            forget_device: db.one_trip(&FORGET_DEVICE),
            forget_account: db.one_trip(&FORGET_ACCOUNT),
            bind_ticket: db.one_trip(&BIND_TICKET),
            touch_ticket: TOUCH_TICKET.into(),
            revoke_account_tickets: REVOKE_ACCOUNT_TICKETS.into(),
        });
        Store { db, cache, devices }
    }

    /// Creates an account; `Ok(false)` when the accid is already taken.
    ///
    /// # Errors
    /// The database fails.
    pub async fn create_account(
        &self,
        accid: &str,
        token_hash: &str,
        name: &str,
        source: AccountSource,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.db, pool => sqlx::query(
            "INSERT INTO accounts \
               (accid, token_hash, name, blocked, source, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (accid) DO NOTHING",
        )
        .bind(accid)
        .bind(token_hash)
        .bind(name)
        .bind(false)
        .bind(source.as_str())
        .bind(to_i64(now_ms))
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// The newest `limit` accounts created from `source`, newest first
    /// (ties in byte order of the accid).
    ///
    /// # Errors
    /// The database fails.
    pub async fn list_accounts(
        &self,
        source: AccountSource,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, StoreError> {
        let rows: Vec<SummaryRow> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT accid, name, blocked, created_at FROM accounts WHERE source = $1 \
             ORDER BY created_at DESC, accid LIMIT $2",
        )
        .bind(source.as_str())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|r| AccountSummary {
                accid: r.accid,
                name: r.name,
                blocked: r.blocked,
                created_at: to_u64(r.created_at),
            })
            .collect())
    }

    /// The account, if it exists: from the cache, or with `fresh` (or on
    /// a miss) from the database, which then refills the cache.
    ///
    /// # Errors
    /// The database fails.
    pub async fn account(
        &self,
        accid: &str,
        fresh: bool,
    ) -> Result<Option<Arc<Account>>, StoreError> {
        if !fresh {
            if let Some(hit) = self.cache.get(accid) {
                return Ok(Some(hit));
            }
        }
        let ticket = self.cache.ticket();
        let row: Option<Account> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT accid, token_hash, name, blocked FROM accounts WHERE accid = $1",
        )
        .bind(accid)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|account| self.cache.fill(ticket, account)))
    }

    /// Replaces the token hash; `Ok(false)` when there is no such account.
    ///
    /// # Errors
    /// The database fails.
    pub async fn set_token(
        &self,
        accid: &str,
        token_hash: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.update(accid, Change::Token(token_hash), now_ms).await
    }

    /// Blocks or unblocks; `Ok(false)` when there is no such account.
    ///
    /// # Errors
    /// The database fails.
    pub async fn set_blocked(
        &self,
        accid: &str,
        blocked: bool,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.update(accid, Change::Blocked(blocked), now_ms).await
    }

    async fn update(
        &self,
        accid: &str,
        change: Change<'_>,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.db, pool => {
            let query = match change {
                Change::Token(hash) => sqlx::query(
                    "UPDATE accounts SET token_hash = $2, updated_at = $3 WHERE accid = $1",
                )
                .bind(accid)
                .bind(hash),
                Change::Blocked(blocked) => sqlx::query(
                    "UPDATE accounts SET blocked = $2, updated_at = $3 WHERE accid = $1",
                )
                .bind(accid)
                .bind(blocked),
            };
            query.bind(to_i64(now_ms)).execute(pool).await?.rows_affected()
        });
        self.changed(accid).await;
        Ok(done == 1)
    }

    /// An account's token or block state changed: it leaves this node's
    /// cache, and on PostgreSQL every other node is told to drop it too
    /// (`NOTIFY`). A lost notice costs another node no wrong answer: a
    /// refusal is always confirmed from the database and an admission
    /// re-checks the account (see `crate::link::login`).
    async fn changed(&self, accid: &str) {
        self.cache.invalidate(accid);
        if let Db::Postgres(pool) = &self.db {
            let told = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(ACCOUNT_CHANGES)
                .bind(accid)
                .execute(pool)
                .await;
            if let Err(e) = told {
                tracing::warn!(error = %e, "cannot tell the other nodes an account changed");
            }
        }
    }

    /// Whether an auto login from `device_id` passes the device rule's
    /// record: it is the device of the account's last successful login with
    /// this clientType, or one whose session ended without a logout or a
    /// kick.
    ///
    /// # Errors
    /// The database fails.
    pub async fn is_known_device(
        &self,
        accid: &str,
        client_type: ClientType,
        device_id: &str,
    ) -> Result<bool, StoreError> {
        let row: Option<(i32,)> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM last_devices \
               WHERE accid = $1 AND client_type = $2 AND device_id = $3) \
             OR EXISTS (SELECT 1 FROM resumable_devices \
               WHERE accid = $1 AND client_type = $2 AND device_id = $3)",
        )
        .bind(accid)
        .bind(client_type.as_str())
        .bind(device_id)
        .fetch_optional(pool)
        .await?);
        Ok(row.is_some())
    }

    /// The number of distinct accounts that logged in on `day` (UTC,
    /// `YYYY-MM-DD`).
    ///
    /// # Errors
    /// The database fails.
    pub async fn daily_active(&self, day: &str) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(&self.db, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM daily_logins WHERE day = $1",
        )
        .bind(day)
        .fetch_one(pool)
        .await?);
        Ok(to_u64(n))
    }

    /// Whether the database answers a trivial statement (readiness).
    ///
    /// # Errors
    /// The database fails.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: i32 = on_pool!(&self.db, pool => sqlx::query_scalar("SELECT 1")
            .fetch_one(pool)
            .await?);
        Ok(())
    }

    /// The first stored app credentials `(app_key, app_secret)`, if any.
    ///
    /// # Errors
    /// The database fails.
    pub async fn app_credentials(&self) -> Result<Option<(String, String)>, StoreError> {
        Ok(on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT app_key, app_secret FROM apps ORDER BY created_at, app_key LIMIT 1",
        )
        .fetch_optional(pool)
        .await?))
    }

    /// Stores generated app credentials.
    ///
    /// # Errors
    /// The database fails.
    pub async fn save_app_credentials(
        &self,
        app_key: &str,
        app_secret: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("INSERT INTO apps (app_key, app_secret, created_at) VALUES ($1, $2, $3)")
                .bind(app_key)
                .bind(app_secret)
                .bind(to_i64(now_ms))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Creates a demo app user; `Ok(None)` when the username is taken,
    /// else its uid.
    ///
    /// # Errors
    /// The database fails.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: u64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(&self.db, pool => sqlx::query_scalar(
            "INSERT INTO app_users (username, password_hash, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (username) DO NOTHING RETURNING uid",
        )
        .bind(username)
        .bind(password_hash)
        .bind(to_i64(now_ms))
        .fetch_optional(pool)
        .await?))
    }

    /// The demo app user with this (lower-case) username, if any.
    ///
    /// # Errors
    /// The database fails.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<AppUser>, StoreError> {
        let row: Option<AppUserRow> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT uid, username, password_hash, accid, im_token FROM app_users \
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(AppUser::from))
    }

    /// Records a demo app user's IM account; `Ok(false)` when the user
    /// already has one (a concurrent first use won) or does not exist.
    ///
    /// # Errors
    /// The database fails.
    pub async fn set_im_account(
        &self,
        uid: i64,
        accid: &str,
        token: &str,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.db, pool => sqlx::query(
            "UPDATE app_users SET accid = $2, im_token = $3 WHERE uid = $1 AND accid IS NULL",
        )
        .bind(uid)
        .bind(accid)
        .bind(token)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(done == 1)
    }

    /// Stores a demo app browser session (the hash of its cookie value)
    /// until `expires_ms`, and drops expired ones.
    ///
    /// # Errors
    /// The database fails.
    pub async fn create_session(
        &self,
        session_hash: &str,
        uid: i64,
        now_ms: u64,
        expires_ms: u64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM app_sessions WHERE expires_at <= $1")
                .bind(to_i64(now_ms))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO app_sessions (session_hash, uid, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(session_hash)
            .bind(uid)
            .bind(to_i64(now_ms))
            .bind(to_i64(expires_ms))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The demo app user a live (unexpired) session belongs to.
    ///
    /// # Errors
    /// The database fails.
    pub async fn session_user(
        &self,
        session_hash: &str,
        now_ms: u64,
    ) -> Result<Option<AppUser>, StoreError> {
        let row: Option<AppUserRow> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT u.uid, u.username, u.password_hash, u.accid, u.im_token \
             FROM app_sessions s JOIN app_users u ON u.uid = s.uid \
             WHERE s.session_hash = $1 AND s.expires_at > $2",
        )
        .bind(session_hash)
        .bind(to_i64(now_ms))
        .fetch_optional(pool)
        .await?);
        Ok(row.map(AppUser::from))
    }

    /// Ends a demo app session (sign-out); a missing one is no error.
    ///
    /// # Errors
    /// The database fails.
    pub async fn delete_session(&self, session_hash: &str) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM app_sessions WHERE session_hash = $1")
                .bind(session_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trim_keeps_the_documented_number_of_devices() {
        let others = MAX_RESUMABLE_DEVICES - 1;
        assert!(RECORD_LOGINS[2].ends_with(&format!("LIMIT {others})")));
    }
}
