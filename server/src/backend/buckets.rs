//! Keyed token buckets for the abuse limits: `capacity` tokens per key,
//! refilled continuously at `capacity` per `period`; a take from an empty
//! bucket says how long until one token is back. In this node's memory
//! ([`MemoryBuckets`], one node) or in PostgreSQL table `rate_buckets`
//! ([`PgBuckets`], shared by every node on the database, so that spreading
//! attempts over nodes gains nothing); [`Limit`] is either.
//!
//! A shared take refills the key's bucket, takes a token if at least one
//! is there and stores the result, holding the row's lock; concurrent takes
//! from any number of nodes never let more than the bucket holds through.
//! The takes of every login waiting on a node at one moment go to the
//! database in one call of `imlogin_take_tokens`
//! (`server/migrations/postgres/0007_cheaper_writes.sql`), which applies them
//! one after the other, so a login costs the database no round trip of its
//! own. The refill uses the database clock (`clock_timestamp()`,
//! milliseconds), never a node's, so that nodes whose clocks differ agree.
//! A refused take writes nothing (a bucket with less than one token is the
//! same bucket a moment later, only fuller) and says how many tokens the
//! bucket holds, for the time until one is back.
//!
//! A row idle for a whole period holds a full bucket, the same as no row:
//! such rows are pruned in the background, a bounded number at a time, once
//! per [`PRUNE_EVERY`] takes on each node.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// Why a take (a login attempt, a server API call) may not proceed.
#[derive(Debug)]
pub enum Refused {
    /// Rate limited (416): retry after this long (at least 1 ms).
    RetryAfter(Duration),
    /// A shared bucket's database could not be asked: refuse with a
    /// retryable 500 (fail closed, see [`crate::rate`]).
    Store(StoreError),
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Store(e.into())
    }
}

/// The buckets of one kind of key: in this node's memory, or shared in
/// PostgreSQL.
#[derive(Debug)]
pub enum Limit<K> {
    /// In this node's memory.
    Memory(MemoryBuckets<K>),
    /// In PostgreSQL, keyed by the key's text.
    Shared(PgBuckets),
}

/// Takes one token from `a`'s bucket for `ka` and, if that passed, one
/// from `b`'s for `kb` — in one database round trip when both are shared.
///
/// # Errors
/// [`Refused`] from whichever bucket refused.
pub async fn take_both<K1, K2>(
    a: &Limit<K1>,
    ka: &K1,
    b: &Limit<K2>,
    kb: &K2,
    now: Instant,
) -> Result<(), Refused>
where
    K1: Eq + Hash + Clone + core::fmt::Display,
    K2: Eq + Hash + Clone + core::fmt::Display,
{
    match (a, b) {
        (Limit::Shared(pa), Limit::Shared(pb)) => {
            Box::pin(pa.take_pair(&ka.to_string(), pb, &kb.to_string())).await
        }
        _ => {
            a.take(ka, now).await?;
            b.take(kb, now).await
        }
    }
}

impl<K: Eq + Hash + Clone + core::fmt::Display> Limit<K> {
    /// Takes one token from `key`'s bucket. `now` drives the memory
    /// buckets; the shared ones use the database clock.
    ///
    /// # Errors
    /// [`Refused`]: an empty bucket, or a shared bucket that cannot be
    /// asked.
    pub async fn take(&self, key: &K, now: Instant) -> Result<(), Refused> {
        match self {
            Limit::Memory(b) => b.take(key, now).map_err(Refused::RetryAfter),
            // Boxed: the database round trip's state would otherwise be
            // part of every link socket task, idle or not.
            Limit::Shared(b) => Box::pin(b.take(&key.to_string())).await,
        }
    }
}

