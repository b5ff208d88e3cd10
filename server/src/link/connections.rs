//! Every open link socket, logged in or not, so that all of them can be
//! closed at once (shutdown and the `/_test/drop` hook: close 1012).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::registry::{Control, ControlTx};

#[derive(Debug, Default)]
struct Inner {
    open: HashMap<u64, ControlTx>,
    next_id: u64,
}

/// The set of open link sockets.
#[derive(Debug, Default)]
pub struct Connections {
    inner: Arc<Mutex<Inner>>,
}

/// Keeps a socket in [`Connections`] until dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    inner: Arc<Mutex<Inner>>,
    id: u64,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connections {
    /// Registers an open socket reachable through `tx`.
    pub fn register(&self, tx: ControlTx) -> ConnectionGuard {
        let mut inner = lock(&self.inner);
        inner.next_id += 1;
        let id = inner.next_id;
        inner.open.insert(id, tx);
        ConnectionGuard {
            inner: Arc::clone(&self.inner),
            id,
        }
    }

    /// Asks every open socket to close with `code`; returns how many.
    pub fn close_all(&self, code: u16) -> usize {
        let inner = lock(&self.inner);
        for tx in inner.open.values() {
            let _ = tx.send(Control::Close(code));
        }
        inner.open.len()
    }

    /// The number of open sockets.
    pub fn len(&self) -> usize {
        lock(&self.inner).open.len()
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until every socket has closed or `deadline` has passed;
    /// returns whether all closed.
    pub async fn wait_closed(&self, deadline: Duration) -> bool {
        let until = tokio::time::Instant::now() + deadline;
        while !self.is_empty() {
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        lock(&self.inner).open.remove(&self.id);
    }
}
