//! Every open link socket, logged in or not, so that all of them can be
//! closed at once (shutdown and the `/_test/drop` hook: close 1012), and
//! how many each client IP holds (the sessions-per-IP abuse limit).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::sessions::{Control, ControlTx};

#[derive(Debug, Default)]
struct Inner {
    open: HashMap<u64, ControlTx>,
    per_ip: HashMap<IpAddr, usize>,
    next_id: u64,
    /// Set by [`Connections::begin_shut`] and [`Connections::shut`]: what
    /// every socket that registers from now on is told at once.
    shut: Option<Control>,
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
    ip: Option<IpAddr>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connections {
    /// Registers an open socket from `ip` reachable through `tx`.
    pub fn register(&self, tx: ControlTx, ip: Option<IpAddr>) -> ConnectionGuard {
        let mut inner = lock(&self.inner);
        inner.next_id += 1;
        let id = inner.next_id;
        if let Some(control) = &inner.shut {
            // Registered while the server shuts down: close at once, as
            // `shut` closed the others (under the same lock, so no socket
            // slips between the two).
            let _ = tx.send(control.clone());
        }
        inner.open.insert(id, tx);
        crate::metrics::metrics().link_socket(1);
        if let Some(ip) = ip {
            *inner.per_ip.entry(ip).or_insert(0) += 1;
        }
        ConnectionGuard {
            inner: Arc::clone(&self.inner),
            id,
            ip,
        }
    }

    /// The number of open sockets from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        lock(&self.inner).per_ip.get(&ip).copied().unwrap_or(0)
    }

    /// Asks every open socket to close with `code`; returns how many.
    pub fn close_all(&self, code: u16) -> usize {
        let inner = lock(&self.inner);
        for tx in inner.open.values() {
            let _ = tx.send(Control::Close(code));
        }
        inner.open.len()
    }

    /// Shutdown begins: sockets that register from now on are closed
    /// with `code` at once (the open ones stay until [`Connections::shut`]).
    pub fn begin_shut(&self, code: u16) {
        let mut inner = lock(&self.inner);
        if inner.shut.is_none() {
            inner.shut = Some(Control::Close(code));
        }
    }

    /// Shutdown: tells every open socket `control` (a close, or a restart
    /// notice and a close), and every socket that registers later to
    /// close with `code`; returns how many were open.
    pub fn shut(&self, control: Control, code: u16) -> usize {
        let mut inner = lock(&self.inner);
        inner.shut = Some(Control::Close(code));
        for tx in inner.open.values() {
            let _ = tx.send(control.clone());
        }
        inner.open.len()
    }

    /// Whether [`Connections::shut`] was called: new link handshakes are
    /// refused with 503.
    pub fn is_shut(&self) -> bool {
        lock(&self.inner).shut.is_some()
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
        let mut inner = lock(&self.inner);
        if inner.open.remove(&self.id).is_some() {
            crate::metrics::metrics().link_socket(-1);
        }
        if let Some(ip) = self.ip {
            if let Some(n) = inner.per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    inner.per_ip.remove(&ip);
                }
            }
        }
    }
}