/// Above this many keys, full buckets (keys idle for a whole period) are
/// dropped, so that a flood of distinct keys cannot grow the map without
/// bound: a key only stays while it has spent tokens in the last period.
const PRUNE_ABOVE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per key.
#[derive(Debug)]
pub struct MemoryBuckets<K> {
    capacity: f64,
    per_sec: f64,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> MemoryBuckets<K> {
    /// Buckets of `capacity` tokens that refill completely in `period`.
    pub fn new(capacity: u32, period: Duration) -> Self {
        let capacity = f64::from(capacity.max(1));
        MemoryBuckets {
            capacity,
            per_sec: capacity / period.as_secs_f64().max(1e-3),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket at `now`; when it is empty,
    /// `Err` with the time until one token is back (at least 1 ms).
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > PRUNE_ABOVE {
            let (capacity, per_sec) = (self.capacity, self.per_sec);
            map.retain(|_, b| refilled(*b, now, capacity, per_sec) < capacity);
        }
        let bucket = map.entry(key.clone()).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let tokens = refilled(*bucket, now, self.capacity, self.per_sec);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            Err(time_to_one_token(tokens, self.per_sec))
        }
    }

    /// The number of keys currently tracked.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How long until a bucket holding `tokens`, refilling at `per_sec`, has
/// one token again: the `retryAfterMs` of a refusal, at least 1 ms (also
/// when it has one already). The shared buckets ([`PgBuckets`]) answer
/// the same.
fn time_to_one_token(tokens: f64, per_sec: f64) -> Duration {
    Duration::try_from_secs_f64(((1.0 - tokens) / per_sec).max(0.0))
        .unwrap_or(Duration::MAX)
        .max(Duration::from_millis(1))
}

fn refilled(b: Bucket, now: Instant, capacity: f64, per_sec: f64) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * per_sec).min(capacity)
}

/// A bucket set prunes idle rows of its kind once per this many takes (per
/// node).
pub const PRUNE_EVERY: u64 = 1024;
/// The most rows one prune deletes: bounded work, and more than
/// [`PRUNE_EVERY`] so that pruning outpaces growth.
const PRUNE_LIMIT: i64 = 4 * PRUNE_EVERY as i64;

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

/// One take waiting for its batch: `(stored key, capacity, tokens per ms)`,
/// and for the second of a pair the first's place in the request.
type Wanted = (String, f64, f64);

/// What a batch answers a take: taken, or the tokens the bucket holds.
type Answer = Result<Vec<Result<(), f64>>, StoreError>;

struct TakeRequest {
    /// One take, or two where the second counts only if the first passed.
    takes: Vec<Wanted>,
    reply: oneshot::Sender<Answer>,
}

/// The takes of every bucket of one node, batched: all that wait at a
/// moment go to the database in one call of `imlogin_take_tokens`
/// (`server/migrations/postgres/0007_cheaper_writes.sql`), which applies them
/// in order, exactly as one statement each would. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Takes {
    queue: mpsc::UnboundedSender<TakeRequest>,
}

