//! Databases made before the migrations were numbered alike on both
//! backends. SQLite's history is unchanged (versions 1–3 are the same
//! files). PostgreSQL's first history was `1` = SQLite's 1–3 in one file,
//! `2` = shared limits, `3` = cluster; it is now `1`–`3` as on SQLite, `4`
//! shared limits, `5` cluster. Such a database is recognized by the
//! checksum of its version 1 and its history rewritten to the new numbers
//! (its tables are already what those migrations make), once, before the
//! migrator runs; [`translate_postgres_history`] does nothing on any other
//! database.

use sqlx::{Connection, PgConnection, Row};

use super::db::POSTGRES_MIGRATIONS;
use super::StoreError;

/// SHA-384 of the first PostgreSQL `0001_init.sql` (a copy is kept in
/// `server/tests/fixtures/` for the upgrade test).
const LEGACY_INIT_CHECKSUM: &str = "8d6a3c7b62f3c0b2bb5b40e3ad9eb2332c478d9a72acfdf12afc6168b5e190d71d1da5d32e9f49b38848401f6ff6064f";

/// Old version → the new versions it stands for.
const RENUMBERED: [(i64, &[i64]); 3] = [(1, &[1, 2, 3]), (2, &[4]), (3, &[5])];

/// The advisory lock that keeps two nodes starting together from
/// rewriting the history twice (two keys: never sqlx's own lock).
const HISTORY_LOCK: (i32, i32) = (0x1d_11, 1);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrites a first-generation PostgreSQL migration history to the
/// current numbering (see the module docs); a no-op on a new or already
/// current database.
///
/// # Errors
/// The database refuses the statements.
pub(crate) async fn translate_postgres_history(conn: &mut PgConnection) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(HISTORY_LOCK.0)
        .bind(HISTORY_LOCK.1)
        .execute(&mut *tx)
        .await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    let first = sqlx::query("SELECT checksum FROM _sqlx_migrations WHERE version = 1")
        .fetch_optional(&mut *tx)
        .await?;
    let Some(first) = first else { return Ok(()) };
    let checksum: Vec<u8> = first.try_get("checksum")?;
    if hex(&checksum) != LEGACY_INIT_CHECKSUM {
        return Ok(());
    }
    let rows = sqlx::query("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in &rows {
        if !row.try_get::<bool, _>("success")? {
            // A failed migration: left for the migrator to report.
            return Ok(());
        }
        applied.push(row.try_get::<i64, _>("version")?);
    }
    let mut history = Vec::new();
    for (old, new) in RENUMBERED {
        if applied.contains(&old) {
            history.extend_from_slice(new);
        }
    }
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&mut *tx)
        .await?;
    for migration in POSTGRES_MIGRATIONS.iter() {
        if !history.contains(&migration.version) {
            continue;
        }
        sqlx::query(
            "INSERT INTO _sqlx_migrations \
               (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0)",
        )
        .bind(migration.version)
        .bind(&*migration.description)
        .bind(&*migration.checksum)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(
        versions = ?history,
        "PostgreSQL migration history renumbered (server/migrations/README.md)"
    );
    Ok(())
}
