//! What the test hooks (`--test-hooks`, [`crate::test_hooks`]) may see and
//! steer on the link: a pause that answers handshakes with 503, and the log
//! of login attempts. Absent unless the hooks are enabled.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use imlogin_protocol::{LoginCode, LoginFrame};
use serde::Serialize;
use serde_json::Value;

use crate::clock::now_ms;

/// How many login attempts the log keeps (oldest dropped first).
const ATTEMPTS_KEPT: usize = 10_000;

/// One login attempt seen on the link.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The account named (lower case), or "" if unreadable.
    pub accid: String,
    /// `manual`, `auto` or "" if unreadable.
    pub mode: String,
    /// The deviceId sent, or "".
    pub device_id: String,
    /// The clientType sent, or "".
    pub client_type: String,
    /// The answer: 200 or the `loginErr` code.
    pub code: u16,
    /// When, in ms since the Unix epoch.
    pub at: u64,
}

/// The test hooks' view of the link. See the module docs.
#[derive(Debug, Default)]
pub struct Probe {
    pause: Mutex<Option<Instant>>,
    attempts: Mutex<VecDeque<Attempt>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Probe {
    /// Answers link handshakes with 503 until `until`.
    pub fn pause_until(&self, until: Instant) {
        *lock(&self.pause) = Some(until);
    }

    /// Whether link handshakes are answered with 503 now.
    pub fn paused(&self) -> bool {
        let mut pause = lock(&self.pause);
        match *pause {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                *pause = None;
                false
            }
            None => false,
        }
    }

    /// Records an attempt: a decoded login frame, or the raw text of one
    /// whose fields were refused (read best-effort).
    pub fn record(&self, frame: Result<&LoginFrame, &str>, code: LoginCode) {
        let attempt = match frame {
            Ok(f) => Attempt {
                accid: f.accid.clone(),
                mode: f.mode.as_str().to_owned(),
                device_id: f.device_id.clone(),
                client_type: f.client_type.as_str().to_owned(),
                code: code.as_u16(),
                at: now_ms(),
            },
            Err(raw) => {
                let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
                let field = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_str)
                        .map(|s| s.chars().take(64).collect::<String>())
                        .unwrap_or_default()
                };
                Attempt {
                    accid: field("accid").to_ascii_lowercase(),
                    mode: field("mode"),
                    device_id: field("deviceId"),
                    client_type: field("clientType"),
                    code: code.as_u16(),
                    at: now_ms(),
                }
            }
        };
        let mut log = lock(&self.attempts);
        if log.len() >= ATTEMPTS_KEPT {
            log.pop_front();
        }
        log.push_back(attempt);
    }

    /// The attempts for `accid` (or all), oldest first.
    pub fn attempts(&self, accid: Option<&str>) -> Vec<Attempt> {
        lock(&self.attempts)
            .iter()
            .filter(|a| accid.is_none_or(|x| a.accid == x))
            .cloned()
            .collect()
    }
}