impl Takes {
    /// Starts the batching task on `pool`; it ends with the last clone.
    pub(crate) fn start(pool: PgPool) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(take_loop(pool, rx));
        Takes { queue }
    }

    async fn take(&self, takes: Vec<Wanted>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(TakeRequest { takes, reply })
            .map_err(|_| StoreError::msg("the bucket batcher has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::msg("the bucket batcher has stopped"))?
    }
}

/// The most requests one call carries.
const MAX_TAKES: usize = 256;

async fn take_loop(pool: PgPool, mut rx: mpsc::UnboundedReceiver<TakeRequest>) {
    let mut batch = Vec::with_capacity(MAX_TAKES);
    while rx.recv_many(&mut batch, MAX_TAKES).await > 0 {
        let (mut keys, mut caps, mut rates, mut needs) = (vec![], vec![], vec![], vec![]);
        for request in &batch {
            let first = i32::try_from(keys.len() + 1).unwrap_or(i32::MAX);
            for (n, (key, cap, rate)) in request.takes.iter().enumerate() {
                keys.push(key.as_str());
                caps.push(*cap);
                rates.push(*rate);
                needs.push(if n == 0 { 0 } else { first });
            }
        }
        let rows: Result<Vec<(bool, Option<f64>)>, sqlx::Error> =
            sqlx::query_as("SELECT taken, remaining FROM imlogin_take_tokens($1, $2, $3, $4)")
                .bind(&keys)
                .bind(&caps)
                .bind(&rates)
                .bind(&needs)
                .fetch_all(&pool)
                .await;
        let mut rows = match rows {
            Ok(rows) if rows.len() == keys.len() => Ok(rows.into_iter()),
            Ok(_) => Err(StoreError::msg(
                "imlogin_take_tokens answered the wrong rows",
            )),
            Err(e) => Err(StoreError::from(e)),
        };
        for request in batch.drain(..) {
            let answer = match &mut rows {
                Ok(rows) => Ok(rows
                    .by_ref()
                    .take(request.takes.len())
                    // A take skipped because its first was refused is
                    // never looked at.
                    .map(|(taken, remaining)| {
                        if taken {
                            Ok(())
                        } else {
                            Err(remaining.unwrap_or(0.0))
                        }
                    })
                    .collect()),
                Err(e) => Err(e.clone()),
            };
            // A login that went away needs no answer.
            let _ = request.reply.send(answer);
        }
    }
}

/// The buckets of one kind of key (one `prefix`, e.g. `ip:`) in
/// PostgreSQL.
#[derive(Debug)]
pub struct PgBuckets {
    pool: PgPool,
    batch: Takes,
    prefix: &'static str,
    capacity: f64,
    per_ms: f64,
    period_ms: i64,
    takes: AtomicU64,
}

impl PgBuckets {
    /// Buckets of `capacity` tokens (at least 1) that refill completely in
    /// `period`, for keys `prefix` + key in `pool`'s database, taken through
    /// `batch`.
    pub(crate) fn new(
        pool: PgPool,
        batch: Takes,
        prefix: &'static str,
        capacity: u32,
        period: Duration,
    ) -> Self {
        let capacity = f64::from(capacity.max(1));
        let period_ms = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
        PgBuckets {
            pool,
            batch,
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
        let answers = self.batch.take(vec![self.wanted(key)]).await;
        self.settle(answers, &[self])
    }

    /// Takes one token from `first`'s bucket (of `self`) and, if that
    /// passed, one from `second`'s (of `then`), in one call: the same
    /// outcome as two [`PgBuckets::take`]s one after the other.
    ///
    /// # Errors
    /// As [`PgBuckets::take`], for whichever bucket refused.
    pub async fn take_pair(
        &self,
        first: &str,
        then: &PgBuckets,
        second: &str,
    ) -> Result<(), Refused> {
        let answers = self
            .batch
            .take(vec![self.wanted(first), then.wanted(second)])
            .await;
        self.settle(answers, &[self, then])
    }

    /// The take of `key` as the batch wants it; every [`PRUNE_EVERY`]th
    /// call also prunes this kind's full buckets.
    fn wanted(&self, key: &str) -> Wanted {
        if self.takes.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.spawn_prune();
        }
        (format!("{}{key}", self.prefix), self.capacity, self.per_ms)
    }

    /// The outcome of takes from `buckets` (in order): the first refusal
    /// with its time until one token is back.
    fn settle(&self, answers: Answer, buckets: &[&PgBuckets]) -> Result<(), Refused> {
        for (answer, bucket) in answers.map_err(Refused::Store)?.into_iter().zip(buckets) {
            if let Err(tokens) = answer {
                return Err(Refused::RetryAfter(time_to_one_token(
                    tokens,
                    bucket.per_ms * 1000.0,
                )));
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_capacity_then_says_when_to_retry() {
        let b = MemoryBuckets::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.take(&"a", t0).is_ok());
        }
        let wait = b.take(&"a", t0).unwrap_err();
        // One token per 20 s.
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        assert!(b.take(&"b", t0).is_ok(), "keys are independent");
        assert!(b.take(&"a", t0 + Duration::from_secs(20)).is_ok());
        assert!(b.take(&"a", t0 + Duration::from_secs(20)).is_err());
    }

    #[test]
    fn time_to_one_token_is_at_least_a_millisecond() {
        assert_eq!(time_to_one_token(0.0, 1.0), Duration::from_secs(1));
        assert_eq!(time_to_one_token(0.5, 0.25), Duration::from_secs(2));
        // A bucket refilled meanwhile (a pruned shared row) still says 1 ms.
        assert_eq!(time_to_one_token(3.0, 1.0), Duration::from_millis(1));
    }

    #[test]
    fn idle_keys_are_pruned_under_a_flood_of_keys() {
        let b = MemoryBuckets::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        for k in 0..=PRUNE_ABOVE {
            let _ = b.take(&k, t0);
        }
        let later = t0 + Duration::from_secs(2);
        let _ = b.take(&usize::MAX, later);
        assert!(b.len() <= 2, "{} keys kept", b.len());
    }
}
