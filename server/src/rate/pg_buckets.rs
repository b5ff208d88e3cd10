//! Token buckets in PostgreSQL table `rate_buckets`
//! (`store/postgres/migrations/0002_shared_limits.sql`), shared by every
//! server node on the database: `capacity` tokens per key, refilled
//! continuously at `capacity` per `period`, as [`super::bucket::Buckets`]
//! does in memory.
//!
//! A take is one atomic upsert: it refills the key's bucket, takes a token
//! if at least one is there and stores the result; concurrent takes from
//! any number of nodes never let more than the bucket holds through (the
//! row lock serialises them). The refill uses the database clock
//! (`clock_timestamp()`, milliseconds), never a node's, so that nodes whose
//! clocks differ agree.
//!
//! A refused take writes nothing (a bucket with less than one token is the
//! same bucket a moment later, only fuller), so PostgreSQL before 18 cannot
//! return its tokens from the upsert; a second read of the row (only on a
//! refusal) tells how long until one token is back, from the row as it is
//! then.
//!
//! A row idle for a whole period holds a full bucket, the same as no row:
//! such rows are pruned in the background, a bounded number at a time, once
//! per [`PRUNE_EVERY`] takes on each node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use super::bucket::time_to_one_token;
use super::Refused;

/// A bucket set prunes idle rows of its kind once per this many takes (per
/// node).
pub const PRUNE_EVERY: u64 = 1024;
/// The most rows one prune deletes: bounded work, and more than
/// [`PRUNE_EVERY`] so that pruning outpaces growth.
const PRUNE_LIMIT: i64 = 4 * PRUNE_EVERY as i64;

/// `$1` key, `$2` capacity, `$3` tokens per millisecond. A row back (the
/// tokens left) means a token was taken; a new key starts full, less the
/// token taken. `greatest` keeps a take whose clock reading was overtaken
/// by a concurrent one (it waited for the row lock) from refilling
/// backwards or moving the row's time back.
const TAKE: &str = "\
INSERT INTO rate_buckets AS b (key, tokens, updated_at)
VALUES ($1, $2 - 1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
ON CONFLICT (key) DO UPDATE SET
    tokens = least(b.tokens + greatest(EXCLUDED.updated_at - b.updated_at, 0) * $3, $2) - 1,
    updated_at = greatest(EXCLUDED.updated_at, b.updated_at)
WHERE least(b.tokens + greatest(EXCLUDED.updated_at - b.updated_at, 0) * $3, $2) >= 1
RETURNING tokens";

/// `$1` key, `$2` capacity, `$3` tokens per millisecond → the key's tokens
/// now (no row: none, the bucket is full).
const TOKENS_NOW: &str = "\
SELECT least(tokens + greatest(
    floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - updated_at, 0) * $3, $2)
FROM rate_buckets WHERE key = $1";

/// `$1` key prefix, `$2` period in ms, `$3` the most rows to delete. The
/// outer age test is re-checked against a row updated concurrently, so a
/// bucket just taken from is never deleted.
const PRUNE: &str = "\
DELETE FROM rate_buckets WHERE key IN (
    SELECT key FROM rate_buckets
    WHERE starts_with(key, $1)
      AND updated_at <= floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2
    LIMIT $3)
AND updated_at <= floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2";

/// The buckets of one kind of key (one `prefix`, e.g. `ip:`) in
/// PostgreSQL.
#[derive(Debug)]
pub struct PgBuckets {
    pool: PgPool,
    prefix: &'static str,
    capacity: f64,
    per_ms: f64,
    period_ms: i64,
    takes: AtomicU64,
}

impl PgBuckets {
    /// Buckets of `capacity` tokens (at least 1) that refill completely in
    /// `period`, for keys `prefix` + key in `pool`'s database.
    pub fn new(pool: PgPool, prefix: &'static str, capacity: u32, period: Duration) -> Self {
        let capacity = f64::from(capacity.max(1));
        let period_ms = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
        PgBuckets {
            pool,
            prefix,
            capacity,
            // An exact i64 → f64 for any period under 285 000 years.
            per_ms: capacity / period_ms as f64,
            period_ms,
            takes: AtomicU64::new(0),
        }
    }

    /// Takes one token from `key`'s bucket; when it is empty,
    /// [`Refused::RetryAfter`] with the time until one token is back.
    ///
    /// # Errors
    /// [`Refused`]: an empty bucket, or a database that cannot be reached
    /// or refuses the statement.
    pub async fn take(&self, key: &str) -> Result<(), Refused> {
        let key = format!("{}{key}", self.prefix);
        if self.takes.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.spawn_prune();
        }
        let took: Option<(f64,)> = sqlx::query_as(TAKE)
            .bind(&key)
            .bind(self.capacity)
            .bind(self.per_ms)
            .fetch_optional(&self.pool)
            .await?;
        if took.is_some() {
            return Ok(());
        }
        let now: Option<(f64,)> = sqlx::query_as(TOKENS_NOW)
            .bind(&key)
            .bind(self.capacity)
            .bind(self.per_ms)
            .fetch_optional(&self.pool)
            .await?;
        // No row: pruned meanwhile as full, so a token is back already.
        let tokens = now.map_or(self.capacity, |(t,)| t);
        Err(Refused::RetryAfter(time_to_one_token(
            tokens,
            self.per_ms * 1000.0,
        )))
    }

    /// Deletes a bounded number of this kind's full buckets in the
    /// background; a failure is only logged (a full row is harmless until
    /// a later prune).
    fn spawn_prune(&self) {
        let pool = self.pool.clone();
        let (prefix, period_ms) = (self.prefix, self.period_ms);
        tokio::spawn(async move {
            let done = sqlx::query(PRUNE)
                .bind(prefix)
                .bind(period_ms)
                .bind(PRUNE_LIMIT)
                .execute(&pool)
                .await;
            match done {
                Ok(done) => {
                    tracing::debug!(prefix, rows = done.rows_affected(), "full buckets pruned")
                }
                Err(e) => tracing::warn!(prefix, error = %e, "pruning full buckets failed"),
            }
        });
    }
}
