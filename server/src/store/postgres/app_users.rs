//! [`AppUserStore`] on PostgreSQL: the `app_users` and `app_sessions` tables.

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::{to_i64, PgStore};
use crate::secret::Secret;
use crate::store::{AppUser, AppUserStore, StoreError, StoreFuture};

fn user_from_row(row: &PgRow) -> Result<AppUser, StoreError> {
    let accid: Option<String> = row.try_get("accid")?;
    let token: Option<String> = row.try_get("im_token")?;
    Ok(AppUser {
        uid: row.try_get("uid")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        im: accid.zip(token).map(|(a, t)| (a, Secret::new(t))),
    })
}

impl AppUserStore for PgStore {
    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move {
            let row = sqlx::query(
                "INSERT INTO app_users (username, password_hash, created_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (username) DO NOTHING RETURNING uid",
            )
            .bind(username)
            .bind(password_hash)
            .bind(to_i64(now_ms))
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some(row) => Ok(Some(row.try_get("uid")?)),
                None => Ok(None),
            }
        })
    }

    fn user_by_name<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<AppUser>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT uid, username, password_hash, accid, im_token FROM app_users \
                 WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    fn set_im_account<'a>(
        &'a self,
        uid: i64,
        accid: &'a str,
        token: &'a str,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let r = sqlx::query(
                "UPDATE app_users SET accid = $2, im_token = $3 \
                 WHERE uid = $1 AND accid IS NULL",
            )
            .bind(uid)
            .bind(accid)
            .bind(token)
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    fn create_session<'a>(
        &'a self,
        session_hash: &'a str,
        uid: i64,
        now_ms: u64,
        expires_ms: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
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
            Ok(())
        })
    }

    fn session_user<'a>(
        &'a self,
        session_hash: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, Option<AppUser>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT u.uid, u.username, u.password_hash, u.accid, u.im_token \
                 FROM app_sessions s JOIN app_users u ON u.uid = s.uid \
                 WHERE s.session_hash = $1 AND s.expires_at > $2",
            )
            .bind(session_hash)
            .bind(to_i64(now_ms))
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    fn delete_session<'a>(&'a self, session_hash: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query("DELETE FROM app_sessions WHERE session_hash = $1")
                .bind(session_hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}
