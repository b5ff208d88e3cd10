//! Admission pacing (docs/protocol.md#admission-pacing): this node admits
//! at most `--login-capacity` logins per second; a login beyond it gets
//! `loginErr` 416 with a `retryAfterMs` that gives it a slot of its own in
//! a queue kept as one number, and close 1013. The refused logins thus
//! come back one slot apart, at the rate the node can serve, instead of
//! all at once — after a restart, the herd arrives flat.
//!
//! The admission is a GCRA (generic cell rate algorithm) with a small
//! burst: the theoretical arrival time `tat` moves on by one interval per
//! admitted login, and a login is admitted while `tat` is less than the
//! burst ahead of now. The queue is `tail`, the last slot handed out.
//!
//! The restart notice is sized from the same capacity
//! ([`restart_notice`]): the sessions a node holds ÷ the logins per second
//! that will take them.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use imlogin_protocol::ServerFrame;

/// How far ahead of now admissions may run: a burst of this much time's
/// worth of logins passes unpaced (at 1 000/s: 20 logins), and at least
/// [`BURST_LOGINS`].
const BURST: Duration = Duration::from_millis(20);

/// The fewest logins a burst lets through at once (a page of tabs, an
/// office that comes in together).
const BURST_LOGINS: u32 = 32;

/// The capacity the notice is sized with when pacing is off (`0`).
const UNPACED_CAPACITY: u32 = 1_000;

#[derive(Debug)]
struct State {
    /// When the next login would be admitted at exactly the rate.
    tat: Instant,
    /// The last slot handed to a refused login.
    tail: Instant,
}

/// The node's login admission. See the module docs.
#[derive(Debug)]
pub struct Pacing {
    /// Time between two admissions at capacity; `None`: no pacing.
    interval: Option<Duration>,
    burst: Duration,
    state: Mutex<State>,
}

impl Pacing {
    /// Pacing at `per_second` logins per second (`0`: none).
    pub fn new(per_second: u32) -> Self {
        let interval = (per_second > 0).then(|| Duration::from_secs(1) / per_second);
        let now = Instant::now();
        Pacing {
            interval,
            burst: interval.map_or(BURST, |i| BURST.max(i * (BURST_LOGINS - 1))),
            state: Mutex::new(State {
                tat: now,
                tail: now,
            }),
        }
    }

    /// Admits a login arriving at `now`, or says when it may come back:
    /// its own slot, one interval after the last slot handed out.
    ///
    /// # Errors
    /// The wait until the login's slot, for a login beyond the capacity.
    pub fn admit(&self, now: Instant) -> Result<(), Duration> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tat = state.tat.max(now);
        if tat <= now + self.burst {
            state.tat = tat + interval;
            return Ok(());
        }
        let slot = state.tail.max(tat) + interval;
        state.tail = slot;
        Err(slot - now)
    }
}

/// The notice a node sends every socket before it closes them with 1012:
/// come back in `restart_ms` (0 when `other_nodes` can take them now),
/// spread over the time it takes `capacity` logins per second on each of
/// those nodes (or on this one, back) to admit `sessions`.
pub fn restart_notice(
    sessions: usize,
    capacity: u32,
    other_nodes: usize,
    restart_ms: u64,
) -> ServerFrame {
    let capacity = if capacity == 0 {
        UNPACED_CAPACITY
    } else {
        capacity
    };
    let per_second = u64::from(capacity) * other_nodes.max(1) as u64;
    let sessions = sessions as u64;
    ServerFrame::Restart {
        retry_in_ms: if other_nodes > 0 { 0 } else { restart_ms },
        spread_ms: (sessions * 1_000).div_ceil(per_second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_burst_each_refused_login_gets_the_next_slot() {
        let pacing = Pacing::new(100); // 10 ms apart
        let now = Instant::now();
        let admitted = (0..40).filter(|_| pacing.admit(now).is_ok()).count();
        assert_eq!(admitted, BURST_LOGINS as usize, "the burst passes");
        let waits: Vec<Duration> = (0..5).map(|_| pacing.admit(now).unwrap_err()).collect();
        for pair in waits.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(10), "{waits:?}");
        }
        // Coming back at its slot, a refused login is admitted.
        let later = now + Duration::from_secs(1);
        assert!(pacing.admit(later).is_ok());
    }

    #[test]
    fn zero_capacity_admits_everything() {
        let pacing = Pacing::new(0);
        let now = Instant::now();
        assert!((0..10_000).all(|_| pacing.admit(now).is_ok()));
    }

    #[test]
    fn the_notice_spreads_the_sessions_over_what_the_nodes_can_admit() {
        assert_eq!(
            restart_notice(10_000, 1_000, 0, 2_000),
            ServerFrame::Restart {
                retry_in_ms: 2_000,
                spread_ms: 10_000
            }
        );
        assert_eq!(
            restart_notice(500, 1_000, 2, 2_000),
            ServerFrame::Restart {
                retry_in_ms: 0,
                spread_ms: 250
            }
        );
        assert_eq!(
            restart_notice(0, 0, 0, 2_000),
            ServerFrame::Restart {
                retry_in_ms: 2_000,
                spread_ms: 0
            }
        );
    }
}
