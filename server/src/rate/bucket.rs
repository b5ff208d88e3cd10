//! Keyed token buckets: `capacity` tokens per key, refilled continuously at
//! `capacity` per `period`; a take from an empty bucket says how long until
//! one token is back.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
pub struct Buckets<K> {
    capacity: f64,
    per_sec: f64,
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> Buckets<K> {
    /// Buckets of `capacity` tokens that refill completely in `period`.
    pub fn new(capacity: u32, period: Duration) -> Self {
        let capacity = f64::from(capacity.max(1));
        Buckets {
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
/// when it has one already). The shared buckets ([`super::pg_buckets`])
/// answer the same.
pub(crate) fn time_to_one_token(tokens: f64, per_sec: f64) -> Duration {
    Duration::try_from_secs_f64(((1.0 - tokens) / per_sec).max(0.0))
        .unwrap_or(Duration::MAX)
        .max(Duration::from_millis(1))
}

fn refilled(b: Bucket, now: Instant, capacity: f64, per_sec: f64) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * per_sec).min(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_capacity_then_says_when_to_retry() {
        let b = Buckets::new(3, Duration::from_secs(60));
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
        let b = Buckets::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        for k in 0..=PRUNE_ABOVE {
            let _ = b.take(&k, t0);
        }
        let later = t0 + Duration::from_secs(2);
        let _ = b.take(&usize::MAX, later);
        assert!(b.len() <= 2, "{} keys kept", b.len());
    }
}
